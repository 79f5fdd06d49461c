"""Residual block of the tokenizer (appendix figure "ResBlock X" / "ResBlock X -> Y").

GroupNorm + Swish -> T-causal conv 3^3 -> GroupNorm + Swish -> T-causal conv 3^3, plus
an identity skip, or a T-causal 1^3 conv on the skip when the width changes.
"""

from __future__ import annotations

from torch import Tensor, nn

from magvit2.tokenizer.causal_conv import CausalConv3d
from magvit2.tokenizer.group_norm import FrameGroupNorm


class ResBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, num_groups: int):
        super().__init__()
        self.body = nn.Sequential(
            FrameGroupNorm(num_groups, in_channels),
            nn.SiLU(),
            CausalConv3d(in_channels, out_channels, 3),
            FrameGroupNorm(num_groups, out_channels),
            nn.SiLU(),
            CausalConv3d(out_channels, out_channels, 3),
        )
        self.skip = (
            nn.Identity()
            if in_channels == out_channels
            else CausalConv3d(in_channels, out_channels, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.skip(x) + self.body(x)
