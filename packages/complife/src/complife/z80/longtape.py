"""The 8080 long-tape soup of the paper (§5; benlaurie/bff-ben ``cmd/cpu8080b``).

The paper reports that on one long tape of 8080 code only two-byte, non-looping
replicators arise, such as ``01 C5`` (``LXI B,$C501; PUSH B`` repeated: every
second byte is the instruction and the data at once, so each PUSH writes a copy
of the pattern below the stack pointer). The setup, as bff-ben's Go program has
it and as far as the paper and the spec say nothing else:

- **The tape** is ``size`` bytes (64 KiB by default, bff-ben's ``ULEN``), random at
  the start, and circular: a run sees it through the 16-bit address space of the
  CPU, with address ``a`` at tape position ``(start + a) mod size``
  (:mod:`complife.languages.z80`, ``state[BASE]``).
- **A run** starts a freshly reset CPU (PC = 0, SP = FFFF, so the stack lies just
  below the start) at a uniformly random start position and runs it until HALT
  or until its T-states pass ``clocks`` (bff-ben's ``ILIMIT`` = 1000): the
  instruction that crosses the limit still completes, as in bff-ben.
- **Runs are sequential.** bff-ben runs 16 goroutines on one shared tape with
  races between them; here run r+1 sees every write of run r, so a run is the
  same on any thread count and after a resume.
- **Noise**: each time the T-states run since the last mutation reach
  ``clocks_per_mutation``, one random byte of the tape gets a random value
  (bff-ben's rule; its loop is switched off with its constant 4e9 clocks, so the
  default here, 4e6, is our choice, near the paper's long-tape Forth rate of one
  mutation per 4e5 instructions). 0 turns noise off.
- **An epoch** (the unit of time, reports and checkpoints) is ``runs`` runs.

Every random draw is a SplitMix64 hash of (seed, epoch, counter) via
:func:`complife.rng.derive_seed`: start r of epoch e is
``splitmix64(splitmix64(seed(e+1) ^ 1) + r) mod size``, mutation k of epoch e
``splitmix64(splitmix64(seed(e+1) ^ 2) + k)`` (position from bits 8 and up,
value from the low byte). Stream ``seed(0)`` fills the initial tape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numba import njit

from complife.languages.z80 import (
    CYCLES,
    HALTED,
    STATE_SIZE,
    check_mode,
    reset,
    run_tape,
)
from complife.rng import derive_seed, fill_random_programs, splitmix64

# Streams of the counter-based draws, so starts and noise never share a counter
_STARTS, _NOISE = np.uint64(1), np.uint64(2)
#: Totals an epoch adds to (indices into :attr:`LongTape.totals`)
OPS, CLOCKS, HALTS, MUTATIONS = 0, 1, 2, 3


@dataclass(frozen=True)
class LongTapeConfig:
    """Settings of one long-tape run (defaults: bff-ben's, noise ours)."""

    size: int = 1 << 16
    clocks: int = 1000
    runs: int = 1024
    clocks_per_mutation: int = 4_000_000
    mode: str = "i8080"
    seed: int = 0

    def check(self) -> None:
        """One-line errors for settings that cannot run."""
        check_mode(self.mode)
        if not 16 <= self.size <= 1 << 24 or self.size & (self.size - 1):
            raise ValueError(
                f"--size {self.size}: expected a power of two from 16 to 2**24 "
                "(addresses wrap round the tape)"
            )
        if not 1 <= self.clocks <= 1 << 24:
            raise ValueError(f"--clocks {self.clocks}: expected 1 to 2**24 T-states")
        if not 1 <= self.runs <= 1 << 24:
            raise ValueError(f"--runs {self.runs}: expected 1 to 2**24 per epoch")
        if self.clocks_per_mutation < 0:
            raise ValueError(
                f"--clocks-per-mutation {self.clocks_per_mutation}: expected >= 0 "
                "(0 turns noise off)"
            )
        if not 0 <= self.seed < 1 << 63:
            raise ValueError(f"--seed {self.seed}: expected an integer in [0, 2**63)")

    def to_dict(self) -> dict:
        return asdict(self)


@njit(cache=True)
def run_from(tape, st, start, mode, clocks):
    """One run: a freshly reset CPU in ``st`` whose address 0 is tape position
    ``start`` runs until HALT or the instruction that takes its T-states past
    ``clocks`` (bff-ben's rule); return its steps."""
    reset(st, mode, start)
    # every instruction takes >= 4 T-states, so the step limit never binds
    return run_tape(tape, st, mode, clocks + 1, clocks + 1)


@njit(cache=True)
def run_epoch(tape, epoch_seed, runs, clocks, mode, clocks_per_mutation, carry, totals):
    """``runs`` runs at random starts, with noise between them (module docstring).

    ``carry`` is the T-states run since the last mutation; the new one is
    returned. ``totals`` (int64[4]) gets ops, T-states, halts, mutations added."""
    size = np.uint64(tape.size)
    st = np.zeros(STATE_SIZE, dtype=np.int64)
    starts = splitmix64(epoch_seed ^ _STARTS)
    noise = splitmix64(epoch_seed ^ _NOISE)
    mutations = np.uint64(0)
    for r in range(runs):
        start = splitmix64(starts + np.uint64(r)) % size
        totals[OPS] += run_from(tape, st, np.int64(start), mode, clocks)
        totals[CLOCKS] += st[CYCLES]
        totals[HALTS] += st[HALTED]
        if clocks_per_mutation > 0:
            carry += st[CYCLES]
            while carry >= clocks_per_mutation:
                carry -= clocks_per_mutation
                x = splitmix64(noise + mutations)
                mutations += np.uint64(1)
                tape[np.int64((x >> np.uint64(8)) % size)] = x & np.uint64(255)
    totals[MUTATIONS] += np.int64(mutations)
    return carry


class LongTape:
    """One long tape and the epochs it has run (module docstring)."""

    def __init__(self, config: LongTapeConfig):
        config.check()
        self.config = config
        self.mode = check_mode(config.mode)
        self.tape = np.empty(config.size, dtype=np.uint8)
        stream = np.uint64(derive_seed(np.uint64(config.seed), np.uint64(0)))
        fill_random_programs(self.tape.reshape(1, -1), stream)
        self.epoch = 0
        #: T-states run since the last mutation (part of the state: a resume
        #: needs it to place the next mutation where an unbroken run would)
        self.carry = 0
        #: Totals over the whole run: ops, T-states, halts, mutations
        self.totals = np.zeros(4, dtype=np.int64)

    def epoch_seed(self, epoch: int) -> np.uint64:
        # Stream 0 made the initial tape; epoch e draws from stream e + 1
        return np.uint64(derive_seed(np.uint64(self.config.seed), np.uint64(epoch + 1)))

    def run_epoch(self) -> None:
        c = self.config
        self.carry = int(
            run_epoch(
                self.tape, self.epoch_seed(self.epoch), c.runs, c.clocks, self.mode,
                c.clocks_per_mutation, self.carry, self.totals,
            )
        )  # fmt: skip
        self.epoch += 1

    def starts_of_epoch(self, epoch: int) -> np.ndarray:
        """The start positions an epoch draws (for tests and pictures)."""
        from complife.rng import splitmix64_py

        base = splitmix64_py(int(self.epoch_seed(epoch)) ^ 1)
        return np.array(
            [splitmix64_py((base + r) % (1 << 64)) % self.config.size
             for r in range(self.config.runs)],
            dtype=np.int64,
        )  # fmt: skip


# ---------------------------------------------------------------------------------
# Reading a tape


def ngrams(tape: np.ndarray, n: int, top: int = 10) -> list[tuple[bytes, int]]:
    """The ``top`` most common ``n``-byte substrings of a circular tape (every
    position counted), with their counts; ties in byte order."""
    if not 1 <= n <= 8:
        raise ValueError(f"substrings of {n} bytes: expected 1 to 8")
    keys = np.zeros(tape.size, dtype=np.uint64)
    for i in range(n):
        keys = (keys << np.uint64(8)) | np.roll(tape, -i).astype(np.uint64)
    values, counts = np.unique(keys, return_counts=True)
    order = np.lexsort((values, -counts))[:top]
    return [(int(values[i]).to_bytes(n, "big"), int(counts[i])) for i in order]


def period2_share(tape: np.ndarray) -> float:
    """The share of positions that lie in a two-byte pattern (their byte repeats
    two bytes later but differs from the next one): about 1/256 on a random tape,
    1 on a tape filled by one two-byte replicator. Runs of one byte (such as the
    ``00 00`` that PUSHes of reset registers leave) do not count."""
    after2 = np.roll(tape, -2)
    return float(np.mean((tape == after2) & (tape != np.roll(tape, -1))))


def tape_image(tape: np.ndarray, palette: np.ndarray, width: int = 256) -> np.ndarray:
    """The tape as rows of ``width`` bytes, each byte one pixel in its opcode's
    colour: an (size / width, width, 3) uint8 image."""
    width = min(width, tape.size)
    return palette[tape.reshape(-1, width)]
