"""Families of a Z80 soup: "the most common programs and families of a run" (§5).

The grouping is complife's own (:func:`complife.replicators.group_families`, leader
clustering: the most common program not yet placed founds a family, and every
unplaced program within an edit distance of it joins), with a distance scaled to
16-byte programs: :data:`DISTANCE` = 4 edits, a quarter of a program, the ratio of
the BFF families' 16 edits to 64 bytes. A copy shifted by one byte is 2 edits, so
the two phases of a two-byte replicator (``11D511D5...`` and ``D511D511...``) are
one family, while two random 16-byte programs are almost never within 4 edits.

Each family also gets:

- ``copies``: in how many of :data:`TRIALS` interactions with a random partner the
  founder, running first on a freshly reset CPU for the soup's steps as in a batch,
  leaves the partner's half within :data:`DISTANCE` edits of itself: whether it is a
  replicator, measured the soup's own way (every partner drawn from ``seed``);
- ``kind``: the paper's replicator generations by the instructions the founder
  holds, read from its first byte as the CPU runs it: ``block copy`` (LDIR, LDDR,
  LDI, LDD; the 8080 has none), ``stack push`` (PUSH), else ``other``. A label of
  its code, not a proof of how it copies;
- ``first_seen``: the first checkpoint of the run holding a member
  (:func:`complife.replicators.find_first_seen`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from complife import languages
from complife.replicators import (
    Family,
    edit_distance,
    find_first_seen,
    group_families,
)
from complife.z80.disasm import disassemble, mnemonics

#: Edit distance within which a 16-byte program joins a family's founder.
DISTANCE = 4
#: Families listed at most.
MAX_FAMILIES = 12
#: Random partners the founder meets in its replication check.
TRIALS = 8
_BLOCK_COPIES = ("LDIR", "LDDR", "LDI", "LDD")


def kind(program: bytes, mode: str = "z80") -> str:
    """``block copy``, ``stack push`` or ``other`` (module docstring)."""
    ops = {text.split(" ")[0] for _, _, text in disassemble(program, mode)}
    if ops & set(_BLOCK_COPIES):
        return "block copy"
    if "PUSH" in ops:
        return "stack push"
    return "other"


def copies(
    program: bytes, mode: str, steps: int, seed: int = 0, distance: int = DISTANCE
) -> int:
    """In how many of :data:`TRIALS` pairs ``program`` + random partner the
    partner's half ends within ``distance`` edits of ``program``."""
    language = languages.get(mode)
    size = len(program)
    rng = np.random.default_rng(seed)
    founder = np.frombuffer(program, dtype=np.uint8)
    hits = 0
    for _ in range(TRIALS):
        partner = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        _, after = languages.run(language, program + partner, steps)
        half = np.frombuffer(after[size:], dtype=np.uint8)
        hits += int(edit_distance(half, founder, distance) <= distance)
    return hits


def families(
    programs: np.ndarray,
    mode: str = "z80",
    steps: int = 128,
    seed: int = 0,
    distance: int = DISTANCE,
    max_families: int = MAX_FAMILIES,
) -> list[Family]:
    """The families of a soup, largest founder first; ``Family.score`` holds the
    founder's :func:`copies` (out of :data:`TRIALS`)."""
    found = group_families(programs, distance, max_families)
    for family in found:
        family.score = copies(family.founder, mode, steps, seed, distance)
    return found


def checkpoints(folder: Path) -> list[Path]:
    """The checkpoints of a Z80 run folder, oldest first."""
    return sorted((Path(folder) / "checkpoints").glob("*.npz"))


def first_seen(folder: Path, found: list[Family], distance: int = DISTANCE) -> None:
    """Fill each family's ``first_seen`` from the run folder's checkpoints."""

    def snapshots():
        for path in checkpoints(folder):
            with np.load(path) as f:
                yield int(f["batch"]), f["programs"]

    find_first_seen(found, snapshots(), distance)


def lines(found: list[Family], total: int, mode: str, members: int = 3) -> list[str]:
    """The families as text: count, share, variants, kind, copies, first seen,
    the founder and its most common other members, as mnemonics."""
    out = []
    for k, family in enumerate(found, 1):
        seen = "" if family.first_seen is None else f", first seen {family.first_seen}"
        out.append(
            f"family {k}: {family.count} programs ({100 * family.count / total:.1f} %),"
            f" {family.variants} variants, {kind(family.founder, mode)}, copies into"
            f" {family.score}/{TRIALS} random partners{seen}"
        )
        for program, count in family.members[: members + 1]:
            text = mnemonics(program, mode)
            out.append(f"  {count:7d}  {program.hex().upper()}  {text}")
    return out
