"""Quantizers: lookup-free quantization (the paper's Sec. 3.1) and a VQ baseline."""

from magvit2.quantizer.lfq import (
    LFQ,
    QuantizerOutput,
    batch_entropy,
    bit_log_probs,
    codes_to_indices,
    indices_to_codes,
    per_sample_entropy,
)
from magvit2.quantizer.vq import VectorQuantizer

__all__ = [
    "LFQ",
    "QuantizerOutput",
    "VectorQuantizer",
    "batch_entropy",
    "bit_log_probs",
    "codes_to_indices",
    "indices_to_codes",
    "per_sample_entropy",
]
