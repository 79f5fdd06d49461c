"""Offline photos for training and evaluation: scikit-image's bundled samples.

Training draws random crops (with random flips) from a seeded numpy Generator,
whose state is saved in checkpoints so a resumed run sees the same crops.
"""

import numpy as np
import torch

# Bundled with scikit-image (no download); CC0 or public domain (DATA.md).
TRAIN_PHOTOS = ("astronaut", "rocket", "hubble_deep_field", "retina")
EVAL_PHOTOS = ("coffee", "chelsea")


def check_photo_name(name: str):
    """The loader of a bundled scikit-image photo, or a one-line error."""
    from skimage import data

    loader = getattr(data, name, None) if isinstance(name, str) else None
    if loader is None or not callable(loader) or name.startswith("_"):
        raise ValueError(
            f"unknown scikit-image photo {name!r}; use one of "
            f"{TRAIN_PHOTOS + EVAL_PHOTOS}"
        )
    return loader


def load_photo(name: str) -> np.ndarray:
    """A bundled photo as uint8 (H, W, 3)."""
    loader = check_photo_name(name)
    image = np.asarray(loader())
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3]).astype(np.uint8)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) to float (1, 3, H, W) in [0, 1]."""
    return torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255


class PhotoCrops:
    """Random square crops of a few photos, as (B, 3, crop, crop) in [0, 1]."""

    def __init__(self, names: tuple[str, ...] | list[str], crop: int, seed: int):
        self.photos = [load_photo(n) for n in names]
        small = [
            (n, p.shape[:2])
            for n, p in zip(names, self.photos, strict=True)
            if min(p.shape[:2]) < crop
        ]
        if small:
            raise ValueError(f"crop={crop} is larger than photos {small}")
        self.crop = crop
        self.rng = np.random.default_rng(seed)

    def batch(self, size: int) -> torch.Tensor:
        out = np.empty((size, self.crop, self.crop, 3), dtype=np.uint8)
        for b in range(size):
            photo = self.photos[self.rng.integers(len(self.photos))]
            top = self.rng.integers(photo.shape[0] - self.crop + 1)
            left = self.rng.integers(photo.shape[1] - self.crop + 1)
            crop = photo[top : top + self.crop, left : left + self.crop]
            out[b] = crop[:, ::-1] if self.rng.random() < 0.5 else crop
        return torch.from_numpy(out).permute(0, 3, 1, 2).float() / 255
