"""``complife report RUN_DIR``: one self-contained HTML page of a run (paper Figs. 1-4).

The page shows what happened in a run, ours or the reference's:

- the run's figures over epochs: high-order entropy, order-0 entropy and brotli bits
  per byte, ops per interaction, distinct tracer tokens (paper Figs. 1-3: tokens
  collapse when high-order entropy jumps), with the transition marked (the first
  report with high-order entropy >= 1, the paper's criterion);
- soup snapshots from the checkpoints around the transition (spec §8 palette), the
  soup coloured by token origin, and an animation over every checkpoint;
- the replicator analysis of the last checkpoint (:mod:`complife.replicators`):
  families with scores and first appearance, most common programs and substrings,
  and where the top family's bytes were born.

The page needs nothing but itself: images are ``data:`` URIs, the style is inline,
there are no scripts and no links, so opening it makes no request. A run folder of
ours is read from its files; a folder of the reference's checkpoints (``--lang``
given) gets its figures from the checkpoints themselves.
"""

from __future__ import annotations

import base64
import html
import io
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from complife import __version__, languages, tracer
from complife.animate import pick_frames, soup_gif
from complife.checkpoint import CHECKPOINT_NAME, read_checkpoint, write_atomic
from complife.draw import soup_rows
from complife.languages import Language
from complife.metrics import measure
from complife.replicators import Analysis, analyse, is_copy_loop, loops
from complife.runfolder import RunFolder, RunFolderError, load_metrics

#: The paper's criterion for a transitioned soup.
TRANSITION_ENTROPY = 1.0
#: Programs shown in a soup snapshot, in columns of 256.
SNAPSHOT_PROGRAMS = 2048
SNAPSHOT_COLUMNS = 8


@dataclass
class Run:
    """What a report reads of a run: its language and seed, its metric rows (one
    per report, as in ``metrics.csv``), and its checkpoints ``(epoch, path)`` in
    epoch order, named by the epochs run (a report's label)."""

    path: Path
    language: Language
    seed: int
    rows: list[dict]
    checkpoints: list[tuple[int, Path]]
    config: dict | None = None
    status: dict | None = None
    #: Whether a process runs in the folder now (it holds the folder's lock).
    alive: bool = False
    #: Why the last checkpoint's tokens cannot be shown, or None.
    tokens_problem: str | None = None

    @property
    def ours(self) -> bool:
        return self.config is not None

    @property
    def traced(self) -> bool:
        return bool(self.rows) and "distinct_tokens" in self.rows[-1]

    def snapshots(self, upto: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """``(epoch, programs)`` of every checkpoint, oldest first, up to ``upto``."""
        for epoch, path in self.checkpoints:
            if upto is not None and epoch > upto:
                return
            yield epoch, read_checkpoint(path, self.language.program_size).programs


def _checkpoints_in(folder: Path) -> list[tuple[int, Path]]:
    found = []
    for path in folder.glob("*.dat"):
        if CHECKPOINT_NAME.match(path.name):
            found.append((int(path.name[:10]) + 1, path))
    return sorted(found)


def open_run(path: str | Path, lang: str | None = None, seed: int | None = None) -> Run:
    """Read a run folder of ours, or a folder of the reference's checkpoints (which
    do not name their language: give ``lang``)."""
    path = Path(path)
    if not path.exists():
        raise RunFolderError(
            f"{path} does not exist; give a run folder (the --out of complife run) "
            "or a folder of .dat checkpoints"
        )
    if not path.is_dir():
        raise RunFolderError(
            f"{path} is not a folder; give a run folder (the --out of complife run) "
            "or a folder of .dat checkpoints"
        )
    folder = RunFolder(path)
    if folder.config_path.exists():
        config = folder.load_config()
        if lang is not None and lang != config.language:
            raise RunFolderError(
                f"{path} is a {config.language} run, not {lang}; drop --lang"
            )
        checkpoints = _checkpoints_in(folder.checkpoint_dir)
        if config.checkpoint_dir and not checkpoints:
            checkpoints = _checkpoints_in(Path(config.checkpoint_dir))
        rows = load_metrics(folder.metrics_path)
        return Run(
            path=path,
            language=languages.get(config.language),
            seed=config.seed if seed is None else seed,
            rows=rows,
            checkpoints=checkpoints,
            config=config.to_dict(),
            status=folder.status(),
            alive=folder.is_held(),
        )

    checkpoints = _checkpoints_in(path) or _checkpoints_in(path / "checkpoints")
    if not checkpoints:
        raise RunFolderError(
            f"{path} is not a run folder: it holds no config.json and no .dat "
            "checkpoints; give the --out folder of complife run, or a folder of "
            "the reference's checkpoints with --lang"
        )
    if lang is None:
        raise RunFolderError(
            f"{path} holds checkpoints but no config.json (a reference run?); their "
            "files do not name the language, so give --lang"
        )
    language = languages.get(lang)
    run = Run(path, language, 0 if seed is None else seed, [], checkpoints)
    run.rows = [_measured_row(epoch, programs) for epoch, programs in run.snapshots()]
    return run


def _measured_row(epoch: int, programs: np.ndarray) -> dict:
    m = measure(programs)
    return {
        "epoch": epoch,
        "higher_entropy": m.higher_entropy,
        "h0": m.h0,
        "brotli_bpb": m.brotli_bpb,
    }


def transition_index(rows: Sequence[dict]) -> int | None:
    """The first report at or above the paper's transition criterion, or None."""
    for i, row in enumerate(rows):
        if row["higher_entropy"] >= TRANSITION_ENTROPY:
            return i
    return None


# ---------------------------------------------------------------------------------
# Pictures


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image, mode="RGB").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def metrics_figure(rows: Sequence[dict], title: str = "") -> bytes:
    """The run's figures over epochs as a PNG: one panel each for high-order
    entropy, H0 with brotli bits per byte, ops per interaction and distinct tokens
    (the last two when the run has them), the transition marked on all."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    panels = ["entropy", "h0"]
    if rows and "ops_per_interaction" in rows[0]:
        panels.append("ops")
    if rows and "distinct_tokens" in rows[-1]:
        panels.append("tokens")
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(10, 1.9 * len(panels) + 0.6),
        sharex=True,
        layout="constrained",
    )
    for axis, panel in zip(axes, panels, strict=True):
        if panel == "entropy":
            axis.plot(epochs, [r["higher_entropy"] for r in rows], color="black")
            axis.axhline(TRANSITION_ENTROPY, color="grey", lw=0.8, ls=":")
            axis.set_ylabel("high-order\nentropy (bits)")
        elif panel == "h0":
            axis.plot(epochs, [r["h0"] for r in rows], label="order-0 entropy H0")
            axis.plot(
                epochs, [r["brotli_bpb"] for r in rows], label="brotli bits per byte"
            )
            axis.set_ylabel("bits per byte")
            axis.legend(loc="lower left", fontsize="small")
        elif panel == "ops":
            ops = [r["ops_per_interaction"] for r in rows]
            axis.plot(epochs, ops, color="tab:purple")
            if min(ops) > 0:
                axis.set_yscale("log")
            axis.set_ylabel("ops per\ninteraction")
        else:
            tokens = [r["distinct_tokens"] / 1e6 for r in rows]
            axis.plot(epochs, tokens, color="tab:red")
            axis.set_ylabel("distinct tokens\n(millions)")
            axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
    t = transition_index(rows)
    if t is not None:
        for axis in axes:
            axis.axvline(epochs[t], color="tab:green", lw=1, ls="--")
        axes[0].annotate(
            f"transition: epoch {epochs[t]}",
            (epochs[t], rows[t]["higher_entropy"]),
            xytext=(-8, -4),
            textcoords="offset points",
            ha="right",
            va="top",
            color="tab:green",
        )
    axes[-1].set_xlabel("epoch")
    if title:
        axes[0].set_title(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def snapshot(programs: np.ndarray, palette: np.ndarray) -> bytes:
    """The soup's first programs as a PNG, one per row, in columns of 256."""
    shown = programs[:SNAPSHOT_PROGRAMS]
    columns = max(1, min(SNAPSHOT_COLUMNS, shown.shape[0] // 256))
    return _png(soup_rows(shown, palette, columns))


def origin_colours(tokens: np.ndarray) -> np.ndarray:
    """A colour for each token by its origin (birth and position, not value):
    bytes that descend from one birth share a colour."""
    origin = tokens >> np.uint64(tracer.POSITION_SHIFT)
    mixed = origin * np.uint64(0x9E3779B97F4A7C15)
    mixed ^= mixed >> np.uint64(29)
    mixed *= np.uint64(0xBF58476D1CE4E5B9)
    channels = [(mixed >> np.uint64(s)) & np.uint64(0xFF) for s in (16, 32, 48)]
    # Kept away from black, which separates the columns.
    rgb = np.stack(channels, axis=-1).astype(np.uint16) * 3 // 4 + 64
    return rgb.astype(np.uint8)


def token_snapshot(tokens: np.ndarray) -> bytes:
    """The soup's first programs coloured by token origin, laid out as
    :func:`snapshot`."""
    shown = tokens[:SNAPSHOT_PROGRAMS]
    columns = max(1, min(SNAPSHOT_COLUMNS, shown.shape[0] // 256))
    return _png(_layout(origin_colours(shown), columns))


def _layout(colours: np.ndarray, columns: int) -> np.ndarray:
    """(N, L, 3) colours in the 1-D layout of :func:`complife.draw.soup_rows`:
    ``columns`` equal columns, one program per row, 4 black pixels between."""
    n, size, _ = colours.shape
    per_column = -(-n // columns)
    image = np.zeros((per_column, columns * (size + 4) - 4, 3), dtype=np.uint8)
    for c in range(columns):
        block = colours[c * per_column : (c + 1) * per_column]
        image[: block.shape[0], c * (size + 4) : c * (size + 4) + size] = block
    return image


def _data_uri(kind: str, data: bytes) -> str:
    return f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")


# ---------------------------------------------------------------------------------
# The page


_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #222; margin: 0;
  background: #fafafa; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.5em; margin: 0.4em 0 0.1em; }
h2 { font-size: 1.2em; margin: 1.6em 0 0.4em; border-bottom: 1px solid #ddd; }
p.lead { color: #555; margin-top: 0; }
figure { margin: 0.6em 0; }
figcaption { color: #555; font-size: 0.9em; }
img { max-width: 100%; }
img.soup { width: 100%; image-rendering: pixelated; border: 1px solid #ccc; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr));
  gap: 12px; }
table { border-collapse: collapse; margin: 0.4em 0; font-size: 0.92em; }
th, td { padding: 3px 8px; border-bottom: 1px solid #e4e4e4; text-align: right;
  vertical-align: top; }
th { background: #f0f0f0; }
td.text { text-align: left; }
code.prog { font: 13px/1.3 ui-monospace, monospace; background: #141414;
  padding: 2px 4px; white-space: pre; display: inline-block; }
.facts td { text-align: left; }
.note { color: #666; font-size: 0.9em; }
"""


def program_html(language: Language, program: bytes) -> str:
    """A program in its text form, each byte in its palette colour on black, as
    ``<code class="prog">`` with one span per run of equal colours."""
    parts = []
    last = None
    run = []
    for b in program:
        colour = "#{:02x}{:02x}{:02x}".format(*language.palette[b])
        if colour != last and run:
            parts.append(
                f'<span style="color:{last}">{html.escape("".join(run))}</span>'
            )
            run = []
        last = colour
        run.append(language.format(bytes([b])))
    if run:
        parts.append(f'<span style="color:{last}">{html.escape("".join(run))}</span>')
    return '<code class="prog">' + "".join(parts) + "</code>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    """A table; with no headers, a list of facts."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    attr = f' class="{cls}"' if cls else ""
    thead = f"<thead><tr>{head}</tr></thead>" if headers else ""
    return f"<table{attr}>{thead}<tbody>{body}</tbody></table>"


def _cell(content: str) -> str:
    text = content.startswith("<code") or content.startswith("<span")
    return f'<td class="text">{content}</td>' if text else f"<td>{content}</td>"


def _summary(run: Run) -> list[tuple[str, str]]:
    facts = [("language", run.language.name)]
    if run.ours:
        c = run.config
        facts += [
            ("programs", f"{c['num_programs']:,}"),
            ("seed", str(c["seed"])),
            ("mutation probability", _probability(c["mutation_prob"])),
            ("tracer tokens", "on" if c.get("trace_tokens") else "off"),
        ]
        status = run.status or {}
        state = status.get("state", "unknown")
        epochs = status.get("epoch", "?")
        if state == "running" and not run.alive:
            # status.json says running but no process holds the folder: killed.
            text = (
                f"stopped (the process ended without finishing) after {epochs} "
                f"epochs; continue with complife run --out {run.path} --resume"
            )
        else:
            if status.get("stop_reason"):
                state += f": {status['stop_reason']}"
            text = f"{state} after {epochs} epochs"
        facts.append(("state", text))
    else:
        facts.append(("source", "checkpoints of the reference (or of another run)"))
    return facts


def _probability(p: float) -> str:
    """A per-byte probability, as 1/k when it is one (the paper's 1/4096)."""
    if p > 0 and abs(1 / p - round(1 / p)) < 1e-9:
        return f"1/{round(1 / p)} per byte per interaction"
    return f"{p:g} per byte per interaction"


def _transition_text(rows: Sequence[dict]) -> str:
    t = transition_index(rows)
    if t is None:
        top = max(rows, key=lambda r: r["higher_entropy"]) if rows else None
        if top is None:
            return "No reports yet."
        return (
            f"No transition: high-order entropy stayed under {TRANSITION_ENTROPY:g} "
            f"(highest {top['higher_entropy']:.2f} at epoch {top['epoch']})."
        )
    row = rows[t]
    # At the first report the transition is known to have happened by then only.
    when = f"at epoch {row['epoch']}" if t > 0 else f"by epoch {row['epoch']}"
    text = f"Transition {when}: high-order entropy {row['higher_entropy']:.2f}"
    if t > 0:
        before = rows[t - 1]
        text += f", up from {before['higher_entropy']:.2f} at epoch {before['epoch']}"
        if "distinct_tokens" in row and "distinct_tokens" in before:
            text += (
                f"; distinct tokens fell from {before['distinct_tokens']:,} to "
                f"{row['distinct_tokens']:,}"
            )
    return text + "."


def _chosen_snapshots(run: Run) -> list[int]:
    """Indices of the checkpoints to show: the first, the last before the
    transition, the first after it and the last (or the first, middle and last)."""
    epochs = [e for e, _ in run.checkpoints]
    if not epochs:
        return []
    t = transition_index(run.rows)
    picks = [0, len(epochs) - 1]
    if t is None:
        picks.append(len(epochs) // 2)
    else:
        at = run.rows[t]["epoch"]
        after = [i for i, e in enumerate(epochs) if e >= at]
        before = [i for i, e in enumerate(epochs) if e < at]
        picks += before[-1:] + after[:1]
    return sorted(set(picks))


def _families_html(language: Language, analysis: Analysis) -> str:
    if not analysis.families:
        return (
            '<p class="note">No program occurs twice in this soup, so there are no '
            "families yet.</p>"
        )
    rows = []
    for rank, family in enumerate(analysis.families, 1):
        loop_text = " ".join(
            program_html(language, language.parse(loop))
            + (" copy loop" if is_copy_loop(loop) else "")
            for loop in loops(language, family.founder)
        )
        rows.append(
            [
                str(rank),
                f"{family.count:,}",
                f"{family.count / analysis.num_programs:.1%}",
                f"{family.variants:,}",
                "?" if family.score is None else str(family.score),
                "?" if family.first_seen is None else str(family.first_seen),
                program_html(language, family.founder),
                f"<span>{loop_text or '-'}</span>",
            ]
        )
    return _table(
        [
            "#",
            "programs",
            "share",
            "variants",
            "score",
            "first seen",
            "founder (most common member)",
            "innermost loops",
        ],
        rows,
    )


def _ancestry_html(language: Language, analysis: Analysis) -> str:
    traced = [f for f in analysis.families if f.ancestry]
    if not traced:
        return ""
    family = traced[0]
    rows = [
        [
            piece.offsets_text(),
            str(piece.birth),
            str(piece.program),
            piece.sources_text(),
            piece.direction,
            program_html(language, bytes(family.founder[o] for o in piece.offsets)),
        ]
        for piece in family.ancestry
    ]
    summary = html.escape(tracer.ancestry_summary(family.ancestry))
    return (
        "<h2>Where the top family came from</h2>"
        f"<p>{summary} Traced by the tokens of "
        f"family {analysis.families.index(family) + 1}'s founder (at each byte the "
        "most common token among its copies): each row is one contiguous piece of "
        "the founder, bytes born together at one epoch in one program that reached "
        "it by copies alone, forwards or reversed. The founder as it is cannot be "
        f"older than epoch {family.newest_birth}.</p>"
        + _table(
            [
                "bytes of the founder",
                "born at epoch",
                "in program",
                "its bytes there",
                "direction",
                "text",
            ],
            rows,
        )
    )


def render(run: Run, analysis: Analysis | None, gif: bytes | None) -> str:
    """The page as one HTML string."""
    language = run.language
    e = html.escape
    title = f"complife report: {run.path.resolve().name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>{e(title)}</h1>",
        '<p class="lead">Computational Life (arXiv 2406.19108): a soup of '
        f"{e(language.name)} programs. {e(_transition_text(run.rows))}</p>",
        _table([], [[k, e(v)] for k, v in _summary(run)], "facts"),
    ]

    parts.append("<h2>Over the run</h2>")
    if run.rows:
        figure = metrics_figure(run.rows)
        parts.append(
            f'<figure><img alt="figures over epochs" src="{_data_uri("png", figure)}">'
            "<figcaption>High-order entropy (order-0 entropy minus brotli bits per "
            "byte; the paper calls >= 1 transitioned), order-0 entropy and brotli "
            "bits per byte"
            + (", ops per pair interaction" if run.ours else "")
            + (", and distinct tracer tokens" if run.traced else "")
            + " at every report."
            + ("" if run.ours else " Measured on the checkpoints.")
            + "</figcaption></figure>"
        )
    if run.tokens_problem is not None:
        parts.append(f'<p class="note">{e(run.tokens_problem)}</p>')
    if not run.traced:
        parts.append(
            '<p class="note">This run has no tracer tokens; run it with '
            "--trace-tokens to see them.</p>"
        )

    parts.append("<h2>The soup</h2>")
    shown = [run.checkpoints[i] for i in _chosen_snapshots(run)]
    if shown:
        cells = []
        for epoch, path in shown:
            programs = read_checkpoint(path, language.program_size).programs
            png = snapshot(programs, language.palette)
            cells.append(
                f'<figure><img class="soup" alt="soup at epoch {epoch}" '
                f'src="{_data_uri("png", png)}"><figcaption>epoch {epoch}'
                f"{_entropy_at(run.rows, epoch)}</figcaption></figure>"
            )
        tokens = _last_tokens(run)
        if tokens is not None:
            epoch, values = tokens
            cells.append(
                f'<figure><img class="soup" alt="tokens at epoch {epoch}" '
                f'src="{_data_uri("png", token_snapshot(values))}"><figcaption>'
                f"epoch {epoch}, each byte coloured by the origin of its token (the "
                "epoch and place it was born): one colour repeated is one birth "
                "copied</figcaption></figure>"
            )
        parts.append(f'<div class="grid">{"".join(cells)}</div>')
        parts.append(
            f'<p class="note">The first {SNAPSHOT_PROGRAMS} programs, one per row, in '
            "columns of 256: green loops <code>[ ]</code>, magenta "
            "<code>+ - . ,</code>, lavender head moves <code>&lt; &gt; { }</code>, "
            "red 0, grey data (the reference's palette).</p>"
        )
    if gif is not None:
        parts.append(
            f'<figure><img alt="the soup over the run" src="{_data_uri("gif", gif)}"'
            ' style="width:536px;image-rendering:pixelated">'
            "<figcaption>The first 1024 programs at every checkpoint.</figcaption>"
            "</figure>"
        )

    if analysis is not None:
        parts.append(
            f"<h2>Replicator families at epoch {analysis.epoch}</h2>"
            "<p>A family is its founder (the most common program not yet placed) and "
            "every program within 16 edits of it. The score is the founder's "
            "self-replication score (0-64; 5 or more is a replicator); first seen is "
            "the first checkpoint holding a member.</p>"
        )
        parts.append(_families_html(language, analysis))
        parts.append(_ancestry_html(language, analysis))
        parts.append("<h2>Most common programs</h2>")
        parts.append(
            _table(
                ["programs", "share", "score", "program"],
                [
                    [
                        f"{count:,}",
                        f"{count / analysis.num_programs:.2%}",
                        str(score),
                        program_html(language, program),
                    ]
                    for program, count, score in analysis.top_programs
                ],
            )
        )
        parts.append("<h2>Most common substrings</h2>")
        parts.append(
            _table(
                ["programs holding it", "share", "8 bytes"],
                [
                    [
                        f"{count:,}",
                        f"{count / analysis.num_programs:.2%}",
                        program_html(language, text),
                    ]
                    for text, count in analysis.substrings
                ],
            )
        )
    else:
        parts.append('<p class="note">No checkpoint to analyse.</p>')

    parts.append(
        f'<p class="note">Made by complife {e(__version__)} on '
        f"{time.strftime('%Y-%m-%d %H:%M')} from {e(str(run.path))}.</p>"
    )
    parts.append("</main></body></html>")
    return "\n".join(p for p in parts if p)


def _entropy_at(rows: Sequence[dict], epoch: int) -> str:
    for row in rows:
        if row["epoch"] == epoch:
            # Adding 0.0 turns a rounded -0.0 into 0.0.
            return f", high-order entropy {round(row['higher_entropy'], 2) + 0.0:.2f}"
    return ""


def _last_tokens(run: Run) -> tuple[int, np.ndarray] | None:
    """The tokens of the last checkpoint, or None (with ``run.tokens_problem`` set
    when a traced run should have had them)."""
    if not run.checkpoints:
        return None
    epoch, path = run.checkpoints[-1]
    beside = tracer.tokens_path(path)
    traced = bool(run.config and run.config.get("trace_tokens"))
    if not beside.exists():
        if traced:
            run.tokens_problem = (
                f"Tokens of checkpoint {path.name} are missing ({beside.name}): the "
                "page goes on without the token sections."
            )
        return None
    try:
        tokens = tracer.read_tokens(beside)
        programs = read_checkpoint(path, run.language.program_size).programs
        tracer.check_tokens(tokens, programs, str(beside))
    except tracer.TokensError as err:
        run.tokens_problem = (
            f"Tokens of checkpoint {path.name} are damaged: {err}. The page goes on "
            "without the token sections."
        )
        return None
    return epoch, tokens


def analyse_run(run: Run) -> Analysis | None:
    """The replicator analysis of the run's last checkpoint, its families dated by
    the earlier checkpoints and traced by its tokens."""
    if not run.checkpoints:
        return None
    epoch, path = run.checkpoints[-1]
    programs = read_checkpoint(path, run.language.program_size).programs
    tokens = _last_tokens(run)
    values = None if tokens is None else tokens[1]
    return analyse(
        programs,
        run.language,
        epoch,
        run.seed,
        tokens=values,
        snapshots=run.snapshots(upto=epoch),
    )


def animation(run: Run) -> bytes | None:
    if not run.checkpoints:
        return None
    picked = pick_frames([e for e, _ in run.checkpoints])
    frames = [s for i, s in enumerate(run.snapshots()) if i in set(picked)]
    return soup_gif(frames, run.language.palette)


def outputs(run_dir: str | Path, out: str | Path | None) -> tuple[Path, Path]:
    """The page and the animation a report writes: ``report.html`` and ``soup.gif``
    in the run folder, or ``FILE`` and ``FILE``'s stem + ``.gif``."""
    page = Path(out) if out is not None else Path(run_dir) / "report.html"
    return page, page.with_name("soup.gif" if out is None else page.stem + ".gif")


def check_outputs(page: Path, gif: Path, force: bool) -> None:
    """Refuse to overwrite without ``force``, or to write where it cannot."""
    for path in (page, gif):
        if path.is_dir():
            raise RunFolderError(f"{path} is a folder; give a file name for the page")
        if path.exists() and not force:
            raise RunFolderError(
                f"{path} already exists; pass --force to write it again"
            )
    if not page.parent.exists():
        raise RunFolderError(
            f"cannot write {page}: folder {page.parent} does not exist; create it first"
        )
    if not page.parent.is_dir():
        raise RunFolderError(f"cannot write {page}: {page.parent} is not a folder")


def write_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    lang: str | None = None,
    seed: int | None = None,
    force: bool = False,
) -> Path:
    """Write the page (and the animation beside it); return the page's path."""
    run = open_run(run_dir, lang, seed)
    if out is None and not os.stat(run_dir).st_mode & 0o222:
        # By its mode bits, not os.access: root may write anywhere, but a folder
        # made read-only (a golden copy, a shared archive) is not to be written.
        raise RunFolderError(f"{run_dir} is read-only; give --out FILE")
    page, gif_path = outputs(run_dir, out)
    check_outputs(page, gif_path, force)
    gif = animation(run)
    text = render(run, analyse_run(run), gif)
    if gif is not None:
        write_atomic(gif_path, gif)
    write_atomic(page, text.encode("utf-8"))
    return page
