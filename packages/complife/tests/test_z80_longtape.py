"""The 8080 long-tape soup (§5; benlaurie/bff-ben): the paper's two-byte
replicator, the engine against a slow obvious twin, seeding, exact resume, CLI."""

import csv

import numpy as np
import pytest

from complife.cli import main
from complife.languages import z80 as core
from complife.rng import derive_seed_py, splitmix64_py
from complife.z80.longtape import (
    LongTape,
    LongTapeConfig,
    ngrams,
    period2_share,
    run_from,
    tape_image,
)

#: The paper's example of an 8080 long-tape replicator, as it lies on the tape
PAIR = bytes.fromhex("01C5")


def _random_tape(size, seed):
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8)


def test_two_byte_replicator_copies_the_pattern_below_its_start():
    """Started on a run of 01 C5, an 8080 executes LXI B,$01C5 (01 C5 01) and
    PUSH B (C5) over and over: 21 T-states for each 4 bytes read, 2 written at
    SP-1, SP-2 (C5 01). From 47*21 = 987 T-states, one more LXI (997) and PUSH
    (1008) still start within the 1000-clock limit: 48 copies, 96 bytes."""
    at = 1000
    for seed in range(5):
        tape = _random_tape(4096, seed)
        tape[at : at + 256] = np.frombuffer(PAIR * 128, np.uint8)
        before = tape.copy()
        st = core.new_state()
        steps = run_from(tape, st, at, 1, 1000)
        assert (steps, st[core.CYCLES], st[core.SP]) == (96, 48 * 21, 0xFFFF - 96)
        expected = before.copy()
        expected[at - 97 : at - 1] = np.frombuffer(bytes.fromhex("C501") * 48, np.uint8)
        assert (tape == expected).all()
    # HALT ends a run at once (7 T-states on the 8080)
    tape[at] = 0x76
    assert run_from(tape, st, at, 1, 1000) == 1 and st[core.CYCLES] == 7


def test_seeded_two_byte_replicator_takes_over_a_small_tape():
    """Without noise, 256 bytes of 01 C5 on a random 4096-byte tape spread until
    most of the tape is that pattern (no random tape comes near: 1/256)."""
    soup = LongTape(LongTapeConfig(size=4096, runs=256, clocks_per_mutation=0, seed=3))
    soup.tape[1000:1256] = np.frombuffer(PAIR * 128, np.uint8)
    assert period2_share(soup.tape) < 0.08
    for _ in range(20):
        soup.run_epoch()
    assert period2_share(soup.tape) > 0.6
    assert {g for g, _ in ngrams(soup.tape, 2, 2)} == {PAIR, PAIR[::-1]}


def _twin_epochs(config, epochs):
    """The slow obvious version: a Python loop of single runs, with every start
    and mutation drawn by the Python SplitMix64 from (seed, epoch, counter). (A
    run is :func:`run_from`, checked on its own above; the core's step functions
    called from Python would cost one more compile of the core.)"""
    size = config.size
    tape = np.empty(size, np.uint8)
    stream = derive_seed_py(config.seed, 0)
    for i in range(size):
        tape[i] = splitmix64_py((size * stream + i) % (1 << 64)) & 0xFF
    carry = clocks = 0
    for epoch in range(epochs):
        seed = derive_seed_py(config.seed, epoch + 1)
        starts, noise, k = splitmix64_py(seed ^ 1), splitmix64_py(seed ^ 2), 0
        for r in range(config.runs):
            st = core.new_state()
            start = splitmix64_py((starts + r) % (1 << 64)) % size
            run_from(tape, st, start, 1, config.clocks)
            clocks += int(st[core.CYCLES])
            carry += int(st[core.CYCLES])
            while carry >= config.clocks_per_mutation:
                carry -= config.clocks_per_mutation
                x = splitmix64_py((noise + k) % (1 << 64))
                k += 1
                tape[(x >> 8) % size] = x & 0xFF
    return tape, carry, clocks


def test_epochs_are_the_slow_obvious_runs():
    config = LongTapeConfig(size=1024, runs=40, clocks_per_mutation=3000, seed=7)
    soup = LongTape(config)
    for _ in range(3):
        soup.run_epoch()
    tape, carry, clocks = _twin_epochs(config, 3)
    assert (soup.tape == tape).all()
    assert (soup.carry, soup.totals[1]) == (carry, clocks)
    assert soup.totals[3] == clocks // 3000  # mutations, one per 3000 T-states
    assert (soup.starts_of_epoch(0) < 1024).all()


def test_the_tape_is_seeded():
    runs = []
    for seed in (11, 11, 12):
        soup = LongTape(LongTapeConfig(size=2048, runs=64, seed=seed))
        for _ in range(4):
            soup.run_epoch()
        runs.append(soup.tape.copy())
    assert (runs[0] == runs[1]).all()
    assert (runs[0] != runs[2]).any()


def test_reading_a_tape():
    tape = np.frombuffer(PAIR * 6 + bytes(4), np.uint8)
    # circular: 01C5 at 0, 2, .., 10; C501 at 1, .., 9; 0000 at 12, 13, 14
    assert ngrams(tape, 2, 3) == [(PAIR, 6), (PAIR[::-1], 5), (bytes(2), 3)]
    assert ngrams(tape, 8, 1) == [(PAIR * 4, 3)]
    assert period2_share(tape) == pytest.approx(10 / 16)
    image = tape_image(np.arange(16, dtype=np.uint8), core.palette("i8080"), 4)
    assert image.shape == (4, 4, 3)
    assert (image[1, 2] == core.palette("i8080")[6]).all()


def _rows(path):
    with open(path, newline="") as f:
        return [
            {k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)
        ]


def test_run_folder_resumes_exactly(tmp_path, capsys):
    common = ["z80", "longtape", "--size", "4096", "--runs", "64", "--seed", "2",
              "--clocks-per-mutation", "20000", "--report-every", "2",
              "--save-every", "4"]  # fmt: skip
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    assert main([*common, "--out", a, "--epochs", "12"]) == 0
    assert main([*common, "--out", b, "--epochs", "8"]) == 0
    assert main([*common, "--out", b, "--epochs", "12"]) == 2
    assert "give --force" in capsys.readouterr().err
    assert main([*common, "--out", b, "--epochs", "12", "--resume"]) == 0
    for name in ("0000000008.npz", "0000000012.npz"):
        with np.load(tmp_path / "a/checkpoints" / name) as x:
            with np.load(tmp_path / "b/checkpoints" / name) as y:
                for key in ("tape", "epoch", "carry", "totals"):
                    assert (x[key] == y[key]).all(), key
    rows = _rows(tmp_path / "a/metrics.csv")
    assert rows == _rows(tmp_path / "b/metrics.csv")
    assert [r["epoch"] for r in rows] == ["2", "4", "6", "8", "10", "12"]
    assert int(rows[-1]["mutations"]) == int(rows[-1]["clocks"]) // 20000
    assert (tmp_path / "b/tape.png").exists()
    text = (tmp_path / "b/top_substrings.txt").read_text()
    assert text.startswith("after 12 epochs") and "8-byte substrings" in text
    assert main([*common, "--out", b, "--epochs", "12", "--force"]) == 0
    assert sorted(p.name for p in (tmp_path / "b/checkpoints").iterdir()) == [
        "0000000004.npz", "0000000008.npz", "0000000012.npz"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--size", "1000"], "--size 1000: expected a power of two"),
        (["--mode", "6502"], "unknown CPU mode '6502'; expected one of"),
        (["--clocks", "0"], "--clocks 0: expected 1 to 2**24 T-states"),
        (["--clocks-per-mutation", "-1"], "--clocks-per-mutation -1: expected >= 0"),
        (["--save-every", "3"], "--save-every 3 must be a positive multiple"),
        (["--resume"], "does not exist; start the run first"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, flags, message):
    out = str(tmp_path / "run")
    assert main(["z80", "longtape", "--out", out, "--epochs", "2", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("complife z80: error: ")
    assert message in err[0]
