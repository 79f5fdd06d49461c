"""Counter-based random numbers of the reference soup (spec §1.2).

Every random draw of a soup is a pure function of (seed, epoch, index): a SplitMix64
hash of a counter, never the state of a generator. That is what makes a run give the
same bytes on any number of threads and after a resume from any checkpoint.

The jitted functions here are called from the soup kernels; ``splitmix64_py`` and
``derive_seed_py`` are their slow twins on Python integers.
"""

import numpy as np
from numba import njit, prange, types

MASK64 = (1 << 64) - 1

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)


@njit(types.uint64(types.uint64), cache=True, inline="always")
def splitmix64(x):
    """The SplitMix64 output function of a 64-bit counter (wrapping arithmetic)."""
    z = x + _GAMMA
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(types.uint64(types.uint64, types.uint64), cache=True, inline="always")
def derive_seed(run_seed, k):
    """``seed(k)`` of the reference: SplitMix64(SplitMix64(seed) ^ SplitMix64(k))."""
    return splitmix64(splitmix64(run_seed) ^ splitmix64(k))


@njit(cache=True, parallel=True)
def fill_random_programs(programs, stream_seed):
    """Fill an (N, L) soup with the reference's initial bytes.

    Byte i of program p is ``SplitMix64(L*N*s + L*p + i) % 256`` with ``s`` the
    stream seed (``seed(0)`` for a fresh soup, ``seed(r)`` for the r-th reset).
    """
    n, length = programs.shape
    base = np.uint64(length) * np.uint64(n) * stream_seed
    for p in prange(n):
        row = base + np.uint64(length) * np.uint64(p)
        for i in range(length):
            programs[p, i] = splitmix64(row + np.uint64(i)) & np.uint64(0xFF)


def splitmix64_py(x: int) -> int:
    """Slow twin of :func:`splitmix64` on Python integers."""
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def derive_seed_py(run_seed: int, k: int) -> int:
    """Slow twin of :func:`derive_seed`."""
    return splitmix64_py(splitmix64_py(run_seed) ^ splitmix64_py(k & MASK64))
