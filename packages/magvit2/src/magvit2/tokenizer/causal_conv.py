"""The T-causal 3-D convolution of the paper's tokenizer (Sec. 3.2, appendix figure).

Shape key: B batch, C channels, T frames, H height, W width.

All temporal padding goes on the past side (k_t - 1 frames before the first frame, none
after), so output frame t depends only on input frames <= t (stride 1), or
<= s_t * t (stride s_t). The first frame is therefore encoded on its own, which is what
lets a single image (T = 1) use the same model and vocabulary as a video. Padding is
zeros in time and in space.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


def _triple(value) -> tuple[int, int, int]:
    if isinstance(value, int):
        return (value, value, value)
    if len(value) != 3:
        raise ValueError(f"expected an int or three ints (t, h, w), got {value!r}")
    return tuple(int(v) for v in value)


class CausalConv3d(nn.Module):
    """Conv3d padded by k_t - 1 past frames; spatial padding k // 2 on both sides.

    With kernel 3 and temporal stride 2, T frames become (T - 1) // 2 + 1, so
    17 -> 9 -> 5 (1 + 4k frames -> 1 + k latent frames).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, stride=1):
        super().__init__()
        kt, kh, kw = _triple(kernel_size)
        self.stride = _triple(stride)
        # F.pad order: (w_left, w_right, h_top, h_bottom, t_past, t_future)
        self.padding = (kw // 2, kw // 2, kh // 2, kh // 2, kt - 1, 0)
        self.conv = nn.Conv3d(
            in_channels, out_channels, (kt, kh, kw), stride=self.stride
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.pad(x, self.padding))
