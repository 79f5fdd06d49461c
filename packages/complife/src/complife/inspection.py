"""``complife inspect CHECKPOINT``: the replicator analysis of one checkpoint in the
terminal (the page of :mod:`complife.report`, for a single soup).

A checkpoint, ours or the reference's, does not name its language: it comes from
``--lang`` or from the run folder that holds the checkpoint. Tracer tokens saved
beside it (``NNNNNNNNNN.tokens.npy``) add the distinct-token count and the ancestry
of a program; the checkpoints before it in its folder date the families.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from complife import languages, tracer
from complife.checkpoint import (
    CHECKPOINT_NAME,
    Checkpoint,
    CheckpointError,
    read_checkpoint,
)
from complife.display import program_text
from complife.languages import Language
from complife.metrics import measure
from complife.replicators import Analysis, analyse, is_copy_loop, loops
from complife.runfolder import RunFolder, RunFolderError


@dataclass
class Inspected:
    """A checkpoint read for inspection, with what came with it."""

    path: Path
    checkpoint: Checkpoint
    language: Language
    seed: int
    tokens: np.ndarray | None
    #: Why the tokens beside the checkpoint could not be used (damaged, of another
    #: soup), or None.
    tokens_problem: str | None = None

    @property
    def epoch(self) -> int:
        return self.checkpoint.next_epoch


def _run_folder_of(path: Path) -> RunFolder | None:
    for folder in (path.parent.parent, path.parent):
        if (folder / "config.json").exists():
            return RunFolder(folder)
    return None


def open_checkpoint(
    path: str | Path, lang: str | None = None, seed: int | None = None
) -> Inspected:
    """Read a checkpoint and the tokens beside it; its language is ``lang`` or its
    run folder's."""
    path = Path(path)
    folder = _run_folder_of(path)
    config = None
    if folder is not None:
        try:
            config = folder.load_config()
        except RunFolderError:
            # A damaged config.json matters only when the language must come
            # from it; never call its folder "not a run folder".
            if lang is None:
                raise
    if lang is None:
        if config is None:
            raise CheckpointError(
                f"{path} is not in a run folder and a checkpoint does not name its "
                "language; give --lang (see complife languages)"
            )
        lang = config.language
    language = languages.get(lang)
    checkpoint = read_checkpoint(path, language.program_size)
    tokens = None
    problem = None
    beside = tracer.tokens_path(path)
    if beside.exists():
        try:
            tokens = tracer.read_tokens(beside)
            tracer.check_tokens(tokens, checkpoint.programs, str(beside))
        except tracer.TokensError as e:
            tokens, problem = None, str(e)
    elif config is not None and config.trace_tokens:
        problem = f"{beside} is missing"
    if seed is None:
        seed = config.seed if config is not None else 0
    return Inspected(path, checkpoint, language, seed, tokens, problem)


def earlier_snapshots(inspected: Inspected):
    """``(epoch, programs)`` of the checkpoints beside this one, up to it."""
    found = sorted(
        p for p in inspected.path.parent.glob("*.dat") if CHECKPOINT_NAME.match(p.name)
    )
    for p in found:
        epoch = int(p.name[:10]) + 1
        if epoch > inspected.epoch:
            return
        try:
            checkpoint = read_checkpoint(p, inspected.language.program_size)
        except CheckpointError:
            continue
        if checkpoint.num_programs == inspected.checkpoint.num_programs:
            yield epoch, checkpoint.programs


def inspect(inspected: Inspected, top: int = 20) -> Analysis:
    return analyse(
        inspected.checkpoint.programs,
        inspected.language,
        inspected.epoch,
        inspected.seed,
        tokens=inspected.tokens,
        snapshots=earlier_snapshots(inspected),
        top=top,
    )


def render(inspected: Inspected, analysis: Analysis, program: int | None) -> Group:
    """The analysis as rich renderables: facts, families, programs, substrings,
    and the ancestry of ``program`` (or of the top family's founder)."""
    language = inspected.language
    n = analysis.num_programs
    m = measure(inspected.checkpoint.programs)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(justify="right", style="bold")
    facts.add_column()
    facts.add_row("checkpoint", str(inspected.path))
    facts.add_row("language", language.name)
    facts.add_row("programs", f"{n:,}")
    facts.add_row("epochs run", f"{inspected.epoch:,}")
    facts.add_row(
        "high-order entropy",
        f"{m.higher_entropy:.4f}  (H0 {m.h0:.4f}, brotli {m.brotli_bpb:.4f} bpb)",
    )
    tokens = "not saved beside it"
    if inspected.tokens_problem is not None:
        tokens = f"unknown: {inspected.tokens_problem}"
    if analysis.distinct_tokens is not None:
        tokens = f"{analysis.distinct_tokens:,} of {inspected.tokens.size:,} bytes"
    facts.add_row("distinct tokens", tokens)
    parts = [facts]

    families = Table(title="Families (founder + programs within 16 edits)")
    for name in ("#", "programs", "share", "variants", "score", "first seen"):
        _number_column(families, name)
    families.add_column("founder / innermost loops", overflow="fold")
    for rank, f in enumerate(analysis.families, 1):
        loop_text = Text()
        for loop in loops(language, f.founder):
            loop_text.append_text(program_text(language, language.parse(loop)))
            loop_text.append(" copy loop  " if is_copy_loop(loop) else "  ")
        cell = program_text(language, f.founder)
        if loop_text:
            cell.append("\n").append_text(loop_text)
        families.add_row(
            str(rank),
            f"{f.count:,}",
            f"{f.count / n:.1%}",
            f"{f.variants:,}",
            str(f.score),
            "?" if f.first_seen is None else str(f.first_seen),
            cell,
        )
    if analysis.families:
        parts.append(families)
    else:
        parts.append(Text("No program occurs twice: no families yet.", style="dim"))

    programs = Table(title="Most common programs")
    for name in ("programs", "share", "score"):
        _number_column(programs, name)
    programs.add_column("program", overflow="fold")
    for p, count, score in analysis.top_programs:
        programs.add_row(
            f"{count:,}", f"{count / n:.2%}", str(score), program_text(language, p)
        )
    parts.append(programs)

    substrings = Table(title="Most common 8-byte substrings")
    _number_column(substrings, "programs holding it")
    _number_column(substrings, "share")
    substrings.add_column("substring", overflow="fold")
    for text, count in analysis.substrings:
        substrings.add_row(
            f"{count:,}", f"{count / n:.2%}", program_text(language, text)
        )
    parts.append(substrings)

    parts.append(_ancestry(inspected, analysis, program))
    return Group(*parts)


def _number_column(table: Table, name: str) -> None:
    """A right-aligned column that never wraps or shrinks below its header (the
    program text is the column that folds when the console is narrow)."""
    table.add_column(name, justify="right", no_wrap=True, min_width=len(name))


def _ancestry(inspected: Inspected, analysis: Analysis, program: int | None):
    language = inspected.language
    if inspected.tokens is None:
        return Text("")
    if program is None:
        if not analysis.families or not analysis.families[0].ancestry:
            return Text("")
        traced = analysis.families[0].founder
        origins = analysis.families[0].ancestry
        title = "Ancestry of the top family's founder"
    else:
        traced = inspected.checkpoint.programs[program].tobytes()
        origins = tracer.ancestry(inspected.tokens[program])
        title = f"Ancestry of program {program}"
    table = Table(title=title, caption=tracer.ancestry_summary(origins))
    for name in (
        "bytes of this program",
        "born at epoch",
        "in program",
        "its bytes there",
        "direction",
    ):
        _number_column(table, name)
    table.add_column("text", overflow="fold")
    for piece in origins:
        table.add_row(
            piece.offsets_text(),
            str(piece.birth),
            str(piece.program),
            piece.sources_text(),
            piece.direction,
            program_text(language, bytes(traced[o] for o in piece.offsets)),
        )
    return table


def check_program(inspected: Inspected, program: int | None) -> None:
    """Refuse a ``--program`` that is not in the soup or cannot be traced."""
    if program is None:
        return
    n = inspected.checkpoint.num_programs
    if not 0 <= program < n:
        raise CheckpointError(
            f"--program {program}: the soup has programs 0 to {n - 1}"
        )
    beside = tracer.tokens_path(inspected.path)
    if inspected.tokens_problem is not None and beside.exists():
        raise CheckpointError(inspected.tokens_problem)
    if inspected.tokens is None:
        raise CheckpointError(
            f"{inspected.path} has no tokens beside it "
            f"({tracer.tokens_path(inspected.path).name}), so where program "
            f"{program} came from is unknown; run the soup with --trace-tokens"
        )


def show(console: Console, inspected: Inspected, top: int, program: int | None):
    """Analyse and print (``program``: whose ancestry to show)."""
    check_program(inspected, program)
    analysis = inspect(inspected, top)
    console.print(render(inspected, analysis, program))


def console_for(stream=None) -> Console:
    """A console for ``stream`` (stdout): a terminal's own width, or at least 160
    columns when piped, so that no number column collapses."""
    console = Console(file=stream, highlight=False)
    if not console.is_terminal:
        console = Console(file=stream, highlight=False, width=max(160, console.width))
    return console
