"""What a report measures about a soup (spec §3).

The complexity metric of the paper is *high-order entropy*: the order-0 Shannon
entropy of the soup's bytes minus its brotli-compressed size in bits per byte. It is
about 0 for noise and jumps when copies of a few programs fill the soup.
"""

from __future__ import annotations

import ctypes
import math
import warnings
from dataclasses import dataclass
from functools import cache

import brotli
import numpy as np
from numba import njit

#: Brotli settings of the reference: quality 2, window 2**24, generic mode.
BROTLI_QUALITY = 2
BROTLI_LGWIN = 24
#: How many most and least frequent bytes a report lists.
TOP_BYTES = 16


@dataclass(frozen=True)
class SoupMetrics:
    """The metrics of one soup snapshot (spec §3), with the reference's rounding.

    ``higher_entropy`` is rounded to float32, as the reference stores it, so that
    ``f"{higher_entropy:f}"`` prints the reference's log line.
    """

    brotli_size: int
    num_programs: int
    brotli_bpb: float
    bytes_per_program: float
    h0: float
    higher_entropy: float
    frequent_bytes: tuple[tuple[int, float], ...]
    uncommon_bytes: tuple[tuple[int, float], ...]


@cache
def _one_shot_encoder():
    """``BrotliEncoderCompress`` of the brotli package's own C library, or None.

    The reference calls brotli's one-shot API, which tells the encoder the input
    size; the Python binding streams instead and can come out a byte longer. The
    PyPI wheel exports the one-shot function, so we call it through ctypes.
    """
    try:
        import _brotli

        lib = ctypes.CDLL(_brotli.__file__)
        compress = lib.BrotliEncoderCompress
        bound = lib.BrotliEncoderMaxCompressedSize
    except (ImportError, OSError, AttributeError):
        warnings.warn(
            "brotli's one-shot encoder is not reachable in this build of the brotli "
            "package; brotli sizes may differ from the reference's by a few bytes",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    compress.restype = ctypes.c_int
    compress.argtypes = [
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_size_t,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.c_char_p,
    ]
    bound.restype = ctypes.c_size_t
    bound.argtypes = [ctypes.c_size_t]
    return compress, bound


def brotli_size(data: bytes) -> int:
    """Size of ``data`` compressed as the reference compresses the soup."""
    encoder = _one_shot_encoder()
    if encoder is None:
        return len(
            brotli.compress(
                data,
                mode=brotli.MODE_GENERIC,
                quality=BROTLI_QUALITY,
                lgwin=BROTLI_LGWIN,
            )
        )
    compress, bound = encoder
    capacity = bound(len(data))
    out = ctypes.create_string_buffer(capacity)
    size = ctypes.c_size_t(capacity)
    ok = compress(
        BROTLI_QUALITY,
        BROTLI_LGWIN,
        brotli.MODE_GENERIC,
        len(data),
        data,
        ctypes.byref(size),
        out,
    )
    if not ok:
        raise RuntimeError(f"brotli failed to compress {len(data)} bytes")
    return size.value


def byte_counts(programs: np.ndarray) -> np.ndarray:
    """Histogram of byte values over the whole soup (256 bins)."""
    return _histogram(np.ascontiguousarray(programs, dtype=np.uint8).reshape(-1))


@njit(cache=True, nogil=True)
def _histogram(data):
    # np.bincount first widens every byte to 8 bytes: a 64 MiB copy of an 8 MiB
    # soup, which took 0.6 s at a run's first report.
    counts = np.zeros(256, dtype=np.int64)
    for b in data:
        counts[b] += 1
    return counts


def order0_entropy(counts: np.ndarray) -> float:
    """Shannon entropy of the byte histogram in bits per byte, summed in byte order
    in double precision as the reference does."""
    total = int(counts.sum())
    h0 = 0.0
    for c in counts.tolist():
        if c:
            frac = c * 1.0 / total
            h0 -= frac * math.log2(frac)
    return h0


def ranked_bytes(counts: np.ndarray) -> list[int]:
    """Byte values from most to least frequent; ties go to the larger value."""
    return sorted(range(256), key=lambda b: (int(counts[b]), b), reverse=True)


def measure(programs: np.ndarray) -> SoupMetrics:
    """Compute every metric of spec §3 for an (N, L) soup."""
    n, length = programs.shape
    total = n * length
    size = brotli_size(programs.tobytes())
    counts = byte_counts(programs)
    h0 = order0_entropy(counts)
    bpb = size * 8.0 / total
    ranked = ranked_bytes(counts)
    shares = counts / total
    return SoupMetrics(
        brotli_size=size,
        num_programs=n,
        brotli_bpb=bpb,
        bytes_per_program=size / n,
        h0=h0,
        higher_entropy=float(np.float32(h0 - bpb)),
        frequent_bytes=tuple((b, float(shares[b])) for b in ranked[:TOP_BYTES]),
        uncommon_bytes=tuple((b, float(shares[b])) for b in ranked[-TOP_BYTES:]),
    )


def reference_log_line(epoch: int, m: SoupMetrics) -> str:
    """One line of the reference's ``--log`` CSV, byte for byte."""
    return f"{epoch},{m.brotli_size},{m.num_programs},{m.higher_entropy:f}"
