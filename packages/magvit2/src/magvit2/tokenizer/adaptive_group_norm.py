"""Adaptive group normalization driven by the quantized latent (appendix figure).

GroupNorm without affine parameters whose per-channel scale and bias are predicted from
the quantized latent z_q (StyleGAN-style modulation): scale = 1 + Linear(std of z_q),
bias = Linear(mean of z_q), statistics over space, as Open-MAGVIT2 does for images.

Our choice for video (the paper's exact rule is not in our notes): statistics are taken
per latent frame, and feature frame t at r-times the latent frame rate reads latent
frame ceil(t / r), the same grouping the causal encoder and decoder use. Taking them
over the whole clip would let late frames change early outputs and break causality.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from magvit2.tokenizer.group_norm import FrameGroupNorm


def latent_frame_of(num_frames: int, num_latent_frames: int, device=None) -> Tensor:
    """Latent frame index ceil(t / r) for each of num_frames feature frames."""
    if num_latent_frames == 1:
        return torch.zeros(num_frames, dtype=torch.long, device=device)
    rate = (num_frames - 1) // (num_latent_frames - 1)
    frames = torch.arange(num_frames, device=device)
    return torch.div(frames + rate - 1, rate, rounding_mode="floor")


class AdaptiveGroupNorm(nn.Module):
    def __init__(self, channels: int, num_groups: int, latent_channels: int):
        super().__init__()
        self.norm = FrameGroupNorm(num_groups, channels, affine=False)
        self.to_scale = nn.Linear(latent_channels, channels)
        self.to_bias = nn.Linear(latent_channels, channels)

    def forward(self, x: Tensor, z_q: Tensor) -> Tensor:
        """x: (B, C, T, H, W) features; z_q: (B, K, T_lat, h, w) quantized latent."""
        z = z_q.float()
        mean = z.mean(dim=(-2, -1))  # (B, K, T_lat)
        std = (z.var(dim=(-2, -1), unbiased=False) + 1e-6).sqrt()
        frames = latent_frame_of(x.shape[2], z.shape[2], x.device)
        mean, std = mean[:, :, frames], std[:, :, frames]  # (B, K, T)
        scale = 1 + self.to_scale(std.transpose(1, 2))  # (B, T, C)
        bias = self.to_bias(mean.transpose(1, 2))
        scale = scale.permute(0, 2, 1)[..., None, None].to(x.dtype)
        bias = bias.permute(0, 2, 1)[..., None, None].to(x.dtype)
        return self.norm(x) * scale + bias
