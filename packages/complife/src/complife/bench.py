"""``python -m complife.bench``: how fast the soup runs, in the numbers that decide
what science fits on a laptop.

For each language measured, at 2**17 programs, on 1 and on all allowed threads:

- epochs per second before a transition (epochs 1-256 of seed 10248);
- operations per second after one (``bff_noheads_4bit``, which transitions within
  65 epochs at this size, stands in for a transitioned BFF soup);
- the cost of one metrics report (brotli and entropies over the whole soup);
- numba compile time on a cold cache, and the peak memory of a run, each measured
  in a fresh process.

Results print as a Markdown table; ``--json FILE`` keeps them for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date

import numba

from complife.metrics import measure
from complife.soup import Soup

SIZE = 1 << 17
SEED = 10248


def epochs_per_second(language: str, epochs: int, threads: int) -> float:
    numba.set_num_threads(threads)
    soup = Soup(language, SIZE, SEED)
    soup.step()  # compile and warm up outside the timing
    start = time.perf_counter()
    for _ in range(epochs - 1):
        soup.step()
    return (epochs - 1) / (time.perf_counter() - start)


def transitioned_ops_per_second(threads: int, warm: int = 70, timed: int = 4) -> float:
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    soup = Soup("bff_noheads_4bit", SIZE, SEED)
    soup.run(warm)
    numba.set_num_threads(threads)
    start = time.perf_counter()
    ops = soup.run(timed)
    return ops / (time.perf_counter() - start)


def report_seconds(language: str) -> float:
    soup = Soup(language, SIZE, SEED)
    soup.run(2)
    measure(soup.programs)
    start = time.perf_counter()
    for _ in range(3):
        measure(soup.programs)
    return (time.perf_counter() - start) / 3


_CHILD = """
import resource, sys, time
start = time.perf_counter()
from complife.soup import Soup
soup = Soup(sys.argv[1], int(sys.argv[2]), 1)
soup.run(int(sys.argv[3]))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m complife.bench")
    parser.add_argument(
        "--languages", nargs="+", default=["bff_noheads", "forthtrivial", "subleq"]
    )
    parser.add_argument("--epochs", type=int, default=256)
    parser.add_argument("--json", metavar="FILE", help="also write the results here")
    args = parser.parse_args(argv)

    most = numba.config.NUMBA_NUM_THREADS
    threads = sorted({1, most})
    rows = []
    for language in args.languages:
        row = {"language": language}
        for t in threads:
            row[f"epochs_per_s_{t}t"] = epochs_per_second(language, args.epochs, t)
        row["report_s"] = report_seconds(language)
        with tempfile.TemporaryDirectory() as cache:
            row["cold_start_s"], _ = fresh_process(language, 64, 1, cache)
        row["warm_start_s"], row["peak_mib"] = fresh_process(language, SIZE, 8, None)
        rows.append(row)
    after = {t: transitioned_ops_per_second(t) for t in threads}

    _print_markdown(rows, after, threads, args.epochs)
    if args.json:
        record = {
            "date": date.today().isoformat(),
            "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "threads": threads,
            "rows": rows,
            "transitioned_ops_per_s": after,
            "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2)
    return 0


def _print_markdown(rows, after, threads, epochs) -> None:
    head = ["language"]
    head += [f"epochs/s, {t} thread{'s' * (t > 1)}" for t in threads]
    head += ["report (s)", "cold start (s)", "warm start (s)", "peak memory (MiB)"]
    print(f"2**17 programs, epochs 1-{epochs} of seed {SEED}\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        cells = [r["language"]]
        cells += [f"{r[f'epochs_per_s_{t}t']:.1f}" for t in threads]
        cells += [f"{r['report_s']:.3f}", f"{r['cold_start_s']:.1f}"]
        cells += [f"{r['warm_start_s']:.1f}", f"{r['peak_mib']:.0f}"]
        print("| " + " | ".join(cells) + " |")
    print()
    for t, ops in after.items():
        label = f"transitioned soup (bff_noheads_4bit), {t} thread(s)"
        print(f"{label}: {ops / 1e6:.0f} Mops/s")


if __name__ == "__main__":
    sys.exit(main())
