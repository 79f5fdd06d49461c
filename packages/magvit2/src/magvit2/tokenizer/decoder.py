"""Decoder of the causal 3-D CNN tokenizer (appendix figure, right column).

stem T-causal conv 3^3 from K channels -> per level (widest first): num_res_blocks
ResBlocks, then (except after the last level) AdaptiveGroupNorm driven by z_q and a
depth-to-space upsampling -> GroupNorm + Swish + T-causal conv 3^3 to pixels.
"""

from __future__ import annotations

from torch import Tensor, nn

from magvit2.tokenizer.adaptive_group_norm import AdaptiveGroupNorm
from magvit2.tokenizer.blocks import ResBlock
from magvit2.tokenizer.causal_conv import CausalConv3d
from magvit2.tokenizer.config import TokenizerConfig
from magvit2.tokenizer.group_norm import FrameGroupNorm
from magvit2.tokenizer.sampling import Upsample


class DecoderLevel(nn.Module):
    def __init__(self, in_width, width, config: TokenizerConfig, temporal):
        super().__init__()
        groups = config.num_groups
        blocks = [ResBlock(in_width, width, groups)]
        blocks += [
            ResBlock(width, width, groups) for _ in range(1, config.num_res_blocks)
        ]
        self.blocks = nn.Sequential(*blocks)
        self.upsample = None
        if temporal is not None:
            self.norm = AdaptiveGroupNorm(width, groups, config.num_bits)
            self.upsample = Upsample(width, temporal)

    def forward(self, x: Tensor, z_q: Tensor) -> Tensor:
        x = self.blocks(x)
        if self.upsample is not None:
            x = self.upsample(self.norm(x, z_q))
        return x


class Decoder(nn.Module):
    def __init__(self, config: TokenizerConfig):
        super().__init__()
        widths = [config.base_channels * m for m in config.channel_multipliers][::-1]
        temporal = [*config.temporal_downsample[::-1], None]
        self.stem = CausalConv3d(config.num_bits, widths[0], 3)
        levels = []
        width = widths[0]
        for out_width, flag in zip(widths, temporal, strict=True):
            levels.append(DecoderLevel(width, out_width, config, flag))
            width = out_width
        self.levels = nn.ModuleList(levels)
        self.head = nn.Sequential(
            FrameGroupNorm(config.num_groups, width),
            nn.SiLU(),
            CausalConv3d(width, config.in_channels, 3),
        )

    def forward(self, z_q: Tensor) -> Tensor:
        x = self.stem(z_q)
        for level in self.levels:
            x = level(x, z_q)
        return self.head(x)
