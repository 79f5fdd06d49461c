"""complife sweep: config expansion and errors, the results table against the run
folders and a plain Simulation, resume after a kill, and Ray against local workers."""

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from complife.cli import main
from complife.simulation import Simulation
from complife.sweep.config import (
    SweepConfigError,
    key_lines,
    load_sweep,
    parse_sweep,
)
from complife.sweep.execute import SweepError, run_sweep
from complife.sweep.plots import transition_curve
from complife.sweep.table import build_table, read_table, wilson_interval

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

# Small soups (2^11 BFF programs, ~0.5 s a run on one thread), with a low threshold
# so that some runs "transition" and some do not in 512 epochs.
SMALL = """\
[sweep]
name = "small"
transition_entropy = 0.25

[runs]
language = "bff_noheads"
num_programs = 2048
seeds = [0, 1, 2, 3]
max_epochs = 512
print_interval = 32
save_interval = 64

[[group]]
name = "mixed"

[[group]]
name = "ring"
pairing = "ring"
mutation_prob = [0.0, 0.001]
seeds = {first = 7, count = 1}
"""


@pytest.fixture(scope="module")
def small_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "small.toml"
    path.write_text(SMALL)
    return path


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, small_config) -> Path:
    """The small sweep run once, start to end, on two local workers."""
    out = tmp_path_factory.mktemp("sweeps") / "whole"
    assert main(["sweep", "run", str(small_config), "--out", str(out)]) == 0
    return out


def _table(out: Path):
    import pyarrow.parquet as pq

    return pq.read_table(out / "results.parquet")


# The config file.


def test_expansion_order_and_settings():
    sweep = parse_sweep(SMALL)
    assert sweep.name == "small" and sweep.transition_entropy == 0.25
    assert sweep.groups == ["mixed", "ring"]
    assert [s.seed for s in sweep.runs] == [0, 1, 2, 3, 7, 7]
    mixed, ring0, ring1 = sweep.runs[0], sweep.runs[4], sweep.runs[5]
    assert mixed.mutation_prob == 1 / 4096 and mixed.pairing == "well_mixed"
    assert (ring0.mutation_prob, ring1.mutation_prob) == (0.0, 0.001)
    config = ring1.run_config()
    assert config.permute_programs is False and config.fixed_shuffle is False
    assert config.num_programs == 2048 and config.save_interval == 64
    assert len({s.folder for s in sweep.runs}) == 6


def test_key_lines_finds_keys_of_tables_and_groups():
    lines = key_lines(SMALL)
    assert lines[("runs", "seeds")] == 8
    assert lines[("group", 0)] == 13
    assert lines[("group", 1, "mutation_prob")] == 19
    assert lines[("sweep", "transition_entropy")] == 3


def _error(text: str) -> str:
    with pytest.raises(SweepConfigError) as caught:
        parse_sweep(text, "s.toml")
    return str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("max_epochs = 512", "max_epoch = 512", 9, "did you mean 'max_epochs'"),
        ("num_programs = 2048", "num_programs = 4095", 7, "even count"),
        ("mutation_prob = [0.0, 0.001]", "mutation_prob = [0.0, 1.5]", 19, "[0, 1]"),
        ('pairing = "ring"', 'pairing = "torus"', 18, "well_mixed"),
        ("seeds = [0, 1, 2, 3]", "seeds = [0, 1, 1]", 8, "twice"),
        ("save_interval = 64", "save_interval = 48", 11, "multiple"),
        ('language = "bff_noheads"', 'language = "bff9"', 6, "bff9"),
        ("print_interval = 32", "print_interval = [32, 64]", 10, "one value"),
        ('name = "ring"', 'name = "mixed"', 17, "used twice"),
        ("[runs]", "[run]", 5, "unknown table"),
        ("num_programs = 2048", 'num_programs = "2048"', 7, "whole, even number"),
        ("num_programs = 2048", "num_programs = 2048.0", 7, "whole, even number"),
        ("mutation_prob = [0.0, 0.001]", 'mutation_prob = "0.001"', 19, "per byte"),
        ("transition_entropy = 0.25", "transition_entropy = nan", 3, "above 0"),
        ("transition_entropy = 0.25", "transition_entropy = -3", 3, "above 0"),
        # Runs that stop below the threshold could never count as transitioned.
        (
            "max_epochs = 512",
            "max_epochs = 512\nstopping_entropy = 0.1",
            10,
            "below the sweep's transition_entropy 0.25",
        ),
        (
            "max_epochs = 512",
            "max_epochs = 512\nstopping_entropy = nan",
            10,
            "finite number",
        ),
        ("transition_entropy = 0.25", "transition_entropy = inf", 3, "finite"),
    ],
)
def test_bad_config_names_the_line(old, new, line, words):
    assert old in SMALL
    message = _error(SMALL.replace(old, new, 1))
    assert message.startswith(f"s.toml:{line}: "), message
    assert words in message


def test_syntax_error_names_the_line():
    assert "line 7" in _error(SMALL.replace("num_programs = 2048", "num_programs ="))


# The table.


def test_minus_zero_is_the_rate_zero():
    text = SMALL.replace("mutation_prob = [0.0, 0.001]", "mutation_prob = [-0.0]")
    runs = parse_sweep(text).runs
    assert runs[-1].folder == parse_sweep(SMALL).runs[4].folder
    assert "-p0.0-" in runs[-1].folder


def test_wilson_interval_is_exact_at_none_and_all():
    # A bound a rounding error inside [0, 1] would make a negative error bar.
    for n in range(1, 200):
        assert wilson_interval(0, n)[0] == 0.0 and wilson_interval(n, n)[1] == 1.0


def test_wilson_interval_closed_form():
    # Published values of the 95 % Wilson interval.
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-5)
    assert wilson_interval(5, 10) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    # Its bounds q solve the score test's equation (p - q)^2 = z^2 q (1 - q) / n.
    z = 1.959964
    for k, n in ((40, 100), (3, 1000), (7, 9)):
        for q in wilson_interval(k, n):
            assert (k / n - q) ** 2 == pytest.approx(z * z * q * (1 - q) / n)


def test_transition_curve_counts_runs_by_epoch():
    rows = [{"transition_epoch": e} for e in (33, 65, None, 65)]
    curve = transition_curve(rows, np.array([0, 32, 33, 64, 65, 1000]))
    assert curve.tolist() == [0, 0, 0.25, 0.25, 0.75, 0.75]


def test_table_matches_run_folders_and_a_plain_run(uninterrupted):
    sweep = parse_sweep(SMALL)
    rows = read_table(uninterrupted / "results.parquet")
    assert [r["run_id"] for r in rows] == [s.run_id for s in sweep.runs]
    for row in rows:
        with open(uninterrupted / row["folder"] / "metrics.csv") as f:
            entropies = [(int(r["epoch"]), float(r["higher_entropy"]))
                         for r in csv.DictReader(f)]  # fmt: skip
        first = [e for e, h in entropies if h >= 0.25]
        assert row["transition_epoch"] == (first[0] if first else None)
        assert row["transitioned"] == bool(first)
        assert row["final_epoch"] == entropies[-1][0] == 513
        assert row["higher_entropy"] == entropies[-1][1]
        assert row["stop_reason"] == "reached epoch 513 > max epochs 512"
        saved = list((uninterrupted / row["folder"] / "checkpoints").glob("*.dat"))
        assert [p.name for p in saved] == ["0000000512.dat"]
    assert 0 < sum(r["transitioned"] for r in rows) < len(rows), "threshold too far"

    # The sweep's run is the plain API's run of the same settings.
    spec = sweep.runs[5]
    report = list(Simulation(spec.run_config()).reports())[-1]
    row = rows[5]
    assert row["total_ops"] == report.total_ops
    assert row["brotli_size"] == report.metrics.brotli_size
    assert row["higher_entropy"] == float(f"{report.metrics.higher_entropy:f}")


def test_rerun_skips_finished_runs_and_refuses_another_config(uninterrupted):
    before = _table(uninterrupted)
    results = run_sweep(parse_sweep(SMALL), uninterrupted, workers=1)
    assert {r.state for r in results} == {"skipped"}
    assert _table(uninterrupted).equals(before)
    other = parse_sweep(SMALL.replace("max_epochs = 512", "max_epochs = 256"))
    with pytest.raises(SweepError, match="another config"):
        run_sweep(other, uninterrupted)


def test_cli_refuses_a_folder_of_another_config_before_running(
    tmp_path, uninterrupted, capsys
):
    other = tmp_path / "other.toml"
    other.write_text(SMALL.replace("max_epochs = 512", "max_epochs = 256"))
    command = ["sweep", "run", str(other), "--out", str(uninterrupted)]
    assert main(command) == 2
    captured = capsys.readouterr()
    assert "another config" in captured.err
    assert captured.out == "", "no progress bar before the refusal"


def test_runs_go_in_rounds_of_seeds_begun_runs_first(tmp_path):
    from complife.sweep.execute import run_order

    sweep = parse_sweep(SMALL)
    order = [
        (s.group, s.mutation_prob, s.seed) for s in run_order(sweep.runs, tmp_path)
    ]
    assert order == [
        ("mixed", 1 / 4096, 0), ("ring", 0.0, 7), ("ring", 0.001, 7),
        ("mixed", 1 / 4096, 1), ("mixed", 1 / 4096, 2), ("mixed", 1 / 4096, 3),
    ]  # fmt: skip

    # A run a stopped sweep had begun goes first.
    begun = tmp_path / sweep.runs[2].folder
    begun.mkdir(parents=True)
    (begun / "status.json").write_text('{"state": "running"}')
    assert run_order(sweep.runs, tmp_path)[0] == sweep.runs[2]


def test_killed_sweep_resumes_to_the_same_table(tmp_path, small_config, uninterrupted):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "complife", "sweep", "run", str(small_config),
               "--out", str(out), "--workers", "2"]  # fmt: skip
    # Its own session, so that the kill takes the workers too, as a job kill would.
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    process = subprocess.Popen(command, start_new_session=True, **quiet)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = [json.loads(p.read_text())["state"]
                      for p in out.glob("runs/*/*/status.json")]  # fmt: skip
            started = list(out.glob("runs/*/*/checkpoints/*.dat"))
            if "finished" in states and len(started) > states.count("finished"):
                break
            assert process.poll() is None, "the sweep ended before it was killed"
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    finished = [json.loads(p.read_text())["state"] == "finished"
                for p in out.glob("runs/*/*/status.json")]  # fmt: skip
    assert 0 < sum(finished) < 6, f"killed with {sum(finished)} of 6 runs finished"

    assert main(["sweep", "run", str(small_config), "--out", str(out)]) == 0
    assert _table(out).equals(_table(uninterrupted))


def test_a_second_signal_waits_until_the_table_is_written(
    tmp_path, small_config, monkeypatch
):
    # A scheduler's second signal arrives while the stopped sweep writes its table.
    import complife.sweep.table

    write = complife.sweep.table.write_table

    def write_under_fire(table, path):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)  # an undeferred signal would stop the sweep here
        write(table, path)

    def stop(result):
        raise KeyboardInterrupt

    monkeypatch.setattr(complife.sweep.table, "write_table", write_under_fire)
    # Python's own Ctrl-C handler, also where pytest was started with SIGINT
    # ignored (a background job of a non-interactive shell).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_sweep(load_sweep(small_config), tmp_path, workers=1, on_result=stop)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
    assert len(read_table(tmp_path / "results.parquet")) == 1


def test_sigterm_stops_the_sweep_with_a_table_and_a_way_on(
    tmp_path, small_config, uninterrupted
):
    out = tmp_path / "terminated"
    command = [sys.executable, "-m", "complife", "sweep", "run", str(small_config),
               "--out", str(out), "--workers", "1"]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = [json.loads(p.read_text())["state"]
                      for p in out.glob("runs/*/*/status.json")]  # fmt: skip
            if "finished" in states:
                break
            assert process.poll() is None, "the sweep ended before it was stopped"
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130, err
    assert "rerun the same command to resume" in err
    rows = read_table(out / "results.parquet")
    assert 0 < len(rows) < 6
    whole = {
        row["run_id"]: row for row in read_table(uninterrupted / "results.parquet")
    }
    assert all(row == whole[row["run_id"]] for row in rows)

    assert main(["sweep", "run", str(small_config), "--out", str(out)]) == 0
    assert _table(out).equals(_table(uninterrupted))


def test_stopped_sweep_leaves_the_table_of_its_finished_runs(
    tmp_path, small_config, uninterrupted
):
    def stop(result):
        raise KeyboardInterrupt

    sweep = load_sweep(small_config)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, tmp_path, workers=1, on_result=stop)
    rows = read_table(tmp_path / "results.parquet")
    assert len(rows) == 1
    first = read_table(uninterrupted / "results.parquet")[0]
    assert rows[0] == first


def test_plot_draws_the_figures(uninterrupted):
    assert main(["sweep", "plot", str(uninterrupted)]) == 0
    # The well-mixed runs have one mutation rate (no Fig. 6), and no group is
    # named as a bar of Fig. 7.
    drawn = sorted(p.name for p in uninterrupted.glob("sweep-*.png"))
    assert drawn == ["sweep-fig5.png"]
    for name in drawn:
        assert (uninterrupted / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_a_table_is_an_error(tmp_path, capsys):
    assert main(["sweep", "plot", str(tmp_path)]) == 2
    assert "complife sweep run" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ray_head_on_loopback_gives_the_same_table(tmp_path, uninterrupted):
    pytest.importorskip("ray")
    ray_bin = Path(sys.executable).with_name("ray")
    port = _free_port()
    # Ray's socket paths must stay short: not under pytest's long tmp_path.
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen(
        [str(ray_bin), "start", "--head", "--block", "--node-ip-address",
         "127.0.0.1", "--port", str(port), "--num-cpus", "2",
         "--include-dashboard", "false", "--disable-usage-stats",
         "--temp-dir", temp],
        env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        out = tmp_path / "on-ray"
        sweep = parse_sweep(SMALL)
        deadline = time.monotonic() + 60
        while True:
            try:
                results = run_sweep(sweep, out, ray_address=f"127.0.0.1:{port}")
                break
            except SweepError:
                # The head is still starting.
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        assert [r.state for r in results] == ["ran"] * 6
        assert _table(out).equals(_table(uninterrupted))
        assert build_table(sweep, out).equals(_table(out))
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).parents[1] / "configs" / "sweeps").glob("*.toml"))
)
def test_shipped_configs_expand(path):
    from complife.sweep import load_sweep

    sweep = load_sweep(path)
    assert len({spec.folder for spec in sweep.runs}) == len(sweep.runs) > 0


def test_cli_bad_config_is_one_line_naming_it(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text(SMALL.replace("max_epochs = 512", "max_epochs = -1"))
    out = tmp_path / "never"
    assert main(["sweep", "run", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{config}:9: max_epochs = -1" in err and err.count("\n") == 1
    assert not out.exists()


def _row(group, seed, rate, epochs, first, pairing="well_mixed", program=None):
    """A table row with the columns the figures read (the rest null)."""
    from complife.sweep.table import COLUMNS

    settings = {"language": "forthtrivial", "num_programs": 64, "seed": seed}
    return {
        **dict.fromkeys(COLUMNS),
        **settings,
        "group": group,
        "folder": f"runs/{group}/{seed}",
        "max_epochs": epochs,
        "mutation_prob": rate,
        "pairing": pairing,
        "initial_program": program,
        "transition_epoch": first,
        "transitioned": first is not None,
    }


def _write_rows(rows, folder: Path, threshold: float = 1.0) -> Path:
    import pyarrow as pa

    from complife.sweep.table import COLUMNS, write_table

    schema = pa.schema([(k, pa.type_for_alias(t)) for k, t in COLUMNS.items()])
    table = pa.Table.from_pylist(rows, schema=schema)
    table = table.replace_schema_metadata({"transition_entropy": repr(threshold)})
    folder.mkdir(parents=True, exist_ok=True)
    write_table(table, folder / "results.parquet")
    return folder


def test_fig6_and_fig7_count_the_right_runs(tmp_path):
    from complife.sweep.plots import fig6_points, fig7_bars, plot_sweep

    row = _row
    rows = [
        row("long", 0, 1 / 4096, 256, 65),
        row("long", 1, 1 / 4096, 256, None),
        row("long", 2, 1 / 4096, 256, 129),
        row("long", 3, 0.01, 256, None),
        row("short", 0, 1 / 4096, 128, None),
        row("seeded", 0, 1 / 4096, 128, 33, program="0C"),
        row("long-no-noise", 0, 0.0, 256, 97, pairing="fixed_shuffle"),
    ]
    # Fig. 6: random, well-mixed runs at the longest cap only.
    assert fig6_points(rows) == {1 / 4096: (2, 3), 0.01: (0, 1)}
    # Fig. 7: the long bar at the paper's rate 1/4096.
    assert fig7_bars(rows) == {
        "short": (0, 1), "seeded": (1, 1), "long": (2, 3), "long-no-noise": (1, 1)
    }  # fmt: skip
    figures = plot_sweep(_write_rows(rows, tmp_path))
    assert all(isinstance(p, Path) and p.exists() for p in figures.values())
    assert list(figures) == ["sweep-fig5.png", "sweep-fig6.png", "sweep-fig7.png"]


def test_plot_draws_several_sweeps_as_one_study(tmp_path, capsys):
    from complife.sweep.plots import fig5_series, fig6_points, fig7_bars
    from complife.sweep.table import read_tables

    # Fig. 6 run in pieces: the default rate in one sweep, two more rates in
    # another, which also holds seed 1 of the default rate again (the same run,
    # in a group of another name).
    first = _write_rows(
        [_row("long", 0, 1 / 4096, 256, 65), _row("long", 1, 1 / 4096, 256, None)],
        tmp_path / "first",
    )
    rates = [_row("rates", s, r, 256, None) for r in (0.0, 0.01) for s in (0, 1)]
    again = _row("rates", 1, 1 / 4096, 256, None)
    second = _write_rows([again, *rates], tmp_path / "second")
    for order in ([first, second], [second, first]):
        rows, threshold = read_tables([d / "results.parquet" for d in order])
        assert threshold == 1.0
        # Fig. 6 pools groups: the shared run counts once. Figs. 5 and 7 draw
        # groups: each group keeps its runs, whichever table came first.
        assert fig6_points(rows) == {0.0: (0, 2), 1 / 4096: (1, 2), 0.01: (0, 2)}
        assert fig7_bars(rows) == {"long": (1, 2)}
        sizes = {label: len(runs) for label, runs in fig5_series(rows).items()}
        assert sizes == {
            "long, mutation 0.024%": 2, "rates, mutation 0.024%": 1,
            "rates, mutation 0.000%": 2, "rates, mutation 1.000%": 2,
        }  # fmt: skip

    # Several folders need --out; the figures go there, and nowhere else.
    assert main(["sweep", "plot", str(first), str(second)]) == 2
    assert "--out" in capsys.readouterr().err
    out = tmp_path / "both"
    assert main(["sweep", "plot", str(first), str(second), "--out", str(out)]) == 0
    drawn = ["sweep-fig5.png", "sweep-fig6.png", "sweep-fig7.png"]
    assert sorted(p.name for p in out.iterdir()) == drawn
    assert not list(first.glob("*.png")) and not list(second.glob("*.png"))

    # A figure the new plot cannot draw does not stay behind from the old one.
    capsys.readouterr()
    assert main(["sweep", "plot", str(first), "--out", str(out)]) == 0
    assert "not drawn: sweep-fig6.png" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["sweep-fig5.png", "sweep-fig7.png"]

    # Tables that count "transitioned" at different thresholds do not mix.
    low = _write_rows([_row("long", 5, 1 / 4096, 256, 65)], tmp_path / "low", 0.25)
    assert main(["sweep", "plot", str(first), str(low), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert ">= 1 " in err and ">= 0.25" in err


def test_long_bar_is_at_the_paper_rate_whatever_the_order():
    from complife.sweep.plots import fig7_bars

    at_zero = [_row("long", s, 0.0, 256, 65) for s in (0, 1)]
    at_paper = [_row("long", s, 1 / 4096, 256, None) for s in (0, 1)]
    at_high = [_row("long", s, 0.01, 256, None) for s in (0, 1)]
    assert fig7_bars(at_zero + at_paper) == fig7_bars(at_paper + at_zero)
    assert fig7_bars(at_zero + at_paper) == {"long": (0, 2)}
    # Without the paper's rate: the most common, the lowest of a tie.
    assert (
        fig7_bars(at_high + at_zero) == {"long": (2, 2)} == fig7_bars(at_zero + at_high)
    )


def test_plot_all_or_none_transitioned_draws(tmp_path):
    from complife.sweep.plots import plot_sweep

    # 0/3 and 4/4 are where a computed Wilson bound fell a rounding error inside.
    rows = [_row("long", s, 1 / 4096, 256, None) for s in range(3)]
    rows += [_row("short", s, 1 / 4096, 128, 33) for s in range(4)]
    rows += [_row("long", s, 0.01, 256, 65) for s in range(4)]
    figures = plot_sweep(_write_rows(rows, tmp_path))
    assert all(isinstance(p, Path) for p in figures.values()), figures


def test_plot_names_a_damaged_table_and_a_wrong_folder(tmp_path, capsys):
    good = _write_rows([_row("long", 0, 1 / 4096, 256, 65)], tmp_path / "good")
    table = (good / "results.parquet").read_bytes()
    cases = {
        "truncated": table[:100],
        "zeroed": table[:400] + bytes(200) + table[600:],
        "empty": b"",
    }
    for name, data in cases.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.parquet").write_bytes(data)
        out = tmp_path / f"figs-{name}"
        assert main(["sweep", "plot", str(tmp_path / name), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"cannot read {tmp_path / name / 'results.parquet'}" in err, name
        assert "complife sweep run" in err and "Traceback" not in err
        assert not out.exists()

    # A table without a column of ours, e.g. saved again by another tool.
    import pyarrow.parquet as pq

    old = tmp_path / "old"
    old.mkdir()
    pq.write_table(pq.read_table(good / "results.parquet").drop(["seed"]),
                   old / "results.parquet")  # fmt: skip
    assert main(["sweep", "plot", str(old)]) == 2
    assert "no column seed" in capsys.readouterr().err

    # A gap or a wrong type where the figures read (e.g. saved back by pandas),
    # a threshold that is not a number, a folder where the table goes.
    import pyarrow as pa

    full = pq.read_table(good / "results.parquet")
    damaged = {
        "gap": full.set_column(5, "mutation_prob", pa.array([None], pa.float64())),
        "floats": full.set_column(
            11, "transition_epoch", pa.array([65.0], pa.float64())
        ),
        "label": full.replace_schema_metadata({"transition_entropy": "abc"}),
    }
    for name, table in damaged.items():
        (tmp_path / name).mkdir()
        pq.write_table(table, tmp_path / name / "results.parquet")
        assert main(["sweep", "plot", str(tmp_path / name)]) == 2, name
        err = capsys.readouterr().err
        assert str(tmp_path / name / "results.parquet") in err, err
    (tmp_path / "dir" / "results.parquet").mkdir(parents=True)
    assert main(["sweep", "plot", str(tmp_path / "dir")]) == 2
    assert "is a folder" in capsys.readouterr().err

    # The table given for its folder; a file given for --out, or above it.
    assert main(["sweep", "plot", str(good / "results.parquet")]) == 2
    assert f"here {good}" in capsys.readouterr().err
    assert (
        main(["sweep", "plot", str(good), "--out", str(good / "results.parquet")]) == 2
    )
    assert "is a file" in capsys.readouterr().err
    below = good / "results.parquet" / "figs"
    assert main(["sweep", "plot", str(good), "--out", str(below)]) == 2
    assert "cannot make this folder" in capsys.readouterr().err


def test_changing_only_the_threshold_keeps_the_runs(tmp_path, uninterrupted):
    import shutil as sh

    out = tmp_path / "again"
    sh.copytree(uninterrupted, out)
    text = SMALL.replace("transition_entropy = 0.25", "transition_entropy = 0.4")
    results = run_sweep(parse_sweep(text), out, workers=1)
    assert {r.state for r in results} == {"skipped"}

    # The table is rebuilt from the same runs at the new threshold.
    rows = read_table(out / "results.parquet")
    for row in rows:
        with open(out / row["folder"] / "metrics.csv") as f:
            first = [int(r["epoch"]) for r in csv.DictReader(f)
                     if float(r["higher_entropy"]) >= 0.4]  # fmt: skip
        assert row["transition_epoch"] == (first[0] if first else None)
    old = read_table(uninterrupted / "results.parquet")
    assert sum(r["transitioned"] for r in rows) < sum(r["transitioned"] for r in old)
    assert json.loads((out / "sweep.json").read_text())["transition_entropy"] == 0.4
    assert (out / "sweep.toml").read_text() == text


def test_run_killed_after_its_last_report_is_only_marked_finished(
    tmp_path, uninterrupted
):
    import shutil as sh

    import numba

    from complife.sweep.execute import run_one

    out = tmp_path / "copy"
    sh.copytree(uninterrupted, out)
    spec = parse_sweep(SMALL).runs[1]
    folder = out / spec.folder
    metrics = (folder / "metrics.csv").read_text()
    # As if killed after the stop checkpoint, before the status said finished.
    status = json.loads((folder / "status.json").read_text())
    (folder / "status.json").write_text(json.dumps({**status, "state": "running"}))
    threads = numba.get_num_threads()
    try:
        result = run_one(spec, str(out))
    finally:
        numba.set_num_threads(threads)
    assert (result.state, result.epoch, result.error) == ("ran", 513, None)
    assert (folder / "metrics.csv").read_text() == metrics
    assert build_table(parse_sweep(SMALL), out).equals(_table(uninterrupted))
