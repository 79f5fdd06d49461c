"""3-D StyleGAN-style discriminator (appendix figure, "Discriminator").

conv 3^3 + LeakyReLU -> ResBlockDown x n (conv 3^3 + LReLU, 3-D blur-pool 2x2x2,
conv 3^3 + LReLU; skip = blur-pool + conv 1^3; sum / sqrt 2) -> conv 3^3 + LReLU ->
Linear + LReLU + Linear 1.

Our choices: the convolutions are ordinary (non-causal) 3-D convs with zero padding as
in StyleGAN; the blur kernel is the binomial [1, 2, 1] in each axis; and the features
are averaged over (T, H, W) before the Linear layers (the paper flattens a fixed-size
map), so one discriminator handles images and videos of any size. Widths: base *
multipliers (paper 128 * (1, 2, 4, 4, 4, 4), 3 -> 128 -> 256 -> 512 -> 512 ...).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class BlurPool3d(nn.Module):
    """Binomial [1, 2, 1]^3 low-pass filter then stride 2 (stride 1 in time if T=1)."""

    def __init__(self, channels: int):
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        kernel = taps[:, None, None] * taps[None, :, None] * taps[None, None, :]
        kernel = (kernel / kernel.sum()).expand(channels, 1, 3, 3, 3).clone()
        self.register_buffer("kernel", kernel)
        self.channels = channels

    def forward(self, x: Tensor) -> Tensor:
        stride_t = 2 if x.shape[2] > 1 else 1
        x = F.pad(x, (1, 1, 1, 1, 1, 1), mode="replicate")
        return F.conv3d(x, self.kernel, stride=(stride_t, 2, 2), groups=self.channels)


class ResBlockDown(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = nn.Conv3d(in_channels, out_channels, 3, padding=1)
        self.blur = BlurPool3d(out_channels)
        self.conv2 = nn.Conv3d(out_channels, out_channels, 3, padding=1)
        self.skip_blur = BlurPool3d(in_channels)
        self.skip = nn.Conv3d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.conv2(self.blur(h)), 0.2)
        return (h + self.skip(self.skip_blur(x))) / math.sqrt(2)


class Discriminator(nn.Module):
    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 128,
        channel_multipliers: tuple[int, ...] = (2, 4, 4, 4, 4),
    ):
        super().__init__()
        self.stem = nn.Conv3d(in_channels, base_channels, 3, padding=1)
        blocks = []
        width = base_channels
        for mult in channel_multipliers:
            blocks.append(ResBlockDown(width, base_channels * mult))
            width = base_channels * mult
        self.blocks = nn.Sequential(*blocks)
        self.final_conv = nn.Conv3d(width, width, 3, padding=1)
        self.head = nn.Sequential(
            nn.Linear(width, width), nn.LeakyReLU(0.2), nn.Linear(width, 1)
        )

    def forward(self, video: Tensor) -> Tensor:
        """(B, C, T, H, W) or (B, C, H, W) -> logits (B,)."""
        if video.ndim == 4:
            video = video.unsqueeze(2)
        h = F.leaky_relu(self.stem(video), 0.2)
        h = F.leaky_relu(self.final_conv(self.blocks(h)), 0.2)
        return self.head(h.mean(dim=(2, 3, 4))).squeeze(-1)
