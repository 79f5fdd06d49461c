"""The command line: the reference's flags, run folders, resume, and bad input."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import golden_path

ENV = {**os.environ, "NUMBA_NUM_THREADS": "2", "COLUMNS": "120"}
SMALL = ["--lang", "bff_noheads", "--num", "1024", "--seed", "7"]


def complife(*args, cwd=None, check=True):
    done = subprocess.run(
        [sys.executable, "-m", "complife", *map(str, args)],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=cwd,
        timeout=300,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def reference_columns(folder: Path) -> list[list[str]]:
    with open(folder / "metrics.csv") as f:
        return [row[:4] for row in csv.reader(f)]


#: Columns that depend on the clock, not on the soup.
TIMING = ("mops_per_s", "epochs_per_s", "elapsed_s")


def soup_columns(folder: Path) -> list[dict]:
    """Every metrics.csv column but the timing ones."""
    with open(folder / "metrics.csv") as f:
        return [
            {k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(f)
        ]


def test_reference_flags_and_log_reproduce_a_golden_checkpoint(tmp_path):
    golden = golden_path("checkpoints", "bff_noheads_num1024_seed99")
    complife(
        "run",
        "--lang",
        "bff_noheads",
        "--num",
        "1024",
        "--seed",
        "99",
        "--max_epochs",
        "256",
        "--print_interval",
        "64",
        "--save_interval",
        "64",
        "--checkpoint_dir",
        tmp_path / "ck",
        "--log",
        tmp_path / "log.csv",
        "--disable_output",
    )
    for f in golden.glob("*.dat"):
        assert (tmp_path / "ck" / f.name).read_bytes() == f.read_bytes()
    lines = (tmp_path / "log.csv").read_text().splitlines()
    assert lines[0] == "epoch,brotli_size,soup_size,higher_entropy"
    assert [line.split(",")[0] for line in lines[1:]] == [
        "1",
        "65",
        "129",
        "193",
        "257",
    ]


def test_run_folder_contents(tmp_path):
    out = tmp_path / "run"
    complife("run", *SMALL, "--max-epochs", "128", "--out", out, "--disable-output")
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        ".lock",
        "checkpoints",
        "config.json",
        "entropy.png",
        "metrics.csv",
        "soup.png",
        "status.json",
        "top_programs.txt",
    ]
    rows = reference_columns(out)
    assert rows[0] == ["epoch", "brotli_size", "soup_size", "higher_entropy"]
    assert [r[0] for r in rows[1:]] == ["1", "65", "129"]
    assert (out / "entropy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    top = (out / "top_programs.txt").read_text().splitlines()
    assert top[0].startswith("# 20 most common programs of 1024")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lang", "bff_nohead"], "unknown language 'bff_nohead'"),
        (["--num", "1023"], "even"),
        (["--mutation-prob", "1.5"], "[0, 1]"),
        (["--mutation-prob", "-0.1"], "[0, 1]"),
        (["--mutation-prob", "lots"], "not a number"),
        (["--save-interval", "100"], "multiple of print interval"),
        (["--seed", "-3"], "seed"),
        (["--initial-program", "[x]"], "position 1"),
        (["--max-epochs", "many"], "invalid int value"),
        (["--frobnicate"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_touches_nothing(tmp_path, args, message):
    base = {"--lang": "bff_noheads", "--num": "64"}
    flags = dict(base)
    i = 0
    extra = []
    while i < len(args):
        if i + 1 < len(args) and not args[i + 1].startswith("--"):
            flags[args[i]] = args[i + 1]
            i += 2
        else:
            extra.append(args[i])
            i += 1
    argv = [x for kv in flags.items() for x in kv] + extra
    done = complife(
        "run",
        *argv,
        "--out",
        tmp_path / "run",
        "--log",
        tmp_path / "log.csv",
        "--disable-output",
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_language_is_named(tmp_path):
    done = complife("run", "--num", "64", check=False)
    assert done.returncode == 2 and "--lang is required" in done.stderr


def test_bad_checkpoints_are_refused(tmp_path):
    truncated = tmp_path / "cut.dat"
    truncated.write_bytes(b"\1\0\0\0\0\0\0\0" * 3 + bytes(100))
    foreign = tmp_path / "foreign.dat"
    foreign.write_bytes(b"%PDF-1.7\n" + bytes(500))
    for path in (truncated, foreign, tmp_path / "missing.dat"):
        done = complife(
            "run",
            "--lang",
            "bff_noheads",
            "--load",
            path,
            "--disable-output",
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert path.name in done.stderr and len(done.stderr.splitlines()) == 1


def test_checkpoint_errors_say_what_is_wrong(tmp_path):
    from complife.checkpoint import HEADER, CheckpointError, read_checkpoint

    whole = HEADER.pack(1, 2, 5) + bytes(128)
    cases = {
        "long.dat": (whole + bytes(64), "too long"),
        "short.dat": (whole[:-1], "truncated"),
        "absurd.dat": (
            HEADER.pack(1, 1 << 62, 5) + bytes(128),
            "this is not a complife or cubff checkpoint",
        ),
        "odd.dat": (HEADER.pack(1, 3, 5) + bytes(192), "not a complife or cubff"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError, match=message):
            read_checkpoint(tmp_path / name)
    with pytest.raises(CheckpointError) as caught:
        read_checkpoint(tmp_path / "long.dat")
    assert "truncated" not in str(caught.value)
    (tmp_path / "whole.dat").write_bytes(whole)
    assert read_checkpoint(tmp_path / "whole.dat").num_programs == 2


def test_existing_run_folder_needs_force(tmp_path):
    out = tmp_path / "run"
    complife("run", *SMALL, "--max-epochs", "64", "--out", out, "--disable-output")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    done = complife(
        "run",
        *SMALL,
        "--max-epochs",
        "64",
        "--out",
        out,
        "--disable-output",
        check=False,
    )
    assert done.returncode == 2 and "--force" in done.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    complife(
        "run", *SMALL, "--max-epochs", "64", "--out", out, "--force", "--disable-output"
    )


def test_force_refuses_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    done = complife(
        "run", *SMALL, "--out", tmp_path, "--force", "--disable-output", check=False
    )
    assert done.returncode == 2 and "not a run folder" in done.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def _uninterrupted(tmp_path, epochs):
    out = tmp_path / "whole"
    complife(
        "run",
        *SMALL,
        "--max-epochs",
        epochs,
        "--save-interval",
        "128",
        "--out",
        out,
        "--disable-output",
    )
    return out


def test_resume_after_a_crash_gives_the_uninterrupted_run(tmp_path):
    whole = _uninterrupted(tmp_path, 640)
    crashed = tmp_path / "crashed"
    complife(
        "run",
        *SMALL,
        "--max-epochs",
        640,
        "--save-interval",
        "128",
        "--out",
        crashed,
        "--disable-output",
    )
    # As if killed while writing a row after the checkpoint of epoch 256: later
    # checkpoints gone, rows past it kept, and a torn last line.
    for p in (crashed / "checkpoints").glob("*.dat"):
        if p.name > "0000000256.dat":
            p.unlink()
    with open(crashed / "metrics.csv", "a") as f:
        f.write("705,123")
    (crashed / "status.json").write_text('{"state": "running"}')
    complife("run", "--out", crashed, "--resume", "--disable-output")
    assert soup_columns(crashed) == soup_columns(whole)
    # Byte for byte, apart from the clock: "\n" line ends only, in both.
    files = [(folder / "metrics.csv").read_bytes() for folder in (crashed, whole)]
    assert all(b"\r" not in data for data in files)
    header = files[0].split(b"\n")[0].decode().split(",")
    timing = [header.index(name) for name in TIMING]

    def untimed(data: bytes) -> list[list[bytes]]:
        lines = [line.split(b",") for line in data.split(b"\n")]
        return [[v for i, v in enumerate(f) if i not in timing] for f in lines]

    assert untimed(files[0]) == untimed(files[1])
    for p in (whole / "checkpoints").glob("*.dat"):
        assert (crashed / "checkpoints" / p.name).read_bytes() == p.read_bytes()


def test_interrupt_saves_a_checkpoint_and_resume_continues(tmp_path):
    args = [
        "--lang",
        "bff_noheads",
        "--num",
        "16384",
        "--seed",
        "7",
        "--max-epochs",
        "1024",
        "--save-interval",
        "512",
    ]
    whole = tmp_path / "whole"
    complife("run", *args, "--out", whole, "--disable-output")
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "complife",
            "run",
            *args,
            "--out",
            str(out),
            "--disable-output",
        ],
        env=ENV,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while not (out / "checkpoints" / "0000000000.dat").exists():
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--resume" in err
    complife("run", "--out", out, "--resume", "--disable-output")
    assert soup_columns(out) == soup_columns(whole)
    final = "0000001024.dat"
    assert (out / "checkpoints" / final).read_bytes() == (
        whole / "checkpoints" / final
    ).read_bytes()


def test_resume_refuses_changed_soup_settings(tmp_path):
    out = tmp_path / "run"
    complife("run", *SMALL, "--max-epochs", "64", "--out", out, "--disable-output")
    done = complife("run", "--out", out, "--resume", "--seed", "8", check=False)
    assert done.returncode == 2 and "--seed" in done.stderr


def test_resume_can_extend_the_run(tmp_path):
    out = tmp_path / "run"
    complife(
        "run",
        *SMALL,
        "--max-epochs",
        "256",
        "--save-interval",
        "64",
        "--out",
        out,
        "--disable-output",
    )
    complife("run", "--out", out, "--resume", "--max-epochs", "512", "--disable-output")
    whole = tmp_path / "whole"
    complife(
        "run",
        *SMALL,
        "--max-epochs",
        "512",
        "--save-interval",
        "64",
        "--out",
        whole,
        "--disable-output",
    )
    assert reference_columns(out) == reference_columns(whole)


def test_exec_runs_one_program():
    done = complife("exec", "bff_noheads", "[[{.>]-]]-]>.{[[")
    lines = done.stdout.splitlines()
    assert lines[-2] == "ops: 32768"
    # The palindrome copies itself, reversed, to the end of the tape.
    assert lines[-1].endswith("[[{.>]-]]-]>.{[[")


def test_exec_trace_shows_each_step():
    done = complife("exec", "bff_noheads", "+>[<]", "--trace", "--steps", "3")
    steps = [line for line in done.stdout.splitlines() if line.startswith("step")]
    assert steps == [
        "step      0 pc    0 heads   0   0",
        "step      1 pc    1 heads   0   0",
        "step      2 pc    2 heads   1   0",
    ]
    assert "ops: 3" in done.stdout


def test_selfrep_command():
    done = complife("selfrep", "bff_noheads", "[[{.>]-]0000000000000000]-]>.{[[")
    assert done.stdout.startswith("score ") and "a replicator" in done.stdout
    done = complife("selfrep", "bff_noheads", "+++")
    assert "not a replicator" in done.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["exec", "bff_noheads", "[x]"],
        ["selfrep", "bff_noheads", "[x]"],
        ["exec", "nonsense", "+"],
        ["selfrep", "bff_noheads", "+" * 65],
    ],
)
def test_program_commands_reject_bad_programs(argv):
    done = complife(*argv, check=False)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr


def test_draw_to_writes_pictures_at_every_report(tmp_path):
    complife(
        "run", "--lang", "bff", "--grid", "8", "4", "--max-epochs", "64",
        "--draw-to", tmp_path / "rows", "--draw-to-2d", tmp_path / "tiles",
        "--disable-output",
    )  # fmt: skip
    for kind, size in (("rows", None), ("tiles", (64, 32))):
        names = sorted(p.name for p in (tmp_path / kind).iterdir())
        assert names == ["000000000001.png", "000000000065.png"]
        if size:
            from PIL import Image

            assert Image.open(tmp_path / kind / names[0]).size == size


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", "16", "8", "--num", "100"], "holds 128 programs"),
        (["--interaction-pattern", "PATTERN", "--num", "64"], "line 2"),
        (["--fixed-shuffle", "--num", "96"], "power-of-two"),
        (["--fixed-shuffle", "--nopermute_programs"], "choose one"),
        (["--stopping-selfrep-count", "3"], "needs --eval-selfrep"),
        (["--draw-to-2d", "DRAW", "--num", "96"], "not a square"),
        (["--keep-tokens", "3"], "--keep-tokens has no effect without --trace-tokens"),
        (["--no-trace-tokens", "--keep-tokens", "0"], "has no effect without"),
    ],
)
def test_bad_soup_options(tmp_path, args, message):
    pattern = tmp_path / "pattern.txt"
    pattern.write_text("0 1\n1 5000\n")
    args = [str(pattern) if a == "PATTERN" else a for a in args]
    args = [str(tmp_path / "draw") if a == "DRAW" else a for a in args]
    done = complife("run", "--lang", "bff", *args, "--disable-output", check=False)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pattern.txt"]


def test_resuming_a_finished_run_does_nothing_unless_told_to_go_on(tmp_path):
    out = tmp_path / "run"
    complife("run", *SMALL, "--max-epochs", "64", "--out", out, "--disable-output")
    before = (out / "metrics.csv").read_text()
    done = complife("run", "--out", out, "--resume", "--disable-output")
    assert "is finished" in done.stderr
    assert (out / "metrics.csv").read_text() == before


def test_two_runs_never_share_a_folder(tmp_path):
    out = tmp_path / "run"
    args = ["--lang", "bff_noheads", "--num", "16384", "--max-epochs", "100000"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "complife", "run", *args, "--out", str(out),
         "--disable-output"],
        env=ENV, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 120
        while not (out / "status.json").exists():
            assert time.time() < deadline and proc.poll() is None
            time.sleep(0.05)
        done = complife(
            "run", "--out", out, "--resume", "--disable-output", check=False
        )
        assert done.returncode == 2 and "in use" in done.stderr, done.stderr
        done = complife("run", *args, "--out", out, "--force", check=False)
        assert done.returncode == 2 and "in use" in done.stderr, done.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert (out / "config.json").exists()


def test_checkpoint_dir_and_log_of_another_run_are_not_overwritten(tmp_path):
    first = [*SMALL, "--max-epochs", "64", "--checkpoint-dir", tmp_path / "ck"]
    complife("run", *first, "--log", tmp_path / "log.csv", "--disable-output")
    before = {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    other = ["--lang", "bff", "--num", "1024", "--max-epochs", "64"]
    for extra, message in (
        (["--checkpoint-dir", tmp_path / "ck"], "already holds checkpoints"),
        (["--log", tmp_path / "log.csv"], "already exists"),
    ):
        done = complife("run", *other, *extra, "--disable-output", check=False)
        assert done.returncode == 2 and message in done.stderr, done.stderr
    after = {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


def test_force_with_a_bad_checkpoint_dir_keeps_the_old_run(tmp_path):
    out = tmp_path / "run"
    complife("run", *SMALL, "--max-epochs", "64", "--out", out, "--disable-output")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    afile = tmp_path / "afile"
    afile.write_text("x")
    done = complife("run", *SMALL, "--out", out, "--force", "--checkpoint-dir",
                    afile, "--disable-output", check=False)  # fmt: skip
    assert done.returncode == 2 and "not a folder" in done.stderr, done.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    ("flag", "target"),
    [
        ("--out", "afile/run"),
        ("--checkpoint-dir", "afile/ck"),
        ("--draw-to", "afile/pictures"),
        ("--log", "afile/log.csv"),
        ("--log", "."),
    ],
)
def test_unwritable_outputs_are_one_line_errors(tmp_path, flag, target):
    (tmp_path / "afile").write_text("x")
    done = complife("run", *SMALL, "--max-epochs", "64", flag, target,
                    "--disable-output", cwd=tmp_path, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_config_records_the_loaded_soup_size(tmp_path):
    golden = golden_path("checkpoints", "bff_noheads_num1024_seed99")
    out = tmp_path / "run"
    load = golden / "0000000128.dat"
    complife("run", "--lang", "bff_noheads", "--seed", "99", "--max-epochs", "256",
             "--load", load, "--out", out, "--disable-output")  # fmt: skip
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["num_programs"] == 1024


def test_resume_passes_over_a_damaged_newest_checkpoint(tmp_path):
    whole = _uninterrupted(tmp_path, 640)
    out = tmp_path / "run"
    complife("run", *SMALL, "--max-epochs", 640, "--save-interval", "128",
             "--out", out, "--disable-output")  # fmt: skip
    (out / "status.json").write_text('{"state": "running"}')
    newest = out / "checkpoints" / "0000000640.dat"
    newest.write_bytes(newest.read_bytes()[:100])
    done = complife("run", "--out", out, "--resume", "--disable-output")
    assert "passed over damaged checkpoint 0000000640.dat" in done.stderr
    assert soup_columns(out) == soup_columns(whole)


def test_resume_before_the_first_save_starts_from_the_loaded_file(tmp_path):
    golden = golden_path("checkpoints", "bff_noheads_num1024_seed99")
    out = tmp_path / "run"
    args = ["--lang", "bff_noheads", "--seed", "99", "--load",
            golden / "0000000128.dat", "--save-interval", "256"]  # fmt: skip
    complife("run", *args, "--max-epochs", "192", "--out", out, "--disable-output")
    shutil.rmtree(out / "checkpoints")
    (out / "checkpoints").mkdir()
    (out / "status.json").write_text('{"state": "running"}')
    complife("run", "--out", out, "--resume", "--max-epochs", "256", "--disable-output")
    final = (out / "checkpoints" / "0000000256.dat").read_bytes()
    assert final == (golden / "0000000256.dat").read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stopping-entropy", "nan"], "finite"),
        (["--stopping-bpb", "inf"], "finite"),
        (["--grid", "3", "3"], "odd"),
        (["--num", str(1 << 40)], "at most 2**31"),
        (["--max-epochs", str(10**23)], "2**48"),
    ],
)
def test_implausible_values_are_refused(args, message):
    done = complife("run", "--lang", "bff", *args, "--disable-output", check=False)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_resume_names_the_flags_it_refuses(tmp_path):
    out = tmp_path / "run"
    complife("run", *SMALL, "--max-epochs", "64", "--out", out, "--disable-output")
    done = complife("run", "--out", out, "--resume", "--num", "2048", check=False)
    assert "drop --num " in done.stderr
    done = complife("run", "--out", tmp_path / "nothing", "--resume", check=False)
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_a_folder_let_go_can_be_held_again(tmp_path):
    from complife.runfolder import RunFolder, RunFolderError

    (tmp_path / "run").mkdir()
    with RunFolder(tmp_path / "run") as first:
        first.lock()
        with pytest.raises(RunFolderError, match="in use"):
            RunFolder(tmp_path / "run").lock()
    second = RunFolder(tmp_path / "run")
    second.lock()  # the with block let go of the first hold
    second.unlock()
    second.unlock()  # a no-op when not held


def test_a_run_killed_while_it_started_can_start_again(tmp_path):
    from complife.cli import main
    from complife.runfolder import RunFolder, RunFolderError

    # What create() leaves when killed before config.json is written.
    folder = tmp_path / "run"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / ".lock").write_text("pid 1")
    (folder / ".config.json.abc123.tmp").write_text("{")
    RunFolder(folder).check_new(force=False)
    assert main(["run", "--lang", "bff", "--num", "64", "--max-epochs", "2",
                 "--disable-output", "--out", str(folder)]) == 0  # fmt: skip
    assert (folder / "config.json").exists()

    # Anything else in it still makes it someone else's folder.
    other = tmp_path / "other"
    (other / "checkpoints").mkdir(parents=True)
    (other / "checkpoints" / "0000000000.dat").write_bytes(b"")
    with pytest.raises(RunFolderError, match=r"holds no config\.json"):
        RunFolder(other).check_new(force=False)
