"""Who meets whom in an epoch (spec §1.4).

Each pairing rule fills ``order`` (length N) so that pair k is
``(order[2k], order[2k + 1])``, the first program being the first half of the tape,
and returns how many pairs run; the slots after those are mutated but not run.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from complife.rng import derive_seed, derive_seed_py, splitmix64, splitmix64_py


@njit(cache=True, parallel=True)
def _shuffle_draws(run_seed, epoch, n, draws):
    """The Fisher-Yates draws of epoch ``epoch``: j_i = SplitMix64(seed(e*N+i)) % (i+1).

    They do not depend on each other, so they are drawn in parallel; only the swaps
    are sequential.
    """
    base = np.uint64(epoch) * np.uint64(n)
    for i in prange(n):
        r = splitmix64(derive_seed(run_seed, base + np.uint64(i)))
        draws[i] = r % np.uint64(i + 1)


@njit(cache=True)
def _apply_swaps(order, draws):
    for i in range(order.size - 1, -1, -1):
        j = draws[i]
        order[i], order[j] = order[j], order[i]


def well_mixed(run_seed: int, epoch: int, order: np.ndarray) -> int:
    """The default rule: a fresh random permutation each epoch (Fisher-Yates from the
    end, identity start); every program interacts once."""
    n = order.size
    draws = np.empty(n, dtype=np.uint64)
    _shuffle_draws(np.uint64(run_seed), np.uint64(epoch), n, draws)
    order[:] = np.arange(n)
    _apply_swaps(order, draws)
    return n // 2


def well_mixed_py(run_seed: int, epoch: int, n: int) -> list[int]:
    """Slow twin of :func:`well_mixed`."""
    order = list(range(n))
    for i in range(n - 1, -1, -1):
        j = splitmix64_py(derive_seed_py(run_seed, epoch * n + i)) % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order
