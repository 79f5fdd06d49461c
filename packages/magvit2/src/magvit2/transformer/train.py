"""Training and scoring the masked transformer on tokens of a trained tokenizer."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from magvit2.data import make_batch
from magvit2.tokenizer import VideoTokenizer
from magvit2.transformer.maskgit import MaskGIT, MaskGITConfig


def tokenize_clips(
    tokenizer: VideoTokenizer,
    source: str,
    count: int,
    frames: int,
    size: int,
    split: str,
    seed: int,
    batch_size: int = 16,
) -> torch.Tensor:
    """(count, t, h, w) token grids of freshly drawn clips."""
    rng = np.random.default_rng(seed)
    grids = []
    for start in range(0, count, batch_size):
        n = min(batch_size, count - start)
        clips = torch.from_numpy(make_batch(source, rng, n, frames, size, split))
        grids.append(tokenizer.tokenize(clips))
    return torch.cat(grids)


def train_maskgit(
    tokens: torch.Tensor,
    config: MaskGITConfig,
    steps: int,
    seed: int = 0,
    batch_size: int = 16,
    learning_rate: float = 1e-3,
    on_step: Callable[[int, float], None] | None = None,
) -> MaskGIT:
    """Fit a MaskGIT to (M, t, h, w) token grids with AdamW."""
    torch.manual_seed(seed)
    model = MaskGIT(config)
    optimizer = torch.optim.AdamW(model.parameters(), learning_rate, weight_decay=0.01)
    generator = torch.Generator().manual_seed(seed)
    flat = tokens.reshape(len(tokens), -1)
    for step in range(1, steps + 1):
        chosen = torch.randint(len(flat), (batch_size,), generator=generator)
        loss = model.loss(flat[chosen], generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if on_step is not None:
            on_step(step, loss.item())
    return model.eval()


@torch.no_grad()
def masked_bits_per_token(
    model: MaskGIT, tokens: torch.Tensor, ratio: float = 0.5, seed: int = 0
) -> float:
    """Mean cross-entropy in bits per masked token at a fixed mask ratio."""
    flat = tokens.reshape(len(tokens), -1)
    generator = torch.Generator().manual_seed(seed)
    order = torch.rand(flat.shape, generator=generator).argsort(-1).argsort(-1)
    mask = order < max(1, round(ratio * flat.shape[1]))
    return model.masked_nll(flat, mask).item() / np.log(2)
