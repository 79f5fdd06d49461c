"""The MAGVIT-v2 video tokenizer: causal encoder -> LFQ -> decoder (Sec. 3.2).

Shape key: B batch, C pixel channels, T frames, H, W pixels, K bits per token,
t, h, w the latent grid (t = 1 + (T - 1) / temporal_factor).

One model and one vocabulary for images and videos: an image (B, C, H, W) is a video
of one frame; a video must have 1 + temporal_factor * k frames (1, 5, 9, 17, ...
for the paper's 4x). Pixels are expected in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from magvit2.quantizer import LFQ, QuantizerOutput, VectorQuantizer
from magvit2.tokenizer.config import TokenizerConfig
from magvit2.tokenizer.decoder import Decoder
from magvit2.tokenizer.encoder import Encoder


@dataclass
class TokenizerOutput:
    reconstruction: Tensor  # (B, C, T, H, W) or (B, C, H, W) for image input
    quantizer: QuantizerOutput  # indices (B, t, h, w)


class VideoTokenizer(nn.Module):
    def __init__(self, config: TokenizerConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        if config.quantizer == "lfq":
            self.quantize = LFQ(
                config.num_bits,
                temperature=config.entropy_temperature,
                diversity_gamma=config.diversity_gamma,
            )
        else:
            self.quantize = VectorQuantizer(config.num_bits)
        self.decoder = Decoder(config)

    def check_input(self, video: Tensor) -> Tensor:
        """Returns (B, C, T, H, W); raises a one-line error on bad shapes."""
        cfg = self.config
        if video.ndim == 4:
            video = video.unsqueeze(2)
        if video.ndim != 5 or video.shape[1] != cfg.in_channels:
            raise ValueError(
                f"input shape {tuple(video.shape)}; expected (B, {cfg.in_channels}, "
                f"T, H, W) for a video or (B, {cfg.in_channels}, H, W) for an image"
            )
        frames, height, width = video.shape[2:]
        if (frames - 1) % cfg.temporal_factor:
            raise ValueError(
                f"{frames} frames; expected 1 + {cfg.temporal_factor}k frames "
                f"(1, {1 + cfg.temporal_factor}, {1 + 2 * cfg.temporal_factor}, ...); "
                "trim or pad the clip"
            )
        if height % cfg.spatial_factor or width % cfg.spatial_factor:
            raise ValueError(
                f"frame size {height}x{width}; expected multiples of "
                f"{cfg.spatial_factor}; crop or resize"
            )
        return video

    def encode(self, video: Tensor) -> QuantizerOutput:
        """Pixels -> quantized latent; quantized is (B, K, t, h, w)."""
        z = self.encoder(self.check_input(video))
        return self.quantize(z, channel_dim=1)

    def decode(self, quantized: Tensor) -> Tensor:
        """(B, K, t, h, w) quantized latent -> (B, C, 1 + factor (t-1), H, W)."""
        return self.decoder(quantized)

    def tokenize(self, video: Tensor) -> Tensor:
        """Pixels -> int64 token indices (B, t, h, w); image input gives t = 1."""
        with torch.no_grad():
            return self.encode(video).indices

    def detokenize(self, indices: Tensor) -> Tensor:
        """Token indices (B, t, h, w) -> pixels (B, C, T, H, W)."""
        with torch.no_grad():
            codes = self.quantize.indices_to_codes(indices, channel_dim=1)
            return self.decode(codes.float())

    def forward(self, video: Tensor) -> TokenizerOutput:
        is_image = video.ndim == 4
        out = self.encode(video)
        reconstruction = self.decode(out.quantized)
        if is_image:
            reconstruction = reconstruction.squeeze(2)
        return TokenizerOutput(reconstruction, out)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
