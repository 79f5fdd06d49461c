"""Feature networks for the Fréchet distance, and the FID/256 patch protocol.

Real FID needs Inception-v3 weights, which cannot be downloaded here. A user who
has them passes a TorchScript file by path (for example the widely used
``inception-2015-12-05.pt``, called with ``return_features=True``); without it a
fixed-seed random CNN is used and every number is labelled ``FD-randcnn``, never
FID.
"""

from pathlib import Path

import numpy as np
import torch
from torch import nn


def patches(image: np.ndarray, size: int = 256) -> list[np.ndarray]:
    """FID/256 protocol (HiFiC; NeuralCompression's ``update_patch_fid``): all
    non-overlapping ``size`` x ``size`` patches, plus a second pass shifted by
    ``size // 2`` when both sides are at least 1.5 ``size``."""
    h, w = image.shape[:2]
    out = [
        image[r : r + size, c : c + size]
        for r in range(0, h - size + 1, size)
        for c in range(0, w - size + 1, size)
    ]
    if h >= 1.5 * size and w >= 1.5 * size:
        half = size // 2
        out += [
            image[r : r + size, c : c + size]
            for r in range(half, h - size + 1, size)
            for c in range(half, w - size + 1, size)
        ]
    return out


class RandomFeatureNetwork(nn.Module):
    """A fixed-seed random CNN: uint8 (N, 3, H, W) to ``dim`` features.

    Not a perceptual network: its Fréchet distances are only comparable with each
    other, and are labelled ``FD-randcnn``.
    """

    label = "FD-randcnn"

    def __init__(self, dim: int = 32, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.layers = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2), nn.ReLU(), nn.Conv2d(16, dim, 3, stride=2)
        )
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.3)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.layers(x.float() / 127.5 - 1)
        return torch.cat([h.mean(dim=(2, 3)), h.std(dim=(2, 3))], dim=1)


class TorchScriptFeatures(nn.Module):
    """Features from a TorchScript network loaded from ``path`` (never
    downloaded). Labelled ``FID/patch`` as it is meant for Inception-v3."""

    label = "FID/patch"

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"feature network {path} not found; pass the path of a TorchScript "
                "Inception file, or omit it to use the random CNN"
            )
        self.net = torch.jit.load(str(path), map_location="cpu").eval()

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        try:
            features = self.net(x, return_features=True)
        except (RuntimeError, TypeError):
            features = self.net(x)
        return features.reshape(x.shape[0], -1).float()


def extract_features(
    network: nn.Module, images: list[np.ndarray], batch: int = 32
) -> np.ndarray:
    """Features of uint8 (H, W, 3) images of one size."""
    out = []
    for start in range(0, len(images), batch):
        x = torch.from_numpy(np.stack(images[start : start + batch]))
        out.append(network(x.permute(0, 3, 1, 2).contiguous()).numpy())
    return np.concatenate(out).astype(np.float64)
