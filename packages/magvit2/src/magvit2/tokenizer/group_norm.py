"""Group normalization per frame, so normalization cannot leak the future.

A plain GroupNorm over (C/G, T, H, W) would mix statistics of all frames: changing
frame t would change every earlier output, breaking the causality that lets an image
share the video model (Sec. 3.2). Our choice: fold time into the batch, so each frame
is normalized over (C/G, H, W) alone; an image then sees exactly the statistics of the
first frame of a video that starts with it.
"""

from __future__ import annotations

from torch import Tensor, nn


class FrameGroupNorm(nn.GroupNorm):
    """nn.GroupNorm applied to each frame of a (B, C, T, H, W) tensor separately."""

    def forward(self, x: Tensor) -> Tensor:
        b, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * t, c, h, w)
        out = super().forward(frames)
        return out.reshape(b, t, c, h, w).transpose(1, 2)
