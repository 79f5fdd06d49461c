"""Moving-digit clips made from real handwritten digits (scikit-learn's load_digits).

The 1,797 8x8 digits (UCI optical digits, bundled in scikit-learn) are split by index:
the first 1,500 for training, the remaining 297 held out. A clip places one or two
digits, scaled to digit_size pixels, on a black canvas and moves each with a constant
velocity, bouncing off the borders (the Moving-MNIST recipe with digits that ship
offline).
"""

from __future__ import annotations

from functools import cache

import numpy as np

TRAIN_DIGITS = 1500


@cache
def _all_digits() -> np.ndarray:
    from sklearn.datasets import load_digits

    return (load_digits().images / 16.0).astype(np.float32)  # (1797, 8, 8) in [0, 1]


def digit_images(split: str) -> np.ndarray:
    """(n, 8, 8) digits in [0, 1]; split is "train" or "heldout"."""
    images = _all_digits()
    if split == "train":
        return images[:TRAIN_DIGITS]
    if split == "heldout":
        return images[TRAIN_DIGITS:]
    raise ValueError(f"split={split!r}; expected 'train' or 'heldout'")


def moving_digits_clip(
    rng: np.random.Generator,
    frames: int = 9,
    size: int = 32,
    split: str = "train",
    num_digits: int = 2,
    digit_size: int = 16,
) -> np.ndarray:
    """One clip (3, frames, size, size) in [-1, 1] (grey replicated to RGB)."""
    if digit_size % 8 or digit_size > size:
        raise ValueError(
            f"digit_size={digit_size}; expected a multiple of 8 no larger than "
            f"size={size}"
        )
    digits = digit_images(split)
    scale = digit_size // 8
    canvas = np.zeros((frames, size, size), dtype=np.float32)
    room = size - digit_size
    for _ in range(num_digits):
        sprite = np.kron(digits[rng.integers(len(digits))], np.ones((scale, scale)))
        position = rng.uniform(0, room, size=2)
        velocity = rng.uniform(-3, 3, size=2)
        for t in range(frames):
            y, x = np.round(position).astype(int)
            window = canvas[t, y : y + digit_size, x : x + digit_size]
            np.maximum(window, sprite, out=window)
            position = position + velocity
            for axis in range(2):  # bounce off the borders
                if position[axis] < 0 or position[axis] > room:
                    velocity[axis] = -velocity[axis]
                    position[axis] = np.clip(position[axis], 0, room)
    clip = canvas * 2 - 1
    return np.repeat(clip[None], 3, axis=0)
