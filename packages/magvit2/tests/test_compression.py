import math

import numpy as np
import pytest
import torch
from pytorch_msssim import ms_ssim as reference_ms_ssim

from magvit2.compression import (
    DamagedStreamError,
    compress,
    decode_tokens,
    decompress,
    encode_tokens,
    evaluate,
    ms_ssim,
    psnr,
)
from magvit2.compression.metrics import ms_ssim_images, ms_ssim_setting
from magvit2.compression.token_coder import HEADER
from magvit2.tokenizer import TokenizerConfig, VideoTokenizer


@pytest.mark.parametrize("num_bits", [1, 10, 18])
def test_token_stream_round_trip(num_bits):
    rng = np.random.default_rng(num_bits)
    tokens = rng.integers(0, 2**num_bits, size=(3, 5, 4))
    decoded, bits = decode_tokens(encode_tokens(tokens, num_bits))
    assert bits == num_bits and np.array_equal(decoded, tokens)


def test_random_tokens_cost_about_their_bits():
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 1024, size=(3, 8, 8))
    size = len(encode_tokens(tokens, 10))
    raw = 3 * 8 * 8 * 10 / 8
    assert raw * 0.95 < size < raw * 1.25  # incompressible, small adaptation overhead


def test_repetitive_tokens_compress():
    tokens = np.full((3, 8, 8), 613)
    tokens[1:] = tokens[0]  # a static clip
    payload = len(encode_tokens(tokens, 10)) - HEADER.size  # 20-byte header
    assert payload < 0.15 * 3 * 8 * 8 * 10 / 8


def test_bad_streams_and_tokens():
    with pytest.raises(ValueError, match="MV2T"):
        decode_tokens(b"hello world, not tokens")
    with pytest.raises(ValueError, match=r"expected 0\.\.15"):
        encode_tokens(np.full((1, 2, 2), 16), 4)


def test_truncated_damaged_and_concatenated_streams_are_refused():
    rng = np.random.default_rng(5)
    stream = encode_tokens(rng.integers(0, 1024, size=(2, 4, 4)), 10)
    assert len(stream) > 60 and stream[4] == 2  # version 2: length + CRC-32
    damaged = bytearray(stream)
    damaged[50:53] = bytes(b ^ 0xFF for b in damaged[50:53])
    old = bytearray(stream)
    old[4] = 1
    cases = {
        "payload has": stream[:40],
        "shorter than the 20-byte header": stream[:12],
        "CRC-32": bytes(damaged),
        "trailing bytes": stream + stream,
        "version 1": bytes(old),
    }
    for message, bad in cases.items():
        with pytest.raises(DamagedStreamError, match=message):
            decode_tokens(bad)


def test_psnr_closed_form():
    a = torch.zeros(1, 3, 2, 4, 4)
    assert psnr(a, a + 0.1) == pytest.approx(10 * math.log10(4 / 0.01))
    assert psnr(a, a) == math.inf


def test_ms_ssim_identical_is_one_and_setting_fits():
    x = torch.rand(1, 3, 2, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    value, setting = ms_ssim(x, x)
    assert value == pytest.approx(1.0, abs=1e-6)
    assert setting == "4 scales, win 3"
    assert ms_ssim_setting(256) == (11, 5) and ms_ssim_setting(16) == (3, 3)
    noisy = (x + 0.3 * torch.randn_like(x)).clamp(-1, 1)
    assert ms_ssim(x, noisy)[0] < 0.95


def test_compress_decompress_equals_model_forward():
    torch.manual_seed(0)
    model = VideoTokenizer(TokenizerConfig.tiny()).eval()
    video = torch.rand(3, 5, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    stream = compress(model, video)
    with torch.no_grad():
        expected = model(video.unsqueeze(0)).reconstruction[0]
    torch.testing.assert_close(decompress(model, stream), expected)
    row = evaluate(model, video)
    assert row["bpp"] == pytest.approx(8 * len(stream) / (5 * 16 * 16))
    assert row["raw_token_bpp"] == pytest.approx(2 * 4 * 4 * 10 / (5 * 16 * 16))
    assert row["psnr"] == pytest.approx(psnr(video, expected))


def test_ms_ssim_equals_pytorch_msssim_on_large_frames():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 176, 192, generator=generator, dtype=torch.float64)
    y = x + 0.2 * torch.randn(x.shape, generator=generator, dtype=torch.float64)
    y = y.clamp(0, 1)
    ours = ms_ssim_images(x, y, data_range=1.0, window=11, scales=5)
    expected = reference_ms_ssim(x, y, data_range=1.0, size_average=False)
    torch.testing.assert_close(ours, expected, rtol=1e-6, atol=1e-6)
