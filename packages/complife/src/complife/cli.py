"""``complife``: run soups from the command line.

``complife run`` takes the reference's flags in kebab-case (``--max-epochs``; the
reference's own ``--max_epochs`` and ``--noX`` spellings work too). Bad input is one
line on stderr and exit code 2, before any file is touched.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from complife import __version__, languages
from complife.checkpoint import CheckpointError
from complife.runfolder import RunFolder, RunFolderError
from complife.simulation import ConfigError, RunConfig, Simulation

#: Exit code for bad input, as argparse uses.
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: Settings that may change when a run folder is resumed: only when to stop.
RESUMABLE = ("max_epochs", "stopping_bpb", "stopping_entropy")


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


class _Bool(argparse.Action):
    """A boolean flag with off switches: ``--x``, ``--no-x`` and the reference's
    ``--nox``."""

    def __init__(self, option_strings, dest, **kwargs):
        offs = []
        for s in option_strings:
            name = s[2:]
            offs += [f"--no-{name}", f"--no{name}"]
        super().__init__([*option_strings, *offs], dest, nargs=0, **kwargs)
        self.offs = set(offs)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, option_string not in self.offs)

    def format_usage(self) -> str:
        return self.option_strings[0]


def _add(group, name: str, **kwargs) -> None:
    """Add ``--kebab-name`` with the reference's ``--snake_name`` as an alias."""
    kebab = "--" + name.replace("_", "-")
    snake = "--" + name
    strings = [kebab] if kebab == snake else [kebab, snake]
    group.add_argument(*strings, dest=name, default=argparse.SUPPRESS, **kwargs)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number; give a probability such as 0.000244140625"
        ) from None
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="complife",
        description="Computational Life: soups of self-modifying programs in which "
        "self-replicators emerge (arXiv 2406.19108).",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=Parser
    )
    commands.required = True

    run = commands.add_parser(
        "run",
        help="run a soup",
        description="Run a soup, report every --print-interval epochs, and stop at "
        "--max-epochs or a stopping rule. Defaults are the reference's.",
    )
    soup = run.add_argument_group("the soup")
    _add(soup, "lang", metavar="LANG", help="language (see `complife languages`)")
    _add(soup, "num", type=int, metavar="N", help="number of programs, even [131072]")
    _add(soup, "seed", type=int, help="run seed [0]")
    _add(
        soup,
        "mutation_prob",
        type=_probability,
        metavar="P",
        help="per-byte mutation probability per interaction [1/4096]",
    )
    _add(soup, "zero_init", action=_Bool, help="start from zeros, not random bytes")
    _add(
        soup,
        "initial_program",
        metavar="TEXT",
        help="program (text form) written over the soup from its first byte",
    )
    _add(
        soup,
        "reset_interval",
        type=int,
        metavar="E",
        help="re-randomise the whole soup every E epochs",
    )
    _add(soup, "load", metavar="FILE", help="continue from a .dat checkpoint")

    pairs = run.add_argument_group("who meets whom (default: well mixed)")
    _add(
        pairs,
        "permute_programs",
        action=_Bool,
        help="shuffle programs every epoch; --no-permute-programs pairs ring "
        "neighbours instead",
    )
    _add(pairs, "fixed_shuffle", action=_Bool, help="a fixed permutation, no RNG")
    _add(
        pairs,
        "interaction_pattern",
        metavar="FILE",
        help="allowed pairs, lines 'a b' (a meets b, a first)",
    )
    _add(
        pairs,
        "grid",
        type=int,
        nargs=2,
        metavar=("W", "H"),
        help="a W x H grid, radius 2, edges clipped (the paper's: 240 135)",
    )

    stop = run.add_argument_group("reports and stopping")
    _add(
        stop,
        "max_epochs",
        type=int,
        metavar="E",
        help="stop at the first report after epoch E",
    )
    _add(
        stop,
        "print_interval",
        type=int,
        metavar="E",
        help="epochs between reports [64]",
    )
    _add(
        stop,
        "stopping_entropy",
        type=float,
        metavar="H",
        help="stop when high-order entropy reaches H (the paper's transition: 1)",
    )
    _add(
        stop,
        "stopping_bpb",
        type=float,
        metavar="X",
        help="stop when brotli bits per byte fall below X",
    )

    out = run.add_argument_group("output")
    _add(
        out,
        "out",
        metavar="DIR",
        help="run folder: config, metrics, checkpoints, pictures",
    )
    _add(out, "force", action=_Bool, help="overwrite an existing run folder")
    _add(
        out,
        "resume",
        action=_Bool,
        help="continue the run folder --out from its last checkpoint",
    )
    _add(out, "checkpoint_dir", metavar="DIR", help="where to save .dat checkpoints")
    _add(
        out,
        "save_interval",
        type=int,
        metavar="E",
        help="epochs between checkpoints, a multiple of --print-interval [256]",
    )
    _add(out, "log", metavar="FILE", help="CSV log in the reference's format")
    _add(out, "disable_output", action=_Bool, help="no live display")
    _add(out, "threads", type=int, metavar="T", help="worker threads [all cores]")

    commands.add_parser("languages", help="list the languages")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = vars(parser.parse_args(argv))
    command = args.pop("command")
    try:
        if command == "languages":
            return list_languages()
        return run(args)
    except (ConfigError, RunFolderError, CheckpointError) as e:
        print(f"complife {command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE


def list_languages() -> int:
    for name in languages.names():
        print(f"{name:20s} {languages.get(name).summary}")
    return 0


def _config_from_args(args: dict) -> RunConfig:
    settings = {
        "language": args.pop("lang", None),
        "num_programs": args.pop("num", None),
        "seed": args.pop("seed", None),
        "mutation_prob": args.pop("mutation_prob", None),
        "max_epochs": args.pop("max_epochs", None),
        "print_interval": args.pop("print_interval", None),
        "save_interval": args.pop("save_interval", None),
        "checkpoint_dir": args.pop("checkpoint_dir", None),
        "load": args.pop("load", None),
        "reset_interval": args.pop("reset_interval", None),
        "zero_init": args.pop("zero_init", None),
        "initial_program": args.pop("initial_program", None),
        "stopping_bpb": args.pop("stopping_bpb", None),
        "stopping_entropy": args.pop("stopping_entropy", None),
        "permute_programs": args.pop("permute_programs", None),
        "fixed_shuffle": args.pop("fixed_shuffle", None),
        "interaction_pattern": args.pop("interaction_pattern", None),
        "grid": args.pop("grid", None),
    }
    if settings["grid"] is not None:
        settings["grid"] = tuple(settings["grid"])
        if settings["num_programs"] is None:
            settings["num_programs"] = settings["grid"][0] * settings["grid"][1]
    return {k: v for k, v in settings.items() if v is not None}


def run(args: dict) -> int:
    out = args.pop("out", None)
    resume = args.pop("resume", False)
    force = args.pop("force", False)
    log_path = args.pop("log", None)
    quiet = args.pop("disable_output", False)
    threads = args.pop("threads", None)
    given = _config_from_args(args)

    folder = RunFolder(out) if out else None
    elapsed = 0.0
    if resume:
        if folder is None:
            raise ConfigError("--resume needs --out DIR, the run folder to continue")
        fixed = sorted(set(given) - set(RESUMABLE))
        if fixed:
            raise ConfigError(
                f"--resume continues {out} with its own settings; drop "
                + ", ".join("--" + k.replace("_", "-") for k in fixed)
                + " (only --max-epochs and the stopping rules may change)"
            )
        config, elapsed = folder.prepare_resume_plan()
        for key, value in given.items():
            setattr(config, key, value)
    else:
        if "language" not in given:
            raise ConfigError(
                "--lang is required; choose one of " + ", ".join(languages.names())
            )
        config = RunConfig(**given)
        if folder is not None:
            folder.check_new(force)
            config.checkpoint_dir = config.checkpoint_dir or str(folder.checkpoint_dir)
    config.validate()
    if log_path is not None and not Path(log_path).parent.is_dir():
        raise ConfigError(
            f"--log {log_path}: folder {Path(log_path).parent} does not exist"
        )
    if threads is not None:
        _set_threads(threads)

    # Nothing has been written so far; from here on the run makes its files.
    simulation = Simulation(config, elapsed_offset=elapsed)
    if folder is not None:
        if resume:
            folder.commit_resume()
        else:
            folder.create(config, force=force)
    return _drive(simulation, folder, log_path, quiet)


def _set_threads(threads: int) -> None:
    import numba

    limit = numba.config.NUMBA_NUM_THREADS
    if not 1 <= threads <= limit:
        raise ConfigError(f"--threads {threads}: expected 1 to {limit} on this machine")
    numba.set_num_threads(threads)


def _drive(simulation: Simulation, folder, log_path, quiet: bool) -> int:
    from rich.console import Console

    from complife.display import LiveView
    from complife.metrics import reference_log_line

    config, soup = simulation.config, simulation.soup
    console = Console(stderr=False, quiet=quiet)
    log = open(log_path, "w") if log_path else None
    if log:
        log.write("epoch,brotli_size,soup_size,higher_entropy\n")

    def interrupt(signum, frame):
        simulation.request_stop("interrupted")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, interrupt)
    view = LiveView(config, soup.language, console, start_epoch=soup.epoch)
    simulation.on_epoch = view.epoch_done
    try:
        with view:
            for report in simulation.reports():
                if report.scheduled:
                    if folder is not None:
                        folder.record(report)
                    if log:
                        log.write(
                            reference_log_line(report.epoch, report.metrics) + "\n"
                        )
                        log.flush()
                view.report(report, soup.programs)
    finally:
        signal.signal(signal.SIGINT, previous)
        if log:
            log.close()

    if folder is not None:
        folder.finish(soup.programs, config.language)
    reason = simulation.stop_reason
    if reason == "interrupted":
        where = (
            f"; continue with: complife run --out {folder.path} --resume"
            if folder
            else ""
        )
        print(f"complife: interrupted after epoch {soup.epoch}{where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not quiet:
        console.print(f"stopped: {reason}")
        if folder is not None:
            console.print(f"run folder: {folder.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
