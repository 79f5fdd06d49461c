"""The Forth family: a stack machine on a self-modifying tape (spec §2.2).

The tape is program A then program B (two halves of 64 bytes in a soup). The pc
starts at 0 with an empty stack of at most 128 bytes; every byte is one instruction:

- 0x00-0x0D: the variant's own ops (reads, writes, stack words, IF0, arithmetic);
- 0x40-0x7F: CONST, push ``byte & 63``;
- 0x80-0xFF: JMP by ``(byte & 63) + 1``, backwards when bit 6 is set, relative to
  the jump byte itself;
- the rest: no-ops (comments), which take a step but do not count as ops.

Four variants differ in their low ops and in one rule, so each is a :class:`Variant`
record and one kernel serves them all:

- ``forth``: READ0/READ1/WRITE0/WRITE1 address one half (popped value mod 64);
- ``forthcopy``: READ/WRITE/COPY address the whole tape, plus XOR 64;
- ``forthtrivial``: ``forth`` plus COPY0/COPY1 (copy a byte between the halves);
- ``forthtrivial_reset``: ``forthtrivial`` where a WRITE1 or COPY0 onto a byte 0x13
  is cancelled and scrambles the first half instead.

Popping an empty stack gives 0; pushing onto a full one overflows, which ends the run,
as do the pc leaving the tape and the step limit. Values wrap mod 256.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numba import njit

from complife.languages import Language, Step, excerpt, register
from complife.rng import MASK64, splitmix64, splitmix64_py

#: Op names; an op's number in the kernel is its index here.
OPS = (
    "READ0",
    "READ1",
    "WRITE0",
    "WRITE1",
    "READ",
    "WRITE",
    "COPY",
    "XOR",
    "DUP",
    "DROP",
    "SWAP",
    "IF0",
    "INC",
    "DEC",
    "ADD",
    "SUB",
    "COPY0",
    "COPY1",
    "CONST",
    "JMP",
    "NOOP",
)
(
    READ0,
    READ1,
    WRITE0,
    WRITE1,
    READ,
    WRITE,
    COPY,
    XOR,
    DUP,
    DROP,
    SWAP,
    IF0,
    INC,
    DEC,
    ADD,
    SUB,
    COPY0,
    COPY1,
    CONST,
    JMP,
    NOOP,
) = range(len(OPS))

#: Capacity of the stack; one more push overflows and ends the run.
STACK_SIZE = 128

#: Bytes of a soup's pair tape (program A then program B).
PAIR_TAPE = 128

#: In ``forthtrivial_reset``, the byte of the second half that a write must not hit.
RESET_BYTE = 0x13

# The stack words 0x04-0x0B are the same in every variant.
_STACK_WORDS = ("DUP", "DROP", "SWAP", "IF0", "INC", "DEC", "ADD", "SUB")


@dataclass(frozen=True)
class Variant:
    """What sets one Forth variant apart (the columns of the table in spec §2.2).

    Attributes:
        name: the reference's registered name.
        summary: one line for listings.
        low_ops: op names of the bytes 0x00, 0x01, ...; later bytes below 0x40 are
            no-ops.
        reset: whether a WRITE1 or COPY0 onto :data:`RESET_BYTE` scrambles the first
            half instead of writing.
        categories: whether pictures use the category palette of ``forthtrivial``
            (spec §8) rather than the blue-to-red ramp.
    """

    name: str
    summary: str
    low_ops: tuple[str, ...]
    reset: bool = False
    categories: bool = False

    def op_of(self, b: int) -> str:
        """The op name of byte ``b``."""
        if b >= 0x80:
            return "JMP"
        if b >= 0x40:
            return "CONST"
        if b < len(self.low_ops):
            return self.low_ops[b]
        return "NOOP"


_HALF_IO = ("READ0", "READ1", "WRITE0", "WRITE1")

VARIANTS = (
    Variant(
        "forth",
        "stack machine; reads and writes address one half",
        _HALF_IO + _STACK_WORDS,
    ),
    Variant(
        "forthcopy",
        "as forth, with whole-tape READ/WRITE/COPY and XOR 64",
        ("READ", "WRITE", "COPY", "XOR", *_STACK_WORDS),
    ),
    Variant(
        "forthtrivial",
        "as forth, plus COPY0/COPY1 between the halves (the paper's Forth)",
        (*_HALF_IO, *_STACK_WORDS, "COPY0", "COPY1"),
        categories=True,
    ),
    Variant(
        "forthtrivial_reset",
        "as forthtrivial; writing onto a 0x13 in B scrambles A instead",
        (*_HALF_IO, *_STACK_WORDS, "COPY0", "COPY1"),
        reset=True,
        categories=True,
    ),
)


# ---------------------------------------------------------------------------------
# The kernel


@njit(inline="always")
def _pop(stack, depth):
    """The top of the stack and the new depth; an empty stack gives 0."""
    if depth == 0:
        return 0, 0
    return np.int64(stack[depth - 1]), depth - 1


@njit(inline="always")
def _scramble_first_half(tape, pc):
    """Overwrite the first half with bytes hashed from the whole tape and the pc.

    The seed chains SplitMix64 over every tape byte; byte i of the first half is then
    ``SplitMix64(seed * half**2 + pc * half + i) % 256`` (spec §2.2).
    """
    half = tape.size // 2
    seed = np.uint64(0)
    for i in range(tape.size):
        seed = splitmix64(seed ^ np.uint64(tape[i]))
    base = seed * np.uint64(half * half) + np.uint64(pc * half)
    for i in range(half):
        tape[i] = splitmix64(base + np.uint64(i)) & np.uint64(255)


@njit(inline="always")
def _run(tape, max_steps, stack, kind, reset, n):
    """Run one pair tape of ``n`` bytes in place; return its op count (spec §2.2).

    ``stack`` is caller-owned memory of at least STACK_SIZE bytes; only the part
    below ``depth`` is ever read, so it needs no clearing. Every byte the pc visits
    is a step; the op count is the steps taken minus the no-op steps, and the step
    that ends a run (leaving the tape, overflowing the stack) counts too.
    """
    half = n // 2
    pc = 0
    depth = 0
    steps = 0
    noops = 0
    while steps < max_steps:
        byte = np.int64(tape[pc])
        k = kind[byte]
        steps += 1

        # Jumps, constants and comments are most bytes of a random soup: test first.
        if k == JMP:
            distance = (byte & 63) + 1
            pc += -distance if byte & 64 else distance
            if pc < 0 or pc >= n:
                break
            continue
        if k == CONST:
            if depth == STACK_SIZE:
                break
            stack[depth] = byte & 63
            depth += 1
        elif k == NOOP:
            noops += 1

        elif k == DUP:
            v, depth = _pop(stack, depth)
            stack[depth] = v
            depth += 1
            if depth == STACK_SIZE:
                break
            stack[depth] = v
            depth += 1
        elif k == DROP:
            _, depth = _pop(stack, depth)
        elif k == SWAP:
            a, depth = _pop(stack, depth)
            b, depth = _pop(stack, depth)
            stack[depth] = a
            stack[depth + 1] = b
            depth += 2
        elif k == IF0:
            v, depth = _pop(stack, depth)
            if v != 0:
                pc += 1
            stack[depth] = v
            depth += 1
        elif k == INC or k == DEC or k == XOR:
            v, depth = _pop(stack, depth)
            if k == INC:
                v += 1
            elif k == DEC:
                v -= 1
            else:
                v ^= 64
            stack[depth] = v & 255
            depth += 1
        elif k == ADD or k == SUB:
            a, depth = _pop(stack, depth)
            b, depth = _pop(stack, depth)
            stack[depth] = (a + b if k == ADD else a - b) & 255
            depth += 1

        elif k == READ0 or k == READ1 or k == READ:
            a, depth = _pop(stack, depth)
            if k == READ0:
                a %= half
            elif k == READ1:
                a = half + a % half
            else:
                a %= n
            stack[depth] = tape[a]
            depth += 1
        elif k == WRITE0 or k == WRITE:
            v, depth = _pop(stack, depth)
            a, depth = _pop(stack, depth)
            tape[a % half if k == WRITE0 else a % n] = v
        elif k == WRITE1:
            v, depth = _pop(stack, depth)
            a, depth = _pop(stack, depth)
            a = half + a % half
            if reset and tape[a] == RESET_BYTE:
                _scramble_first_half(tape, pc)
            else:
                tape[a] = v
        elif k == COPY0:
            a, depth = _pop(stack, depth)
            a %= half
            if reset and tape[half + a] == RESET_BYTE:
                _scramble_first_half(tape, pc)
            else:
                tape[half + a] = tape[a]
        elif k == COPY1:
            a, depth = _pop(stack, depth)
            a %= half
            tape[a] = tape[half + a]
        elif k == COPY:
            to, depth = _pop(stack, depth)
            source, depth = _pop(stack, depth)
            tape[to % n] = tape[source % n]

        pc += 1
        if pc >= n:
            break
    return steps - noops


def _kind_table(variant: Variant) -> np.ndarray:
    return np.array([OPS.index(variant.op_of(b)) for b in range(256)], dtype=np.uint8)


_V = {v.name: v for v in VARIANTS}
_KIND_FORTH = _kind_table(_V["forth"])
_KIND_FORTHCOPY = _kind_table(_V["forthcopy"])
_KIND_TRIVIAL = _kind_table(_V["forthtrivial"])


# One entry point per variant, so that numba specialises the kernel for each and the
# soup engine can take it as a first-class function of EVALUATE_SIGNATURE. The tape
# is always a pair tape (so every modulo is a constant mask); the scratch memory
# holds the stack.
@njit(cache=True)
def evaluate_forth(tape, max_steps, scratch):
    return _run(tape, max_steps, scratch, _KIND_FORTH, False, PAIR_TAPE)


@njit(cache=True)
def evaluate_forthcopy(tape, max_steps, scratch):
    return _run(tape, max_steps, scratch, _KIND_FORTHCOPY, False, PAIR_TAPE)


@njit(cache=True)
def evaluate_forthtrivial(tape, max_steps, scratch):
    return _run(tape, max_steps, scratch, _KIND_TRIVIAL, False, PAIR_TAPE)


@njit(cache=True)
def evaluate_forthtrivial_reset(tape, max_steps, scratch):
    return _run(tape, max_steps, scratch, _KIND_TRIVIAL, True, PAIR_TAPE)


# ---------------------------------------------------------------------------------
# The twin: the same machine, written plainly, for tests and step traces


def scramble_first_half(tape: bytearray, pc: int) -> None:
    """Slow twin of the kernel's reset rule (spec §2.2, ``forthtrivial_reset``)."""
    half = len(tape) // 2
    seed = 0
    for b in tape:
        seed = splitmix64_py(seed ^ b)
    for i in range(half):
        counter = (seed * half * half + pc * half + i) & MASK64
        tape[i] = splitmix64_py(counter) % 256


def steps(variant: Variant, tape: bytearray, max_steps: int) -> Iterator[Step]:
    """Run ``tape`` in place, yielding the state before each step.

    The generator's return value (``StopIteration.value``) is the op count. A tape
    too short to have two halves runs no step.
    """
    n = len(tape)
    half = n // 2
    if half == 0:
        return 0
    stack: list[int] = []
    overflow = False

    def pop() -> int:
        return stack.pop() if stack else 0

    def push(value: int) -> None:
        nonlocal overflow
        if len(stack) == STACK_SIZE:
            overflow = True
        else:
            stack.append(value % 256)

    def write_second_half(address: int, value: int) -> None:
        if variant.reset and tape[address] == RESET_BYTE:
            scramble_first_half(tape, pc)
        else:
            tape[address] = value

    pc = 0
    taken = 0
    noops = 0
    for step in range(max_steps):
        yield Step(step, pc, stack=tuple(stack))
        byte = tape[pc]
        op = variant.op_of(byte)
        taken += 1

        if op == "NOOP":
            noops += 1
        elif op == "CONST":
            push(byte & 63)
        elif op == "JMP":
            distance = (byte & 63) + 1
            if byte & 64:
                distance = -distance
            # Relative to the jump byte: undo the +1 that every step makes below.
            pc += distance - 1
        elif op == "DUP":
            v = pop()
            push(v)
            push(v)
        elif op == "DROP":
            pop()
        elif op == "SWAP":
            a = pop()
            b = pop()
            push(a)
            push(b)
        elif op == "IF0":
            v = pop()
            if v != 0:
                pc += 1
            push(v)
        elif op == "INC":
            push(pop() + 1)
        elif op == "DEC":
            push(pop() - 1)
        elif op == "ADD":
            a = pop()
            b = pop()
            push(a + b)
        elif op == "SUB":
            a = pop()
            b = pop()
            push(a - b)
        elif op == "XOR":
            push(pop() ^ 64)
        elif op == "READ0":
            push(tape[pop() % half])
        elif op == "READ1":
            push(tape[half + pop() % half])
        elif op == "READ":
            push(tape[pop() % n])
        elif op == "WRITE0":
            v = pop()
            tape[pop() % half] = v
        elif op == "WRITE1":
            v = pop()
            write_second_half(half + pop() % half, v)
        elif op == "WRITE":
            v = pop()
            tape[pop() % n] = v
        elif op == "COPY0":
            a = pop() % half
            write_second_half(half + a, tape[a])
        elif op == "COPY1":
            a = pop() % half
            tape[a] = tape[half + a]
        elif op == "COPY":
            to = pop() % n
            source = pop() % n
            tape[to] = tape[source]

        pc += 1
        if pc < 0 or pc >= n or overflow:
            break
    return taken - noops


def twin(variant: Variant, tape: bytearray, max_steps: int) -> int:
    """Slow twin of the kernel: run ``tape`` in place and return the op count."""
    run = steps(variant, tape, max_steps)
    while True:
        try:
            next(run)
        except StopIteration as done:
            return done.value


# ---------------------------------------------------------------------------------
# Text form and colours

_HEX_DIGITS = "0123456789abcdefABCDEF"


def format_hex(program: bytes) -> str:
    """The reference's text form of the Forth and SUBLEQ languages: two upper-case
    hex digits per byte, no separators."""
    return program.hex().upper()


def parse_hex(text: str, name: str) -> bytes:
    """Bytes of a text form of hex pairs (either case), as the reference's ``Parse``.

    Raises:
        ValueError: a character is not a hex digit, or the last one has no pair.
    """
    for i, c in enumerate(text):
        if c not in _HEX_DIGITS:
            raise ValueError(
                f"character {c!r} at position {i} of {excerpt(text, i)} is not a hex "
                f"digit; "
                f"a {name} program is written as hex pairs such as '4C0A'"
            )
    if len(text) % 2:
        raise ValueError(
            f"character {text[-1]!r} at position {len(text) - 1} of "
            f"{excerpt(text, len(text) - 1)} has no "
            f"second hex digit; a {name} program is written as hex pairs, an even "
            "number of digits"
        )
    return bytes.fromhex(text)


def _darken(colour: tuple[int, int, int], offset: int, count: int) -> np.ndarray:
    """``colour`` darkened by ``0.2 * offset / (count - 1)``, in the reference's
    single-precision arithmetic, rounded half away from zero."""
    amount = np.float32(offset) * np.float32(0.2) / np.float32(count - 1)
    multiplier = np.float32(1.0) - amount
    out = []
    for c in colour:
        value = min(np.float32(255), max(np.float32(0), multiplier * np.float32(c)))
        # Every value is positive, so floor(x + 0.5) is rounding half away from zero;
        # in double precision the sum is exact.
        out.append(int(np.floor(np.float64(value) + 0.5)))
    return np.array(out, dtype=np.uint8)


def palette(variant: Variant) -> np.ndarray:
    """Byte colours of the reference's pictures (spec §8)."""
    colours = np.empty((256, 3), dtype=np.uint8)
    if not variant.categories:
        # A ramp from blue (byte 0) to red (byte 255); the twelve ops get green.
        for b in range(256):
            colours[b] = (b, 128 if b < 0x0C else 0, 255 - b)
        return colours

    for b in range(256):
        op = variant.op_of(b)
        if op in ("READ0", "READ1", "WRITE0", "WRITE1", "COPY0", "COPY1"):
            colours[b] = (0x73, 0x01, 0xCE)
        elif op == "IF0":
            colours[b] = (0, 0, 0)
        elif op == "JMP" and b < 0xC0:
            colours[b] = _darken((0x94, 0xD9, 0xFF), b - 0x80, 64)
        elif op == "JMP":
            colours[b] = _darken((0xFF, 0x77, 0x7D), b - 0xC0, 64)
        elif op == "CONST":
            colours[b] = _darken((0xFF, 0xFF, 0xFF), b - 0x40, 64)
        elif op == "NOOP":
            colours[b] = _darken((0x02, 0x8A, 0x37), b - 0x0E, 50)
        else:
            colours[b] = (0x4E, 0x10, 0x01)
    return colours


# Terminal colours of the reference's program printer (256-colour indices), on the
# background its colour reset leaves.
_FOREGROUND = {
    "READ0": 112,
    "READ1": 112,
    "READ": 112,
    "WRITE0": 207,
    "WRITE1": 207,
    "WRITE": 207,
    "COPY0": 141,
    "COPY1": 141,
    "COPY": 141,
    "XOR": 196,
    "CONST": 255,
    "NOOP": 237,
}


def text_styles(variant: Variant) -> tuple[str, ...]:
    out = []
    for b in range(256):
        op = variant.op_of(b)
        if op == "JMP":
            colour = 221 if b & 64 else 117
        else:
            colour = _FOREGROUND.get(op, 255)
        out.append(f"color({colour}) on color(232)")
    return tuple(out)


_KERNELS = {
    "forth": evaluate_forth,
    "forthcopy": evaluate_forthcopy,
    "forthtrivial": evaluate_forthtrivial,
    "forthtrivial_reset": evaluate_forthtrivial_reset,
}


def _language(variant: Variant) -> Language:
    return Language(
        name=variant.name,
        family="forth",
        summary=variant.summary,
        evaluate=_KERNELS[variant.name],
        twin=lambda tape, max_steps: twin(variant, tape, max_steps),
        steps=lambda tape, max_steps: steps(variant, tape, max_steps),
        parse=lambda text: parse_hex(text, variant.name),
        format=format_hex,
        palette=palette(variant),
        text_styles=text_styles(variant),
    )


for _variant in VARIANTS:
    register(_language(_variant))
