"""``complife z80``: run the Z80 soup into a run folder, and read programs.

::

    complife z80 run --out runs/z80 --batches 2000 --seed 1
    complife z80 disasm 3321100006082B562B5ED510F976
    complife z80 top runs/z80/checkpoints/0000002000.npz
    complife z80 families runs/z80
    complife z80 longtape --out runs/i8080-long --epochs 500 --seed 1

``longtape`` runs the 8080 long-tape soup (:mod:`complife.z80.longtape`) into its
own run folder: ``config.json``, ``metrics.csv``, ``checkpoints/NNNNNNNNNN.npz``
(the tape after that many epochs), ``tape.png`` (the tape as rows of 256 bytes)
and ``top_substrings.txt`` (the most common 2-, 4- and 8-byte substrings as
mnemonics).

A run folder holds ``config.json``, ``metrics.csv`` (one row per report),
``checkpoints/NNNNNNNNNN.npz`` (the soup after that many batches), ``soup.png``
(the grid as 4x4 tiles, at the last report) and ``top_programs.txt`` (most common
programs and families of programs as mnemonics, :mod:`complife.z80.families`).
``families`` lists a run's families with the first checkpoint that holds each.
``--resume`` continues from the newest checkpoint and gives the same soups as a run
that was never stopped; nothing is overwritten without ``--force``.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from pathlib import Path

import numpy as np

from complife.checkpoint import write_atomic
from complife.languages.z80 import palette
from complife.metrics import measure
from complife.z80 import families as fam
from complife.z80.disasm import disassemble, mnemonics
from complife.z80.soup import Z80Soup, Z80SoupConfig, most_common, tiles

COLUMNS = ("batch", "pairs", "ops", "brotli_bpb", "h0", "higher_entropy", "seconds")
_SETTINGS = ("width", "height", "steps", "mode", "seed", "max_pairs")


def add_parser(commands) -> None:
    """The ``z80`` subcommand and its own subcommands."""
    z80 = commands.add_parser(
        "z80",
        help="the paper's Z80 soup: run it, disassemble programs",
        description="The 2-D Z80 soup of the paper (znah/zff): 16-byte programs on "
        "a grid, 4-neighbour pairs run 128 steps on a fresh Z80 (or 8080).",
    )
    sub = z80.add_subparsers(dest="z80_command", metavar="ACTION")
    sub.required = True
    run = sub.add_parser("run", help="run a soup into a run folder")
    run.add_argument("--out", required=True, metavar="DIR", help="run folder")
    run.add_argument("--batches", type=int, default=1000, help="stop after [1000]")
    run.add_argument("--report-every", type=int, default=100, help="batches [100]")
    run.add_argument("--save-every", type=int, default=500, help="batches [500]")
    run.add_argument("--seed", type=int, default=0, help="run seed [0]")
    run.add_argument("--mode", default="z80", help="z80 or i8080 [z80]")
    run.add_argument("--width", type=int, default=200, help="grid width [200]")
    run.add_argument("--height", type=int, default=200, help="grid height [200]")
    run.add_argument("--steps", type=int, default=128, help="steps per pair [128]")
    run.add_argument(
        "--max-pairs", type=int, help="per batch [8192, at most half the cells]"
    )
    run.add_argument("--force", action="store_true", help="replace the run folder")
    run.add_argument("--resume", action="store_true", help="continue the run")
    dis = sub.add_parser("disasm", help="a program as mnemonics")
    dis.add_argument("program", metavar="HEX", help="program bytes in hex")
    dis.add_argument("--mode", default="z80", help="z80 or i8080 [z80]")
    top = sub.add_parser("top", help="most common programs of a checkpoint")
    top.add_argument(
        "checkpoint", metavar="PATH", help=".npz checkpoint or run folder (newest)"
    )
    top.add_argument("--top", type=int, default=10, help="programs listed [10]")
    families = sub.add_parser(
        "families",
        help="families of programs of a run (edit-distance groups) as mnemonics",
        description="Families of a Z80 soup (complife.z80.families): founders in "
        "order of count, each with every program within --distance edits; whether "
        "the founder copies itself into random partners; the first checkpoint "
        "holding a member.",
    )
    families.add_argument(
        "path", metavar="PATH", help="run folder (newest checkpoint) or .npz file"
    )
    families.add_argument(
        "--distance", type=int, default=fam.DISTANCE,
        help=f"edits to a founder [{fam.DISTANCE}]",
    )  # fmt: skip
    families.add_argument(
        "--top", type=int, default=fam.MAX_FAMILIES,
        help=f"families listed [{fam.MAX_FAMILIES}]",
    )  # fmt: skip
    families.add_argument(
        "--members", type=int, default=3, help="members shown per family [3]"
    )
    _add_longtape(sub)


def _add_longtape(sub) -> None:
    from complife.z80.longtape import LongTapeConfig

    d = LongTapeConfig()
    lt = sub.add_parser(
        "longtape",
        help="run the 8080 long-tape soup into a run folder",
        description="The paper's 8080 long tape (benlaurie/bff-ben): one circular "
        "tape; fresh 8080s start at random places and run up to --clocks T-states.",
    )
    lt.add_argument("--out", required=True, metavar="DIR", help="run folder")
    lt.add_argument("--epochs", type=int, default=100, help="stop after [100]")
    lt.add_argument("--report-every", type=int, default=10, help="epochs [10]")
    lt.add_argument("--save-every", type=int, default=50, help="epochs [50]")
    lt.add_argument("--seed", type=int, default=0, help="run seed [0]")
    lt.add_argument("--mode", default=d.mode, help=f"i8080 or z80 [{d.mode}]")
    lt.add_argument("--size", type=int, default=d.size, help=f"tape bytes [{d.size}]")
    lt.add_argument(
        "--clocks", type=int, default=d.clocks, help=f"T-states per run [{d.clocks}]"
    )
    lt.add_argument("--runs", type=int, default=d.runs, help=f"per epoch [{d.runs}]")
    lt.add_argument(
        "--clocks-per-mutation",
        type=int,
        default=d.clocks_per_mutation,
        help=f"one random byte per this many T-states, 0 none "
        f"[{d.clocks_per_mutation}]",
    )
    lt.add_argument("--force", action="store_true", help="replace the run folder")
    lt.add_argument("--resume", action="store_true", help="continue the run")


def main(args: dict) -> int:
    """Dispatch ``complife z80 ACTION``; ``args`` are the parsed flags."""
    action = args.pop("z80_command")
    if action == "disasm":
        return _disasm(args["program"], args["mode"])
    if action == "top":
        return _top(args["checkpoint"], args["top"])
    if action == "families":
        return _families(**args)
    if action == "longtape":
        return longtape(**args)
    return run(**args)


def _disasm(text: str, mode: str) -> int:
    try:
        code = bytes.fromhex(text)
    except ValueError:
        raise ValueError(
            f"program {text!r} is not hex pairs; write bytes such as '3E10D5'"
        ) from None
    for offset, raw, mnemonic in disassemble(code, mode):
        print(f"{offset:04X}  {raw.hex().upper():12s} {mnemonic}")
    return 0


def _checkpoint_of(path: str) -> Path:
    """``path`` if a file, else the newest checkpoint of the run folder ``path``."""
    given = Path(path)
    if given.is_dir():
        found = sorted((given / "checkpoints").glob("*.npz"))
        if not found:
            raise ValueError(
                f"{given} holds no checkpoints/*.npz; give a z80 run folder or a "
                "checkpoint file"
            )
        return found[-1]
    if not given.is_file():
        raise ValueError(f"{given} does not exist; give a run folder or .npz file")
    return given


def _top(path: str, top: int) -> int:
    with np.load(_checkpoint_of(path)) as f:
        programs, mode = f["programs"], str(f["mode"])
    for program, count in most_common(programs, top):
        print(f"{count:7d}  {program.hex().upper()}  {mnemonics(program, mode)}")
    return 0


def _families(path: str, distance: int, top: int, members: int) -> int:
    if not 0 <= distance < 16 or top < 1 or members < 0:
        raise ValueError(
            f"--distance {distance} --top {top} --members {members}: expected a "
            "distance of 0 to 15 edits, at least 1 family, 0 or more members"
        )
    checkpoint = _checkpoint_of(path)
    folder = checkpoint.parent.parent
    config = folder / "config.json"
    settings = json.loads(config.read_text()) if config.exists() else {}
    with np.load(checkpoint) as f:
        programs, mode, batch = f["programs"], str(f["mode"]), int(f["batch"])
    found = fam.families(
        programs, mode, settings.get("steps", 128), settings.get("seed", 0),
        distance, top,
    )  # fmt: skip
    fam.first_seen(folder, found, distance)
    print(f"{checkpoint}: {programs.shape[0]} programs after {batch} batches")
    for line in fam.lines(found, programs.shape[0], mode, members):
        print(line)
    return 0


def _checkpoint_name(batch: int) -> str:
    return f"{batch:010d}.npz"


def save_checkpoint(folder: Path, soup: Z80Soup) -> Path:
    """The soup after ``soup.batch`` batches, written atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, programs=soup.programs, batch=soup.batch, mode=soup.config.mode
    )
    path = folder / "checkpoints" / _checkpoint_name(soup.batch)
    write_atomic(path, buffer.getvalue())
    return path


def load_latest(folder: Path, soup: Z80Soup) -> bool:
    """Put the newest checkpoint of ``folder`` into ``soup``; False if none."""
    found = sorted((folder / "checkpoints").glob("*.npz"))
    if not found:
        return False
    with np.load(found[-1]) as f:
        soup.programs[:] = f["programs"]
        soup.batch = int(f["batch"])
    return True


def _prepare_folder(folder: Path, settings: dict, force: bool, resume: bool) -> None:
    """Check ``folder`` against ``settings`` (resume) or make it (fresh, --force)."""
    if resume:
        path = folder / "config.json"
        if not path.exists():
            raise ValueError(f"--resume: {path} does not exist; start the run first")
        saved = json.loads(path.read_text())
        if {k: saved.get(k) for k in settings} != settings:
            raise ValueError(
                f"--resume with other settings than {folder}/config.json "
                f"({saved}); give the same ones"
            )
    elif folder.exists() and any(folder.iterdir()):
        if not force:
            raise ValueError(
                f"run folder {folder} is not empty; give --force to replace it or "
                "--resume to continue it"
            )
        if not (folder / "config.json").exists():
            raise ValueError(f"{folder} is not a z80 run folder; --force refused")
        shutil.rmtree(folder)
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "config.json", json.dumps(settings, indent=2).encode())


def _check_intervals(report_every: int, save_every: int, unit: str) -> None:
    if report_every < 1 or save_every < 1 or save_every % report_every:
        raise ValueError(
            f"--save-every {save_every} must be a positive multiple of "
            f"--report-every {report_every} ({unit})"
        )


def run(
    out, batches, report_every, save_every, seed, mode, width, height, steps,
    max_pairs, force, resume,
) -> int:  # fmt: skip
    """``complife z80 run``: see the module docstring."""
    if max_pairs is None:
        max_pairs = min(8192, width * height // 2)
    config = Z80SoupConfig(width, height, steps, mode, seed, max_pairs)
    config.check()
    _check_intervals(report_every, save_every, "batches")
    folder = Path(out)
    settings = {k: config.to_dict()[k] for k in _SETTINGS}
    _prepare_folder(folder, settings, force, resume)

    soup = Z80Soup(config)
    rows = []
    if resume and load_latest(folder, soup):
        rows = [r for r in _read_rows(folder) if int(r["batch"]) <= soup.batch]
    colours = palette(mode)
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("z80 soup", total=batches, completed=soup.batch)
        while soup.batch < batches:
            start = time.perf_counter()
            soup.run_batch()
            progress.update(task, completed=soup.batch)
            if soup.batch % report_every == 0 or soup.batch == batches:
                m = measure(soup.programs)
                rows.append({
                    "batch": soup.batch, "pairs": soup.last_pairs,
                    "ops": soup.last_ops, "brotli_bpb": round(m.brotli_bpb, 6),
                    "h0": round(m.h0, 6),
                    "higher_entropy": round(m.higher_entropy, 6),
                    "seconds": round(time.perf_counter() - start, 4),
                })  # fmt: skip
                _write_rows(folder, rows)
                _write_pictures(folder, soup, colours)
            if soup.batch % save_every == 0 or soup.batch == batches:
                save_checkpoint(folder, soup)
    print(f"{folder}: {soup.batch} batches; top program:")
    program, count = most_common(soup.programs, 1)[0]
    print(f"{count:7d}  {mnemonics(program, mode)}")
    return 0


def _read_rows(folder: Path) -> list[dict]:
    path = folder / "metrics.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _write_rows(folder: Path, rows: list[dict], columns=COLUMNS) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(folder / "metrics.csv", text.getvalue().encode())


def _write_pictures(folder: Path, soup: Z80Soup, colours: np.ndarray) -> None:
    from complife.draw import save_png

    image = tiles(soup.programs, colours, soup.config.width)
    save_png(image, folder / "soup.png", scale=1)
    lines = [f"after {soup.batch} batches"]
    for program, count in most_common(soup.programs, 20):
        text = mnemonics(program, soup.config.mode)
        lines.append(f"{count:7d}  {program.hex().upper()}  {text}")
    c = soup.config
    found = fam.families(soup.programs, c.mode, c.steps, c.seed)
    lines += ["", f"families (within {fam.DISTANCE} edits of a founder):"]
    lines += fam.lines(found, soup.programs.shape[0], c.mode)
    write_atomic(folder / "top_programs.txt", ("\n".join(lines) + "\n").encode())


# ---------------------------------------------------------------------------------
# complife z80 longtape

LONGTAPE_COLUMNS = (
    "epoch", "runs", "ops", "clocks", "halts", "mutations", "brotli_bpb", "h0",
    "higher_entropy", "period2_share", "top_pair", "top_pair_share", "seconds",
)  # fmt: skip


def save_longtape(folder: Path, soup) -> Path:
    """The tape after ``soup.epoch`` epochs and the state a resume needs, written
    atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, tape=soup.tape, epoch=soup.epoch, carry=soup.carry,
        totals=soup.totals, mode=soup.config.mode,
    )  # fmt: skip
    path = folder / "checkpoints" / _checkpoint_name(soup.epoch)
    write_atomic(path, buffer.getvalue())
    return path


def load_longtape(folder: Path, soup) -> bool:
    """Put the newest checkpoint of ``folder`` into ``soup``; False if none."""
    found = sorted((folder / "checkpoints").glob("*.npz"))
    if not found:
        return False
    with np.load(found[-1]) as f:
        if f["tape"].shape != soup.tape.shape:
            raise ValueError(
                f"{found[-1]} holds a tape of {f['tape'].size} bytes, not "
                f"{soup.tape.size}; give the run's own --size"
            )
        soup.tape[:] = f["tape"]
        soup.epoch = int(f["epoch"])
        soup.carry = int(f["carry"])
        soup.totals[:] = f["totals"]
    return True


def longtape(
    out, epochs, report_every, save_every, seed, mode, size, clocks, runs,
    clocks_per_mutation, force, resume,
) -> int:  # fmt: skip
    """``complife z80 longtape``: see the module docstring."""
    from complife.z80.longtape import LongTape, LongTapeConfig

    config = LongTapeConfig(size, clocks, runs, clocks_per_mutation, mode, seed)
    config.check()
    if epochs < 1:
        raise ValueError(f"--epochs {epochs}: expected at least 1")
    _check_intervals(report_every, save_every, "epochs")
    folder = Path(out)
    _prepare_folder(folder, config.to_dict(), force, resume)

    soup = LongTape(config)
    rows = []
    if resume and load_longtape(folder, soup):
        rows = [r for r in _read_rows(folder) if int(r["epoch"]) <= soup.epoch]
    colours = palette(mode)
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("long tape", total=epochs, completed=soup.epoch)
        start = time.perf_counter()
        while soup.epoch < epochs:
            soup.run_epoch()
            progress.update(task, completed=soup.epoch)
            if soup.epoch % report_every == 0 or soup.epoch == epochs:
                rows.append(_longtape_row(soup, time.perf_counter() - start))
                _write_rows(folder, rows, LONGTAPE_COLUMNS)
                _write_longtape_pictures(folder, soup, colours)
                start = time.perf_counter()
            if soup.epoch % save_every == 0 or soup.epoch == epochs:
                save_longtape(folder, soup)
    print(f"{folder}: {soup.epoch} epochs; most common pairs of bytes:")
    for line in _substring_lines(soup.tape, mode, (2,), 3):
        print(line)
    return 0


def _longtape_row(soup, seconds: float) -> dict:
    from complife.z80.longtape import (
        CLOCKS,
        HALTS,
        MUTATIONS,
        OPS,
        ngrams,
        period2_share,
    )

    m = measure(soup.tape.reshape(1, -1))
    pair, count = ngrams(soup.tape, 2, 1)[0]
    return {
        "epoch": soup.epoch, "runs": soup.epoch * soup.config.runs,
        "ops": int(soup.totals[OPS]), "clocks": int(soup.totals[CLOCKS]),
        "halts": int(soup.totals[HALTS]), "mutations": int(soup.totals[MUTATIONS]),
        "brotli_bpb": round(m.brotli_bpb, 6), "h0": round(m.h0, 6),
        "higher_entropy": round(m.higher_entropy, 6),
        "period2_share": round(period2_share(soup.tape), 6),
        "top_pair": pair.hex().upper(),
        "top_pair_share": round(count / soup.tape.size, 6),
        "seconds": round(seconds, 4),
    }  # fmt: skip


def _substring_lines(tape, mode: str, lengths, top: int) -> list[str]:
    """The most common substrings as mnemonics. A two-byte one is shown repeated
    (three times), since that is how a two-byte replicator lies on the tape and
    what a CPU meets when it starts on it."""
    from complife.z80.longtape import ngrams

    lines = []
    for n in lengths:
        lines.append(f"{n}-byte substrings (count, hex, mnemonics):")
        for gram, count in ngrams(tape, n, top):
            code = gram * 3 if n == 2 else gram
            shown = f"{mnemonics(code, mode)}" + (" (repeated)" if n == 2 else "")
            lines.append(f"{count:7d}  {gram.hex().upper():16s}  {shown}")
    return lines


def _write_longtape_pictures(folder: Path, soup, colours: np.ndarray) -> None:
    from complife.draw import save_png
    from complife.z80.longtape import tape_image

    save_png(tape_image(soup.tape, colours), folder / "tape.png", scale=2)
    lines = [f"after {soup.epoch} epochs", ""]
    lines += _substring_lines(soup.tape, soup.config.mode, (2, 4, 8), 10)
    write_atomic(folder / "top_substrings.txt", ("\n".join(lines) + "\n").encode())
