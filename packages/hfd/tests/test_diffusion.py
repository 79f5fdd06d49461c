"""The score decoder: shapes, samplers checked with an exact oracle, training
signal, and patch decoding in groups."""

import pytest
import torch

from hfd.diffusion.decoder import DecoderConfig, ScoreDecoder
from hfd.diffusion.patches import decode_patches, tile_noise
from hfd.diffusion.schedule import alpha_sigma


def small(kind: str = "diffusion") -> ScoreDecoder:
    torch.manual_seed(0)
    return ScoreDecoder(DecoderConfig(kind=kind, channels=(8, 16))).eval()


class Oracle(torch.nn.Module):
    """The exact target for one known clean image ``x`` (in [-1, 1])."""

    def __init__(self, x: torch.Tensor, kind: str, shift: float) -> None:
        super().__init__()
        self.x, self.kind, self.shift = x, kind, shift

    def forward(self, z, cond, t):
        t4 = t[:, None, None, None]
        if self.kind == "diffusion":
            # v = alpha eps - sigma x with eps = (z - alpha x) / sigma.
            alpha, sigma = alpha_sigma(t4, self.shift)
            return (alpha * z - self.x) / sigma
        return (z - self.x) / t4  # velocity eps - x on a straight path


@pytest.mark.parametrize("kind", ["diffusion", "rectified_flow"])
@pytest.mark.parametrize("steps", [1, 3, 10])
def test_samplers_land_on_the_image_when_the_prediction_is_exact(kind, steps):
    decoder = small(kind)
    x01 = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    decoder.unet = Oracle(2 * x01 - 1, kind, decoder.config.shift)
    noise = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    out = decoder.sample(torch.zeros_like(x01), noise, steps)
    torch.testing.assert_close(out, x01, atol=1e-5, rtol=0)


def test_unet_starts_at_zero_and_keeps_shapes():
    decoder = small()
    z = torch.randn(2, 3, 24, 40)
    out = decoder.unet(z, z, torch.rand(2))
    assert out.shape == z.shape and out.abs().max() == 0
    with pytest.raises(ValueError, match="multiples of 2"):
        decoder.unet(z[..., :23, :], z[..., :23, :], torch.rand(2))


@pytest.mark.parametrize("kind", ["diffusion", "rectified_flow"])
def test_training_lowers_the_loss_on_a_fixed_pair(kind):
    decoder = small(kind).train()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 16, 16, generator=g)
    x_rec = (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=3e-3)

    def mean_loss() -> float:
        eval_g = torch.Generator().manual_seed(5)
        with torch.no_grad():
            return sum(decoder.loss(x, x_rec, eval_g).item() for _ in range(8)) / 8

    before = mean_loss()
    for _ in range(80):
        optimizer.zero_grad()
        decoder.loss(x, x_rec, g).backward()
        optimizer.step()
    assert mean_loss() < 0.8 * before


def test_patch_decoding_does_not_depend_on_the_group_size():
    decoder = small()
    x_rec = torch.rand(1, 3, 40, 70, generator=torch.Generator().manual_seed(3))
    one = decode_patches(decoder, x_rec, steps=2, seed=7, patch=16, group=1)
    four = decode_patches(decoder, x_rec, steps=2, seed=7, patch=16, group=4)
    assert one.shape == x_rec.shape
    torch.testing.assert_close(one, four, atol=1e-5, rtol=0)
    other_seed = decode_patches(decoder, x_rec, steps=2, seed=8, patch=16, group=4)
    assert not torch.allclose(one, other_seed)


def test_one_patch_covering_the_image_is_plain_sampling():
    decoder = small()
    x_rec = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    tiled = decode_patches(decoder, x_rec, steps=3, seed=1, patch=32, group=2)
    direct = decoder.sample(x_rec, tile_noise(1, 0, (3, 32, 32))[None], steps=3)
    torch.testing.assert_close(tiled, direct, atol=1e-6, rtol=0)


def test_bad_patch_options_are_refused():
    decoder = small()
    x_rec = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="multiple of 2"):
        decode_patches(decoder, x_rec, steps=1, seed=0, patch=15)
    with pytest.raises(ValueError, match="steps"):
        decoder.sample(x_rec, x_rec, steps=0)
    with pytest.raises(ValueError, match="kind"):
        DecoderConfig(kind="gan")
