"""``python -m complife.bench``: how fast the soup runs, beside the reference.

Measured for each language, at 2**17 programs, on 1 thread and on all allowed
threads (both busy on a 2-core machine):

- epochs per second before a transition: epochs 1-257 of seed 10248, reports
  included, as ``complife run`` (in this process, compilation excluded) and the
  reference's ``bin/main`` (a process of its own) run them;
- operations per second after a transition: ``bff_noheads_4bit``, which transitions
  within 65 epochs at this size, run from its epoch-64 checkpoint for 16 epochs (the
  reference loads the same checkpoint; the trajectories are identical, so the op
  count is ours for both);
- the cost of one metrics report;
- seconds per epoch per program at 2**15, 2**16 and 2**17 programs (is the cost
  linear in the soup size?);
- the time to first epoch on a cold numba cache, and peak memory, each in a fresh
  process.

Each throughput is timed ``--repeat`` times (3), ours and the reference in turn,
and the median kept: on a shared machine one timing can be 20-30 % off.

``--profile`` instead shows where one epoch's time goes (shuffle, copying pairs
in and out with mutation, the kernel's set-up and its steps, a report), in CPU
milliseconds on one thread: CPU time changes little on a busy machine.

Give ``--reference PATH`` (a cubff ``bin/main`` you built; or set
``COMPLIFE_REFERENCE``, as ``make bench`` passes it on) to measure the reference in
the same run. Results print as Markdown; ``--json FILE`` keeps them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from functools import partial
from pathlib import Path

import numba
import numpy as np

from complife import languages
from complife.checkpoint import write_checkpoint
from complife.languages import SCRATCH_SIZE
from complife.metrics import measure
from complife.pairing import shuffle_into
from complife.rng import derive_seed
from complife.simulation import RunConfig, Simulation
from complife.soup import (
    DEFAULT_MUTATION_PROB,
    MAX_STEPS,
    Soup,
    _run_epoch,
    mutation_threshold,
)

SIZE = 1 << 17
SEED = 10248
EPOCHS = 256
#: Epochs run on the transitioned soup: every interaction runs to the step limit, so
#: 16 epochs are already 2**16 * 16 interactions of about 8192 steps.
AFTER_EPOCHS = 16


def _timed(argv: list[str], threads: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def our_run(language: str, threads: int, epochs: int = EPOCHS, **settings) -> float:
    """Wall seconds of the run loop over epochs 1..epochs (as ``complife run``
    runs it, reports included), after the kernels are compiled."""
    Soup(language, 2).advance(1)
    numba.set_num_threads(threads)
    start = time.perf_counter()
    config = RunConfig(language, SIZE, SEED, max_epochs=epochs, **settings)
    for _ in Simulation(config).reports():
        pass
    return time.perf_counter() - start


def reference_run(binary: str, language: str, threads: int, extra=(), epochs=EPOCHS):
    argv = [binary, "--lang", language, "--num", str(SIZE), "--seed", str(SEED),
            "--max_epochs", str(epochs), "--disable_output", *extra]  # fmt: skip
    return _timed(argv, threads)


def transitioned(workdir: Path) -> tuple[Path, int]:
    """The epoch-64 checkpoint of the 4-bit BFF soup, and the ops of its next
    AFTER_EPOCHS epochs (the same for us and the reference: the trajectory is the
    reference's)."""
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    soup = Soup("bff_noheads_4bit", SIZE, SEED)
    soup.advance(65)
    path = write_checkpoint(workdir / "0000000064.dat", soup.checkpoint())
    ops = soup.advance(AFTER_EPOCHS).ops
    return path, ops


def _medians(repeat: int, ours, reference) -> tuple[float, float | None]:
    """Median seconds of ``repeat`` calls of ``ours`` and of ``reference`` (None:
    no reference), called in turn so that a slow spell of the machine falls on
    both."""
    mine, theirs = [], []
    for _ in range(repeat):
        mine.append(ours())
        if reference:
            theirs.append(reference())
    return statistics.median(mine), statistics.median(theirs) if theirs else None


def report_seconds(language: str) -> float:
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    soup = Soup(language, SIZE, SEED)
    soup.advance(2)
    measure(soup.programs)
    start = time.perf_counter()
    for _ in range(3):
        measure(soup.programs)
    return (time.perf_counter() - start) / 3


def seconds_per_program_epoch(language: str, size: int, epochs: int = 64) -> float:
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    soup = Soup(language, size, SEED)
    soup.advance(1)
    start = time.perf_counter()
    soup.advance(epochs)
    return (time.perf_counter() - start) / (epochs * size)


_CHILD = """
import resource, sys, time
start = time.perf_counter()
from complife.soup import Soup
soup = Soup(sys.argv[1], int(sys.argv[2]), 1)
soup.advance(int(sys.argv[3]))
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def fresh_process(language: str, size: int, epochs: int, cache: str | None):
    """(seconds, peak RSS in MiB) of a new process that imports and runs a soup."""
    env = dict(os.environ)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = cache
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, language, str(size), str(epochs)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.split()
    return float(out[0]), int(out[1]) / 1024


_PROFILE_EPOCHS = 16


@numba.njit(nogil=True)
def _evaluate_all(tapes, max_steps, evaluate):
    """Run ``evaluate`` on a copy of every pair tape; the total op count."""
    scratch = np.zeros(SCRATCH_SIZE, dtype=np.uint8)
    tape = np.empty(tapes.shape[1], dtype=np.uint8)
    ops = 0
    for k in range(tapes.shape[0]):
        for i in range(tapes.shape[1]):
            tape[i] = tapes[k, i]
        ops += evaluate(tape, max_steps, scratch)
    return ops


def profile(language: str, epoch: int = 100) -> dict:
    """Where one epoch's time goes, in CPU milliseconds on one thread (CPU time,
    not wall time, so that a busy machine changes it little): the shuffle, copying
    pairs in and out with mutation, the kernel's set-up (max_steps = 0) and its
    steps, for the soup of seed SEED at ``epoch``; and whole epochs as
    ``Soup.advance`` runs them, without and (BFF family) with tracer tokens."""
    from complife.tracer import TracedSoup

    numba.set_num_threads(1)
    soup = Soup(language, SIZE, SEED)
    soup.advance(epoch)
    kernel = languages.get(language).kernel
    order = np.empty(SIZE, dtype=np.int64)
    draws = np.empty(SIZE, dtype=np.uint64)
    tapes = soup.programs.reshape(SIZE // 2, -1).copy()
    run_seed = np.uint64(SEED)
    threshold = np.uint64(mutation_threshold(DEFAULT_MUTATION_PROB))

    def cpu_ms(work) -> float:
        work(0)
        start = time.process_time()
        for e in range(_PROFILE_EPOCHS):
            work(e + 1)
        return (time.process_time() - start) / _PROFILE_EPOCHS * 1e3

    def shuffle(e):
        shuffle_into(run_seed, np.uint64(epoch + e), order, draws)

    # What the kernel keeps about each program, carried from epoch to epoch as
    # Soup.advance carries it.
    kept = np.zeros((SIZE, languages.get(language).kept_words), dtype=np.uint64)
    fresh = np.zeros(SIZE, dtype=np.uint8)

    def copy_and_mutate(e):
        seed = derive_seed(run_seed, np.uint64(epoch + e))
        _run_epoch(
            soup.programs, order, 0, seed, threshold, kernel, MAX_STEPS, 1, kept, fresh
        )

    def epoch_run(e):
        seed = derive_seed(run_seed, np.uint64(epoch + e))
        _run_epoch(
            soup.programs,
            order,
            SIZE // 2,
            seed,
            threshold,
            kernel,
            MAX_STEPS,
            1,
            kept,
            fresh,
        )

    traced = None
    if languages.get(language).family == "bff":
        traced = TracedSoup(language, SIZE, SEED)
        traced.advance(epoch)

    return {
        "language": language,
        "epoch": epoch,
        "advance_ms": cpu_ms(lambda e: soup.advance(1)),
        "traced_advance_ms": (
            cpu_ms(lambda e: traced.advance(1)) if traced else float("nan")
        ),
        "distinct_tokens_ms": (
            cpu_ms(lambda e: traced.distinct_tokens()) if traced else float("nan")
        ),
        "shuffle_ms": cpu_ms(shuffle),
        "copy_mutate_ms": cpu_ms(copy_and_mutate),
        "kernel_setup_ms": cpu_ms(lambda e: _evaluate_all(tapes, 0, kernel)),
        "kernel_ms": cpu_ms(lambda e: _evaluate_all(tapes, MAX_STEPS, kernel)),
        "ops_per_pair": _evaluate_all(tapes, MAX_STEPS, kernel) / (SIZE // 2),
        "epoch_ms": cpu_ms(epoch_run),
        "report_ms": cpu_ms(lambda e: measure(soup.programs)),
    }


def _print_profile(rows) -> None:
    head = ["language (epoch)", "shuffle", "copy + mutate", "kernel set-up",
            "kernel, all", "whole epoch", "one report", "ops per pair",
            "advance(1)", "advance(1), traced", "counting tokens"]  # fmt: skip
    print(f"CPU ms per epoch on one thread, 2**17 programs, seed {SEED}\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        cells = [f"{r['language']} ({r['epoch']})"]
        for key in ("shuffle_ms", "copy_mutate_ms", "kernel_setup_ms", "kernel_ms",
                    "epoch_ms", "report_ms"):  # fmt: skip
            cells.append(f"{r[key]:.1f}")
        cells.append(f"{r['ops_per_pair']:.0f}")
        for key in ("advance_ms", "traced_advance_ms", "distinct_tokens_ms"):
            cells.append(f"{r[key]:.1f}")
        print("| " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m complife.bench")
    parser.add_argument(
        "--languages", nargs="+", default=["bff_noheads", "forthtrivial", "subleq"]
    )
    parser.add_argument(
        "--reference",
        metavar="PATH",
        default=os.environ.get("COMPLIFE_REFERENCE") or None,
        help="a cubff bin/main to measure beside ours [$COMPLIFE_REFERENCE]",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        metavar="N",
        help="time each throughput N times, ours and the reference in turn, and "
        "keep the median (shared machines are noisy) [3]",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results here")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="only where an epoch's time goes (CPU time, one thread)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: expected at least 1")

    if args.profile:
        rows = [profile(language) for language in args.languages]
        _print_profile(rows)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
        return 0

    most = numba.config.NUMBA_NUM_THREADS
    threads = sorted({1, most})
    rows = []
    for language in args.languages:
        row = {"language": language}
        for t in threads:
            ours, reference = _medians(
                args.repeat,
                partial(our_run, language, t),
                args.reference and partial(reference_run, args.reference, language, t),
            )
            row[f"ours_{t}t"] = (EPOCHS + 1) / ours
            if args.reference:
                row[f"reference_{t}t"] = (EPOCHS + 1) / reference
        row["report_s"] = report_seconds(language)
        row["s_per_program_epoch"] = {
            str(size): seconds_per_program_epoch(language, size)
            for size in (SIZE // 4, SIZE // 2, SIZE)
        }
        with tempfile.TemporaryDirectory() as cache:
            row["cold_start_s"], _ = fresh_process(language, 64, 1, cache)
        row["warm_start_s"], row["peak_mib"] = fresh_process(language, SIZE, 8, None)
        rows.append(row)

    after = {}
    with tempfile.TemporaryDirectory() as work:
        checkpoint, ops = transitioned(Path(work))
        for t in threads:
            end = 64 + AFTER_EPOCHS
            # One report, after the last of the AFTER_EPOCHS epochs: both programs
            # check --max_epochs only at a report, so with the default interval
            # of 64 they would run on to epoch 128.
            ref_load = ["--load", str(checkpoint)]
            ref_load += ["--print_interval", str(AFTER_EPOCHS)]
            ours, reference = _medians(
                args.repeat,
                partial(
                    our_run,
                    "bff_noheads_4bit",
                    t,
                    end,
                    load=str(checkpoint),
                    print_interval=AFTER_EPOCHS,
                ),
                args.reference
                and partial(
                    reference_run,
                    args.reference,
                    "bff_noheads_4bit",
                    t,
                    ref_load,
                    epochs=end,
                ),
            )
            after[f"ours_{t}t"] = ops / ours
            if args.reference:
                after[f"reference_{t}t"] = ops / reference

    _print_markdown(rows, after, threads, bool(args.reference))
    if args.json:
        record = {
            "date": date.today().isoformat(),
            "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "threads": threads,
            "rows": rows,
            "transitioned_ops_per_s": after,
        }
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    return 0


def _print_markdown(rows, after, threads, with_reference) -> None:
    who = ["ours", "reference"] if with_reference else ["ours"]
    head = ["language"]
    head += [f"{w} epochs/s, {t} thread{'s' * (t > 1)}" for t in threads for w in who]
    head += ["report (s)", "µs per 1k programs per epoch (2^15 / 2^16 / 2^17)"]
    head += ["cold start (s)", "peak memory (MiB)"]
    print(f"2**17 programs, epochs 1-{EPOCHS + 1} of seed {SEED}, reports included\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        cells = [r["language"]]
        cells += [f"{r[f'{w}_{t}t']:.1f}" for t in threads for w in who]
        cells.append(f"{r['report_s']:.3f}")
        cells.append(
            " / ".join(f"{v * 1e9:.1f}" for v in r["s_per_program_epoch"].values())
        )
        cells += [f"{r['cold_start_s']:.1f}", f"{r['peak_mib']:.0f}"]
        print("| " + " | ".join(cells) + " |")
    span = f"epochs 66-{65 + AFTER_EPOCHS}"
    print(f"\ntransitioned soup (bff_noheads_4bit, {span}), millions of ops/s:\n")
    for t in threads:
        line = f"- {t} thread(s): ours {after[f'ours_{t}t'] / 1e6:.0f}"
        if with_reference:
            line += f", reference {after[f'reference_{t}t'] / 1e6:.0f}"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
