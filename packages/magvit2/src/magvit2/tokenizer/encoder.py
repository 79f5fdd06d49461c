"""Encoder of the causal 3-D CNN tokenizer (appendix figure, left column).

stem T-causal conv 3^3 -> per level: num_res_blocks ResBlocks (the first changes the
width) then a strided T-causal downsampling (except after the last level) -> as many
ResBlocks again at the last width -> GroupNorm + Swish + conv 1^3 to K channels.
"""

from __future__ import annotations

from torch import Tensor, nn

from magvit2.tokenizer.blocks import ResBlock
from magvit2.tokenizer.causal_conv import CausalConv3d
from magvit2.tokenizer.config import TokenizerConfig
from magvit2.tokenizer.group_norm import FrameGroupNorm
from magvit2.tokenizer.sampling import Downsample


class Encoder(nn.Module):
    def __init__(self, config: TokenizerConfig):
        super().__init__()
        widths = [config.base_channels * m for m in config.channel_multipliers]
        groups = config.num_groups
        self.stem = CausalConv3d(config.in_channels, widths[0], 3)
        layers: list[nn.Module] = []
        width = widths[0]
        for level, out_width in enumerate(widths):
            for _ in range(config.num_res_blocks):
                layers.append(ResBlock(width, out_width, groups))
                width = out_width
            if level < len(widths) - 1:
                layers.append(Downsample(width, config.temporal_downsample[level]))
        for _ in range(config.num_res_blocks):
            layers.append(ResBlock(width, width, groups))
        self.levels = nn.Sequential(*layers)
        self.head = nn.Sequential(
            FrameGroupNorm(groups, width),
            nn.SiLU(),
            CausalConv3d(width, config.num_bits, 1),
        )

    def forward(self, video: Tensor) -> Tensor:
        """(B, C, T, H, W) -> z (B, K, 1 + (T-1)/t_factor, H/s_factor, W/s_factor)."""
        return self.head(self.levels(self.stem(video)))
