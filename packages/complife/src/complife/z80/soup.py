"""The Z80 soup of the paper (§5, Fig. 12; public as znah/zff): a 2-D grid of
16-byte programs that meet their 4-neighbours.

One **batch** (the unit this soup counts time in):

1. Pairing: draw a random cell and a random direction (left/right or up/down; at
   an edge the direction points inwards); if neither cell is taken yet this batch,
   they are a pair. Stop after ``max_pairs`` pairs or 16 draws in a row that hit a
   taken cell (znah/zff's rule; about 11 000 pairs on a 200x200 grid).
2. Every pair runs as one 32-byte tape (the first cell's program, then the
   second's) on a freshly reset CPU for ``steps`` instructions or until HALT
   (:mod:`complife.languages.z80`), and both halves go back to their cells.
3. Noise: ``pairs // 16`` random bytes anywhere in the soup get random values.

Every random draw is a SplitMix64 hash of (seed, batch, counter) as in
:mod:`complife.rng`, never a generator's state: a run gives the same soup on any
number of threads and after a resume. The pairs of a batch are disjoint, so they
run in parallel (numba ``prange``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numba import njit, prange

from complife.languages.z80 import (
    PROGRAM_SIZE,
    STATE_SIZE,
    check_mode,
    reset,
    run_tape,
)
from complife.rng import derive_seed, fill_random_programs, splitmix64

#: Draws that hit a taken cell in a row before a batch stops pairing (znah/zff).
MAX_COLLISIONS = 16
#: Noise: one replaced byte per this many pairs (znah/zff's default 1/16).
PAIRS_PER_MUTATION = 16
# Streams of the counter-based draws, so pairing and noise never share a counter
_PAIRING, _NOISE = np.uint64(1), np.uint64(2)


@dataclass(frozen=True)
class Z80SoupConfig:
    """Settings of one Z80 soup run (defaults: znah/zff's)."""

    width: int = 200
    height: int = 200
    steps: int = 128
    mode: str = "z80"
    seed: int = 0
    max_pairs: int = 8192
    pairs_per_mutation: int = PAIRS_PER_MUTATION

    def check(self) -> None:
        """One-line errors for settings that cannot run."""
        check_mode(self.mode)
        for name in ("width", "height"):
            value = getattr(self, name)
            if not 2 <= value <= 4096:
                raise ValueError(f"--{name} {value}: expected 2 to 4096 cells")
        if not 1 <= self.steps <= 1 << 20:
            raise ValueError(f"--steps {self.steps}: expected 1 to 2**20")
        if not 1 <= self.max_pairs <= self.width * self.height // 2:
            raise ValueError(
                f"--max-pairs {self.max_pairs}: expected 1 to half the cells "
                f"({self.width * self.height // 2})"
            )
        if self.pairs_per_mutation < 1:
            raise ValueError(
                f"--pairs-per-mutation {self.pairs_per_mutation}: expected >= 1"
            )
        if not 0 <= self.seed < 1 << 63:
            raise ValueError(f"--seed {self.seed}: expected an integer in [0, 2**63)")

    def to_dict(self) -> dict:
        return asdict(self)


@njit(cache=True)
def _pair_cells(width, height, batch_seed, max_pairs, taken, pairs):
    """Step 1: fill ``pairs`` (max_pairs, 2) with disjoint neighbour pairs; return
    their number. ``taken`` is a scratch array of one flag per cell."""
    n = width * height
    taken[:] = 0
    count = 0
    collisions = 0
    k = np.uint64(0)
    base = splitmix64(batch_seed ^ _PAIRING)
    while count < max_pairs and collisions < MAX_COLLISIONS:
        r = splitmix64(base + k)
        k += np.uint64(1)
        direction = np.int64(r & np.uint64(1)) * 2 - 1
        horizontal = (r >> np.uint64(1)) & np.uint64(1)
        i = np.int64((r >> np.uint64(2)) % np.uint64(n))
        if taken[i]:
            collisions += 1
            continue
        if horizontal:
            if i % width == 0:
                direction = 1
            if (i + 1) % width == 0:
                direction = -1
            j = i + direction
        else:
            if i < width:
                direction = 1
            if n - i - 1 < width:
                direction = -1
            j = i + direction * width
        if taken[j]:
            collisions += 1
            continue
        taken[i] = 1
        taken[j] = 1
        pairs[count, 0] = i
        pairs[count, 1] = j
        count += 1
        collisions = 0
    return count


@njit(cache=True, parallel=True)
def _run_pairs(programs, pairs, count, steps, mode, ops):
    """Step 2: run every pair on a fresh CPU and put the halves back."""
    size = programs.shape[1]
    for k in prange(count):
        tape = np.empty(2 * size, dtype=np.uint8)
        st = np.zeros(STATE_SIZE, dtype=np.int64)
        i, j = pairs[k, 0], pairs[k, 1]
        tape[:size] = programs[i]
        tape[size:] = programs[j]
        reset(st, mode, 0)
        ops[k] = run_tape(tape, st, mode, steps, 0)
        programs[i] = tape[:size]
        programs[j] = tape[size:]


@njit(cache=True)
def _mutate(programs, batch_seed, count):
    """Step 3: ``count`` random bytes anywhere get random values."""
    flat = programs.reshape(-1)
    base = splitmix64(batch_seed ^ _NOISE)
    for k in range(count):
        r = splitmix64(base + np.uint64(k))
        flat[np.int64((r >> np.uint64(8)) % np.uint64(flat.size))] = r & np.uint64(255)


class Z80Soup:
    """A grid of programs and the number of batches it has run.

    ``programs`` is (height * width, 16) uint8, row-major: cell (x, y) is program
    ``y * width + x``."""

    def __init__(self, config: Z80SoupConfig):
        config.check()
        self.config = config
        self.mode = check_mode(config.mode)
        n = config.width * config.height
        self.programs = np.empty((n, PROGRAM_SIZE), dtype=np.uint8)
        stream = np.uint64(derive_seed(np.uint64(config.seed), np.uint64(0)))
        fill_random_programs(self.programs, stream)
        self.batch = 0
        self._taken = np.zeros(n, dtype=np.uint8)
        self._pairs = np.zeros((config.max_pairs, 2), dtype=np.int64)
        self._ops = np.zeros(config.max_pairs, dtype=np.int64)
        self.last_pairs = 0
        self.last_ops = 0

    def batch_seed(self, batch: int) -> np.uint64:
        # Stream 0 made the initial soup; batch b draws from stream b + 1
        return np.uint64(derive_seed(np.uint64(self.config.seed), np.uint64(batch + 1)))

    def run_batch(self) -> None:
        """One batch: pair, run, add noise (module docstring)."""
        c = self.config
        seed = self.batch_seed(self.batch)
        count = _pair_cells(
            c.width, c.height, seed, c.max_pairs, self._taken, self._pairs
        )
        _run_pairs(self.programs, self._pairs, count, c.steps, self.mode, self._ops)
        _mutate(self.programs, seed, count // c.pairs_per_mutation)
        self.batch += 1
        self.last_pairs = count
        self.last_ops = int(self._ops[:count].sum())

    def pairs_of_batch(self, batch: int) -> np.ndarray:
        """The pairs a batch draws, (count, 2) cell indices (for tests, pictures)."""
        c = self.config
        taken = np.zeros(c.width * c.height, dtype=np.uint8)
        pairs = np.zeros((c.max_pairs, 2), dtype=np.int64)
        count = _pair_cells(
            c.width, c.height, self.batch_seed(batch), c.max_pairs, taken, pairs
        )
        return pairs[:count].copy()


def tiles(programs: np.ndarray, palette: np.ndarray, width: int) -> np.ndarray:
    """The soup as it lies on its grid: each 16-byte program a 4x4 tile (byte j at
    x = j % 4, y = j // 4), as an (H*4, W*4, 3) uint8 image."""
    n, size = programs.shape
    if size != 16 or n % width:
        raise ValueError(
            f"a soup of {n} programs of {size} bytes is not a {width}-wide grid of "
            "16-byte programs"
        )
    height = n // width
    image = palette[programs].reshape(height, width, 4, 4, 3)
    return image.transpose(0, 2, 1, 3, 4).reshape(height * 4, width * 4, 3)


def most_common(programs: np.ndarray, top: int = 10) -> list[tuple[bytes, int]]:
    """The ``top`` most common programs of a soup and their counts."""
    rows, counts = np.unique(programs, axis=0, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:top]
    return [(rows[i].tobytes(), int(counts[i])) for i in order]
