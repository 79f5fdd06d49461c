"""The self-replication score of a program (spec §4, the reference's CheckSelfRep).

A program P is put beside 64 bytes of noise and run; then, four times, the second
half is copied over the first, fresh copies of the same noise go in the second half,
and it runs again. This is done in 13 trials with different noise. A position of
the final tapes counts when one trial's byte there appears in at least 4 of the 13
(and, in the first half, equals P's byte). The score is the smaller of the two
halves' counts, from 0 to 64: a replicator copies itself into its partner reliably,
whatever the partner was.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types

from complife.languages import EVALUATE_TYPE, SCRATCH_SIZE, Language
from complife.rng import derive_seed_py, splitmix64, splitmix64_py

TRIALS = 13
EXTRA_GENERATIONS = 4
#: The command line counts a replicator at this score (kSelfrepThreshold).
THRESHOLD = 5
MAX_STEPS = 8192


@njit(
    types.void(
        types.uint8[:, ::1],
        types.uint64,
        types.int64,
        EVALUATE_TYPE,
        types.int64[::1],
    ),
    cache=True,
    parallel=True,
)
def _scores(programs, seed, num_programs, evaluate, out):
    """Score every program; ``seed`` is the reference's epoch seed and
    ``num_programs`` the soup size that enters each program's noise seed."""
    n, size = programs.shape
    for index in prange(n):
        scratch = np.zeros(SCRATCH_SIZE, dtype=np.uint8)
        tapes = np.empty((TRIALS, 2 * size), dtype=np.uint8)
        noise = np.empty(size, dtype=np.uint8)
        local = splitmix64(np.uint64(num_programs) * seed + np.uint64(index))
        for t in range(TRIALS):
            for j in range(size):
                counter = np.uint64((t + 1) * size + j)
                noise[j] = splitmix64(local ^ splitmix64(counter)) & np.uint64(0xFF)
            tape = tapes[t]
            tape[:size] = programs[index]
            tape[size:] = noise
            evaluate(tape, MAX_STEPS, scratch)
            for _ in range(EXTRA_GENERATIONS):
                tape[:size] = tape[size:]
                tape[size:] = noise
                evaluate(tape, MAX_STEPS, scratch)

        halves = np.zeros(2, dtype=np.int64)
        for i in range(2 * size):
            for a in range(TRIALS):
                if i < size and tapes[a, i] != programs[index, i]:
                    continue
                count = 1
                for b in range(a + 1, TRIALS):
                    if tapes[a, i] == tapes[b, i]:
                        count += 1
                if count > TRIALS // 4:
                    halves[i // size] += 1
                    break
        out[index] = min(halves[0], halves[1])


def soup_scores(
    programs: np.ndarray, language: Language, epoch_seed: int
) -> np.ndarray:
    """The score of every program of a soup at a report (``seed(e)`` of the epoch)."""
    out = np.empty(programs.shape[0], dtype=np.int64)
    _scores(
        np.ascontiguousarray(programs),
        np.uint64(epoch_seed),
        programs.shape[0],
        language.kernel,
        out,
    )
    return out


def score(language: Language, program: bytes, epoch: int = 0, seed: int = 0) -> int:
    """The score of one program, as the reference's ``EvalSelfrep(program, epoch,
    seed)``; shorter programs are padded with zero bytes."""
    size = language.program_size
    if len(program) > size:
        raise ValueError(
            f"program is {len(program)} bytes; a {language.name} program has at most "
            f"{size}"
        )
    padded = np.zeros((1, size), dtype=np.uint8)
    padded[0, : len(program)] = np.frombuffer(program, dtype=np.uint8)
    return int(soup_scores(padded, language, derive_seed_py(seed, epoch))[0])


def score_py(language: Language, program: bytes, epoch_seed: int, index=0, n=1) -> int:
    """Slow twin of the score of program ``index`` of an ``n``-program soup."""
    size = len(program)
    local = splitmix64_py((n * epoch_seed + index) % (1 << 64))
    finals = []
    for t in range(TRIALS):
        noise = bytes(
            splitmix64_py(local ^ splitmix64_py((t + 1) * size + j)) % 256
            for j in range(size)
        )
        tape = bytearray(program + noise)
        language.twin(tape, MAX_STEPS)
        for _ in range(EXTRA_GENERATIONS):
            tape = bytearray(tape[size:] + noise)
            language.twin(tape, MAX_STEPS)
        finals.append(bytes(tape))

    counts = [0, 0]
    for i in range(2 * size):
        column = [tape[i] for tape in finals]
        for a, value in enumerate(column):
            if i < size and value != program[i]:
                continue
            if column[a:].count(value) >= 4:
                counts[i // size] += 1
                break
    return min(counts)
