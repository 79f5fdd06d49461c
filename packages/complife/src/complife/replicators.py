"""What a soup's replicators are: common programs, substrings, families, ancestry.

The paper (§3, Figs. 1-3) reads a transitioned soup by its most common programs and
names families of replicators by their copy loops (``[,}<]``, ``[<,}]``). Here:

- **most common programs** and **most common substrings** (8-byte windows, counted
  once per program that holds them), with counts;
- **families**: the most common program not yet placed founds a family, and every
  program of the soup within edit distance :data:`DISTANCE` of it joins (leader
  clustering, founders taken in order of count). Edit distance (Levenshtein, on the
  bytes) counts a copy shifted by one byte as 2, where Hamming distance would count
  most of the program: replicators copy themselves with such shifts. 16 edits, a
  quarter of a program, keeps the shifted and partly overwritten copies of one
  replicator together and apart from another; the founder's self-replication score
  (spec §4) and the first checkpoint of the run that holds a member are reported;
- **ancestry** from tracer tokens (:mod:`complife.tracer`): where and when the bytes
  of a family's founder were born.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numba import get_num_threads, njit, prange

from complife import selfrep, tracer
from complife.languages import Language, bff

#: Edit distance within which a program joins a family's founder.
DISTANCE = 16
#: Families shown at most.
MAX_FAMILIES = 12
#: Length of the substrings counted.
SUBSTRING_LENGTH = 8


# ---------------------------------------------------------------------------------
# Common programs and substrings


def distinct_programs(programs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct programs of a soup and their counts, most common first (ties in
    byte order)."""
    rows = np.ascontiguousarray(programs)
    keys = rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
    unique, counts = np.unique(keys, return_counts=True)
    order = np.lexsort((np.arange(counts.size), -counts))
    distinct = np.frombuffer(unique.tobytes(), dtype=np.uint8).reshape(
        -1, rows.shape[1]
    )
    return distinct[order], counts[order]


def common_substrings(
    programs: np.ndarray, length: int = SUBSTRING_LENGTH, top: int = 20
) -> list[tuple[bytes, int]]:
    """The ``top`` substrings of ``length`` bytes (at most 8) held by the most
    programs, with the number of programs that hold each."""
    if not 1 <= length <= 8 or length > programs.shape[1]:
        raise ValueError(
            f"substring length {length}: expected 1 to 8 bytes (and at most the "
            f"{programs.shape[1]}-byte program)"
        )
    windows = np.lib.stride_tricks.sliding_window_view(programs, length, axis=1)
    # Each window as one big-endian integer, so that sorting keeps byte order.
    keys = np.zeros(windows.shape[:2], dtype=np.uint64)
    for j in range(length):
        keys = (keys << np.uint64(8)) | windows[:, :, j].astype(np.uint64)
    keys.sort(axis=1)
    first = np.ones(keys.shape, dtype=bool)
    first[:, 1:] = keys[:, 1:] != keys[:, :-1]
    held = np.sort(keys[first])
    starts = np.flatnonzero(np.r_[True, held[1:] != held[:-1]])
    counts = np.diff(np.r_[starts, held.size])
    best = np.lexsort((held[starts], -counts))[:top]
    return [
        (int(held[starts[i]]).to_bytes(8, "big")[8 - length :], int(counts[i]))
        for i in best
    ]


# ---------------------------------------------------------------------------------
# Edit distance


@njit(cache=True)
def edit_distance(a, b, limit):
    """Levenshtein distance of two byte arrays, or ``limit + 1`` when it is more
    than ``limit``. Only the band |i - j| <= limit of the table is filled: a cell
    outside it is at least limit + 1 anyway."""
    n, m = a.size, b.size
    far = limit + 1
    if abs(n - m) > limit:
        return far
    previous = np.empty(m + 1, dtype=np.int64)
    current = np.empty(m + 1, dtype=np.int64)
    for j in range(m + 1):
        previous[j] = min(j, far)
    for i in range(1, n + 1):
        lo, hi = max(1, i - limit), min(m, i + limit)
        current[0] = min(i, far)
        current[lo - 1] = current[0] if lo == 1 else far
        best = current[lo - 1]
        for j in range(lo, hi + 1):
            cost = previous[j - 1] + (a[i - 1] != b[j - 1])
            cost = min(cost, previous[j] + 1, current[j - 1] + 1, far)
            current[j] = cost
            best = min(best, cost)
        if hi < m:
            current[hi + 1] = far
        if best > limit:
            return far
        previous, current = current, previous
    return min(previous[m], far)


def edit_distance_py(a: bytes, b: bytes) -> int:
    """Slow twin of :func:`edit_distance` (with no limit)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(
                min(previous[j - 1] + (x != y), previous[j] + 1, current[j - 1] + 1)
            )
        previous = current
    return previous[-1]


@njit(inline="always")
def _may_be_near(program, founder_counts, seen, limit):
    """Whether ``program`` can be within ``limit`` edits of the founder whose byte
    histogram is ``founder_counts``: equal-length strings differ by at least half
    the L1 distance of their histograms (a substitution moves 2 counts, an
    insertion or a deletion 1), which rules out almost every unrelated program
    before the full distance. ``seen`` is 256 zeros of working memory, left zero."""
    shared = 0
    for b in program:
        if seen[b] < founder_counts[b]:
            shared += 1
        seen[b] += 1
    for b in program:
        seen[b] = 0
    return program.size - shared <= limit


@njit(cache=True, parallel=True)
def _near(programs, founder, limit, n_chunks, out):
    """out[i] = whether program i is within edit distance ``limit`` of ``founder``."""
    counts = np.zeros(256, dtype=np.int64)
    for b in founder:
        counts[b] += 1
    n = programs.shape[0]
    for chunk in prange(n_chunks):
        seen = np.zeros(256, dtype=np.int64)
        for i in range(chunk * n // n_chunks, (chunk + 1) * n // n_chunks):
            out[i] = _may_be_near(programs[i], counts, seen, limit) and (
                edit_distance(programs[i], founder, limit) <= limit
            )


@njit(cache=True)
def _any_near(programs, founder, limit):
    """Whether any program is within edit distance ``limit`` of ``founder``."""
    counts = np.zeros(256, dtype=np.int64)
    for b in founder:
        counts[b] += 1
    seen = np.zeros(256, dtype=np.int64)
    for i in range(programs.shape[0]):
        if _may_be_near(programs[i], counts, seen, limit) and (
            edit_distance(programs[i], founder, limit) <= limit
        ):
            return True
    return False


def near(programs: np.ndarray, founder: bytes, distance: int = DISTANCE) -> np.ndarray:
    """Which programs are within edit distance ``distance`` of ``founder``."""
    out = np.empty(programs.shape[0], dtype=np.bool_)
    if programs.shape[0]:
        n_chunks = min(programs.shape[0], 64 * get_num_threads())
        _near(
            np.ascontiguousarray(programs),
            np.frombuffer(founder, dtype=np.uint8),
            distance,
            n_chunks,
            out,
        )
    return out


def any_near(programs: np.ndarray, founder: bytes, distance: int = DISTANCE) -> bool:
    """Whether some program is within edit distance ``distance`` of ``founder``."""
    return bool(
        _any_near(
            np.ascontiguousarray(programs),
            np.frombuffer(founder, dtype=np.uint8),
            distance,
        )
    )


# ---------------------------------------------------------------------------------
# Families


@dataclass
class Family:
    """Programs within :data:`DISTANCE` edits of a founder (module docstring).

    ``count`` programs of the soup belong, as ``variants`` distinct programs;
    ``members`` are the most common of them with their counts (the founder first).
    ``score`` is the founder's self-replication score; ``first_seen`` the epoch of
    the first checkpoint of the run that holds a member; ``newest_birth`` the birth
    epoch of the founder's youngest byte (it cannot have existed as it is before).
    """

    founder: bytes
    count: int
    variants: int
    members: list[tuple[bytes, int]]
    score: int | None = None
    first_seen: int | None = None
    newest_birth: int | None = None
    ancestry: list[tracer.Piece] = field(default_factory=list)


def group_families(
    programs: np.ndarray,
    distance: int = DISTANCE,
    max_families: int = MAX_FAMILIES,
    shown_members: int = 5,
) -> list[Family]:
    """Leader clustering of the soup: founders in order of count among programs
    that occur at least twice; each takes every unplaced program within
    ``distance``."""
    distinct, counts = distinct_programs(programs)
    placed = np.zeros(distinct.shape[0], dtype=bool)
    families = []
    for i in range(distinct.shape[0]):
        if len(families) == max_families or counts[i] < 2:
            break
        if placed[i]:
            continue
        founder = distinct[i].tobytes()
        open_rows = np.flatnonzero(~placed)
        joins = open_rows[near(distinct[open_rows], founder, distance)]
        placed[joins] = True
        members = [(distinct[j].tobytes(), int(counts[j])) for j in joins]
        members.sort(key=lambda m: -m[1])
        families.append(
            Family(
                founder=founder,
                count=int(counts[joins].sum()),
                variants=int(joins.size),
                members=members[:shown_members],
            )
        )
    return families


def score_families(
    families: list[Family], language: Language, epoch: int, seed: int
) -> None:
    """Fill each family's founder score (spec §4, with the noise of ``epoch`` and
    ``seed``)."""
    for family in families:
        family.score = selfrep.score(language, family.founder, epoch, seed)


def find_first_seen(
    families: list[Family],
    snapshots: Iterable[tuple[int, np.ndarray]],
    distance: int = DISTANCE,
) -> None:
    """Fill ``first_seen``: the epoch of the first snapshot ``(epoch, programs)``,
    in epoch order, holding a program within ``distance`` of the founder."""
    open_families = list(families)
    for epoch, programs in snapshots:
        for family in list(open_families):
            if any_near(programs, family.founder, distance):
                family.first_seen = epoch
                open_families.remove(family)
        if not open_families:
            return


def trace_families(
    families: list[Family], programs: np.ndarray, tokens: np.ndarray
) -> None:
    """Fill each family's ancestry from the tokens of its founder's copies: at
    every byte the most common token among the copies."""
    rows = np.ascontiguousarray(programs)
    keys = rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
    for family in families:
        key = np.frombuffer(family.founder, dtype=np.void(rows.shape[1]))[0]
        copies = tokens[keys == key]
        if copies.shape[0] == 0:
            continue
        typical = np.array([_mode(copies[:, j]) for j in range(copies.shape[1])])
        family.ancestry = tracer.ancestry(typical)
        family.newest_birth = int(tracer.birth_of(typical).max())


def _mode(values: np.ndarray) -> np.uint64:
    unique, counts = np.unique(values, return_counts=True)
    return unique[np.argmax(counts)]


# ---------------------------------------------------------------------------------
# Loops


def loops(language: Language, program: bytes) -> list[str]:
    """The innermost loops ``[...]`` of a BFF program, in its text form (the paper
    names replicator families by them); none for other languages."""
    variant = next((v for v in bff.VARIANTS if v.name == language.name), None)
    if variant is None:
        return []
    found = []
    opened = None
    for i, b in enumerate(program):
        kind = variant.kind_of(b)
        if kind == bff.LOOP_START:
            opened = i
        elif kind == bff.LOOP_END and opened is not None:
            found.append(language.format(program[opened : i + 1]))
            opened = None
    return found


def is_copy_loop(loop: str) -> bool:
    """A loop that copies (``.`` or ``,``) and moves a head: the replicators'
    engine."""
    return any(c in loop for c in ".,") and any(c in loop for c in "<>{}")


# ---------------------------------------------------------------------------------
# All of it for one soup


@dataclass
class Analysis:
    """The replicator analysis of one soup (the module docstring)."""

    epoch: int
    num_programs: int
    top_programs: list[tuple[bytes, int, int]]
    substrings: list[tuple[bytes, int]]
    families: list[Family]
    distinct_tokens: int | None = None


def analyse(
    programs: np.ndarray,
    language: Language,
    epoch: int,
    seed: int = 0,
    tokens: np.ndarray | None = None,
    snapshots: Iterable[tuple[int, np.ndarray]] = (),
    top: int = 20,
) -> Analysis:
    """Analyse a soup after ``epoch`` epochs; ``snapshots`` (earlier soups of the
    run, in epoch order) date the families, ``tokens`` trace them."""
    distinct, counts = distinct_programs(programs)
    shown = [
        (distinct[i].tobytes(), int(counts[i])) for i in range(min(top, counts.size))
    ]
    top_programs = [
        (program, count, selfrep.score(language, program, epoch, seed))
        for program, count in shown
    ]
    families = group_families(programs)
    score_families(families, language, epoch, seed)
    find_first_seen(families, snapshots)
    distinct_tokens = None
    if tokens is not None:
        trace_families(families, programs, tokens)
        distinct_tokens = tracer.count_distinct(tokens)
    return Analysis(
        epoch=epoch,
        num_programs=programs.shape[0],
        top_programs=top_programs,
        substrings=common_substrings(programs),
        families=families,
        distinct_tokens=distinct_tokens,
    )
