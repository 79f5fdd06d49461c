"""Who meets whom in an epoch (spec §1.4).

A pairing fills ``order`` (length N) so that pair k is ``(order[2k], order[2k + 1])``,
the first program being the first half of the tape, and returns how many pairs run;
the slots after those are mutated but not run. Each rule comes with a slow twin.

=================  =========================================================
``well_mixed``     a fresh random permutation every epoch (the default)
``fixed_shuffle``  a deterministic permutation, no RNG (N a power of two)
``ring``           neighbours on a ring, alternating between epochs
``neighbours``     each program picks one of its allowed partners (a graph
                   from an interaction-pattern file, or a 2-D grid)
=================  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit, prange

from complife.rng import derive_seed, derive_seed_py, splitmix64, splitmix64_py

#: Chebyshev radius of the reference's 2-D neighbourhood (make_2d_pattern.py).
GRID_RADIUS = 2


@njit(cache=True, parallel=True, nogil=True)
def _shuffle_draws(run_seed, epoch, n, draws):
    """The Fisher-Yates draws of an epoch: j_i = SplitMix64(seed(e*N + i)) % (i + 1).

    They do not depend on each other, so they are drawn in parallel; only the swaps
    are sequential.
    """
    base = np.uint64(epoch) * np.uint64(n)
    for i in prange(n):
        r = splitmix64(derive_seed(run_seed, base + np.uint64(i)))
        draws[i] = r % np.uint64(i + 1)


@njit(cache=True, nogil=True)
def shuffle_into(run_seed, epoch, order, draws):
    """Fill ``order`` with epoch ``epoch``'s random permutation (Fisher-Yates from the
    end, starting from the identity), as the reference's ``do_shuffle``; ``draws`` is
    working memory of the same length."""
    n = order.size
    _shuffle_draws(run_seed, epoch, n, draws)
    for i in range(n):
        order[i] = i
    for i in range(n - 1, -1, -1):
        j = draws[i]
        order[i], order[j] = order[j], order[i]


def shuffled(run_seed: int, epoch: int, order: np.ndarray) -> None:
    """:func:`shuffle_into` with its own working memory."""
    draws = np.empty(order.size, dtype=np.uint64)
    shuffle_into(np.uint64(run_seed), np.uint64(epoch), order, draws)


def shuffled_py(run_seed: int, epoch: int, n: int) -> list[int]:
    """Slow twin of :func:`shuffled`."""
    order = list(range(n))
    for i in range(n - 1, -1, -1):
        j = splitmix64_py(derive_seed_py(run_seed, epoch * n + i)) % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


@dataclass(frozen=True)
class WellMixed:
    """Every program meets a random partner once per epoch."""

    name = "well_mixed"

    def check(self, n: int) -> None:
        """Any even number of programs works."""

    def pair(self, run_seed: int, epoch: int, order: np.ndarray) -> int:
        shuffled(run_seed, epoch, order)
        return order.size // 2

    def pair_py(self, run_seed: int, epoch: int, n: int) -> tuple[list[int], int]:
        return shuffled_py(run_seed, epoch, n), n // 2


@dataclass(frozen=True)
class FixedShuffle:
    """order[i] = ((i * off) mod N) XOR (e & 1), off = 2**(e mod log2 N + 1) - 1.

    No randomness: probably the "fixed pairing pattern" of the paper's long-no-noise
    runs (Fig. 7).
    """

    name = "fixed_shuffle"

    def check(self, n: int) -> None:
        if n & (n - 1):
            raise ValueError(
                f"fixed shuffle needs a power-of-two number of programs, not {n}; "
                f"try {1 << (n.bit_length() - 1)} or {1 << n.bit_length()}"
            )

    def pair(self, run_seed: int, epoch: int, order: np.ndarray) -> int:
        n = order.size
        offset = (1 << (epoch % (n.bit_length() - 1) + 1)) - 1
        i = np.arange(n, dtype=np.uint64)
        order[:] = ((i * np.uint64(offset)) % np.uint64(n)) ^ np.uint64(epoch & 1)
        return n // 2

    def pair_py(self, run_seed: int, epoch: int, n: int) -> tuple[list[int], int]:
        log2 = n.bit_length() - 1
        offset = 2 ** (epoch % log2 + 1) - 1
        return [((i * offset) % n) ^ (epoch % 2) for i in range(n)], n // 2


@dataclass(frozen=True)
class Ring:
    """No shuffling (``--nopermute_programs``): odd epochs pair (0,1), (2,3), ...;
    even epochs pair (N-1, 0), (1, 2), (3, 4), ... ."""

    name = "ring"

    def check(self, n: int) -> None:
        """Any even number of programs works."""

    def pair(self, run_seed: int, epoch: int, order: np.ndarray) -> int:
        n = order.size
        order[:] = np.arange(n)
        if epoch % 2 == 0:
            order[:] = np.roll(order, 1)
        return n // 2

    def pair_py(self, run_seed: int, epoch: int, n: int) -> tuple[list[int], int]:
        if epoch % 2:
            return list(range(n)), n // 2
        return [n - 1 if i == 0 else i - 1 for i in range(n)], n // 2


@njit(cache=True)
def _pick_partners(run_seed, epoch, visit, offsets, partners, order):
    """Visit programs in ``visit`` order; each picks one allowed partner; both must
    be free to pair. Unpaired programs follow in index order. Returns the pairs."""
    n = visit.size
    used = np.zeros(n, dtype=np.bool_)
    epoch_seed = derive_seed(run_seed, np.uint64(epoch))
    pairs = 0
    for i in visit:
        degree = offsets[i + 1] - offsets[i]
        if degree == 0:
            continue
        pick = derive_seed(run_seed, epoch_seed ^ derive_seed(run_seed, np.uint64(i)))
        j = partners[offsets[i] + np.int64(pick % np.uint64(degree))]
        if used[i] or used[j]:
            continue
        used[i] = True
        used[j] = True
        order[2 * pairs] = i
        order[2 * pairs + 1] = j
        pairs += 1
    slot = 2 * pairs
    for i in range(n):
        if not used[i]:
            order[slot] = i
            slot += 1
    return pairs


@dataclass(frozen=True)
class Neighbours:
    """Pairs only along allowed edges (the reference's ``--interaction_pattern``).

    ``offsets`` and ``partners`` hold the partners of program i, in file order, as
    ``partners[offsets[i]:offsets[i + 1]]``. Each epoch the programs are visited in
    a random order; program i picks ``partners_i[seed(seed(e) ^ seed(i)) % deg_i]``
    and they pair if both are still free. The rest are mutated but not run.
    """

    offsets: np.ndarray = field(repr=False)
    partners: np.ndarray = field(repr=False)
    source: str = ""
    name = "neighbours"

    @property
    def num_programs(self) -> int:
        return self.offsets.size - 1

    def check(self, n: int) -> None:
        if n != self.num_programs:
            raise ValueError(
                f"{self.source} pairs {self.num_programs} programs, but the soup has "
                f"{n}; make them agree"
            )

    def pair(self, run_seed: int, epoch: int, order: np.ndarray) -> int:
        visit = np.empty(order.size, dtype=np.int64)
        shuffled(run_seed, epoch, visit)
        return int(
            _pick_partners(
                np.uint64(run_seed), epoch, visit, self.offsets, self.partners, order
            )
        )

    def pair_py(self, run_seed: int, epoch: int, n: int) -> tuple[list[int], int]:
        used = [False] * n
        order = []
        epoch_seed = derive_seed_py(run_seed, epoch)
        for i in shuffled_py(run_seed, epoch, n):
            allowed = self.partners[self.offsets[i] : self.offsets[i + 1]].tolist()
            if not allowed:
                continue
            pick = derive_seed_py(run_seed, epoch_seed ^ derive_seed_py(run_seed, i))
            j = allowed[pick % len(allowed)]
            if used[i] or used[j]:
                continue
            used[i] = used[j] = True
            order += [i, j]
        pairs = len(order) // 2
        return order + [i for i in range(n) if not used[i]], pairs

    @classmethod
    def from_edges(cls, n: int, edges: list[tuple[int, int]], source: str = ""):
        """From ``(a, b)`` edges (a may meet b, a first), partners in edge order."""
        edges_array = np.array(edges, dtype=np.int64).reshape(-1, 2)
        first = edges_array[:, 0]
        order = np.argsort(first, kind="stable")
        counts = np.bincount(first, minlength=n)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(offsets, edges_array[order, 1].copy(), source)

    @classmethod
    def read(cls, path: str | Path, n: int) -> Neighbours:
        """Read an interaction-pattern file: lines ``a b``, 0 <= a, b < n."""
        path = Path(path)
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError(f"cannot read interaction pattern {path}: {e}") from None
        edges = []
        for number, line in enumerate(text.splitlines(), start=1):
            words = line.split()
            if not words:
                continue
            try:
                a, b = (int(w) for w in words)
            except ValueError:
                raise ValueError(
                    f"{path}, line {number}: {line.strip()!r} is not two program "
                    "indices 'a b'"
                ) from None
            if not (0 <= a < n and 0 <= b < n):
                raise ValueError(
                    f"{path}, line {number}: programs {a} {b} are not in [0, {n}); "
                    f"the soup has {n} programs"
                )
            edges.append((a, b))
        if not edges:
            raise ValueError(
                f"interaction pattern {path} has no pairs 'a b'; no program would ever "
                "run"
            )
        return cls.from_edges(n, edges, f"interaction pattern {path}")

    @classmethod
    def grid(cls, width: int, height: int) -> Neighbours:
        """The 2-D grid of the paper (Fig. 8): every cell may meet the cells within
        Chebyshev distance 2, edges clipped (not a torus); index = row * W + col."""
        if width < 1 or height < 1:
            raise ValueError(f"grid {width}x{height} needs a positive width and height")
        edges = []
        r = GRID_RADIUS
        for row in range(height):
            for col in range(width):
                for dr in range(-r, r + 1):
                    for dc in range(-r, r + 1):
                        y, x = row + dr, col + dc
                        if (dr or dc) and 0 <= y < height and 0 <= x < width:
                            edges.append((row * width + col, y * width + x))
        return cls.from_edges(width * height, edges, f"the {width}x{height} grid")


#: The rules by name, for configs and the command line.
RULES = ("well_mixed", "fixed_shuffle", "ring")


def by_name(name: str):
    rules = {"well_mixed": WellMixed(), "fixed_shuffle": FixedShuffle(), "ring": Ring()}
    try:
        return rules[name]
    except KeyError:
        raise ValueError(
            f"unknown pairing {name!r}; expected one of {', '.join(rules)}"
        ) from None
