"""Video compression with the tokenizer: pixels -> LFQ tokens -> range-coded stream.

`compress` returns the stream, `decompress` the reconstruction; `evaluate` reports bits
per pixel, PSNR and MS-SSIM, plus the raw token rate (K bits per token) and a brotli
baseline over the same tokens for comparison.
"""

from __future__ import annotations

import torch
from torch import Tensor

from magvit2.compression.metrics import bits_per_pixel, ms_ssim, psnr
from magvit2.compression.token_coder import (
    brotli_baseline_bytes,
    decode_tokens,
    encode_tokens,
)
from magvit2.tokenizer import VideoTokenizer


def compress(model: VideoTokenizer, video: Tensor) -> bytes:
    """(C, T, H, W) or (C, H, W) pixels in [-1, 1] -> bitstream."""
    indices = model.tokenize(video.unsqueeze(0))[0]
    return encode_tokens(indices.numpy(), model.config.num_bits)


def decompress(model: VideoTokenizer, stream: bytes) -> Tensor:
    """Bitstream -> (C, T, H, W) reconstruction."""
    indices, num_bits = decode_tokens(stream)
    if num_bits != model.config.num_bits:
        raise ValueError(
            f"stream has {num_bits}-bit tokens; the model expects "
            f"{model.config.num_bits}; use the checkpoint that made the stream"
        )
    return model.detokenize(torch.from_numpy(indices).unsqueeze(0))[0]


def evaluate(model: VideoTokenizer, video: Tensor) -> dict:
    """Compress and decompress one clip; rate and quality numbers."""
    clip = video if video.ndim == 4 else video.unsqueeze(1)
    frames, height, width = clip.shape[1:]
    stream = compress(model, clip)
    reconstruction = decompress(model, stream)
    indices, num_bits = decode_tokens(stream)
    msssim, setting = ms_ssim(clip.unsqueeze(0), reconstruction.unsqueeze(0))
    return {
        "bytes": len(stream),
        "bpp": bits_per_pixel(len(stream), frames, height, width),
        "raw_token_bpp": indices.size * num_bits / (frames * height * width),
        "brotli_bpp": bits_per_pixel(
            brotli_baseline_bytes(indices, num_bits), frames, height, width
        ),
        "psnr": psnr(clip, reconstruction),
        "ms_ssim": msssim,
        "ms_ssim_setting": setting,
        "reconstruction": reconstruction,
    }
