"""Decoding large images as patches sampled in parallel groups.

HFD decodes high-resolution images patch by patch: patches are split into groups,
each group is sampled as one batch, and patches are sampled independently (the
paper's overlap and blending were not seen; we use non-overlapping tiles, so seams
between tiles are possible). Every tile's starting noise is drawn from its own seed,
derived from ``(seed, tile index)``, so the result does not depend on the group
size, only on ``seed``.
"""

import numpy as np
import torch
from torch.nn import functional as F

from hfd.diffusion.decoder import ScoreDecoder


def tile_noise(seed: int, index: int, shape: tuple[int, ...]) -> torch.Tensor:
    """Gaussian noise for tile ``index``, from a seed derived from both numbers."""
    state = np.random.SeedSequence([seed, index]).generate_state(1)[0]
    generator = torch.Generator().manual_seed(int(state))
    return torch.randn(shape, generator=generator)


@torch.no_grad()
def decode_patches(
    decoder: ScoreDecoder,
    x_rec: torch.Tensor,
    steps: int,
    seed: int,
    patch: int = 64,
    group: int = 8,
) -> torch.Tensor:
    """Sample the stage-2 decoder over ``x_rec`` (1, 3, H, W) tile by tile."""
    if x_rec.ndim != 4 or x_rec.shape[0] != 1:
        raise ValueError(f"x_rec must be one image (1, 3, H, W), got {x_rec.shape}")
    if patch < 1 or patch % decoder.patch_multiple:
        raise ValueError(
            f"patch={patch} must be a positive multiple of "
            f"{decoder.patch_multiple} (the U-Net's downsampling)"
        )
    if group < 1:
        raise ValueError(f"group must be at least 1, got {group}")
    h, w = x_rec.shape[-2:]
    padded = F.pad(x_rec, (0, -w % patch, 0, -h % patch), mode="replicate")
    rows, cols = padded.shape[-2] // patch, padded.shape[-1] // patch
    # (1, 3, rows*p, cols*p) -> (rows*cols, 3, p, p), row-major tile order.
    tiles = (
        padded.reshape(3, rows, patch, cols, patch)
        .permute(1, 3, 0, 2, 4)
        .reshape(rows * cols, 3, patch, patch)
    )
    out = torch.empty_like(tiles)
    for start in range(0, len(tiles), group):
        batch = range(start, min(start + group, len(tiles)))
        noise = torch.stack([tile_noise(seed, i, (3, patch, patch)) for i in batch])
        out[batch.start : batch.stop] = decoder.sample(
            tiles[batch.start : batch.stop], noise, steps
        )
    image = (
        out.reshape(rows, cols, 3, patch, patch)
        .permute(2, 0, 3, 1, 4)
        .reshape(1, 3, rows * patch, cols * patch)
    )
    return image[..., :h, :w]
