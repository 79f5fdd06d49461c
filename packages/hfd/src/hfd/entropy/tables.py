"""Integer probability tables shared by the encoder and the decoder.

Both sides must use bit-identical models, or the range decoder returns garbage.
Floating-point densities are therefore turned once (at ``update()``) into integer
counts that sum to ``2**PRECISION``; every symbol keeps a count of at least 1 so
that any symbol in the support stays encodable. The tables are stored in the
model's state, so a file is decoded with exactly the tables that encoded it.

Each row covers the symbols ``offset .. offset + length - 2``; its last entry is an
*escape* bin for values outside that support, whose true value is then written
verbatim beside the range-coded stream (as CompressAI's bypass coding does).
"""

from dataclasses import dataclass

import numpy as np

PRECISION = 16


def quantize_pmf(pmf: np.ndarray, precision: int = PRECISION) -> np.ndarray:
    """Integer counts summing to ``2**precision``, each at least 1, close to
    ``pmf``.

    Deterministic (no ties broken by float noise beyond the input itself): the
    leftover of flooring goes to the most probable symbol.
    """
    pmf = np.asarray(pmf, dtype=np.float64)
    if pmf.ndim != 1 or len(pmf) == 0 or not np.all(np.isfinite(pmf)):
        raise ValueError(f"pmf must be a finite 1-D array, got shape {pmf.shape}")
    total = 1 << precision
    if len(pmf) >= total:
        raise ValueError(f"pmf has {len(pmf)} entries; at most {total - 1} fit")
    pmf = np.clip(pmf, 0.0, None)
    free = total - len(pmf)
    counts = np.floor(pmf / max(pmf.sum(), 1e-300) * free).astype(np.int64) + 1
    counts[int(np.argmax(counts))] += total - int(counts.sum())
    return counts


@dataclass(frozen=True)
class IntegerTables:
    """Rows of integer counts: ``counts[i, :lengths[i]]`` with the escape bin last;
    row ``i`` codes symbol ``v`` as ``v - offsets[i]``."""

    counts: np.ndarray  # (rows, max_length) int64, zero padded
    lengths: np.ndarray  # (rows,) int64
    offsets: np.ndarray  # (rows,) int64

    @classmethod
    def from_pmfs(cls, pmfs: list[np.ndarray], offsets: list[int]) -> "IntegerTables":
        """Build from float pmfs over each row's support (escape mass last)."""
        rows = [quantize_pmf(p) for p in pmfs]
        width = max(len(r) for r in rows)
        counts = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            counts[i, : len(r)] = r
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        return cls(counts, lengths, np.asarray(offsets, dtype=np.int64))

    def row(self, i: int) -> np.ndarray:
        return self.counts[i, : self.lengths[i]]
