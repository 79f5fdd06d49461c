"""The causal 3-D CNN video tokenizer (Sec. 3.2 and the appendix figure)."""

from magvit2.tokenizer.adaptive_group_norm import AdaptiveGroupNorm
from magvit2.tokenizer.causal_conv import CausalConv3d
from magvit2.tokenizer.config import TokenizerConfig
from magvit2.tokenizer.decoder import Decoder
from magvit2.tokenizer.encoder import Encoder
from magvit2.tokenizer.sampling import Downsample, Upsample, depth_to_space
from magvit2.tokenizer.tokenizer import (
    TokenizerOutput,
    VideoTokenizer,
    count_parameters,
)

__all__ = [
    "AdaptiveGroupNorm",
    "CausalConv3d",
    "Decoder",
    "Downsample",
    "Encoder",
    "TokenizerConfig",
    "TokenizerOutput",
    "Upsample",
    "VideoTokenizer",
    "count_parameters",
    "depth_to_space",
]
