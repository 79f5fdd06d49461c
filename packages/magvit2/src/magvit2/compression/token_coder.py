"""Tokens entropy-coded into a real bitstream with a context-adaptive range coder.

The token grid (t, h, w) of K-bit LFQ indices is coded bit-plane-wise per token in
raster order with constriction's range coder (Bamler 2022). Each bit k of a token is
coded with an adaptive Bernoulli model whose context is (k, bit k of the token at the
same place in the previous latent frame, bit k of the token to the left), with
Krichevsky-Trofimov counts (start at 1/2, updated after each token). Encoder and
decoder run the same model, so no probability table is sent. Bits of one token do not
condition on each other, which lets the decoder decode a whole token per call.

Stream layout (version 2): b"MV2T", version (u8), K (u8), t, h, w (u16 each), the
payload length in bytes (u32) and the CRC-32 of the payload (u32), then the payload:
the range coder's 32-bit words, little-endian. The decoder checks length and CRC
before decoding, so a truncated, damaged or concatenated file is refused instead of
decoding to garbage.
"""

from __future__ import annotations

import struct
import zlib

import brotli
import constriction
import numpy as np

MAGIC = b"MV2T"
VERSION = 2
HEADER = struct.Struct("<4sBBHHHII")
MIN_PROBABILITY = 1.0 / 4096
# constriction's classes live in extension submodules, reached as attributes
Bernoulli = constriction.stream.model.Bernoulli
RangeEncoder = constriction.stream.queue.RangeEncoder
RangeDecoder = constriction.stream.queue.RangeDecoder


class DamagedStreamError(ValueError):
    """A token stream whose header, length or checksum does not hold."""


class _AdaptiveBits:
    """Context counts shared by the encoder and the decoder."""

    def __init__(self, num_bits: int):
        self.k = np.arange(num_bits)
        self.counts = np.full((num_bits, 3, 3, 2), 0.5)

    def contexts(self, bits, i, y, x):
        above = bits[i - 1, y, x] if i > 0 else np.full(len(self.k), 2)
        left = bits[i, y, x - 1] if x > 0 else np.full(len(self.k), 2)
        return above, left

    def probability_of_one(self, above, left) -> np.ndarray:
        counts = self.counts[self.k, above, left]
        p = counts[:, 1] / counts.sum(-1)
        return np.clip(p, MIN_PROBABILITY, 1 - MIN_PROBABILITY)

    def update(self, above, left, token_bits) -> None:
        self.counts[self.k, above, left, token_bits] += 1


def _bits_of(indices: np.ndarray, num_bits: int) -> np.ndarray:
    return ((indices[..., None] >> np.arange(num_bits)) & 1).astype(np.int32)


def encode_tokens(indices: np.ndarray, num_bits: int) -> bytes:
    """(t, h, w) integer token indices in [0, 2**K) -> bitstream bytes."""
    indices = np.asarray(indices)
    if indices.ndim != 3:
        raise ValueError(f"token grid has shape {indices.shape}; expected (t, h, w)")
    if indices.min() < 0 or indices.max() >= 2**num_bits:
        raise ValueError(
            f"tokens span [{indices.min()}, {indices.max()}]; "
            f"expected 0..{2**num_bits - 1}"
        )
    bits = _bits_of(indices.astype(np.int64), num_bits)
    model = _AdaptiveBits(num_bits)
    probabilities = np.empty(bits.shape, dtype=np.float64)
    t, h, w = indices.shape
    for i in range(t):
        for y in range(h):
            for x in range(w):
                above, left = model.contexts(bits, i, y, x)
                probabilities[i, y, x] = model.probability_of_one(above, left)
                model.update(above, left, bits[i, y, x])
    encoder = RangeEncoder()
    encoder.encode(
        bits.reshape(-1), Bernoulli(perfect=False), probabilities.reshape(-1)
    )
    payload = encoder.get_compressed().astype("<u4").tobytes()
    header = HEADER.pack(
        MAGIC, VERSION, num_bits, t, h, w, len(payload), zlib.crc32(payload)
    )
    return header + payload


def check_stream(stream: bytes) -> tuple[int, int, int, int, bytes]:
    """Validate header, payload length and CRC-32 -> (K, t, h, w, payload).

    Raises DamagedStreamError naming what does not hold."""
    if len(stream) < 5 or stream[:4] != MAGIC:
        raise DamagedStreamError("not a magvit2 token stream (missing MV2T header)")
    if stream[4] != VERSION:
        raise DamagedStreamError(
            f"token stream version {stream[4]}; expected {VERSION} (tokenize the "
            "input again with this magvit2)"
        )
    if len(stream) < HEADER.size:
        raise DamagedStreamError(
            f"{len(stream)} bytes, shorter than the {HEADER.size}-byte header"
        )
    _, _, num_bits, t, h, w, length, crc = HEADER.unpack_from(stream)
    payload = stream[HEADER.size :]
    if len(payload) < length:
        raise DamagedStreamError(
            f"payload has {len(payload)} bytes; the header says {length}"
        )
    if len(payload) > length:
        raise DamagedStreamError(
            f"{len(payload) - length} trailing bytes after the {length}-byte payload"
        )
    if zlib.crc32(payload) != crc or length % 4:
        raise DamagedStreamError("payload CRC-32 does not match the header")
    if not 1 <= num_bits <= 32 or min(t, h, w) == 0:
        raise DamagedStreamError(f"header gives K={num_bits}, grid {t}x{h}x{w}")
    return num_bits, t, h, w, payload


def decode_tokens(stream: bytes) -> tuple[np.ndarray, int]:
    """Bitstream bytes -> ((t, h, w) int64 token indices, K)."""
    num_bits, t, h, w, payload = check_stream(stream)
    words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
    decoder = RangeDecoder(words)
    model = _AdaptiveBits(num_bits)
    bits = np.zeros((t, h, w, num_bits), dtype=np.int32)
    bernoulli = Bernoulli(perfect=False)
    for i in range(t):
        for y in range(h):
            for x in range(w):
                above, left = model.contexts(bits, i, y, x)
                p = model.probability_of_one(above, left)
                bits[i, y, x] = decoder.decode(bernoulli, p)
                model.update(above, left, bits[i, y, x])
    indices = (bits.astype(np.int64) << np.arange(num_bits)).sum(-1)
    return indices, num_bits


def brotli_baseline_bytes(indices: np.ndarray, num_bits: int) -> int:
    """Size of the token bits packed and compressed by brotli (a generic baseline)."""
    bits = _bits_of(np.asarray(indices).astype(np.int64), num_bits)
    return len(brotli.compress(np.packbits(bits.reshape(-1)).tobytes(), quality=11))
