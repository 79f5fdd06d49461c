"""Tokenizer training: losses, discriminator (LeCAM + R1), EMA, schedules, the loop."""

from magvit2.training.checkpoint import load_checkpoint, load_tokenizer, save_checkpoint
from magvit2.training.config import Config, load_config
from magvit2.training.trainer import CHECKPOINT, Trainer

__all__ = [
    "CHECKPOINT",
    "Config",
    "Trainer",
    "load_checkpoint",
    "load_config",
    "load_tokenizer",
    "save_checkpoint",
]
