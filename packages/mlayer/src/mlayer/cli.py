"""``mlayer``: the paper's experiments from the command line.

::

    mlayer tasks                                  list the experiments
    mlayer config TASK                            print a task's default config (TOML)
    mlayer train TASK [--config FILE] [--set K=V] train the M-layer and its baseline
    mlayer certify DIR                            the robustness certificate of a run

Bad input is one line on stderr and exit code 2, before any file is touched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlayer import __version__

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="mlayer",
        description="The M-layer (Fischbacher et al., Intelligent Matrix "
        "Exponentiation, arXiv 2008.03936): experiments and certificates.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=Parser
    )
    commands.required = True
    commands.add_parser("tasks", help="list the experiments")

    show = commands.add_parser(
        "config",
        help="print a task's default config as TOML",
        description="Print a task's default config (the paper's settings) as TOML, "
        "to copy and edit for --config.",
    )
    show.add_argument("task", metavar="TASK", help="the experiment")

    train = commands.add_parser(
        "train",
        help="train the M-layer and its MLP baseline",
        description="Train the models of an experiment one after the other into a "
        "run folder: metrics.csv, safetensors checkpoints every epoch, results.json "
        "and pictures. Defaults are the paper's settings (mlayer config TASK).",
    )
    train.add_argument(
        "task", metavar="TASK", nargs="?", help="the experiment (mlayer tasks)"
    )
    train.add_argument(
        "-c", "--config", metavar="FILE", help="TOML file of settings to change"
    )
    train.add_argument(
        "-s",
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="change one setting, e.g. --set mlayer.train.epochs=5 (repeatable; "
        "applied after --config)",
    )
    train.add_argument("--seed", type=int, help="seed of data, init and shuffling [0]")
    train.add_argument(
        "--data", metavar="PATH", help="the data set's folder or file (data.path)"
    )
    train.add_argument("-o", "--out", metavar="DIR", help="run folder [runs/TASK]")
    train.add_argument(
        "--force",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="overwrite an existing run folder",
    )
    train.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="continue the run folder --out from its last checkpoints",
    )
    train.add_argument("--device", help="torch device, e.g. cpu or cuda [cpu]")
    train.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads [1: the matrices are too small to gain from more, "
        "and more slow down badly when the cores are busy]",
    )
    train.add_argument(
        "-q",
        "--quiet",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="no progress display",
    )

    certify = commands.add_parser(
        "certify",
        help="the robustness certificate of a trained classifier",
        description="For a run folder's best M-layer: delta_in, |S|_2, the "
        "Lipschitz bound on [0, 1]^D and each test example's certified L-infinity "
        "radius (paper §3.7); then random corners of each ball and a signed-"
        "gradient step are tried, none of which may change a class. Writes "
        "certificate.json and certificate.png into the run folder.",
    )
    certify.add_argument("out", metavar="DIR", help="run folder")
    certify.add_argument(
        "--limit", type=int, default=None, help="first N test examples only [all]"
    )
    certify.add_argument(
        "--samples",
        type=int,
        default=10,
        help="random corners tried per example [10]",
    )
    certify.add_argument("--seed", type=int, default=0, help="seed of the corners [0]")
    return parser


def main(argv: list[str] | None = None) -> int:
    from mlayer.checkpoint import CheckpointError
    from mlayer.config import ConfigError
    from mlayer.runfolder import RunFolderError
    from mlayer.train import TrainingDiverged

    args = build_parser().parse_args(argv)
    try:
        if args.command == "tasks":
            return list_tasks()
        if args.command == "config":
            return show_config(args.task)
        if args.command == "certify":
            return certify(args)
        return train(args)
    except TrainingDiverged as e:
        print(f"mlayer {args.command}: {e}", file=sys.stderr)
        return EXIT_FAILED
    except (
        ConfigError,
        RunFolderError,
        CheckpointError,
        FileNotFoundError,
        ValueError,
    ) as e:
        print(f"mlayer {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE


def list_tasks() -> int:
    from mlayer import tasks

    for name in tasks.names():
        print(f"{name:15s} {tasks.get(name).summary}")
    return 0


def show_config(task_name: str) -> int:
    from mlayer import tasks
    from mlayer.config import to_toml

    print(to_toml(tasks.get(task_name).default_config()), end="")
    return 0


def _resolve_config(args):
    """The run's Config and folder from the flags; checks only, writes nothing."""
    from mlayer import tasks
    from mlayer.config import ConfigError, apply, parse_override, read_toml
    from mlayer.runfolder import RunFolder

    given = [f for f in ("config", "seed", "data", "device") if getattr(args, f)]
    given += ["set"] if args.set else []
    if args.resume and args.force:
        raise ConfigError(
            "--force starts the run folder afresh and --resume continues it; give one"
        )
    if args.seed is not None and args.seed < 0:
        raise ConfigError(f"--seed {args.seed}: expected 0 or more")
    if args.resume:
        if not args.out:
            raise ConfigError("--resume needs --out DIR, the run folder to continue")
        if given:
            raise ConfigError(
                f"--resume continues {args.out} with its own settings; drop "
                + ", ".join("--" + f for f in given)
            )
        folder = RunFolder(args.out)
        config = folder.load_config()
        if args.task and args.task != config.task:
            raise ConfigError(
                f"{args.out} is a {config.task} run, not {args.task}; drop TASK or "
                "choose another --out"
            )
        return config, folder
    if not args.task:
        raise ConfigError("TASK is required (one of " + ", ".join(tasks.names()) + ")")
    task = tasks.get(args.task)
    config = task.default_config()
    if args.config:
        apply(config, read_toml(args.config))
    for text in args.set:
        apply(config, parse_override(text))
    if args.seed is not None:
        config.seed = args.seed
    if args.data:
        config.data["path"] = args.data
    if args.device:
        config.device = args.device
    config.validate()
    task.data_config(config)
    folder = RunFolder(args.out or Path("runs") / args.task)
    folder.check_new(args.force)
    return config, folder


def train(args) -> int:
    import torch
    from rich.console import Console

    from mlayer import experiment, tasks
    from mlayer.display import ProgressView
    from mlayer.train import check_fits

    if args.threads < 1:
        raise ValueError(f"--threads {args.threads}: expected 1 or more")
    torch.set_num_threads(args.threads)
    config, folder = _resolve_config(args)
    task = tasks.get(config.task)
    data = task.load(config)
    check_fits(config, task, data)
    if not args.resume:
        folder.create(config, force=args.force)

    console = Console(quiet=args.quiet)
    console.print(
        f"[bold]{config.task}[/bold] -> {folder.path}  (seed {config.seed}, "
        f"models {', '.join(config.models)})",
        highlight=False,
    )
    try:
        with ProgressView(console) as view:
            record = experiment.run(folder, config, task, data, view)
    except KeyboardInterrupt:
        print(
            f"mlayer: interrupted; continue with: mlayer train --out {folder.path} "
            "--resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    for name, result in record["models"].items():
        figures = ", ".join(
            f"{split} " + " ".join(f"{k} {v:.4g}" for k, v in m.items())
            for split, m in result["metrics"].items()
        )
        console.print(f"{name} ({result['parameters']:,} params): {figures}")
    console.print(f"run folder: {folder.path}")
    return 0


def certify(args) -> int:
    from mlayer import experiment, tasks
    from mlayer.runfolder import RunFolder

    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit {args.limit}: expected 1 or more (omit it for all)")
    if args.samples < 0:
        raise ValueError(f"--samples {args.samples}: expected 0 or more")
    if args.seed < 0:
        raise ValueError(f"--seed {args.seed}: expected 0 or more")
    folder = RunFolder(args.out)
    config = folder.load_config()
    task = tasks.get(config.task)
    data = task.load(config)
    record = experiment.certify_run(
        folder, task, data, args.limit or 0, args.samples, args.seed
    )
    radius = record["radius_of_correct"]
    check = record["check"]
    print(
        f"delta_in {record['delta_in']:.4g}  |S|_2 {record['readout_norm']:.4g}  "
        f"median |M|_2 {record['norm_M_median']:.3g}  accuracy "
        f"{record['accuracy']:.2%} of {record['examples']}"
    )
    if record["lipschitz_log10"] is not None:
        print(f"Lipschitz bound on [0, 1]^D: 10^{record['lipschitz_log10']:.1f}")
    print(
        f"certified L-inf radius of correct examples: median {radius['median']:.3g}"
        + "".join(f", {k} {v:.3g}" for k, v in radius.items() if k != "median")
    )
    print(
        f"{check['class_changes_within_radius']} class changes in "
        f"{check['perturbations_tried']} perturbations within the radius"
    )
    return 0 if check["class_changes_within_radius"] == 0 else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
