"""Video compression into a real bitstream, and the metrics that score it."""

from magvit2.compression.metrics import bits_per_pixel, ms_ssim, psnr
from magvit2.compression.token_coder import (
    DamagedStreamError,
    brotli_baseline_bytes,
    decode_tokens,
    encode_tokens,
)
from magvit2.compression.video_codec import compress, decompress, evaluate

__all__ = [
    "DamagedStreamError",
    "bits_per_pixel",
    "brotli_baseline_bytes",
    "compress",
    "decode_tokens",
    "decompress",
    "encode_tokens",
    "evaluate",
    "ms_ssim",
    "psnr",
]
