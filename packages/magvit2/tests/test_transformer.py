import pytest
import torch

from magvit2.transformer import MaskGIT, MaskGITConfig, masked_bits_per_token
from magvit2.transformer.train import train_maskgit


def small() -> MaskGITConfig:
    return MaskGITConfig(num_bits=6, low_bits=3, num_tokens=12, width=32, depth=1)


def test_masked_positions_do_not_see_their_tokens(generator):
    model = MaskGIT(small()).eval()
    tokens = torch.randint(64, (2, 12), generator=generator)
    mask = torch.zeros(2, 12, dtype=torch.bool)
    mask[:, 3] = True
    changed = tokens.clone()
    changed[:, 3] = (tokens[:, 3] + 1) % 64
    a, b = model(tokens, mask), model(changed, mask)
    assert a[0].shape == (2, 12, 8) and a[1].shape == (2, 12, 8)
    torch.testing.assert_close(a[0], b[0])
    torch.testing.assert_close(a[1], b[1])


def test_factorization_round_trip(generator):
    model = MaskGIT(small())
    tokens = torch.randint(64, (3, 12), generator=generator)
    low, high = model.split(tokens)
    assert torch.equal(low | (high << 3), tokens) and low.max() < 8


def test_learns_and_generates_a_fixed_clip():
    grid = torch.arange(12).reshape(1, 1, 3, 4) * 5 % 64
    model = train_maskgit(grid, small(), steps=150, seed=0, batch_size=8)
    assert masked_bits_per_token(model, grid) < 0.5  # uniform would be 6 bits
    samples = model.generate(2, torch.Generator().manual_seed(0), steps=6)
    assert samples.shape == (2, 12)
    assert (samples == grid.reshape(1, 12)).float().mean() > 0.9


def test_wrong_length_is_rejected():
    with pytest.raises(ValueError, match="built for 12"):
        MaskGIT(small())(torch.zeros(1, 5, dtype=torch.long), torch.ones(1, 5).bool())
