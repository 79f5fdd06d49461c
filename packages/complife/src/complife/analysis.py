"""What the soup is made of: its most common programs."""

from __future__ import annotations

import numpy as np


def most_common_programs(programs: np.ndarray, k: int = 10) -> list[tuple[bytes, int]]:
    """The ``k`` most frequent programs with their counts, most frequent first; ties
    in byte order."""
    rows = np.ascontiguousarray(programs)
    keys = rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
    unique, counts = np.unique(keys, return_counts=True)
    top = np.lexsort((np.arange(counts.size), -counts))[:k]
    return [(bytes(unique[i]), int(counts[i])) for i in top]
