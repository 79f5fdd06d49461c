"""Tracer tokens: where every byte of a soup came from (paper Figs. 1-3; spec, "Not in
the reference implementation").

Every byte of the soup carries a 64-bit token, laid out as::

    bits 63..40   birth     the epoch the byte appeared in: 0 for the initial soup,
                            e + 1 for a byte written by a mutation (or a reset) of
                            0-based epoch e, as reports label epochs
    bits 39..8    position  program * 64 + offset, where in the soup it appeared
    bits  7..0    value     the byte's value now

A copy instruction (``.`` and ``,``) moves the token with the byte; ``+`` and ``-``
change only its value part, so the low 8 bits of a token always equal the byte it
rides on. A mutation gives its byte a fresh token (born now, here), even when the
replacement happens to keep the value. Two bytes with the same token descend from
the same birth by copies alone (or by copies and arithmetic that ended on the same
value). The number of distinct tokens falls as copies spread: the paper sees it
collapse when replicators take over.

Tokens are defined for the BFF family only: there a byte moves only by the two copy
instructions. A Forth or SUBLEQ write computes its value from the stack or from
arithmetic on other bytes, so "the byte that was copied" has no single answer.

Limits of the layout: at most 2**26 programs (positions are 32 bits; the paper's soup
is 2**17) and births up to epoch 2**24 - 1 (later ones are recorded as 2**24 - 1).
Tokens are saved beside each checkpoint as ``NNNNNNNNNN.tokens.npy``, an (N, 64)
uint64 array, eight times the size of the ``.dat`` file (64 MiB at 2**17 programs).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import get_num_threads, njit, prange, types

from complife import languages
from complife.checkpoint import Checkpoint, write_atomic
from complife.languages import SCRATCH_SIZE, Language, bff
from complife.rng import MASK64, derive_seed_py, splitmix64, splitmix64_py
from complife.soup import MUTATION_DENOMINATOR, EpochResult, Soup, prefetch

BIRTH_SHIFT = 40
POSITION_SHIFT = 8
VALUE_MASK = 0xFF
POSITION_MASK = (1 << 32) - 1
MAX_BIRTH = (1 << 24) - 1
MAX_PROGRAMS = (1 << 32) // 64
#: Suffix of the tokens file beside a checkpoint ``NNNNNNNNNN.dat``.
TOKENS_SUFFIX = ".tokens.npy"

#: The signature of a traced kernel: ``ops = evaluate(tape, tokens, max_steps,
#: scratch)``, the tape and its uint64 tokens changed in place together.
TRACED_EVALUATE_SIGNATURE = types.int64(
    types.uint8[::1], types.uint64[::1], types.int64, types.uint8[::1]
)
TRACED_EVALUATE_TYPE = types.FunctionType(TRACED_EVALUATE_SIGNATURE)


class TokensError(ValueError):
    """A tokens file that does not belong to its checkpoint, or cannot be read."""


# ---------------------------------------------------------------------------------
# The layout


def make_tokens(birth, position, value) -> np.ndarray:
    """Tokens of bytes born at epoch ``birth``, at soup ``position``, with ``value``
    (numpy arrays or scalars, broadcast)."""
    birth = np.minimum(np.asarray(birth, dtype=np.uint64), np.uint64(MAX_BIRTH))
    return (
        (birth << np.uint64(BIRTH_SHIFT))
        | (np.asarray(position, dtype=np.uint64) << np.uint64(POSITION_SHIFT))
        | np.asarray(value, dtype=np.uint64)
    )


def birth_of(tokens) -> np.ndarray:
    return np.asarray(tokens, dtype=np.uint64) >> np.uint64(BIRTH_SHIFT)


def position_of(tokens) -> np.ndarray:
    shifted = np.asarray(tokens, dtype=np.uint64) >> np.uint64(POSITION_SHIFT)
    return shifted & np.uint64(POSITION_MASK)


def value_of(tokens) -> np.ndarray:
    return (np.asarray(tokens, dtype=np.uint64) & np.uint64(VALUE_MASK)).astype(
        np.uint8
    )


def fresh_tokens(programs: np.ndarray, birth: int) -> np.ndarray:
    """Tokens for every byte of ``programs`` as if each were born at ``birth`` where
    it is now (the initial soup, a reset, a soup loaded without tokens)."""
    positions = np.arange(programs.size, dtype=np.uint64).reshape(programs.shape)
    return make_tokens(birth, positions, programs)


def count_distinct(tokens: np.ndarray) -> int:
    """The number of distinct tokens (what the paper plots over time)."""
    flat = np.sort(tokens, axis=None)
    if flat.size == 0:
        return 0
    return 1 + int(np.count_nonzero(flat[1:] != flat[:-1]))


# ---------------------------------------------------------------------------------
# Which languages can be traced


def check_traceable(language: str | Language, num_programs: int | None) -> Language:
    """The language, if a soup of it (of ``num_programs``) can carry tokens."""
    if not isinstance(language, Language):
        language = languages.get(language)
    if language.name not in bff.TRACED_KERNELS:
        raise ValueError(
            f"tracer tokens are defined for the BFF family only, not {language.name} "
            "(there a byte moves only by copy instructions); drop --trace-tokens or "
            f"choose one of {', '.join(bff.TRACED_KERNELS)}"
        )
    if num_programs is not None and num_programs > MAX_PROGRAMS:
        raise ValueError(
            f"a traced soup holds at most {MAX_PROGRAMS} programs (tokens keep a "
            f"32-bit position), not {num_programs}; give a smaller --num"
        )
    return language


def traced_kernel(language: Language):
    """The BFF kernel of ``language`` with tokens, compiled for
    :data:`TRACED_EVALUATE_SIGNATURE`."""
    kernel = bff.TRACED_KERNELS[check_traceable(language, None).name]
    kernel.compile(TRACED_EVALUATE_SIGNATURE)
    return kernel


def run_traced(language: Language, tape, tokens, max_steps: int):
    """Run one pair tape with tokens; return (ops, final tape, final tokens)."""
    array = np.frombuffer(bytes(tape), dtype=np.uint8).copy()
    carried = np.array(tokens, dtype=np.uint64)
    if array.size != 2 * language.program_size or carried.shape != array.shape:
        raise ValueError(
            f"a pair tape and its tokens are {2 * language.program_size} long; got "
            f"{array.size} bytes and {carried.size} tokens"
        )
    scratch = np.zeros(SCRATCH_SIZE, dtype=np.uint8)
    ops = traced_kernel(language)(array, carried, max_steps, scratch)
    return int(ops), array.tobytes(), carried


# ---------------------------------------------------------------------------------
# One traced epoch

_LOW30 = np.uint64(MUTATION_DENOMINATOR - 1)
_LOW8 = np.uint64(0xFF)
_S8 = np.uint64(8)
_BIRTH = np.uint64(BIRTH_SHIFT)
_POSITION = np.uint64(POSITION_SHIFT)


@njit(inline="always")
def _mutate_traced(tape, tokens, n_programs, epoch_seed, pair, threshold, a, b, birth):
    """The soup's mutation (``soup._mutate``, the same draws) that also gives each
    replaced byte a fresh token: born ``birth``, at its place in program a or b."""
    size = tape.size // 2
    base = (np.uint64(n_programs) * epoch_seed + np.uint64(pair)) * np.uint64(tape.size)
    for i in range(tape.size):
        r = splitmix64(base + np.uint64(i))
        if ((r >> _S8) & _LOW30) < threshold:
            tape[i] = r & _LOW8
            program = a if i < size else b
            position = np.uint64(program * size + i % size)
            tokens[i] = (birth << _BIRTH) | (position << _POSITION) | (r & _LOW8)


@njit(
    types.int64(
        types.uint8[:, ::1],
        types.uint64[:, ::1],
        types.int64[::1],
        types.int64,
        types.uint64,
        types.uint64,
        TRACED_EVALUATE_TYPE,
        types.int64,
        types.int64,
        types.uint64,
    ),
    cache=True,
    parallel=True,
)
def _run_traced_epoch(
    programs,
    tokens,
    order,
    n_run,
    epoch_seed,
    threshold,
    evaluate,
    max_steps,
    n_chunks,
    birth,
):
    """One epoch as ``soup._run_epoch`` runs it, with every pair's tokens moved in
    and out of the tape beside its bytes; returns the total op count."""
    n_programs, size = programs.shape
    n_pairs = n_programs // 2
    total = 0
    for chunk in prange(n_chunks):
        tape = np.empty(2 * size, dtype=np.uint8)
        carried = np.empty(2 * size, dtype=np.uint64)
        scratch = np.zeros(SCRATCH_SIZE, dtype=np.uint8)
        ops = 0
        end = (chunk + 1) * n_pairs // n_chunks
        for k in range(chunk * n_pairs // n_chunks, end):
            if k + 2 < end:
                # The rows of a pair two slots ahead (as soup._run_epoch does), and
                # the eight cache lines of each one's tokens.
                for p in (order[2 * k + 4], order[2 * k + 5]):
                    prefetch(programs, p, 0)
                    for line in range(0, size, 8):
                        prefetch(tokens, p, line)
            a = order[2 * k]
            b = order[2 * k + 1]
            for i in range(size):
                tape[i] = programs[a, i]
                tape[size + i] = programs[b, i]
                carried[i] = tokens[a, i]
                carried[size + i] = tokens[b, i]
            _mutate_traced(
                tape, carried, n_programs, epoch_seed, k, threshold, a, b, birth
            )
            if k < n_run:
                ops += evaluate(tape, carried, max_steps, scratch)
            for i in range(size):
                programs[a, i] = tape[i]
                programs[b, i] = tape[size + i]
                tokens[a, i] = carried[i]
                tokens[b, i] = carried[size + i]
        total += ops
    return total


def run_traced_epoch_py(
    programs, tokens, order, n_run, run_seed, epoch, threshold, variant, max_steps
):
    """Slow twin of :func:`_run_traced_epoch`: one epoch in plain Python, with the
    BFF twin carrying the tokens; ``programs`` and ``tokens`` change in place."""
    n, size = programs.shape
    epoch_seed = derive_seed_py(run_seed, epoch)
    birth = min(epoch + 1, MAX_BIRTH)
    total = 0
    for k in range(n // 2):
        a, b = int(order[2 * k]), int(order[2 * k + 1])
        tape = bytearray(programs[a].tobytes() + programs[b].tobytes())
        carried = [int(t) for t in tokens[a]] + [int(t) for t in tokens[b]]
        for i in range(2 * size):
            r = splitmix64_py((((n * epoch_seed + k) * 2 * size) + i) & MASK64)
            if (r >> 8) & (MUTATION_DENOMINATOR - 1) < threshold:
                tape[i] = r & 0xFF
                position = (a if i < size else b) * size + i % size
                carried[i] = (birth << BIRTH_SHIFT) | (position << 8) | (r & 0xFF)
        if k < n_run:
            total += bff.twin(variant, tape, max_steps, carried)
        programs[a] = np.frombuffer(bytes(tape[:size]), dtype=np.uint8)
        programs[b] = np.frombuffer(bytes(tape[size:]), dtype=np.uint8)
        tokens[a] = np.array(carried[:size], dtype=np.uint64)
        tokens[b] = np.array(carried[size:], dtype=np.uint64)
    return total


# ---------------------------------------------------------------------------------
# A soup with tokens


class TracedSoup(Soup):
    """A :class:`~complife.soup.Soup` whose bytes carry tracer tokens.

    ``tokens`` is an (N, 64) uint64 array beside ``programs``. The bytes are the
    same, epoch for epoch, as those of an untraced soup with the same settings: the
    same draws, the same kernel (with its token lines compiled in).
    """

    def __init__(
        self, language: str | Language, num_programs: int = 1 << 17, *args, **kwargs
    ):
        """Arguments as :class:`~complife.soup.Soup`'s."""
        language = check_traceable(language, num_programs)
        self._traced = traced_kernel(language)
        self.tokens = np.zeros((0, language.program_size), dtype=np.uint64)
        super().__init__(language, num_programs, *args, **kwargs)

    def randomize(self, stream: int) -> None:
        super().randomize(stream)
        self.tokens = fresh_tokens(self.programs, self.epoch)

    def seed_program(self, program: bytes) -> None:
        super().seed_program(program)
        written = np.frombuffer(program, dtype=np.uint8)
        positions = np.arange(written.size, dtype=np.uint64)
        self.tokens.reshape(-1)[: written.size] = make_tokens(
            self.epoch, positions, written
        )

    def restore(self, checkpoint: Checkpoint, tokens: np.ndarray | None = None) -> None:
        """Continue from ``checkpoint`` with its ``tokens``; without them every byte
        gets a fresh token, born at the checkpoint's epoch."""
        super().restore(checkpoint)
        if tokens is None:
            self.tokens = fresh_tokens(self.programs, self.epoch)
            return
        check_tokens(tokens, self.programs, "the tokens")
        self.tokens = np.ascontiguousarray(tokens, dtype=np.uint64)

    def restore_tokens_beside(self, checkpoint_path: str | Path) -> bool:
        """Take the tokens saved beside a checkpoint already restored, if there are
        any; return whether there were."""
        path = tokens_path(checkpoint_path)
        if not path.exists():
            return False
        tokens = read_tokens(path)
        check_tokens(tokens, self.programs, str(path))
        self.tokens = tokens
        return True

    def step(self) -> EpochResult:
        """Run one epoch and advance ``epoch``."""
        n_run = self.pair()
        ops = _run_traced_epoch(
            self.programs,
            self.tokens,
            self.order,
            n_run,
            np.uint64(self.derived_seed(self.epoch)),
            np.uint64(self.threshold),
            self._traced,
            self.max_steps,
            min(self.num_programs // 2, 64 * get_num_threads()),
            np.uint64(min(self.epoch + 1, MAX_BIRTH)),
        )
        self.epoch += 1
        return EpochResult(int(ops), n_run)

    def advance(self, epochs: int) -> EpochResult:
        """Run ``epochs`` epochs, one traced epoch at a time."""
        results = [self.step() for _ in range(epochs)]
        return EpochResult(
            sum(r.ops for r in results), sum(r.pairs_run for r in results)
        )

    def distinct_tokens(self) -> int:
        return count_distinct(self.tokens)


# ---------------------------------------------------------------------------------
# Files


def tokens_path(checkpoint_path: str | Path) -> Path:
    """Where the tokens of checkpoint ``NNNNNNNNNN.dat`` are kept."""
    path = Path(checkpoint_path)
    return path.with_name(path.name.removesuffix(".dat") + TOKENS_SUFFIX)


def prune_tokens(directory: str | Path, keep: int) -> list[Path]:
    """Delete the tokens files of all but the ``keep`` latest checkpoints in
    ``directory``; the checkpoints themselves stay. Returns the files deleted."""
    beside = sorted(Path(directory).glob("*" + TOKENS_SUFFIX))
    stale = beside[:-keep] if keep > 0 else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def write_tokens(path: str | Path, tokens: np.ndarray) -> Path:
    """Save tokens as a ``.npy`` file, atomically."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(tokens, dtype=np.uint64), allow_pickle=False)
    path = Path(path)
    write_atomic(path, buffer.getvalue())
    return path


def read_tokens(path: str | Path) -> np.ndarray:
    """Read a tokens file, refusing anything but an (N, 64) uint64 array, with one
    line that says what to do (numpy's own messages speak of pickles)."""
    path = Path(path)
    damaged = (
        f"{path} is damaged (not an (N, 64) uint64 .npy file / truncated); delete "
        "it: report and inspect work without it, and a resume passes over its "
        "checkpoint"
    )
    try:
        tokens = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise TokensError(f"tokens file {path} does not exist") from None
    except Exception:  # numpy raises ValueError, EOFError, OSError, ...
        raise TokensError(damaged) from None
    if (
        not isinstance(tokens, np.ndarray)
        or tokens.dtype != np.uint64
        or tokens.ndim != 2
        or tokens.shape[1] != 64
    ):
        raise TokensError(damaged)
    return np.ascontiguousarray(tokens)


def check_tokens(tokens: np.ndarray, programs: np.ndarray, what: str) -> None:
    """Refuse tokens that do not ride on ``programs`` (each token's value part is
    its byte)."""
    if tokens.shape != programs.shape:
        raise TokensError(
            f"{what} cover {tokens.shape[0]} programs, the checkpoint "
            f"{programs.shape[0]}; they belong to another soup"
        )
    wrong = int(np.count_nonzero(value_of(tokens) != programs))
    if wrong:
        raise TokensError(
            f"{what} do not match the checkpoint's bytes ({wrong} of "
            f"{programs.size} differ); they belong to another soup or epoch"
        )


# ---------------------------------------------------------------------------------
# Ancestry


@dataclass(frozen=True)
class Piece:
    """Bytes ``offset .. offset + length - 1`` of a traced program descend, by copies
    alone, from one birth: bytes born at epoch ``birth`` in program ``program`` of
    the soup, at its offsets ``source``, ``source + step``, ... in order. ``step``
    is +1 when the piece was copied forwards and -1 when reversed (a single byte is
    forwards)."""

    offset: int
    length: int
    birth: int
    program: int
    source: int
    step: int = 1

    @property
    def offsets(self) -> range:
        return range(self.offset, self.offset + self.length)

    @property
    def sources(self) -> range:
        return range(self.source, self.source + self.step * self.length, self.step)

    @property
    def direction(self) -> str:
        return "forwards" if self.step == 1 else "reversed"

    def offsets_text(self) -> str:
        return _span(self.offset, self.offset + self.length - 1)

    def sources_text(self) -> str:
        return _span(self.source, self.sources[-1])


def _span(first: int, last: int) -> str:
    """A range of offsets as written in the tables: ``3``, ``3-7`` or ``7-3``."""
    return str(first) if first == last else f"{first}-{last}"


def ancestry(tokens: np.ndarray) -> list[Piece]:
    """The contiguous pieces of one program (its tokens), in the program's order:
    each a run of bytes born together (one epoch, one program) whose birth offsets
    step by +1 (copied forwards) or by -1 (reversed) from byte to byte."""
    births = birth_of(tokens).tolist()
    positions = position_of(tokens).tolist()
    size = len(births)
    pieces = []
    i = 0
    while i < size:
        birth, program, source = births[i], positions[i] // 64, positions[i] % 64
        step = 1
        length = 1
        while i + length < size:
            j = i + length
            if births[j] != birth or positions[j] // 64 != program:
                break
            delta = positions[j] % 64 - (source + step * (length - 1))
            if length == 1 and delta in (1, -1):
                step = delta
            elif delta != step:
                break
            length += 1
        pieces.append(Piece(i, length, birth, program, source, step))
        i += length
    return pieces


def ancestry_summary(pieces: list[Piece]) -> str:
    """One sentence on where a program's bytes were born."""
    size = sum(p.length for p in pieces)
    births = {(p.birth, p.program, s) for p in pieces for s in p.sources}
    initial = sum(p.length for p in pieces if p.birth == 0)
    later = sorted({p.birth for p in pieces if p.birth > 0})
    reversed_bytes = sum(p.length for p in pieces if p.step == -1)
    text = f"Its {size} bytes in {len(pieces)} pieces descend from {len(births)} "
    text += f"births: {initial} bytes from the initial soup"
    if later:
        when = (
            f"by epoch {later[0]}"
            if later[0] == later[-1]
            else f"between epochs {later[0]} and {later[-1]}"
        )
        text += f", {size - initial} from bytes born later, {when}"
    if reversed_bytes:
        text += f"; {reversed_bytes} bytes were copied reversed"
    return text + "."


def ranges(offsets) -> str:
    """Offsets as compact ranges: ``0, 2, 4-6``."""
    values = sorted(set(offsets))
    parts = []
    start = previous = None
    for v in [*values, None]:
        if start is not None and v == previous + 1:
            previous = v
            continue
        if start is not None:
            parts.append(f"{start}" if start == previous else f"{start}-{previous}")
        start = previous = v
    return ", ".join(parts)
