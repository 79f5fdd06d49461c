"""``complife``: run soups and take programs apart from the command line.

``complife run`` takes the reference's flags in kebab-case (``--max-epochs``; the
reference's own ``--max_epochs`` and ``--noX`` spellings work too). Bad input is one
line on stderr and exit code 2, before any file is touched.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
from pathlib import Path

from complife import __version__, languages
from complife.checkpoint import CheckpointError, latest_checkpoint
from complife.runfolder import (
    RunFolder,
    RunFolderError,
    check_folder_path,
    make_folders,
)
from complife.simulation import ConfigError, RunConfig, Simulation, make_soup

#: Exit code for bad input, as argparse uses.
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: Settings that may change when a run folder is resumed: only when to stop.
RESUMABLE = ("max_epochs", "stopping_bpb", "stopping_entropy", "stopping_selfrep_count")
#: Flags whose names differ from the RunConfig field they set.
FIELD_OF_FLAG = {"lang": "language", "num": "num_programs"}
FLAG_OF_FIELD = {field: "--" + flag for flag, field in FIELD_OF_FLAG.items()}


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
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number; give a probability such as 0.000244140625"
        ) from None


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
    _add_run(commands)
    _add_sweep(commands)
    _add_z80(commands)

    run_one = commands.add_parser(
        "exec",
        help="run one program",
        description="Run one program on a 128-byte tape (zero-padded) and show the "
        "tape before and after; --trace shows every step.",
    )
    run_one.add_argument("lang", metavar="LANG", help="language")
    run_one.add_argument("program", metavar="PROGRAM", help="program in text form")
    run_one.add_argument(
        "--steps", type=int, default=32768, help="step limit [32768, as --run_steps]"
    )
    run_one.add_argument("--trace", action="store_true", help="show every step")

    score = commands.add_parser(
        "selfrep",
        help="self-replication score of a program",
        description="The score of spec §4 (0-64): how much of itself a program "
        "copies into random partners; the reference counts >= 5 as a replicator.",
    )
    score.add_argument("lang", metavar="LANG", help="language")
    score.add_argument("program", metavar="PROGRAM", help="program in text form")
    score.add_argument("--epoch", type=int, default=0, help="epoch of the noise [0]")
    score.add_argument("--seed", type=int, default=0, help="seed of the noise [0]")

    commands.add_parser("languages", help="list the languages")

    page = commands.add_parser(
        "report",
        help="one HTML page of a run: figures, soup, replicator families",
        description="Write RUN_DIR/report.html (and soup.gif): the run's figures over "
        "epochs, soup snapshots and an animation, the replicator families of its "
        "last checkpoint. One self-contained file: images embedded, no scripts, "
        "nothing fetched. RUN_DIR is the --out of complife run, or a folder of the "
        "reference's .dat checkpoints (then give --lang).",
    )
    page.add_argument("run_dir", metavar="RUN_DIR", help="run folder")
    page.add_argument("--lang", help="language of a folder of reference checkpoints")
    page.add_argument("--seed", type=int, help="seed of the score noise [the run's]")
    page.add_argument("--out", metavar="FILE", help="page [RUN_DIR/report.html]")
    page.add_argument("--force", action="store_true", help="overwrite the page")

    look = commands.add_parser(
        "inspect",
        help="replicator analysis of one checkpoint, in the terminal",
        description="Families, most common programs and substrings of one .dat "
        "checkpoint, ours or the reference's; with tracer tokens beside it, where "
        "programs came from.",
    )
    look.add_argument("checkpoint", metavar="CHECKPOINT", help=".dat file")
    look.add_argument("--lang", help="language [the run folder's]")
    look.add_argument("--seed", type=int, help="seed of the score noise [the run's]")
    look.add_argument("--top", type=int, default=20, help="programs listed [20]")
    look.add_argument(
        "--program", type=int, metavar="I", help="show where program I came from"
    )
    return parser


def _add_z80(commands) -> None:
    """``complife z80 ...``: the paper's Z80 soup (complife.z80.cli)."""
    from complife.z80.cli import add_parser

    add_parser(commands)


def _add_sweep(commands) -> None:
    """``complife sweep ...``: many runs, the paper's statistics (complife.sweep)."""
    from complife.sweep.cli import add_parser

    add_parser(commands)


def _add_run(commands) -> None:
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
    _add(
        soup,
        "trace_tokens",
        action=_Bool,
        help="give every byte a tracer token (BFF family; paper Figs. 1-3); slower",
    )
    _add(
        soup,
        "keep_tokens",
        type=int,
        metavar="K",
        help="keep the tracer tokens of the last K checkpoints only (8 bytes per "
        "soup byte each); 0 keeps all [2]",
    )

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
    _add(
        stop,
        "eval_selfrep",
        action=_Bool,
        help="count replicators (score >= 5) at every report; slow",
    )
    _add(
        stop,
        "stopping_selfrep_count",
        type=int,
        metavar="K",
        help="stop when K programs are replicators (needs --eval-selfrep)",
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
    _add(
        out,
        "draw_to",
        metavar="DIR",
        help="a PNG of the soup as rows at every report",
    )
    _add(
        out,
        "draw_to_2d",
        metavar="DIR",
        help="a PNG of the soup as 8x8 tiles on its grid at every report",
    )
    _add(
        out,
        "grid_width_2d",
        type=int,
        metavar="W",
        help="tiles per row of --draw-to-2d [the --grid width, or sqrt N]",
    )
    _add(out, "disable_output", action=_Bool, help="no live display")
    _add(out, "threads", type=int, metavar="T", help="worker threads [all cores]")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = vars(parser.parse_args(argv))
    command = args.pop("command")
    try:
        if command == "languages":
            return list_languages()
        if command == "exec":
            return exec_program(**args)
        if command == "selfrep":
            return selfrep_score(**args)
        if command == "report":
            return write_report(**args)
        if command == "inspect":
            return inspect_checkpoint(**args)
        if command == "sweep":
            from complife.sweep.cli import main as sweep_main

            return sweep_main(args)
        if command == "z80":
            from complife.z80.cli import main as z80_main

            return z80_main(args)
        return run(args)
    except (ConfigError, RunFolderError, CheckpointError, ValueError) as e:
        print(f"complife {command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print(f"complife {command}: error: not enough memory for this soup; give a "
              "smaller --num", file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"complife {command}: error: {where}{e.strerror or e}; check the "
              "path, and that folders and files are where they are expected",
              file=sys.stderr)  # fmt: skip
        return 1
    except KeyboardInterrupt:
        # A second Ctrl-C: stop at once; the last checkpoint is still there.
        print(f"complife {command}: stopped at once", file=sys.stderr)
        return EXIT_INTERRUPTED


def list_languages() -> int:
    for name in languages.names():
        print(f"{name:20s} {languages.get(name).summary}")
    return 0


def _parse_program(lang: str, program: str):
    language = languages.get(lang)
    parsed = language.parse(program)
    if len(parsed) > 2 * language.program_size:
        raise ValueError(
            f"program is {len(parsed)} bytes; the tape holds "
            f"{2 * language.program_size}"
        )
    return language, parsed


def exec_program(lang: str, program: str, steps: int, trace: bool) -> int:
    from rich.console import Console

    from complife.display import tape_text

    if not 0 <= steps < 1 << 62:
        raise ValueError(f"--steps {steps}: expected a count from 0 to 2**62")
    language, parsed = _parse_program(lang, program)
    tape = parsed + bytes(2 * language.program_size - len(parsed))
    console = Console(highlight=False)
    console.print(tape_text(language, tape), soft_wrap=True)
    if trace:
        work = bytearray(tape)
        run = language.steps(work, steps)
        while True:
            try:
                step = next(run)
            except StopIteration as done:
                ops = done.value
                break
            state = f"step {step.step:6d} pc {step.pc:4d}"
            if step.heads:
                state += " heads " + " ".join(f"{h:3d}" for h in step.heads)
            if step.stack:
                state += " stack " + " ".join(f"{v:02X}" for v in step.stack[-8:])
            console.print(state)
            console.print(
                tape_text(language, bytes(work), step.pc, step.heads), soft_wrap=True
            )
        final = bytes(work)
    else:
        ops, final = languages.run(language, tape, steps)
    console.print(f"ops: {ops}")
    console.print(tape_text(language, final), soft_wrap=True)
    return 0


def selfrep_score(lang: str, program: str, epoch: int, seed: int) -> int:
    from complife import selfrep

    for flag, value in (("--epoch", epoch), ("--seed", seed)):
        if not 0 <= value < 1 << 64:
            raise ValueError(f"{flag} {value}: expected an integer in [0, 2**64)")
    language, parsed = _parse_program(lang, program)
    value = selfrep.score(language, parsed, epoch, seed)
    verdict = "a replicator" if value >= selfrep.THRESHOLD else "not a replicator"
    print(f"score {value} of 64: {verdict} (threshold {selfrep.THRESHOLD})")
    return 0


def write_report(run_dir, lang, seed, out, force) -> int:
    from complife import report

    for flag, value in (("--seed", seed),):
        if value is not None and not 0 <= value < 1 << 64:
            raise ValueError(f"{flag} {value}: expected an integer in [0, 2**64)")
    page = report.write_report(run_dir, out, lang, seed, force)
    print(f"wrote {page}")
    return 0


def inspect_checkpoint(checkpoint, lang, seed, top, program) -> int:
    from complife import inspection

    if seed is not None and not 0 <= seed < 1 << 64:
        raise ValueError(f"--seed {seed}: expected an integer in [0, 2**64)")
    if not 1 <= top <= 1000:
        raise ValueError(f"--top {top}: expected 1 to 1000 programs")
    inspected = inspection.open_checkpoint(checkpoint, lang, seed)
    if inspected.tokens_problem is not None and program is None:
        from complife import tracer

        what = "damaged" if tracer.tokens_path(inspected.path).exists() else "missing"
        print(
            f"complife inspect: note: tokens of checkpoint {inspected.path.name} are "
            f"{what}: {inspected.tokens_problem}; going on without them",
            file=sys.stderr,
        )
    inspection.show(inspection.console_for(), inspected, top, program)
    return 0


def _config_from_args(args: dict) -> dict:
    """The RunConfig settings given on the command line (absent flags left out)."""
    given = {FIELD_OF_FLAG.get(k, k): v for k, v in args.items()}
    if "grid" in given:
        given["grid"] = tuple(given["grid"])
        given.setdefault("num_programs", given["grid"][0] * given["grid"][1])
    return given


def run(args: dict) -> int:
    out = args.pop("out", None)
    resume = args.pop("resume", False)
    force = args.pop("force", False)
    log_path = args.pop("log", None)
    quiet = args.pop("disable_output", False)
    threads = args.pop("threads", None)
    draw = {k: args.pop(k, None) for k in ("draw_to", "draw_to_2d", "grid_width_2d")}
    given = _config_from_args(args)
    if "keep_tokens" in given and not given.get("trace_tokens", False) and not resume:
        raise ConfigError(
            "--keep-tokens has no effect without --trace-tokens; add --trace-tokens "
            "or drop --keep-tokens"
        )

    # Everything is checked before the first write.
    folder = RunFolder(out) if out else None
    plan = None
    if resume:
        if folder is None:
            raise ConfigError("--resume needs --out DIR, the run folder to continue")
        fixed = sorted(set(given) - set(RESUMABLE))
        if fixed:
            raise ConfigError(
                f"--resume continues {out} with its own settings; drop "
                + ", ".join(
                    FLAG_OF_FIELD.get(k, "--" + k.replace("_", "-")) for k in fixed
                )
                + " (only --max-epochs and the stopping rules may change)"
            )
        folder.load_config()
        status = folder.status()
        if status["state"] == "finished" and not given:
            print(
                f"{out} is finished: {status['stop_reason']} at epoch "
                f"{status['epoch']}; give --max-epochs or a stopping rule to go on",
                file=sys.stderr,
            )
            return 0
        plan = folder.plan_resume()
        config = plan.config
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
    soup = make_soup(config)
    # A loaded checkpoint decides the soup size (the reference's --load).
    config.num_programs = soup.num_programs
    tiles_width = _tiles_width(config, soup.num_programs, draw)
    _check_outputs(config, folder, log_path, draw, force=force, resume=resume)
    if threads is not None:
        _set_threads(threads)

    # From here on the run makes its files.
    if folder is not None:
        if resume:
            folder.commit_resume(plan)
            for what in plan.skipped:
                print(f"complife: passed over {what}", file=sys.stderr)
        else:
            folder.create(config, force=force)
        folder.set_status("running", soup.epoch)
    make_folders(
        *[Path(p) for p in (config.checkpoint_dir, draw["draw_to"], draw["draw_to_2d"])
          if p is not None]
    )  # fmt: skip
    simulation = Simulation(
        config,
        soup,
        elapsed_offset=plan.elapsed_s if plan else 0.0,
        total_ops=plan.total_ops if plan else 0,
        carried_interval=plan.interval if plan else (0, 0, 0),
        checkpoint_at_stop=folder is not None,
    )
    return _drive(simulation, folder, log_path, quiet, draw, tiles_width)


def _check_outputs(config, folder, log_path, draw, *, force: bool, resume: bool):
    """Refuse output paths that cannot be written or would overwrite files of
    another run (unless ``force``). Writes nothing."""
    own = folder is not None and config.checkpoint_dir == str(folder.checkpoint_dir)
    if config.checkpoint_dir is not None:
        check_folder_path(config.checkpoint_dir, "--checkpoint-dir")
        if not own and not force and latest_checkpoint(config.checkpoint_dir):
            raise ConfigError(
                f"--checkpoint-dir {config.checkpoint_dir} already holds checkpoints; "
                "pass --force to write over them, or choose another folder"
            )
    if log_path is not None:
        log = Path(log_path)
        if log.is_dir():
            raise ConfigError(f"--log {log_path} is a folder; give a file name")
        check_folder_path(log.parent if str(log.parent) else Path("."), "--log")
        if log.exists() and not force:
            raise ConfigError(
                f"--log {log_path} already exists; pass --force to overwrite it"
            )
    for flag in ("draw_to", "draw_to_2d"):
        path = draw[flag]
        if path is None:
            continue
        name = "--" + flag.replace("_", "-")
        check_folder_path(path, name)
        pictures = Path(path).is_dir() and any(Path(path).glob("*.png"))
        if pictures and not (force or resume):
            raise ConfigError(
                f"{name} {path} already holds pictures; pass --force to write over "
                "them, or choose another folder"
            )


def _tiles_width(config: RunConfig, n: int, draw) -> int | None:
    """Tiles per row of the 2-D picture: given, the grid's, or sqrt(N)."""
    if draw["draw_to_2d"] is None:
        return None
    width = draw["grid_width_2d"]
    if width is None and config.grid is not None:
        width = config.grid[0]
    if width is None:
        width = math.isqrt(n)
        if width * width != n:
            raise ConfigError(
                f"--draw-to-2d needs --grid-width-2d: {n} programs are not a square"
            )
    if width < 1 or n % width:
        raise ConfigError(
            f"--grid-width-2d {width} does not divide the {n} programs into rows"
        )
    return width


def _set_threads(threads: int) -> None:
    import numba

    limit = numba.config.NUMBA_NUM_THREADS
    if not 1 <= threads <= limit:
        raise ConfigError(f"--threads {threads}: expected 1 to {limit} on this machine")
    numba.set_num_threads(threads)


def _drive(simulation: Simulation, folder, log_path, quiet, draw, tiles_width) -> int:
    from rich.console import Console

    from complife.display import LiveView
    from complife.draw import save_png, soup_rows, soup_tiles
    from complife.metrics import reference_log_line

    config, soup = simulation.config, simulation.soup
    palette = soup.language.palette
    console = Console(quiet=quiet)
    log = open(log_path, "w") if log_path else None
    if log:
        log.write("epoch,brotli_size,soup_size,higher_entropy")
        log.write(",number_selfreps\n" if config.eval_selfrep else "\n")
    for flag in ("draw_to", "draw_to_2d"):
        if draw[flag] is not None:
            Path(draw[flag]).mkdir(parents=True, exist_ok=True)

    def interrupt(signum, frame):
        # Finish the epoch, report, checkpoint; a second Ctrl-C stops at once.
        simulation.request_stop("interrupted")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {
        sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    view = LiveView(config, soup.language, console, start_epoch=soup.epoch)
    simulation.on_epoch = view.epoch_done
    try:
        with view:
            for report in simulation.reports():
                if report.scheduled:
                    if folder is not None:
                        folder.record(report)
                    if log:
                        line = reference_log_line(report.epoch, report.metrics)
                        if config.eval_selfrep:
                            line += f",{report.selfrep_count}"
                        log.write(line + "\n")
                        log.flush()
                    name = f"{report.epoch:012d}.png"
                    if draw["draw_to"] is not None:
                        image = soup_rows(soup.programs, palette)
                        save_png(image, Path(draw["draw_to"]) / name)
                    if tiles_width is not None:
                        image = soup_tiles(soup.programs, palette, tiles_width)
                        save_png(image, Path(draw["draw_to_2d"]) / name)
                view.report(report, soup.programs)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if log:
            log.close()

    reason = simulation.stop_reason
    if folder is not None:
        folder.finish(soup.programs, config.language)
        if reason == "interrupted":
            folder.set_interrupted(report, soup.epoch)
        else:
            folder.set_status("finished", soup.epoch, reason)
    if reason == "interrupted":
        where = (
            f"; continue: complife run --out {folder.path} --resume" if folder else ""
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
