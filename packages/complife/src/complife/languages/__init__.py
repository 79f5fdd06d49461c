"""The substrates a soup can be made of, registered by name (spec §2).

A language is one record: a numba kernel that runs a pair tape in place and returns
its operation count, a slow pure-Python twin with the same contract (the test
oracle), the parse and print of its text form, and its palette. Adding a language is
one new module that builds such records and calls :func:`register`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
from numba import types

#: The signature every soup kernel has: ``ops = evaluate(tape, max_steps, scratch)``.
#: The tape (program A followed by program B) is changed in place; ``scratch`` is
#: SCRATCH_SIZE bytes of working memory (a stack, registers) that the caller owns, so
#: that a kernel allocates nothing per interaction. Kernels are passed to the soup
#: engine as first-class functions of this type, so the engine is compiled and cached
#: once for all languages.
EVALUATE_SIGNATURE = types.int64(types.uint8[::1], types.int64, types.uint8[::1])
EVALUATE_TYPE = types.FunctionType(EVALUATE_SIGNATURE)
SCRATCH_SIZE = 256
#: Steps per interaction in a soup: the reference hard-codes it in its kernels.
MAX_STEPS = 8192
#: A language may keep a few uint64 words about each program between interactions
#: (BFF keeps where its commands are, so that it need not look again). For a pair,
#: the engine puts program A's words at word KEPT_WORD of ``scratch.view(uint64)``
#: and program B's right after them, and sets byte KEPT_FLAG of scratch to 1 when
#: they describe the tape as it is (0: nothing kept, or a byte changed since, e.g.
#: by mutation). The kernel reads them only under the flag, leaves the words of the
#: tape it ends with in the same place, and never sets the flag itself, so a caller
#: that keeps nothing (a zeroed scratch) is always right.
KEPT_WORD = 24
KEPT_FLAG = 191
MAX_KEPT_WORDS = (SCRATCH_SIZE // 8 - KEPT_WORD) // 2
# Kernels use the bytes below KEPT_FLAG as they like (BFF: its match cache and a
# loop's command list), so the flag must sit below the kept words.
if not KEPT_FLAG < 8 * KEPT_WORD <= SCRATCH_SIZE - 16:
    raise AssertionError("scratch layout: KEPT_FLAG, KEPT_WORD and SCRATCH_SIZE clash")


@dataclass(frozen=True)
class Step:
    """The machine state before one step, as a twin reports it for tracing."""

    step: int
    pc: int
    heads: tuple[int, ...] = ()
    stack: tuple[int, ...] = ()


@dataclass(frozen=True)
class Language:
    """One substrate of spec §2.

    Attributes:
        name: the reference's registered name (``--lang``).
        family: the module it belongs to (``bff``, ``forth``, ...).
        summary: one line for ``--help`` and listings.
        evaluate: numba kernel with the arguments of :data:`EVALUATE_SIGNATURE`;
            use :attr:`kernel` or :func:`run` to call it.
        twin: pure-Python twin, ``ops = twin(tape: bytearray, max_steps)``.
        steps: pure-Python tracer; yields a :class:`Step` before each step and
            changes the tape as it goes.
        parse: text form to bytes.
        format: bytes to text form.
        palette: (256, 3) uint8 colour of each byte value in soup pictures (§8).
        text_styles: 256 rich style strings for the text form in a terminal.
        program_size: bytes per program; the pair tape holds two.
        kept_words: uint64 words the kernel keeps about each program between
            interactions (see :data:`KEPT_WORD`); 0 for none.
    """

    name: str
    family: str
    summary: str
    evaluate: Callable
    twin: Callable[[bytearray, int], int]
    steps: Callable[[bytearray, int], Iterator[Step]]
    parse: Callable[[str], bytes]
    format: Callable[[bytes], str]
    palette: np.ndarray
    text_styles: tuple[str, ...]
    program_size: int = 64
    aliases: tuple[str, ...] = field(default=())
    kept_words: int = 0

    @property
    def kernel(self):
        """``evaluate`` compiled for :data:`EVALUATE_SIGNATURE`, as the soup engine
        takes it. Kernels compile on first use (or load from numba's cache), so
        that a run compiles only the language it runs."""
        self.evaluate.compile(EVALUATE_SIGNATURE)
        return self.evaluate


def excerpt(text: str, i: int, width: int = 12) -> str:
    """The part of a long program text around position ``i``, for error messages."""
    start, end = max(0, i - width), min(len(text), i + width + 1)
    head = "..." if start else ""
    tail = "..." if end < len(text) else ""
    return repr(head + text[start:end] + tail)


_REGISTRY: dict[str, Language] = {}


def register(language: Language) -> Language:
    """Add a language to the registry under its name; names are unique."""
    if language.name in _REGISTRY:
        raise ValueError(f"language {language.name!r} is registered twice")
    if language.palette.shape != (256, 3) or language.palette.dtype != np.uint8:
        raise ValueError(
            f"palette of {language.name!r} has shape {language.palette.shape} and "
            f"dtype {language.palette.dtype}; expected (256, 3) uint8"
        )
    _REGISTRY[language.name] = language
    return language


def get(name: str) -> Language:
    """The language registered as ``name``; a helpful error if there is none."""
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, _REGISTRY, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown language {name!r}; expected one of {', '.join(names())}.{hint}"
        ) from None


def run(language: Language, tape, max_steps: int) -> tuple[int, bytes]:
    """Run one pair tape (two programs) with a language's kernel; return the op
    count and the final tape."""
    if len(tape) != 2 * language.program_size:
        raise ValueError(
            f"tape is {len(tape)} bytes; a {language.name} pair tape is "
            f"{2 * language.program_size} (pad the program with zeros)"
        )
    array = np.frombuffer(bytes(tape), dtype=np.uint8).copy()
    ops = language.kernel(array, max_steps, np.zeros(SCRATCH_SIZE, dtype=np.uint8))
    return int(ops), array.tobytes()


def names() -> list[str]:
    """Registered language names, in registration order."""
    return list(_REGISTRY)


# The families register themselves on import.
from complife.languages import bff, forth, subleq, z80  # noqa: E402, F401
