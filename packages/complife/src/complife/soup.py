"""The primordial soup and one epoch of it (spec §1).

A soup is N programs of 64 bytes. An epoch pairs them (§1.4), and for every pair
copies A then B into a 128-byte tape, replaces bytes of it at the mutation rate,
runs it for at most 8192 steps and writes the halves back (§1.3). Every random draw
is a hash of (seed, epoch, index), so the soup after any epoch is the same on any
number of threads and after a resume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from llvmlite import ir
from numba import get_num_threads, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from complife import languages
from complife import pairing as pairing_rules
from complife.checkpoint import Checkpoint
from complife.languages import (
    EVALUATE_TYPE,
    KEPT_FLAG,
    KEPT_WORD,
    MAX_STEPS,
    SCRATCH_SIZE,
    Language,
)
from complife.pairing import shuffle_into
from complife.rng import (
    MASK64,
    derive_seed,
    derive_seed_py,
    fill_random_programs,
    splitmix64,
    splitmix64_py,
)

#: Mutation probability is an integer numerator over 2**30 (spec §1.2).
MUTATION_DENOMINATOR = 1 << 30
DEFAULT_MUTATION_PROB = 1 / 4096

_LOW30 = np.uint64(MUTATION_DENOMINATOR - 1)
_LOW8 = np.uint64(0xFF)
_S8 = np.uint64(8)


@intrinsic
def prefetch(typingctx, array, row, column):
    """Ask the CPU to start loading the cache line of ``array[row, column]`` (LLVM's
    prefetch intrinsic).

    Pairs are drawn in random order, so each program read misses the cache; asking
    for the rows of a pair two slots ahead hides that wait behind the current
    interaction (an epoch's copies took half the time with it, measured in
    docs/benchmarks.md). A hint only: it changes no value.
    """

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, array, [args[1], args[2]], wraparound=False
        )
        pointer = builder.bitcast(pointer, ir.IntType(8).as_pointer())
        # LLVM >= 15 names the intrinsic by its opaque pointer type, older by i8*.
        name = (
            "llvm.prefetch.p0" if str(pointer.type) == "ptr" else "llvm.prefetch.p0i8"
        )
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [pointer.type, i32, i32, i32]),
            name,
        )
        # read, keep in all cache levels, data cache
        builder.call(function, [pointer, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(array, row, column), codegen


@njit(inline="always")
def _mutate(tape, n_programs, epoch_seed, pair, threshold):
    """Replace byte i of pair ``pair``'s tape when its draw falls under the threshold;
    return whether any byte was drawn.

    r = SplitMix64((N*seed(e) + k) * len(tape) + i); the byte becomes r & 0xFF when
    (r >> 8) & (2**30 - 1) < threshold. A replacement, not a flip: it may leave the
    byte as it was.
    """
    base = (np.uint64(n_programs) * epoch_seed + np.uint64(pair)) * np.uint64(tape.size)
    # First only whether any draw hits (3 % of pairs at the paper's rate): a loop
    # with no stores, which the compiler vectorises; then the hits, drawn again.
    # With one branch-free loop that also stored, copy plus mutation took 1.8
    # times as long on AVX2 (docs/benchmarks.md).
    lowest = _LOW30
    for i in range(tape.size):
        drawn_field = (splitmix64(base + np.uint64(i)) >> _S8) & _LOW30
        lowest = min(lowest, drawn_field)
    drawn = lowest < threshold
    if drawn:
        for i in range(tape.size):
            r = splitmix64(base + np.uint64(i))
            if ((r >> _S8) & _LOW30) < threshold:
                tape[i] = np.uint8(r & _LOW8)
    return drawn


@njit(
    types.int64(
        types.uint8[:, ::1],
        types.int64[::1],
        types.int64,
        types.uint64,
        types.uint64,
        EVALUATE_TYPE,
        types.int64,
        types.int64,
        types.uint64[:, ::1],
        types.uint8[::1],
    ),
    cache=True,
    parallel=True,
    nogil=True,
)
def _run_epoch(
    programs,
    order,
    n_run,
    epoch_seed,
    threshold,
    evaluate,
    max_steps,
    n_chunks,
    kept,
    fresh,
):
    """One epoch over all pair slots; returns the total op count.

    Pairs are independent (every program is in one slot), so chunks of slots run in
    parallel with no shared writes; each chunk keeps one tape in cache. ``kept`` is
    what the kernel keeps about each program (``Language.kept_words`` columns, maybe
    none) and ``fresh[i]`` says whether row i of it describes program i as it is.
    """
    n_programs, size = programs.shape
    n_pairs = n_programs // 2
    words = kept.shape[1]
    total = 0
    for chunk in prange(n_chunks):
        tape = np.empty(2 * size, dtype=np.uint8)
        scratch = np.zeros(SCRATCH_SIZE, dtype=np.uint8)
        scratch_words = scratch.view(np.uint64)
        ops = 0
        end = (chunk + 1) * n_pairs // n_chunks
        for k in range(chunk * n_pairs // n_chunks, end):
            if k + 2 < end:
                prefetch(programs, order[2 * k + 4], 0)
                prefetch(programs, order[2 * k + 5], 0)
                prefetch(kept, order[2 * k + 4], 0)
                prefetch(kept, order[2 * k + 5], 0)
            a = order[2 * k]
            b = order[2 * k + 1]
            # Byte loops, not slice copies: numba's slice assignment costs more
            # than the 64 bytes it moves.
            for i in range(size):
                tape[i] = programs[a, i]
            for i in range(size):
                tape[size + i] = programs[b, i]
            drawn = _mutate(tape, n_programs, epoch_seed, k, threshold)
            unchanged = np.uint8(0) if drawn else np.uint8(1)
            for w in range(words):
                scratch_words[KEPT_WORD + w] = kept[a, w]
                scratch_words[KEPT_WORD + words + w] = kept[b, w]
            scratch[KEPT_FLAG] = fresh[a] & fresh[b] & unchanged

            # (Written without branches around the kernel call: numba's parfor
            # pass fails on some branchy forms of this loop.)
            run = k < n_run
            if run:
                ops += evaluate(tape, max_steps, scratch)
            for w in range(words):
                kept[a, w] = scratch_words[KEPT_WORD + w]
                kept[b, w] = scratch_words[KEPT_WORD + words + w]
            if words:
                fresh[a] = np.uint8(run) | (fresh[a] & unchanged)
                fresh[b] = np.uint8(run) | (fresh[b] & unchanged)

            for i in range(size):
                programs[a, i] = tape[i]
            for i in range(size):
                programs[b, i] = tape[size + i]
        total += ops
    return total


@njit(
    types.int64(
        types.uint8[:, ::1],
        types.int64[::1],
        types.uint64[::1],
        types.uint64,
        types.int64,
        types.int64,
        types.uint64,
        EVALUATE_TYPE,
        types.int64,
        types.int64,
        types.uint64[:, ::1],
        types.uint8[::1],
    ),
    cache=True,
    nogil=True,
)
def _run_well_mixed(
    programs,
    order,
    draws,
    run_seed,
    first,
    epochs,
    threshold,
    evaluate,
    steps,
    chunks,
    kept,
    fresh,
):
    """Epochs ``first`` to ``first + epochs - 1`` of a well-mixed soup, with no
    Python between them; returns their total op count."""
    n = programs.shape[0]
    total = 0
    for epoch in range(first, first + epochs):
        shuffle_into(run_seed, np.uint64(epoch), order, draws)
        epoch_seed = derive_seed(run_seed, np.uint64(epoch))
        total += _run_epoch(
            programs,
            order,
            n // 2,
            epoch_seed,
            threshold,
            evaluate,
            steps,
            chunks,
            kept,
            fresh,
        )
    return total


def run_epoch_py(programs, order, n_run, run_seed, epoch, threshold, twin, max_steps):
    """Slow twin of :func:`_run_epoch`: one epoch in plain Python, pair by pair."""
    n, size = programs.shape
    epoch_seed = derive_seed_py(run_seed, epoch)
    total = 0
    for k in range(n // 2):
        a, b = int(order[2 * k]), int(order[2 * k + 1])
        tape = bytearray(programs[a].tobytes() + programs[b].tobytes())
        for i in range(2 * size):
            r = splitmix64_py((((n * epoch_seed + k) * 2 * size) + i) & MASK64)
            if (r >> 8) & (MUTATION_DENOMINATOR - 1) < threshold:
                tape[i] = r & 0xFF
        if k < n_run:
            total += twin(tape, max_steps)
        programs[a] = np.frombuffer(bytes(tape[:size]), dtype=np.uint8)
        programs[b] = np.frombuffer(bytes(tape[size:]), dtype=np.uint8)
    return total


def mutation_threshold(probability: float) -> int:
    """The reference's integer form of a per-byte mutation probability."""
    if not (isinstance(probability, int | float) and 0.0 <= probability <= 1.0):
        raise ValueError(
            f"mutation probability {probability!r} is not in [0, 1]; give a per-byte "
            "probability such as 0.000244140625 (1/4096, the paper's rate)"
        )
    return round(probability * MUTATION_DENOMINATOR)


@dataclass
class EpochResult:
    """What one epoch did: the ops it ran and how many pairs it ran."""

    ops: int
    pairs_run: int


class Soup:
    """A soup of programs that can be stepped epoch by epoch (spec §1).

    Args:
        language: a registered language name (see ``complife.languages.names()``).
        num_programs: N, even; the paper uses 2**17.
        seed: the run seed; every random draw derives from it.
        mutation_prob: per-byte replacement probability per interaction.
        zero_init: start from all-zero programs instead of random bytes.
        max_steps: step limit per interaction (the reference hard-codes 8192).
        pairing: who meets whom (``complife.pairing``); well mixed by default.

    The programs are ``soup.programs``, an (N, 64) uint8 array, writable. ``epoch``
    is the number of epochs run (the 0-based index of the next one).
    """

    def __init__(
        self,
        language: str | Language,
        num_programs: int = 1 << 17,
        seed: int = 0,
        mutation_prob: float = DEFAULT_MUTATION_PROB,
        *,
        zero_init: bool = False,
        max_steps: int = MAX_STEPS,
        pairing=None,
    ):
        self.language = (
            language if isinstance(language, Language) else languages.get(language)
        )
        check_num_programs(num_programs)
        check_seed(seed)
        if max_steps < 1:
            raise ValueError(f"max_steps is {max_steps}; expected a positive count")
        self.seed = seed
        self.mutation_prob = mutation_prob
        self.threshold = mutation_threshold(mutation_prob)
        self.zero_init = zero_init
        self.max_steps = max_steps
        self.pairing = pairing if pairing is not None else pairing_rules.WellMixed()
        self.pairing.check(num_programs)
        self.epoch = 0
        self.reset_index = 1
        self._kernel = self.language.kernel
        self._draws = np.empty(0, dtype=np.uint64)
        self._kept = np.zeros((0, self.language.kept_words), dtype=np.uint64)
        self._fresh = np.zeros(0, dtype=np.uint8)
        self.order = np.arange(num_programs, dtype=np.int64)
        self.programs = np.zeros(
            (num_programs, self.language.program_size), dtype=np.uint8
        )
        self.randomize(0)

    @property
    def num_programs(self) -> int:
        return self.programs.shape[0]

    def derived_seed(self, k: int) -> int:
        """``seed(k)`` of the reference for this run's seed."""
        return derive_seed_py(self.seed, k)

    def randomize(self, stream: int) -> None:
        """Refill every program from random stream ``stream`` (0 at the start, r for
        the r-th reset), or with zeros for a zero-initialised soup."""
        if self.zero_init:
            self.programs[:] = 0
        else:
            fill_random_programs(self.programs, np.uint64(self.derived_seed(stream)))

    def reset(self) -> None:
        """Re-randomise the whole soup from the next reset stream (the reference's
        ``--reset_interval``)."""
        self.randomize(self.reset_index)
        self.reset_index += 1

    def seed_program(self, program: bytes) -> None:
        """Write ``program`` over the soup from its first byte, as the reference's
        ``--initial_program`` does (it may span several programs)."""
        flat = self.programs.reshape(-1)
        if len(program) > flat.size:
            raise ValueError(
                f"initial program is {len(program)} bytes, longer than the whole soup "
                f"({flat.size} bytes)"
            )
        flat[: len(program)] = np.frombuffer(program, dtype=np.uint8)

    def checkpoint(self) -> Checkpoint:
        """The soup as a checkpoint to continue from (a copy)."""
        return Checkpoint(self.reset_index, self.epoch, self.programs.copy())

    def restore(self, checkpoint: Checkpoint) -> None:
        """Continue from ``checkpoint``: its programs, epoch and reset stream. Its
        number of programs replaces this soup's, as with the reference's ``--load``."""
        check_num_programs(checkpoint.num_programs)
        self.pairing.check(checkpoint.num_programs)
        if checkpoint.programs.shape[1] != self.language.program_size:
            raise ValueError(
                f"checkpoint programs are {checkpoint.programs.shape[1]} bytes; "
                f"{self.language.name} programs are {self.language.program_size}"
            )
        self.programs = np.ascontiguousarray(checkpoint.programs, dtype=np.uint8)
        self.order = np.arange(checkpoint.num_programs, dtype=np.int64)
        self.epoch = checkpoint.next_epoch
        self.reset_index = checkpoint.reset_index

    def pair(self) -> int:
        """Fill ``self.order`` for the next epoch; return how many pairs run."""
        return self.pairing.pair(self.seed, self.epoch, self.order)

    def _chunks(self) -> int:
        """Pair slots are split into chunks for the threads: several per thread, so
        that a thread that finishes early takes another."""
        return min(self.num_programs // 2, 64 * get_num_threads())

    def _kept_words(self, forget: bool):
        """What the kernel keeps about each program between interactions, and
        which rows are fresh. ``forget`` marks every row stale: the programs may
        have been written since the last call (they are a public array)."""
        shape = (self.num_programs, self.language.kept_words)
        if self._kept.shape != shape:
            self._kept = np.zeros(shape, dtype=np.uint64)
            self._fresh = np.zeros(self.num_programs, dtype=np.uint8)
        elif forget:
            self._fresh[:] = 0
        return self._kept, self._fresh

    def step(self) -> EpochResult:
        """Run one epoch and advance ``epoch``."""
        return self._step(forget=True)

    def _step(self, forget: bool) -> EpochResult:
        n_run = self.pair()
        kept, fresh = self._kept_words(forget)
        ops = _run_epoch(
            self.programs,
            self.order,
            n_run,
            np.uint64(self.derived_seed(self.epoch)),
            np.uint64(self.threshold),
            self._kernel,
            self.max_steps,
            self._chunks(),
            kept,
            fresh,
        )
        self.epoch += 1
        return EpochResult(int(ops), n_run)

    def advance(self, epochs: int) -> EpochResult:
        """Run ``epochs`` epochs; return their ops and pairs run. A well-mixed soup
        runs them in one compiled loop."""
        if not isinstance(self.pairing, pairing_rules.WellMixed):
            results = [self._step(forget=e == 0) for e in range(epochs)]
            return EpochResult(
                sum(r.ops for r in results), sum(r.pairs_run for r in results)
            )
        if self._draws.size != self.num_programs:
            self._draws = np.empty(self.num_programs, dtype=np.uint64)
        kept, fresh = self._kept_words(forget=True)
        ops = _run_well_mixed(
            self.programs,
            self.order,
            self._draws,
            np.uint64(self.seed),
            self.epoch,
            epochs,
            np.uint64(self.threshold),
            self._kernel,
            self.max_steps,
            self._chunks(),
            kept,
            fresh,
        )
        self.epoch += epochs
        return EpochResult(int(ops), epochs * (self.num_programs // 2))

    def run(self, epochs: int) -> int:
        """Run ``epochs`` epochs; return their total op count."""
        return self.advance(epochs).ops

    def to_bytes(self) -> bytes:
        """The whole soup as one byte string (what the metrics compress)."""
        return self.programs.tobytes()

    def __repr__(self) -> str:
        return (
            f"Soup({self.language.name!r}, num_programs={self.num_programs}, "
            f"seed={self.seed}, mutation_prob={self.mutation_prob}, "
            f"epoch={self.epoch})"
        )


#: The reference indexes programs with 32-bit integers.
MAX_PROGRAMS = 1 << 31


def check_num_programs(n: int) -> None:
    if not isinstance(n, int | np.integer) or n < 2 or n % 2:
        raise ValueError(
            f"number of programs is {n!r}; expected an even count of at least 2 "
            "(programs meet in pairs), such as 131072 = 2**17"
        )
    if n > MAX_PROGRAMS:
        raise ValueError(
            f"number of programs is {n}; at most 2**31 = {MAX_PROGRAMS} are "
            "supported (and each takes 64 bytes of memory)"
        )


def check_seed(seed: int) -> None:
    if not isinstance(seed, int | np.integer) or not 0 <= seed < 1 << 64:
        raise ValueError(
            f"seed is {seed!r}; expected an integer in [0, 2**64) as the reference "
            "takes it (size_t)"
        )
