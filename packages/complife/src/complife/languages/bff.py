"""The BFF family: Brainfuck with two heads on a self-modifying tape (spec §2.1).

Seven variants differ only in four choices, so each is a :class:`Variant` record and
one kernel serves them all:

- which byte means which command (ASCII, a permutation, the low nibble, ...);
- where the heads start (at 0 with pc = 0, or at tape[0], tape[1] with pc = 2);
- how loops jump (to the matching bracket, or a fixed 8 bytes: ``bff8``);
- whether ``,`` also advances head1 (``bff_selfmove``).

A command is one of ``[]+-.,<>{}`` (the reference's ``BffOp`` order); "null" is a
no-op that also counts as zero for the loop test; every other byte is a no-op. The
tape is program A then program B; the pc runs off either end to stop, the heads wrap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.cpython.unsafe.numbers import leading_zeros, trailing_zeros
from numba.extending import intrinsic

from complife.languages import (
    KEPT_FLAG,
    KEPT_WORD,
    Language,
    Step,
    excerpt,
    register,
)

#: Command characters in the reference's ``BffOp`` order; a byte's *kind* is its
#: index here, NULL and NOOP follow.
COMMANDS = "[]+-.,<>{}"
LOOP_START, LOOP_END, PLUS, MINUS, COPY01, COPY10, DEC0, INC0, DEC1, INC1 = range(10)
NULL = 10
NOOP = 11

#: Terminal colours of the reference's program printer (256-colour indices).
_STYLE_NULL = "color(88) on color(232)"
_STYLE_COMMAND = "color(255) on color(232)"
_STYLE_DATA = "color(237) on color(232)"


@dataclass(frozen=True)
class Variant:
    """What sets one BFF variant apart (the columns of the table in spec §2.1)."""

    name: str
    summary: str
    kind_of: Callable[[int], int]
    heads_from_tape: bool = False
    jump8: bool = False
    selfmove: bool = False
    zero_of: Callable[[int], bool] = lambda b: b == 0


def _ascii_kind(b: int) -> int:
    if b == 0:
        return NULL
    i = COMMANDS.find(chr(b))
    return i if i >= 0 else NOOP


def _table_kind(table: dict[int, int]) -> Callable[[int], int]:
    return lambda b: table.get(b, NOOP)


def _nibble_kind(b: int) -> int:
    nibble = b & 15
    if nibble == 0:
        return NULL
    return {
        6: LOOP_START,
        7: LOOP_END,
        8: PLUS,
        9: MINUS,
        10: COPY01,
        11: COPY10,
        12: DEC0,
        13: INC0,
        14: DEC1,
        15: INC1,
    }.get(nibble, NOOP)


VARIANTS = (
    Variant("bff_noheads", "the paper's BFF: heads and pc start at 0", _ascii_kind),
    Variant("bff", "heads start at tape[0], tape[1]; pc at 2", _ascii_kind, True),
    Variant("bff8", "as bff, but loops jump 8 bytes", _ascii_kind, True, jump8=True),
    Variant(
        "bff8_noheads",
        "as bff_noheads, but loops jump 8 bytes",
        _ascii_kind,
        jump8=True,
    ),
    Variant(
        "bff_noheads_4bit",
        "as bff_noheads, command = low nibble (10 of 16 values are commands)",
        _nibble_kind,
        zero_of=lambda b: b & 15 == 0,
    ),
    Variant(
        "bff_perm",
        "as bff, commands are the bytes 1-10",
        _table_kind(
            {
                0: NULL,
                1: DEC0,
                2: INC0,
                3: DEC1,
                4: INC1,
                5: PLUS,
                6: MINUS,
                7: COPY01,
                8: COPY10,
                9: LOOP_START,
                10: LOOP_END,
            }
        ),
        True,
    ),
    Variant(
        "bff_selfmove",
        "7 commands as bytes 0-6; ',' also advances head1",
        _table_kind(
            {0: INC0, 1: DEC0, 2: PLUS, 3: MINUS, 4: COPY10, 5: LOOP_START, 6: LOOP_END}
        ),
        True,
        selfmove=True,
    ),
)


# ---------------------------------------------------------------------------------
# The kernel


# The kernel keeps two 128-bit masks of the tape, each as two words: where the
# commands are (to cross runs of no-ops in one move) and where the brackets are (to
# find a matching bracket by visiting brackets only). Every write updates them.
_ONE = np.uint64(1)
_ZERO = np.uint64(0)


@njit(inline="always")
def _masks(tape, kind, start):
    """Bits of the commands, of the brackets and of the writing commands (``+-.,``)
    among tape[start : start + 64]."""
    commands = _ZERO
    brackets = _ZERO
    writes = _ZERO
    # Branch-free, so that random bytes cost no mispredictions.
    for i in range(64):
        k = kind[tape[start + i]]
        commands |= np.uint64(k < NULL) << np.uint64(i)
        brackets |= np.uint64(k <= LOOP_END) << np.uint64(i)
        writes |= np.uint64((k >= PLUS) & (k <= COPY10)) << np.uint64(i)
    return commands, brackets, writes


@intrinsic
def popcount(typingctx, word):
    """Number of set bits of a uint64 (LLVM's ctpop)."""

    def codegen(context, builder, signature, args):
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.IntType(64), [ir.IntType(64)]),
            "llvm.ctpop.i64",
        )
        return builder.call(function, [args[0]])

    return types.uint64(types.uint64), codegen


@njit(inline="always")
def _below(p):
    """The two-word mask of the positions < p; 0 <= p <= 128."""
    if p >= 128:
        return ~_ZERO, ~_ZERO
    if p >= 64:
        return ~_ZERO, (_ONE << np.uint64(p - 64)) - _ONE
    return (_ONE << np.uint64(p)) - _ONE, _ZERO


@njit(inline="always")
def _span(first, stop):
    """The two-word mask of the positions first <= p < stop; 0 <= first <= 128."""
    low_a, high_a = _below(first)
    low_b, high_b = _below(stop)
    return low_b & ~low_a, high_b & ~high_a


@njit(inline="always")
def _next_set(low, high, p):
    """Lowest set position >= p of a two-word mask, or 128; 0 <= p <= 128."""
    if p < 64:
        rest = low >> np.uint64(p)
        if rest:
            return p + np.int64(trailing_zeros(rest))
        if high:
            return 64 + np.int64(trailing_zeros(high))
        return 128
    if p < 128:
        rest = high >> np.uint64(p - 64)
        if rest:
            return p + np.int64(trailing_zeros(rest))
    return 128


@njit(inline="always")
def _prev_set(low, high, p):
    """Highest set position <= p of a two-word mask, or -1; -1 <= p < 128."""
    if p >= 64:
        rest = high << np.uint64(127 - p)
        if rest:
            return p - np.int64(leading_zeros(rest))
        if low:
            return 63 - np.int64(leading_zeros(low))
        return -1
    if p >= 0:
        rest = low << np.uint64(63 - p)
        if rest:
            return p - np.int64(leading_zeros(rest))
    return -1


_UNKNOWN = np.uint8(255)
_NO_MATCH = np.uint8(254)
#: The value part of a tracer token: its low 8 bits are the byte it rides on.
_TOKEN_VALUE = np.uint64(0xFF)


@njit(inline="always")
def _match_forward(pc, low, high, tape, kind):
    depth = 1
    while depth:
        pc = _next_set(low, high, pc + 1)
        if pc >= 128:
            return _NO_MATCH
        depth += 1 if kind[tape[pc]] == LOOP_START else -1
    return np.uint8(pc)


@njit(inline="always")
def _match_backward(pc, low, high, tape, kind):
    depth = 1
    while depth:
        pc = _prev_set(low, high, pc - 1)
        if pc < 0:
            return _NO_MATCH
        depth += 1 if kind[tape[pc]] == LOOP_END else -1
    return np.uint8(pc)


@njit(inline="always")
def _forget_matches(scratch):
    """Mark every bracket's match unknown (two vector stores: cheaper than
    visiting only the brackets)."""
    for i in range(128):
        scratch[i] = _UNKNOWN


@njit(inline="always")
def _set_bit(low, high, p, on):
    bit = _ONE << np.uint64(p & 63)
    if p < 64:
        low = (low | bit) if on else (low & ~bit)
    else:
        high = (high | bit) if on else (high & ~bit)
    return low, high


@njit(inline="always")
def _retoken(tokens, i, value):
    """Token ``i`` with its value part (the low 8 bits) set to ``value``."""
    tokens[i] = (tokens[i] & ~_TOKEN_VALUE) | np.uint64(value)


@njit(inline="always")
def _idle_loop(
    start, end, steps, max_steps, head0, head1, tape, kind, is_zero, low, high
):
    """Finish the loop whose ``]`` at ``end`` is jumping back to ``start``, when its
    body (start, end) holds no bracket and no writing command (spec §2.1).

    Such a body only moves heads over a tape that stays as it is, so each pass costs
    ``end - start`` steps and the same ops, and only head0 decides when it stops.
    Before a transition most of the soup's steps are spent in loops like these,
    often with an empty body, until the step limit. ``low``, ``high`` are the command
    mask. Returns (left the loop, steps, ops, head0, head1); when the step limit
    ends the run inside it, the ops are those of the commands reached.
    """
    moves0 = 0
    moves1 = 0
    count = 0
    p = _next_set(low, high, start + 1)
    while p < end:
        k = kind[tape[p]]
        count += 1
        if k == DEC0:
            moves0 -= 1
        elif k == INC0:
            moves0 += 1
        elif k == DEC1:
            moves1 -= 1
        elif k == INC1:
            moves1 += 1
        p = _next_set(low, high, p + 1)

    length = end - start
    left = max_steps - steps
    ops = 0
    if moves0 != 0:
        # head0 returns to where it was within 128 passes; if no pass met a zero by
        # then, none ever will.
        for _ in range(128):
            if left < length:
                break
            left -= length
            ops += count + 1
            head0 = (head0 + moves0) & 127
            head1 += moves1
            if is_zero[tape[head0]]:
                return True, max_steps - left, ops, head0, head1

    # The loop test no longer changes: whole passes until the step limit, then the
    # commands of the last, cut-short pass.
    ops += (left // length) * (count + 1)
    span_low, span_high = _span(start + 1, start + 1 + left % length)
    ops += np.int64(popcount(low & span_low)) + np.int64(popcount(high & span_high))
    return False, max_steps, ops, head0, head1


#: A busy loop's commands are listed in scratch[_BODY : _BODY + _MAX_BODY], between
#: the bracket cache (0-127) and what the soup engine keeps (KEPT_FLAG on).
_BODY = 128
_MAX_BODY = KEPT_FLAG - _BODY


# Compiled as a function of its own, not inlined: inside the interpreter it ran
# slower (too few registers for both) and made each kernel compile 2-3 times longer.
@njit(nogil=True)
def _busy_loop(
    start,
    end,
    steps,
    max_steps,
    head0,
    head1,
    tape,
    kind,
    is_zero,
    selfmove,
    scratch,
    low,
    high,
    tokens,
):
    """Run the loop whose ``]`` at ``end`` is jumping back to ``start``, when its
    body (start, end) holds no bracket but writes (spec §2.1); after a transition
    nearly every step is spent in such a copy loop.

    Every pass runs the same commands, so they are listed once and run without
    crossing the no-op bytes between them; each whole pass costs ``end - start``
    steps. Only whole passes are run here: the interpreter runs a last, cut-short
    one. A write that changes the kind of a byte in [start, end] changes the
    loop's own code, so the pass stops right after it and the interpreter goes on
    from there; a write that keeps the kind (most copies after a transition write
    the byte already there) changes nothing the masks or the listed commands say.
    ``low``, ``high`` are the command mask.

    Returns (pc, steps, ops, head0, head1, and the two words of the mask of the
    positions whose kind changed); the pc is that of the last byte run.
    """
    count = 0
    p = _next_set(low, high, start + 1)
    while p < end:
        scratch[_BODY + count] = kind[tape[p]]
        count += 1
        p = _next_set(low, high, p + 1)

    length = end - start
    left = max_steps - steps
    ops = 0
    dirty_low = _ZERO
    dirty_high = _ZERO
    while left >= length:
        for j in range(count):
            k = scratch[_BODY + j]
            head0 &= 127
            head1 &= 127
            # The interpreter's dispatch, repeated: one inline function for both
            # made this loop 3.5 times slower after a transition, and the
            # interpreter 25 % slower before one (numba 0.68).
            written = -1
            was = NOOP
            if k == COPY01:
                was = kind[tape[head1]]
                tape[head1] = tape[head0]
                written = head1
                if tokens is not None:
                    tokens[head1] = tokens[head0]
            elif k == COPY10:
                was = kind[tape[head0]]
                tape[head0] = tape[head1]
                written = head0
                if tokens is not None:
                    tokens[head0] = tokens[head1]
                if selfmove:
                    head1 += 1
            elif k == DEC0:
                head0 -= 1
            elif k == INC0:
                head0 += 1
            elif k == DEC1:
                head1 -= 1
            elif k == INC1:
                head1 += 1
            elif k == PLUS:
                was = kind[tape[head0]]
                tape[head0] = (tape[head0] + 1) & 255
                written = head0
                if tokens is not None:
                    _retoken(tokens, head0, tape[head0])
            else:
                was = kind[tape[head0]]
                tape[head0] = (tape[head0] - 1) & 255
                written = head0
                if tokens is not None:
                    _retoken(tokens, head0, tape[head0])
            if written < 0:
                continue
            now = kind[tape[written]]
            if now == was:
                continue
            if now <= LOOP_END or was <= LOOP_END:
                # The bracket structure changed: forget the matches found.
                _forget_matches(scratch)
            bit = _ONE << np.uint64(written & 63)
            dirty_low |= bit if written < 64 else _ZERO
            dirty_high |= _ZERO if written < 64 else bit
            if np.uint64(written - start) <= np.uint64(length):
                # The loop's code changed: hand back after command j, at its place
                # in the pass.
                at = _next_set(low, high, start + 1)
                for _ in range(j):
                    at = _next_set(low, high, at + 1)
                steps = max_steps - left + (at - start)
                ops += j + 1
                return at, steps, ops, head0, head1, dirty_low, dirty_high
        left -= length
        ops += count + 1
        head0 &= 127
        if is_zero[tape[head0]]:
            steps = max_steps - left
            return end, steps, ops, head0, head1, dirty_low, dirty_high
    steps = max_steps - left
    return start, steps, ops, head0, head1, dirty_low, dirty_high


@njit(inline="always")
def _run(
    tape,
    max_steps,
    scratch,
    kind,
    is_zero,
    heads_from_tape,
    jump8,
    selfmove,
    tokens=None,
):
    """Run one 128-byte pair tape in place; return its op count (spec §2.1).

    Every byte the pc visits is a step, no-ops included, and the run stops after
    ``max_steps`` of them. Before a transition most visited bytes are no-ops, so a
    run of them is crossed in one move, adding exactly the steps it skips; a bracket
    scan visits only brackets. Heads are masked to the tape before each command; the
    pc is not: leaving the tape ends the run.

    ``tokens``, when given, is the tape's 128 tracer tokens (paper Figs. 1-3,
    :mod:`complife.tracer`): a copy moves the token with the byte, ``+``/``-``
    change only its value part. Without them numba prunes every token line at
    compile time, so the untraced kernels carry no trace of them.
    """
    n = 128
    kept = scratch.view(np.uint64)
    if scratch[KEPT_FLAG]:
        command_low = kept[KEPT_WORD]
        bracket_low = kept[KEPT_WORD + 1]
        write_low = kept[KEPT_WORD + 2]
        command_high = kept[KEPT_WORD + 3]
        bracket_high = kept[KEPT_WORD + 4]
        write_high = kept[KEPT_WORD + 5]
    else:
        command_low, bracket_low, write_low = _masks(tape, kind, 0)
        command_high, bracket_high, write_high = _masks(tape, kind, 64)
    if heads_from_tape:
        head0 = np.int64(tape[0]) % n
        head1 = np.int64(tape[1]) % n
        pc = 2
    else:
        head0 = 0
        head1 = 0
        pc = 0

    # scratch[i] caches the match of the bracket at i (NO_MATCH when it has none).
    _forget_matches(scratch)
    was = NOOP
    steps = 0
    ops = 0
    while steps < max_steps:
        k = kind[tape[pc]]
        if k >= NULL:
            target = _next_set(command_low, command_high, pc)
            if target - pc >= max_steps - steps:
                break
            steps += target - pc
            if target >= n:
                break
            pc = target
            k = kind[tape[pc]]

        steps += 1
        ops += 1
        head0 &= n - 1
        head1 &= n - 1
        written = -1
        if k == LOOP_START:
            if is_zero[tape[head0]]:
                if jump8:
                    pc += 8
                else:
                    m = scratch[pc]
                    if m == _UNKNOWN:
                        m = _match_forward(pc, bracket_low, bracket_high, tape, kind)
                        scratch[pc] = m
                        if m < n:
                            scratch[m] = pc
                    if m >= n:
                        break
                    pc = np.int64(m)
        elif k == LOOP_END:
            if not is_zero[tape[head0]]:
                end = pc
                if jump8:
                    pc -= 8
                    if pc < 0:
                        break
                else:
                    m = scratch[pc]
                    if m == _UNKNOWN:
                        m = _match_backward(pc, bracket_low, bracket_high, tape, kind)
                        scratch[pc] = m
                        if m < n:
                            scratch[m] = pc
                    if m >= n:
                        break
                    pc = np.int64(m)
                span_low, span_high = _span(pc + 1, end)
                if (bracket_low & span_low) | (bracket_high & span_high):
                    pass
                elif (write_low & span_low) | (write_high & span_high):
                    count = np.int64(popcount(command_low & span_low)) + np.int64(
                        popcount(command_high & span_high)
                    )
                    if count <= _MAX_BODY:
                        pc, steps, done, head0, head1, dirty_low, dirty_high = (
                            _busy_loop(
                                pc,
                                end,
                                steps,
                                max_steps,
                                head0,
                                head1,
                                tape,
                                kind,
                                is_zero,
                                selfmove,
                                scratch,
                                command_low,
                                command_high,
                                tokens,
                            )
                        )
                        ops += done
                        # Bring the masks up to date where a kind changed; rare
                        # enough that recomputing a whole word is cheapest.
                        if dirty_low:
                            command_low, bracket_low, write_low = _masks(tape, kind, 0)
                        if dirty_high:
                            command_high, bracket_high, write_high = _masks(
                                tape, kind, 64
                            )
                else:
                    left, steps, done, head0, head1 = _idle_loop(
                        pc,
                        end,
                        steps,
                        max_steps,
                        head0,
                        head1,
                        tape,
                        kind,
                        is_zero,
                        command_low,
                        command_high,
                    )
                    ops += done
                    if not left:
                        break
                    pc = end
        elif k == PLUS:
            was = kind[tape[head0]]
            tape[head0] = (tape[head0] + 1) & 255
            written = head0
            if tokens is not None:
                _retoken(tokens, head0, tape[head0])
        elif k == MINUS:
            was = kind[tape[head0]]
            tape[head0] = (tape[head0] - 1) & 255
            written = head0
            if tokens is not None:
                _retoken(tokens, head0, tape[head0])
        elif k == COPY01:
            was = kind[tape[head1]]
            tape[head1] = tape[head0]
            written = head1
            if tokens is not None:
                tokens[head1] = tokens[head0]
        elif k == COPY10:
            was = kind[tape[head0]]
            tape[head0] = tape[head1]
            written = head0
            if tokens is not None:
                tokens[head0] = tokens[head1]
            if selfmove:
                head1 += 1
        elif k == DEC0:
            head0 -= 1
        elif k == INC0:
            head0 += 1
        elif k == DEC1:
            head1 -= 1
        else:
            head1 += 1

        if written >= 0:
            c = kind[tape[written]]
            command_low, command_high = _set_bit(
                command_low, command_high, written, c < NULL
            )
            bracket_low, bracket_high = _set_bit(
                bracket_low, bracket_high, written, c <= LOOP_END
            )
            write_low, write_high = _set_bit(
                write_low, write_high, written, (c >= PLUS) & (c <= COPY10)
            )
            if (c <= LOOP_END or was <= LOOP_END) and c != was:
                # The bracket structure changed: forget every match found so far.
                _forget_matches(scratch)
        pc += 1
        if pc >= n:
            break

    kept[KEPT_WORD] = command_low
    kept[KEPT_WORD + 1] = bracket_low
    kept[KEPT_WORD + 2] = write_low
    kept[KEPT_WORD + 3] = command_high
    kept[KEPT_WORD + 4] = bracket_high
    kept[KEPT_WORD + 5] = write_high
    return ops


def _kind_table(variant: Variant) -> np.ndarray:
    return np.array([variant.kind_of(b) for b in range(256)], dtype=np.uint8)


def _zero_table(variant: Variant) -> np.ndarray:
    return np.array([variant.zero_of(b) for b in range(256)], dtype=np.bool_)


_V = {v.name: v for v in VARIANTS}
_KIND_ASCII = _kind_table(_V["bff"])
_ZERO_BYTE = _zero_table(_V["bff"])
_KIND_NIBBLE = _kind_table(_V["bff_noheads_4bit"])
_ZERO_NIBBLE = _zero_table(_V["bff_noheads_4bit"])
_KIND_PERM = _kind_table(_V["bff_perm"])
_KIND_SELFMOVE = _kind_table(_V["bff_selfmove"])


# One entry point per variant, so that numba specialises the kernel for each and the
# soup engine can take it as a first-class function of EVALUATE_SIGNATURE.
@njit(cache=True)
def evaluate_bff_noheads(tape, max_steps, scratch):
    return _run(tape, max_steps, scratch, _KIND_ASCII, _ZERO_BYTE, False, False, False)


@njit(cache=True)
def evaluate_bff(tape, max_steps, scratch):
    return _run(tape, max_steps, scratch, _KIND_ASCII, _ZERO_BYTE, True, False, False)


@njit(cache=True)
def evaluate_bff8(tape, max_steps, scratch):
    return _run(tape, max_steps, scratch, _KIND_ASCII, _ZERO_BYTE, True, True, False)


@njit(cache=True)
def evaluate_bff8_noheads(tape, max_steps, scratch):
    return _run(tape, max_steps, scratch, _KIND_ASCII, _ZERO_BYTE, False, True, False)


@njit(cache=True)
def evaluate_bff_noheads_4bit(tape, max_steps, scratch):
    return _run(
        tape, max_steps, scratch, _KIND_NIBBLE, _ZERO_NIBBLE, False, False, False
    )


@njit(cache=True)
def evaluate_bff_perm(tape, max_steps, scratch):
    return _run(tape, max_steps, scratch, _KIND_PERM, _ZERO_BYTE, True, False, False)


@njit(cache=True)
def evaluate_bff_selfmove(tape, max_steps, scratch):
    return _run(tape, max_steps, scratch, _KIND_SELFMOVE, _ZERO_BYTE, True, False, True)


# The same kernels with tracer tokens (complife.tracer): ``evaluate(tape, tokens,
# max_steps, scratch)``, tokens a uint64[128] changed in place with the tape.
@njit(cache=True)
def traced_bff_noheads(tape, tokens, max_steps, scratch):
    return _run(
        tape, max_steps, scratch, _KIND_ASCII, _ZERO_BYTE, False, False, False, tokens
    )


@njit(cache=True)
def traced_bff(tape, tokens, max_steps, scratch):
    return _run(
        tape, max_steps, scratch, _KIND_ASCII, _ZERO_BYTE, True, False, False, tokens
    )


@njit(cache=True)
def traced_bff8(tape, tokens, max_steps, scratch):
    return _run(
        tape, max_steps, scratch, _KIND_ASCII, _ZERO_BYTE, True, True, False, tokens
    )


@njit(cache=True)
def traced_bff8_noheads(tape, tokens, max_steps, scratch):
    return _run(
        tape, max_steps, scratch, _KIND_ASCII, _ZERO_BYTE, False, True, False, tokens
    )


@njit(cache=True)
def traced_bff_noheads_4bit(tape, tokens, max_steps, scratch):
    return _run(
        tape,
        max_steps,
        scratch,
        _KIND_NIBBLE,
        _ZERO_NIBBLE,
        False,
        False,
        False,
        tokens,
    )


@njit(cache=True)
def traced_bff_perm(tape, tokens, max_steps, scratch):
    return _run(
        tape, max_steps, scratch, _KIND_PERM, _ZERO_BYTE, True, False, False, tokens
    )


@njit(cache=True)
def traced_bff_selfmove(tape, tokens, max_steps, scratch):
    return _run(
        tape, max_steps, scratch, _KIND_SELFMOVE, _ZERO_BYTE, True, False, True, tokens
    )


#: The traced kernel of each variant, by name.
TRACED_KERNELS = {
    "bff_noheads": traced_bff_noheads,
    "bff": traced_bff,
    "bff8": traced_bff8,
    "bff8_noheads": traced_bff8_noheads,
    "bff_noheads_4bit": traced_bff_noheads_4bit,
    "bff_perm": traced_bff_perm,
    "bff_selfmove": traced_bff_selfmove,
}


# ---------------------------------------------------------------------------------
# The twin: the same machine, written plainly, for tests and step traces


def steps(
    variant: Variant, tape: bytearray, max_steps: int, tokens: list[int] | None = None
) -> Iterator[Step]:
    """Run ``tape`` in place, yielding the state before each step.

    The generator's return value (``StopIteration.value``) is the op count. With
    ``tokens`` (one tracer token per tape byte, :mod:`complife.tracer`) a copy
    moves the token along with the byte and ``+``/``-`` set its low 8 bits to the
    new value.
    """
    n = len(tape)
    if variant.heads_from_tape:
        head0, head1, pc = tape[0] % n, tape[1] % n, 2
    else:
        head0, head1, pc = 0, 0, 0

    ops = 0
    for step in range(max_steps):
        head0 %= n
        head1 %= n
        yield Step(step, pc, (head0, head1))
        command = variant.kind_of(tape[pc])
        if command != NULL and command != NOOP:
            ops += 1

        if command == LOOP_START and variant.zero_of(tape[head0]):
            if variant.jump8:
                pc += 8
            else:
                pc = _matching_bracket(variant, tape, pc, +1)
        elif command == LOOP_END and not variant.zero_of(tape[head0]):
            if variant.jump8:
                pc -= 8
            else:
                pc = _matching_bracket(variant, tape, pc, -1)
        elif command == PLUS:
            tape[head0] = (tape[head0] + 1) % 256
            if tokens is not None:
                tokens[head0] = tokens[head0] // 256 * 256 + tape[head0]
        elif command == MINUS:
            tape[head0] = (tape[head0] - 1) % 256
            if tokens is not None:
                tokens[head0] = tokens[head0] // 256 * 256 + tape[head0]
        elif command == COPY01:
            tape[head1] = tape[head0]
            if tokens is not None:
                tokens[head1] = tokens[head0]
        elif command == COPY10:
            tape[head0] = tape[head1]
            if tokens is not None:
                tokens[head0] = tokens[head1]
            if variant.selfmove:
                head1 += 1
        elif command == DEC0:
            head0 -= 1
        elif command == INC0:
            head0 += 1
        elif command == DEC1:
            head1 -= 1
        elif command == INC1:
            head1 += 1

        # The pc does not wrap: stepping off either end of the tape ends the run.
        if pc < 0:
            break
        pc += 1
        if pc >= n:
            break
    return ops


def _matching_bracket(variant: Variant, tape: bytearray, pc: int, direction: int):
    """Position of the bracket matching the one at ``pc``, scanning the tape as it
    is now; -1 or len(tape) when there is none, which ends the run."""
    opening, closing = (
        (LOOP_START, LOOP_END) if direction > 0 else (LOOP_END, LOOP_START)
    )
    depth = 0
    i = pc
    while 0 <= i < len(tape):
        command = variant.kind_of(tape[i])
        if command == opening:
            depth += 1
        elif command == closing:
            depth -= 1
            if depth == 0:
                return i
        i += direction
    return i


def twin(
    variant: Variant, tape: bytearray, max_steps: int, tokens: list[int] | None = None
) -> int:
    """Slow twin of the kernel: run ``tape`` (and ``tokens``) in place and return
    the op count."""
    run = steps(variant, tape, max_steps, tokens)
    while True:
        try:
            next(run)
        except StopIteration as done:
            return done.value


# ---------------------------------------------------------------------------------
# Text form and colours


def _character(b: int) -> str:
    """The reference's printable stand-in for a byte that is not a command."""
    if 0xC4 <= b <= 0xCC:
        return chr(ord("A") + b - 0xC4)
    if 0xF1 <= b <= 0xF3:
        return chr(ord("J") + b - 0xF1)
    return chr(0x100 + b)


def symbols(variant: Variant) -> list[str]:
    """The one-character text form of each byte value."""
    out = []
    for b in range(256):
        kind = variant.kind_of(b)
        if kind < NULL:
            out.append(COMMANDS[kind])
        elif kind == NULL:
            out.append("0")
        else:
            out.append(_character(b))
    return out


def _parse_table(variant: Variant) -> dict[str, int]:
    """Character to byte, as the reference's ``Parse``: a command (or ``0``) stands
    for the highest byte of its kind (byte 0 where the variant has none of that
    kind); any other character is the byte whose stand-in it is."""
    command_byte = [0] * (NULL + 1)
    for b in range(256):
        kind = variant.kind_of(b)
        if kind <= NULL:
            command_byte[kind] = b
    table = {_character(b): b for b in range(256)}
    table.update({c: command_byte[k] for k, c in enumerate(COMMANDS)})
    table["0"] = command_byte[NULL]
    return table


def make_parse(variant: Variant) -> Callable[[str], bytes]:
    table = _parse_table(variant)

    def parse(text: str) -> bytes:
        out = bytearray()
        for i, c in enumerate(text):
            if c not in table:
                raise ValueError(
                    f"character {c!r} at position {i} of {excerpt(text, i)} is not "
                    f"in the {variant.name} text form; use one of {COMMANDS!r}, '0', "
                    "or the stand-ins it prints for other bytes"
                )
            out.append(table[c])
        return bytes(out)

    return parse


def make_format(variant: Variant) -> Callable[[bytes], str]:
    table = symbols(variant)
    return lambda program: "".join(table[b] for b in program)


def palette(variant: Variant) -> np.ndarray:
    """Byte colours of the reference's pictures (spec §8)."""
    colours = np.empty((256, 3), dtype=np.uint8)
    for b in range(256):
        kind = variant.kind_of(b)
        if kind in (LOOP_START, LOOP_END):
            colours[b] = (0, 192, 0)
        elif kind in (PLUS, MINUS, COPY01, COPY10):
            colours[b] = (200, 0, 200)
        elif kind in (DEC0, INC0, DEC1, INC1):
            colours[b] = (200, 128, 220)
        elif kind == NULL:
            colours[b] = (255, 0, 0)
        else:
            colours[b] = 192 + b // 4
    return colours


def text_styles(variant: Variant) -> tuple[str, ...]:
    out = []
    for b in range(256):
        kind = variant.kind_of(b)
        out.append(
            _STYLE_NULL
            if kind == NULL
            else _STYLE_COMMAND
            if kind < NULL
            else _STYLE_DATA
        )
    return tuple(out)


_KERNELS = {
    "bff_noheads": evaluate_bff_noheads,
    "bff": evaluate_bff,
    "bff8": evaluate_bff8,
    "bff8_noheads": evaluate_bff8_noheads,
    "bff_noheads_4bit": evaluate_bff_noheads_4bit,
    "bff_perm": evaluate_bff_perm,
    "bff_selfmove": evaluate_bff_selfmove,
}


def _language(variant: Variant) -> Language:
    return Language(
        name=variant.name,
        family="bff",
        summary=variant.summary,
        evaluate=_KERNELS[variant.name],
        twin=lambda tape, max_steps: twin(variant, tape, max_steps),
        steps=lambda tape, max_steps: steps(variant, tape, max_steps),
        parse=make_parse(variant),
        format=make_format(variant),
        palette=palette(variant),
        text_styles=text_styles(variant),
        kept_words=3,
    )


for _variant in VARIANTS:
    register(_language(_variant))
