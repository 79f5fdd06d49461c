"""A small U-Net conditioned on the stage-1 reconstruction.

The paper's U-Net size and conditioning were not seen; we follow the usual choice
its references make (simple diffusion; CDC): the reconstruction is concatenated to
the noisy image as extra input channels, and the time ``t`` enters every residual
block through a sinusoidal embedding and an MLP.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of ``t`` in [0, 1] (Vaswani et al. 2017, section 3.5)."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10000.0) * torch.arange(half) / half)
    angles = 1000.0 * t[:, None] * frequencies[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class ResidualBlock(nn.Module):
    def __init__(self, cin: int, cout: int, embedding: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(min(8, cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time = nn.Linear(embedding, cout)
        self.norm2 = nn.GroupNorm(min(8, cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class ConditionalUNet(nn.Module):
    """Predicts the target (v or velocity) from ``[z_t, x_rec]`` and ``t``."""

    def __init__(self, channels: tuple[int, ...] = (32, 64), embedding: int = 128):
        super().__init__()
        self.embedding = embedding
        self.time_mlp = nn.Sequential(
            nn.Linear(embedding, embedding), nn.SiLU(), nn.Linear(embedding, embedding)
        )
        self.stem = nn.Conv2d(6, channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        cin = channels[0]
        for c in channels:
            self.down.append(ResidualBlock(cin, c, embedding))
            cin = c
        self.middle = ResidualBlock(cin, cin, embedding)
        self.up = nn.ModuleList()
        for c in reversed(channels):
            self.up.append(ResidualBlock(cin + c, c, embedding))
            cin = c
        self.head = nn.Conv2d(cin, 3, 3, padding=1)
        # Zero output at initialisation: the first predictions are the mean target.
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.levels = len(channels)

    def forward(
        self, z_t: torch.Tensor, x_rec: torch.Tensor, t: torch.Tensor
    ) -> torch.Tensor:
        side = 2 ** (self.levels - 1)
        if z_t.shape[-1] % side or z_t.shape[-2] % side:
            raise ValueError(
                f"U-Net input sides must be multiples of {side}, got "
                f"{tuple(z_t.shape[-2:])}; pad the patch"
            )
        emb = self.time_mlp(time_embedding(t, self.embedding))
        h = self.stem(torch.cat([z_t, x_rec], dim=1))
        skips = []
        for k, block in enumerate(self.down):
            h = block(h, emb)
            skips.append(h)
            if k < self.levels - 1:
                h = F.avg_pool2d(h, 2)
        h = self.middle(h, emb)
        for k, block in enumerate(self.up):
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
            if k < self.levels - 1:
                h = F.interpolate(h, scale_factor=2.0, mode="nearest")
        return self.head(F.silu(h))
