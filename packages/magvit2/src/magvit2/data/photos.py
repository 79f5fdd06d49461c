"""Real photos from scikit-image (skimage.data, CC0 / public domain, bundled offline).

Used as single images (T = 1) and as "pan" clips: a crop window moving across the
photo at a constant velocity, i.e. a camera pan over a real scene. The coffee photo
is held out of training for evaluation.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image

TRAIN_PHOTOS = ("astronaut", "chelsea", "rocket", "hubble_deep_field", "camera")
HELDOUT_PHOTOS = ("coffee",)


@cache
def photo(name: str, short_side: int = 96) -> np.ndarray:
    """(H, W, 3) float32 in [-1, 1], resized so the short side is short_side."""
    import skimage.data

    if not hasattr(skimage.data, name):
        raise ValueError(
            f"skimage.data has no photo {name!r}; try one of {TRAIN_PHOTOS}"
        )
    array = getattr(skimage.data, name)()
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    image = Image.fromarray(array[..., :3])
    scale = short_side / min(image.size)
    image = image.resize(
        (round(image.size[0] * scale), round(image.size[1] * scale)),
        Image.Resampling.LANCZOS,
    )
    return np.asarray(image, dtype=np.float32) / 127.5 - 1


def photo_names(split: str) -> tuple[str, ...]:
    if split == "train":
        return TRAIN_PHOTOS
    if split == "heldout":
        return HELDOUT_PHOTOS
    raise ValueError(f"split={split!r}; expected 'train' or 'heldout'")


def photo_pan_clip(
    rng: np.random.Generator,
    frames: int = 9,
    size: int = 32,
    split: str = "train",
    short_side: int = 96,
) -> np.ndarray:
    """(3, frames, size, size) in [-1, 1]: a crop panning across a photo."""
    names = photo_names(split)
    picture = photo(names[rng.integers(len(names))], short_side)
    height, width = picture.shape[:2]
    velocity = rng.uniform(-2, 2, size=2)
    span = np.abs(velocity) * (frames - 1)
    start = [
        rng.uniform(0, max(height - size - span[0], 0)),
        rng.uniform(0, max(width - size - span[1], 0)),
    ]
    start = [s + (span[i] if velocity[i] < 0 else 0) for i, s in enumerate(start)]
    clip = np.empty((frames, size, size, 3), dtype=np.float32)
    for t in range(frames):
        y = round(min(max(start[0] + velocity[0] * t, 0), height - size))
        x = round(min(max(start[1] + velocity[1] * t, 0), width - size))
        clip[t] = picture[y : y + size, x : x + size]
    return clip.transpose(3, 0, 1, 2)
