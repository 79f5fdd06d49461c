"""The paper's sweep figures from a results table, with the paper's values beside
ours (paper Figs. 5, 6 and 7; values in :mod:`complife.sweep.paper`).

Fractions carry 95 % Wilson intervals. Ours are at our settings (language, soup
size, epochs in the legend), which may be far from the paper's: the point is to
put the two side by side, not to pretend they measure the same thing.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from pathlib import Path

import numpy as np

from complife.soup import DEFAULT_MUTATION_PROB
from complife.sweep import paper
from complife.sweep.table import run_key, wilson_interval

FIG5 = "sweep-fig5.png"
FIG6 = "sweep-fig6.png"
FIG7 = "sweep-fig7.png"
_OURS, _PAPER = "tab:blue", "tab:gray"


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def distinct(rows: list[dict], per_group: bool) -> list[dict]:
    """``rows`` with each run once (the first row of it kept): per group for the
    figures that draw groups (Figs. 5 and 7), over all groups for Fig. 6. A run
    that two pooled sweeps share is one sample, not two: its bytes depend only on
    its settings."""
    seen, kept = set(), []
    for row in rows:
        key = (row["group"] if per_group else None, run_key(row))
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


def _entropy_label(threshold: float | None) -> str:
    return f"high-order entropy >= {1.0 if threshold is None else threshold:g}"


def _setting(rows: list[dict]) -> str:
    first = rows[0]
    return f"{first['language']}, {first['num_programs']} programs"


def transition_curve(rows: list[dict], epochs: np.ndarray) -> np.ndarray:
    """Fraction of ``rows`` transitioned by each epoch of ``epochs`` (Fig. 5)."""
    first = np.array(
        [r["transition_epoch"] for r in rows if r["transition_epoch"] is not None],
        dtype=np.int64,
    )
    return np.searchsorted(np.sort(first), epochs, side="right") / len(rows)


def fig5_series(rows: list[dict]) -> dict[str, list[dict]]:
    """Random-init runs at the default settings, by group (a curve each)."""
    series = defaultdict(list)
    for row in distinct(rows, per_group=True):
        if row["initial_program"] is None and row["pairing"] == "well_mixed":
            key = f"{row['group']}, mutation {row['mutation_prob']:.3%}"
            series[key].append(row)
    return dict(series)


def plot_fig5(rows: list[dict], path: Path, threshold: float | None = None) -> Path:
    """Fraction transitioned against epochs, one curve per group and rate."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, group in fig5_series(rows).items():
        top = max(r["max_epochs"] for r in group)
        epochs = np.arange(0, top + 1)
        curve = transition_curve(group, epochs)
        k = np.round(curve * len(group)).astype(int)
        low, high = zip(*(wilson_interval(int(x), len(group)) for x in k), strict=True)
        (line,) = ax.step(
            epochs, curve, where="post", label=f"ours: {label} (n={len(group)})"
        )
        ax.fill_between(
            epochs, low, high, step="post", alpha=0.08, color=line.get_color()
        )
    ax.errorbar(
        [paper.FIG5_EPOCHS],
        [paper.FIG5_FRACTION],
        fmt="s",
        color=_PAPER,
        label=f"paper: {paper.SETTING}",
    )
    ax.set_xscale("symlog", linthresh=64)
    ax.set_xlabel("epochs")
    ax.set_ylabel(f"fraction transitioned ({_entropy_label(threshold)})")
    ax.set_ylim(0, 1)
    ax.set_title(f"Fig. 5: runs transitioned by epoch ({_setting(rows)})")
    ax.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def fig6_points(rows: list[dict]) -> dict[float, tuple[int, int]]:
    """(transitioned, runs) by mutation probability, over the well-mixed random
    runs of the longest cap (Fig. 6)."""
    pool = [r for r in distinct(rows, per_group=False) if r["initial_program"] is None]
    pool = [r for r in pool if r["pairing"] == "well_mixed"]
    if not pool:
        return {}
    top = max(r["max_epochs"] for r in pool)
    counts: dict[float, list[int]] = defaultdict(lambda: [0, 0])
    for row in pool:
        if row["max_epochs"] == top:
            counts[row["mutation_prob"]][0] += bool(row["transitioned"])
            counts[row["mutation_prob"]][1] += 1
    return {rate: tuple(kn) for rate, kn in sorted(counts.items())}


def plot_fig6(rows: list[dict], path: Path, threshold: float | None = None) -> Path:
    """Fraction *not* transitioned by mutation rate, ours and the paper's."""
    plt = _figure()
    ours = fig6_points(rows)
    theirs = paper.FIG6_NOT_REACHING
    rates = sorted(set(ours) | set(theirs))
    x = {rate: i for i, rate in enumerate(rates)}
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if ours:
        xs = [x[r] - 0.12 for r in ours]
        ys, errors = [], [[], []]
        for k, n in ours.values():
            low, high = wilson_interval(k, n)
            ys.append(1 - k / n)
            errors[0].append((1 - k / n) - (1 - high))
            errors[1].append((1 - low) - (1 - k / n))
        ax.errorbar(xs, ys, yerr=errors, fmt="o", color=_OURS, capsize=3,
                    label=f"ours: {_setting(rows)}")  # fmt: skip
        for x_at, y_at, (k, n) in zip(xs, ys, ours.values(), strict=True):
            # Runs not transitioned out of runs: how much each point weighs.
            ax.annotate(f"{n - k}/{n}", (x_at, y_at), xytext=(-4, 0),
                        textcoords="offset points", ha="right", va="center",
                        fontsize=7)  # fmt: skip
    ax.plot([x[r] + 0.12 for r in theirs], list(theirs.values()), "s", color=_PAPER,
            label=f"paper: {paper.SETTING}")  # fmt: skip
    ax.set_xticks(range(len(rates)), [f"{r:.3%}" for r in rates], rotation=30)
    ax.set_xlim(-0.7, len(rates) - 0.4)  # room for the counts left of the points
    ax.set_xlabel("mutation probability per byte")
    ax.set_ylabel(f"fraction NOT reaching {_entropy_label(threshold)}")
    ax.set_ylim(0, 1)
    ax.set_title("Fig. 6: mutation-rate sweep")
    ax.legend(fontsize=7)
    return _save(fig, path)


def fig7_bars(rows: list[dict]) -> dict[str, tuple[int, int]]:
    """(transitioned, runs) of the groups named as the paper's bars (Fig. 7)."""
    bars = {}
    rows = distinct(rows, per_group=True)
    for name in paper.FIG7:
        group = [r for r in rows if r["group"] == name]
        if name == "long":
            # The long bar is at the paper's rate; other rates belong to Fig. 6.
            # Without runs at it, the most common rate, the lowest of a tie, so
            # that the bar never depends on the order of the rows.
            rates = [r["mutation_prob"] for r in group]
            rate = DEFAULT_MUTATION_PROB
            if rates and rate not in rates:
                rate = min(set(rates), key=lambda q: (-rates.count(q), q))
            group = [r for r in group if r["mutation_prob"] == rate]
        if group:
            bars[name] = (sum(bool(r["transitioned"]) for r in group), len(group))
    return bars


def plot_fig7(rows: list[dict], path: Path, threshold: float | None = None) -> Path:
    """Short / seeded / long / no-noise bars, ours and the paper's."""
    plt = _figure()
    bars = fig7_bars(rows)
    names = list(paper.FIG7)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    width = 0.38
    for i, name in enumerate(names):
        if name in bars:
            k, n = bars[name]
            low, high = wilson_interval(k, n)
            first = name == next(iter(bars))
            ax.bar(i - width / 2, k / n, width, color=_OURS,
                   yerr=[[k / n - low], [high - k / n]], capsize=3,
                   label=f"ours ({_setting(rows)})" if first else None)  # fmt: skip
            ax.text(i - width / 2, high + 0.02, f"{k}/{n}", ha="center", fontsize=7)
        value = paper.FIG7[name][0]
        low, high = wilson_interval(round(value * paper.FIG7_RUNS), paper.FIG7_RUNS)
        ax.bar(i + width / 2, value, width, color=_PAPER,
               yerr=[[value - low], [high - value]], capsize=3,
               label="paper (1000 runs, BFF 2^17)" if i == 0 else None)  # fmt: skip
    labels = [f"{n}\n" + textwrap.fill(paper.FIG7[n][1], 22) for n in names]
    ax.set_xticks(range(len(names)), labels, fontsize=7)
    ax.set_ylabel(f"fraction transitioned ({_entropy_label(threshold)})")
    ax.set_ylim(0, 1)
    ax.set_title("Fig. 7: where replicators come from (95 % Wilson intervals)")
    ax.legend(fontsize=7)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    partial = path.with_name(path.name + ".partial.png")
    try:
        fig.savefig(partial, dpi=110)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        _figure().close(fig)
    return path


def plot_sweep(
    sweep_dir: str | Path, *more: str | Path, out: str | Path | None = None
) -> dict[str, Path | str]:
    """Draw the figures the sweeps' tables hold data for into ``out`` (default:
    the one sweep folder given): Fig. 5 always, Fig. 6 with more than one mutation
    rate, Fig. 7 with a group named as one of its bars. Several sweep folders are
    drawn as one study (:func:`~complife.sweep.table.read_tables`), so that a
    figure can gather studies run in pieces.

    Returns, for each figure's file name, the path drawn or why it was not drawn.
    A figure not drawn that an earlier plot left in ``out`` is removed, so that the
    folder never shows figures of another study."""
    from complife.sweep.execute import RESULTS, SweepError
    from complife.sweep.table import read_tables

    dirs = [Path(d) for d in (sweep_dir, *more)]
    if out is None and len(dirs) > 1:
        raise SweepError(
            f"{len(dirs)} sweep folders given: name the folder for the figures "
            "with --out OUT"
        )
    if out is not None and not str(out):
        raise SweepError("--out '' names no folder; give one, e.g. --out figs")
    out = dirs[0] if out is None else Path(out)
    for folder in dirs:
        if folder.is_file():
            raise SweepError(
                f"{folder} is a file; give the sweep folder, the one that holds "
                f"{RESULTS} (here {folder.parent})"
            )
        if not (folder / RESULTS).exists():
            raise SweepError(
                f"{folder / RESULTS} does not exist; run `complife sweep run CONFIG "
                f"--out {folder}` first"
            )
    if out.exists() and not out.is_dir():
        raise SweepError(f"--out {out} is a file; give a folder for the figures")
    try:
        rows, threshold = read_tables([folder / RESULTS for folder in dirs])
    except ValueError as error:
        raise SweepError(str(error)) from None
    if not rows:
        raise SweepError(
            f"{', '.join(str(d / RESULTS) for d in dirs)}: no finished run yet; "
            "run the sweep first, or wait for a run to finish"
        )

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SweepError(
            f"--out {out}: cannot make this folder ({error.strerror}); give a "
            "folder path that can be created"
        ) from None
    figures: dict[str, Path | str] = {}
    if fig5_series(rows):
        figures[FIG5] = plot_fig5(rows, out / FIG5, threshold)
    else:
        figures[FIG5] = "no well-mixed run from random bytes"
    if len(fig6_points(rows)) > 1:
        figures[FIG6] = plot_fig6(rows, out / FIG6, threshold)
    else:
        figures[FIG6] = "runs at the longest cap have one mutation rate"
    if fig7_bars(rows):
        figures[FIG7] = plot_fig7(rows, out / FIG7, threshold)
    else:
        figures[FIG7] = f"no group named {', '.join(paper.FIG7)}"
    for name, drawn in figures.items():
        if isinstance(drawn, str) and (out / name).exists():
            (out / name).unlink()
            figures[name] = f"{drawn}; the {name} of an earlier plot was removed"
    return figures
