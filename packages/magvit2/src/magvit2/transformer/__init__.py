"""A small MaskGIT-style masked transformer over LFQ tokens (the paper's Sec. 4)."""

from magvit2.transformer.maskgit import MaskGIT, MaskGITConfig
from magvit2.transformer.train import (
    masked_bits_per_token,
    tokenize_clips,
    train_maskgit,
)

__all__ = [
    "MaskGIT",
    "MaskGITConfig",
    "masked_bits_per_token",
    "tokenize_clips",
    "train_maskgit",
]
