"""Down- and up-sampling of the tokenizer (appendix figure).

Downsampling is a strided T-causal convolution (not pooling). Upsampling is a T-causal
convolution to s_t * s_h * s_w times the channels followed by depth-to-space; after a
temporal depth-to-space the first s_t - 1 frames are dropped so that 1 + k frames
become 1 + s_t * k (5 -> 9 -> 17), mirroring the encoder.

TODO(paper-check): the notes mark how the paper trims the extra leading frame as not
verified. Dropping the leading frames is our choice because it keeps the decoder causal
with the same grouping as the encoder: latent frame j >= 1 decodes to output frames
4j - 3 .. 4j, latent frame 0 to output frame 0 (see tests/test_tokenizer.py).
"""

from __future__ import annotations

from torch import Tensor, nn

from magvit2.tokenizer.causal_conv import CausalConv3d


def depth_to_space(x: Tensor, factors: tuple[int, int, int]) -> Tensor:
    """(B, C*st*sh*sw, T, H, W) -> (B, C, T*st, H*sh, W*sw), 3-D pixel shuffle."""
    st, sh, sw = factors
    b, c, t, h, w = x.shape
    if c % (st * sh * sw):
        raise ValueError(f"{c} channels do not divide into factors {factors}")
    x = x.view(b, c // (st * sh * sw), st, sh, sw, t, h, w)
    x = x.permute(0, 1, 5, 2, 6, 3, 7, 4)  # (B, C, T, st, H, sh, W, sw)
    return x.reshape(b, c // (st * sh * sw), t * st, h * sh, w * sw)


class Downsample(nn.Module):
    """Strided T-causal conv 3^3; stride (2 or 1) x 2 x 2."""

    def __init__(self, channels: int, temporal: bool):
        super().__init__()
        self.conv = CausalConv3d(channels, channels, 3, (2 if temporal else 1, 2, 2))

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """T-causal conv to C * st*sh*sw channels, depth-to-space, drop st - 1 frames."""

    def __init__(self, channels: int, temporal: bool):
        super().__init__()
        self.factors = (2 if temporal else 1, 2, 2)
        st, sh, sw = self.factors
        self.conv = CausalConv3d(channels, channels * st * sh * sw, 3)

    def forward(self, x: Tensor) -> Tensor:
        x = depth_to_space(self.conv(x), self.factors)
        return x[:, :, self.factors[0] - 1 :]
