"""Stage 1 files: round trips, determinism, readiness, rate and damaged files.

Tolerance: decoding a file reproduces ``reconstruct`` (the eval-mode forward pass)
within 1e-5 on [0, 1] images; the latent symbols are identical, only the float
order of the batched and unbatched networks differ.
"""

import struct
import zlib

import pytest
import torch
from conftest import make_model

from hfd import codec
from hfd.autoencoder.model import EntropyModelNotReadyError, Stage1Autoencoder
from hfd.fileformat import FORMAT_VERSION, HfdFileError

TOLERANCE = 1e-5
OVERHEAD = 31 + 3 * 4  # header, two counts and the checksum


def crop(photo: torch.Tensor, h: int, w: int) -> torch.Tensor:
    return photo[..., :h, :w].contiguous()


@pytest.mark.parametrize(("h", "w"), [(400, 500), (224, 224), (37, 91)])
def test_odd_sizes_round_trip_to_the_stage1_reconstruction(model, photo, h, w):
    x = crop(photo, h, w)
    (data,) = codec.compress(model, x)
    decoded = codec.decompress(model, data)
    assert decoded.shape == x.shape
    torch.testing.assert_close(
        decoded, codec.reconstruct(model, x), atol=TOLERANCE, rtol=0
    )


def test_batches_round_trip_and_compressing_twice_gives_identical_bytes(model, photo):
    x = torch.cat(
        [photo[..., :64, :96], photo[..., 100:164, :96], photo[..., -64:, -96:]]
    )
    files = codec.compress(model, x)
    assert len(files) == 3
    assert files == codec.compress(model, x)
    decoded = codec.decompress_batch(model, files)
    torch.testing.assert_close(
        decoded, codec.reconstruct(model, x), atol=TOLERANCE, rtol=0
    )


def test_channel_conditional_entropy_model_round_trips(photo):
    model = make_model(slices=4)
    x = crop(photo, 130, 70)
    (data,) = codec.compress(model, x)
    torch.testing.assert_close(
        codec.decompress(model, data),
        codec.reconstruct(model, x),
        atol=TOLERANCE,
        rtol=0,
    )


def test_compressing_before_update_is_a_clear_error(photo):
    model = Stage1Autoencoder()
    with pytest.raises(EntropyModelNotReadyError, match=r"call model.update\(\)"):
        codec.compress(model, photo[..., :64, :64])
    model.update()
    with torch.no_grad():
        model.prior.biases[0].add_(0.5)
    with pytest.raises(EntropyModelNotReadyError, match="stale"):
        codec.compress(model, photo[..., :64, :64])
    model.update()
    assert len(codec.compress(model, photo[..., :64, :64])[0]) > OVERHEAD


def test_real_rate_is_at_least_the_estimate_and_within_the_stated_gap(model, photo):
    """Stated gap: the payload (file minus header and checksum) is at most 5 %
    plus 16 bytes above the bits estimated from the likelihoods."""
    for x in (crop(photo, 256, 320), photo[..., 100:228, 200:392]):
        (data,) = codec.compress(model, x)
        with torch.no_grad():
            _, likelihoods = model.eval()(codec.pad(x))
        estimate = sum(-torch.log2(p).sum() for p in likelihoods.values()).item() / 8
        assert len(data) >= estimate
        assert len(data) - OVERHEAD <= 1.05 * estimate + 16


def test_bad_images_are_refused(model):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        codec.compress(model, torch.full((1, 3, 8, 8), 2.0))
    with pytest.raises(ValueError, match="RGB"):
        codec.compress(model, torch.zeros(1, 1, 8, 8))


@pytest.fixture(scope="module")
def data(model, photo) -> bytes:
    return codec.compress(model, crop(photo, 96, 80))[0]


def test_truncated_files_are_clear_errors(model, data):
    for n in (0, 3, 10, len(data) // 2, len(data) - 1):
        with pytest.raises(HfdFileError, match=r"truncated|not an hfd"):
            codec.decompress(model, data[:n])


def test_corrupted_files_are_clear_errors(model, data):
    for at in (40, len(data) // 2, len(data) - 2):
        damaged = bytearray(data)
        damaged[at] ^= 0x5A
        with pytest.raises(HfdFileError, match=r"corrupted|announces"):
            codec.decompress(model, bytes(damaged))
    with pytest.raises(HfdFileError, match="not an hfd file"):
        codec.decompress(model, b"PNG" + data[3:])


def test_files_of_other_models_and_versions_are_clear_errors(data, photo):
    other = make_model(seed=1)
    with pytest.raises(HfdFileError, match=r"written by model .*\(--model\)"):
        codec.decompress(other, data)
    newer = bytearray(data[:-4])
    newer[4] = FORMAT_VERSION + 1
    newer += struct.pack("<I", zlib.crc32(bytes(newer)))
    with pytest.raises(HfdFileError, match="version 2 is not supported"):
        codec.decompress(other, bytes(newer))
