"""SUBLEQ and RSUBLEQ4: one-instruction machines on a self-modifying tape (spec §2.3).

Every step is one instruction, "subtract, and branch if the result is at most zero",
read from the tape at the pc; the byte it writes is tested as a signed byte (bit 7 set
or zero is "at most zero").

- ``subleq``: three absolute operands A B C; ``tape[A] -= tape[B]``; branch to C,
  else pc += 3. A and B are taken mod the tape length, C is not: a branch past the
  last whole instruction ends the run.
- ``rsubleq4``: four operands relative to the pc; ``tape[A] = tape[B] - tape[C]``;
  branch by the signed fourth byte, else pc += 4. An offset of 0 loops in place.

The branch operand is read after the write, so an instruction may rewrite its own
target. The run ends when the next instruction would not fit on the tape, or after
the step limit; every step counts as an op.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numba import njit

from complife.languages import Language, Step, register
from complife.languages.forth import format_hex, parse_hex

# The reference prints these programs in its reset colours only.
_STYLE = "color(35) on color(232)"


# ---------------------------------------------------------------------------------
# The kernels


# A soup's pair tape is 128 bytes: each kernel has a copy for that length, where the
# operand modulo becomes a mask, and a general one for any other length.
PAIR_TAPE = 128


@njit(inline="always")
def _subleq(tape, max_steps, n):
    pc = 0
    steps = 0
    while steps < max_steps:
        a = tape[pc] % n
        b = tape[pc + 1] % n
        result = (np.int64(tape[a]) - np.int64(tape[b])) & 255
        tape[a] = result
        steps += 1
        if result == 0 or result >= 128:
            pc = np.int64(tape[pc + 2])
        else:
            pc += 3
        if pc + 3 > n:
            break
    return steps


@njit(inline="always")
def _rsubleq4(tape, max_steps, n):
    pc = 0
    steps = 0
    while steps < max_steps:
        a = (pc + tape[pc]) % n
        b = (pc + tape[pc + 1]) % n
        c = (pc + tape[pc + 2]) % n
        result = (np.int64(tape[b]) - np.int64(tape[c])) & 255
        tape[a] = result
        steps += 1
        if result == 0 or result >= 128:
            offset = np.int64(tape[pc + 3])
            pc += offset - 256 if offset >= 128 else offset
        else:
            pc += 4
        if pc < 0 or pc + 4 > n:
            break
    return steps


@njit(cache=True)
def evaluate_subleq(tape, max_steps, scratch):
    """Run one pair tape of SUBLEQ in place; return its op count (spec §2.3)."""
    return _subleq(tape, max_steps, PAIR_TAPE)


@njit(cache=True)
def evaluate_rsubleq4(tape, max_steps, scratch):
    """Run one pair tape of RSUBLEQ4 in place; return its op count (spec §2.3)."""
    return _rsubleq4(tape, max_steps, PAIR_TAPE)


# ---------------------------------------------------------------------------------
# The twins: the same machines, written plainly, for tests and step traces


def _at_most_zero(byte: int) -> bool:
    """The branch test: the byte read as a signed int8 is <= 0."""
    return byte == 0 or byte >= 128


def subleq_steps(tape: bytearray, max_steps: int) -> Iterator[Step]:
    """Run a SUBLEQ ``tape`` in place, yielding the state before each step; the
    heads are the operand addresses A and B. Returns the op count."""
    n = len(tape)
    pc = 0
    taken = 0
    while taken < max_steps and pc + 3 <= n:
        a = tape[pc] % n
        b = tape[pc + 1] % n
        yield Step(taken, pc, (a, b))
        tape[a] = (tape[a] - tape[b]) % 256
        taken += 1
        if _at_most_zero(tape[a]):
            pc = tape[pc + 2]
        else:
            pc += 3
    return taken


def rsubleq4_steps(tape: bytearray, max_steps: int) -> Iterator[Step]:
    """Run an RSUBLEQ4 ``tape`` in place, yielding the state before each step; the
    heads are the operand addresses A, B and C. Returns the op count."""
    n = len(tape)
    pc = 0
    taken = 0
    while taken < max_steps and 0 <= pc and pc + 4 <= n:
        a = (pc + tape[pc]) % n
        b = (pc + tape[pc + 1]) % n
        c = (pc + tape[pc + 2]) % n
        yield Step(taken, pc, (a, b, c))
        tape[a] = (tape[b] - tape[c]) % 256
        taken += 1
        if _at_most_zero(tape[a]):
            offset = tape[pc + 3]
            pc += offset - 256 if offset >= 128 else offset
        else:
            pc += 4
    return taken


def _drain(run: Iterator[Step]) -> int:
    """Run a tracer to its end and return its op count."""
    while True:
        try:
            next(run)
        except StopIteration as done:
            return done.value


def subleq_twin(tape: bytearray, max_steps: int) -> int:
    """Slow twin of :func:`evaluate_subleq`."""
    return _drain(subleq_steps(tape, max_steps))


def rsubleq4_twin(tape: bytearray, max_steps: int) -> int:
    """Slow twin of :func:`evaluate_rsubleq4`."""
    return _drain(rsubleq4_steps(tape, max_steps))


# ---------------------------------------------------------------------------------
# Colours and registration


def palette() -> np.ndarray:
    """Byte colours of the reference's pictures: a ramp from blue (byte 0) to red
    (byte 255) (spec §8)."""
    b = np.arange(256)
    return np.stack([b, np.zeros(256, dtype=int), 255 - b], axis=1).astype(np.uint8)


register(
    Language(
        name="subleq",
        family="subleq",
        summary="SUBLEQ, 3 absolute operands: tape[A] -= tape[B], branch to C if <= 0",
        evaluate=evaluate_subleq,
        twin=subleq_twin,
        steps=subleq_steps,
        parse=lambda text: parse_hex(text, "subleq"),
        format=format_hex,
        palette=palette(),
        text_styles=(_STYLE,) * 256,
    )
)
register(
    Language(
        name="rsubleq4",
        family="subleq",
        summary="SUBLEQ, 4 pc-relative operands: tape[A] = tape[B] - tape[C], "
        "branch by D if <= 0",
        evaluate=evaluate_rsubleq4,
        twin=rsubleq4_twin,
        steps=rsubleq4_steps,
        parse=lambda text: parse_hex(text, "rsubleq4"),
        format=format_hex,
        palette=palette(),
        text_styles=(_STYLE,) * 256,
    )
)
