"""The live terminal view of a run: a progress bar, the report figures and a few
programs drawn in the reference's colours (spec §5, the reference's stdout display)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from complife.languages import Language
from complife.simulation import Report, RunConfig


def program_text(language: Language, program: bytes) -> Text:
    """A program in its text form, each byte in its language's colour."""
    text = Text()
    # Byte by byte: a text form may spend more than one character on a byte (hex).
    symbols = [language.format(bytes([b])) for b in program]
    for b, symbol in zip(program, symbols, strict=True):
        text.append(symbol, style=language.text_styles[b])
    return text


#: Backgrounds of the reference's tracer: head0 blue, head1 red, pc green.
HEAD_STYLES = ("on color(27)", "on color(196)")
PC_STYLE = "on color(34)"


def tape_text(language: Language, tape: bytes, pc=None, heads=()) -> Text:
    """A tape in text form, with the pc and the heads highlighted as the reference's
    step trace shows them."""
    text = Text()
    symbols = [language.format(bytes([b])) for b in tape]
    marks = dict(zip(heads, HEAD_STYLES, strict=False))
    for i, (b, symbol) in enumerate(zip(tape, symbols, strict=True)):
        style = language.text_styles[b]
        if i in marks:
            style += " " + marks[i]
        if i == pc:
            style += " " + PC_STYLE
        text.append(symbol, style=style)
    return text


def byte_shares(label: str, language: Language, shares) -> Text:
    """One line of byte values with their shares of the soup."""
    text = Text(label, no_wrap=True, overflow="ellipsis")
    for b, share in shares:
        text.append(language.format(bytes([b])), style="bold white")
        text.append(f" {share:6.2%}  ")
    return text


class LiveView:
    """Shows a run in the terminal; a plain line per report when not a terminal."""

    def __init__(
        self,
        config: RunConfig,
        language: Language,
        console: Console,
        *,
        pairs_shown: int = 8,
        start_epoch: int = 0,
    ):
        self.config = config
        self.language = language
        self.console = console
        self.pairs_shown = pairs_shown
        total = None if config.max_epochs is None else config.max_epochs + 1
        self.progress = Progress(
            TextColumn("[bold]epoch"),
            MofNCompleteColumn() if total else TextColumn("{task.completed}"),
            BarColumn(),
            TextColumn("{task.fields[rate]:>7.1f} epochs/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn() if total else TextColumn(""),
            console=console,
        )
        self.task = self.progress.add_task(
            "epochs", total=total, completed=start_epoch, rate=0.0
        )
        self.body = Text("waiting for the first report", style="dim")
        self.live = Live(
            Group(self._header(), self.progress, self.body),
            console=console,
            refresh_per_second=4,
            transient=False,
        )

    def _header(self) -> Text:
        c = self.config
        return Text.assemble(
            ("complife ", "bold"),
            f"{c.language} · {c.num_programs} programs · seed {c.seed} · "
            f"mutation {c.mutation_prob:g}",
        )

    def __enter__(self) -> LiveView:
        if self.console.is_terminal:
            self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.console.is_terminal:
            self.live.__exit__(*exc)

    def epoch_done(self, epoch: int) -> None:
        self.progress.update(self.task, completed=epoch)

    def report(self, report: Report, programs) -> None:
        self.progress.update(
            self.task, completed=report.epoch, rate=report.epochs_per_s
        )
        if not self.console.is_terminal:
            m = report.metrics
            self.console.print(
                f"epoch {report.epoch:>7}  higher entropy {m.higher_entropy:9.6f}  "
                f"H0 {m.h0:7.4f}  bpb {m.brotli_bpb:7.4f}  "
                f"ops/interaction {report.ops_per_interaction:9.2f}  "
                f"{report.mops_per_s:9.1f} MOps/s  {report.epochs_per_s:7.1f} epochs/s"
                + (
                    f"  replicators {report.selfrep_count}"
                    if self.config.eval_selfrep
                    else ""
                )
                + (
                    f"  distinct tokens {report.distinct_tokens}"
                    if report.distinct_tokens is not None
                    else ""
                ),
                highlight=False,
            )
            return
        self.body = self._body(report, programs)
        self.live.update(Group(self._header(), self.progress, self.body))

    def _body(self, report: Report, programs) -> Group:
        m = report.metrics
        table = Table.grid(padding=(0, 3))
        for _ in range(4):
            table.add_column(justify="right")
            table.add_column(justify="left")
        table.add_row(
            "elapsed",
            f"{report.elapsed_s:,.1f} s",
            "ops",
            f"{report.total_ops:,}",
            "MOps/s",
            f"{report.mops_per_s:,.1f}",
            "ops/interaction",
            f"{report.ops_per_interaction:,.2f}",
        )
        table.add_row(
            "brotli size",
            f"{m.brotli_size:,}",
            "brotli bpb",
            f"{m.brotli_bpb:.4f}",
            "H0",
            f"{m.h0:.4f}",
            "[bold]higher entropy",
            f"[bold]{m.higher_entropy:.6f}",
        )
        if self.config.eval_selfrep:
            table.add_row("replicators", f"{report.selfrep_count:,}")
        if report.distinct_tokens is not None:
            table.add_row("distinct tokens", f"{report.distinct_tokens:,}")
        lines = [
            table,
            byte_shares("most frequent  ", self.language, m.frequent_bytes),
            byte_shares("least frequent ", self.language, m.uncommon_bytes),
            Text(""),
        ]
        # A pair per line as the reference prints it, or a program per line when the
        # terminal is too narrow for two.
        per_line = 2 if self.console.width >= 2 * programs.shape[1] + 3 else 1
        for i in range(0, min(2 * self.pairs_shown, len(programs)), 2):
            for j in range(0, 2, per_line):
                line = Text(no_wrap=True, overflow="crop")
                for p in range(i + j, i + j + per_line):
                    line.append_text(program_text(self.language, programs[p].tobytes()))
                    line.append("   ")
                lines.append(line)
        return Group(*lines)
