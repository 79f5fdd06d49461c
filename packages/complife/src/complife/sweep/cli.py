"""``complife sweep run CONFIG --out DIR`` and ``complife sweep plot DIR``."""

from __future__ import annotations

import signal
import sys
from pathlib import Path


def add_parser(commands) -> None:
    """Add ``sweep`` and its two subcommands to the ``complife`` parser."""
    sweep = commands.add_parser(
        "sweep",
        help="many runs from one config: the paper's statistics (Figs. 5-7)",
        description="Expand a TOML study into runs, run them (local workers or a "
        "Ray cluster), gather DIR/results.parquet, and draw the paper's figures.",
    )
    actions = sweep.add_subparsers(dest="sweep_command", metavar="ACTION")
    actions.required = True
    run = actions.add_parser(
        "run",
        help="run (or resume) a sweep",
        description="Run every run of CONFIG not yet finished in DIR, each in its own "
        "run folder DIR/runs/GROUP/RUN, then write DIR/results.parquet. Rerun the "
        "same command to resume a stopped sweep.",
    )
    run.add_argument("config", metavar="CONFIG", help="sweep file (.toml)")
    run.add_argument("--out", metavar="DIR", required=True, help="sweep folder")
    run.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local worker processes, one thread each [all cores]",
    )
    run.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run on the Ray cluster at ADDRESS (host:port) instead; every node "
        "must see DIR at the same path",
    )
    plot = actions.add_parser(
        "plot",
        help="draw Figs. 5-7 of a sweep beside the paper's values",
        description="Draw DIR/sweep-fig5.png (fraction transitioned vs epochs), "
        "sweep-fig6.png (mutation-rate sweep) and sweep-fig7.png (short / seeded / "
        "long / no-noise), as far as the sweep has data for them. Several DIRs are "
        "drawn as one study (a run found in two of them counts once) into --out.",
    )
    plot.add_argument("sweep_dirs", metavar="DIR", nargs="+", help="sweep folder")
    plot.add_argument(
        "--out",
        metavar="OUT",
        help="folder for the figures [the sweep folder; required with several]",
    )


def main(args: dict) -> int:
    """Run the ``sweep`` subcommand named in ``args`` (the parsed arguments)."""
    if args["sweep_command"] == "plot":
        from complife.sweep.plots import plot_sweep

        for name, drawn in plot_sweep(*args["sweep_dirs"], out=args["out"]).items():
            print(f"wrote {drawn}" if isinstance(drawn, Path) else
                  f"not drawn: {name}: {drawn}")  # fmt: skip
        return 0
    return _run(args["config"], args["out"], args["workers"], args["ray"])


def _run(config_path: str, out: str, workers: int | None, ray: str | None) -> int:
    # SIGTERM (a job scheduler's stop, kill's default) stops the sweep as Ctrl-C
    # does, from the first moment: workers end and the finished runs' table is
    # written.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return _run_sweep(config_path, out, workers, ray)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_sweep(config_path: str, out: str, workers: int | None, ray: str | None):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from complife.cli import EXIT_INTERRUPTED
    from complife.sweep.config import load_sweep
    from complife.sweep.execute import RESULTS, prepare_folder, run_sweep

    if workers is not None and ray is not None:
        raise ValueError("--workers is for local runs; with --ray the cluster decides")
    if workers is not None and workers < 1:
        raise ValueError(f"--workers {workers}: expected at least 1 process")
    sweep = load_sweep(config_path)
    # A folder that cannot take this sweep is refused before the progress bar.
    prepare_folder(sweep, Path(out))
    failed = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        transient=False,
    ) as progress:
        task = progress.add_task(sweep.name, total=len(sweep.runs), last="")

        def done(result) -> None:
            if result.state == "failed":
                failed.append(result)
                progress.console.print(f"[red]failed[/red] {result.folder}")
            note = f"{result.folder.rsplit('/', 1)[-1]}: epoch {result.epoch}"
            progress.update(task, advance=1, last=note)

        try:
            results = run_sweep(
                sweep, out, workers=workers, ray_address=ray, on_result=done
            )
        except KeyboardInterrupt:
            table = Path(out) / RESULTS
            where = f"the finished runs are in {table}; " if table.exists() else ""
            print(f"complife sweep: stopped; {where}rerun the same command to "
                  "resume", file=sys.stderr)  # fmt: skip
            return EXIT_INTERRUPTED
        progress.update(task, completed=len(results))
    for result in failed:
        print(f"complife sweep: run {result.folder} failed:\n{result.error}",
              file=sys.stderr)  # fmt: skip
    ran = sum(r.state == "ran" for r in results)
    skipped = sum(r.state == "skipped" for r in results)
    print(f"{ran} runs ran, {skipped} were finished before, {len(failed)} failed; "
          f"table: {out}/{RESULTS}")  # fmt: skip
    return 1 if failed else 0
