"""Training and evaluation data: moving digits, photo pans, photos, local folders.

Every sample is (3, T, H, W) float32 in [-1, 1]. `make_batch` draws a batch from a named
source with an explicit numpy Generator, so a run is reproducible and a resumed run
draws the same batches (the trainer seeds one Generator per step).
"""

from __future__ import annotations

import numpy as np

from magvit2.data.folder import FolderDataset
from magvit2.data.moving_digits import moving_digits_clip
from magvit2.data.photos import photo_pan_clip
from magvit2.data.vtest import VTEST_PATH, vtest_clips

SOURCES = ("moving_digits", "photo_pans", "mixed", "folder")


def make_batch(
    source: str,
    rng: np.random.Generator,
    batch_size: int,
    frames: int,
    size: int,
    split: str = "train",
    folder: FolderDataset | None = None,
) -> np.ndarray:
    """(B, 3, T, H, W) float32 batch from `source` (one of SOURCES)."""
    if source not in SOURCES:
        raise ValueError(f"data source {source!r}; expected one of {SOURCES}")
    clips = []
    for i in range(batch_size):
        kind = source
        if source == "mixed":
            kind = "moving_digits" if i % 2 == 0 else "photo_pans"
        if kind == "moving_digits":
            clips.append(moving_digits_clip(rng, frames, size, split))
        elif kind == "photo_pans":
            clips.append(photo_pan_clip(rng, frames, size, split))
        else:
            if folder is None:
                raise ValueError("data source 'folder' needs a FolderDataset (path)")
            clips.append(folder[int(rng.integers(len(folder)))])
    return np.stack(clips).astype(np.float32)


__all__ = [
    "SOURCES",
    "VTEST_PATH",
    "FolderDataset",
    "make_batch",
    "moving_digits_clip",
    "photo_pan_clip",
    "vtest_clips",
]
