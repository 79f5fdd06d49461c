"""Running a sweep's runs: on local worker processes, or on a Ray cluster.

Both backends hand the same function, :func:`run_one`, one :class:`RunSpec` at a
time; it runs (or resumes, or skips) the run in its own ordinary run folder, so a
killed sweep resumes where it was and the results table is built from the folders
alone (:mod:`complife.sweep.table`), whichever backend ran them. The scheduling is
the library's: :class:`multiprocessing.pool.Pool` locally, Ray's task API on a
cluster. Each worker runs its soup on one thread (NUMBA_NUM_THREADS=1): a sweep's
parallelism is across runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import multiprocessing
import os
import shutil
import signal
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from complife import __version__
from complife.sweep.config import RunSpec, SweepConfig

#: Environment of a worker: one thread per soup, no usage reports from Ray.
WORKER_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
}
MANIFEST = "sweep.json"
RESULTS = "results.parquet"
LOCK = ".sweep.lock"


class SweepError(ValueError):
    """A sweep folder that cannot take this sweep, or a backend that cannot run."""


@dataclass(frozen=True)
class RunResult:
    """What happened to one run: "ran", "skipped" (finished before) or "failed"."""

    folder: str
    state: str
    epoch: int = 0
    stop_reason: str | None = None
    seconds: float = 0.0
    error: str | None = None


def run_one(spec: RunSpec, sweep_dir: str) -> RunResult:
    """Run, resume or skip one run in ``sweep_dir/spec.folder``; never raises."""
    started = time.perf_counter()
    try:
        epoch, reason, state = _run_folder(spec, Path(sweep_dir) / spec.folder)
    except Exception:
        return RunResult(spec.folder, "failed", error=traceback.format_exc())
    return RunResult(spec.folder, state, epoch, reason, time.perf_counter() - started)


def _run_folder(spec: RunSpec, path: Path) -> tuple[int, str | None, str]:
    from complife.runfolder import RunFolder

    # The folder's lock is let go as soon as the run ends, not when the worker
    # process exits or the object is collected.
    with RunFolder(path) as folder:
        return _run_in(folder, spec, path)


def _run_in(folder, spec: RunSpec, path: Path) -> tuple[int, str | None, str]:
    import numba

    from complife.checkpoint import read_checkpoint
    from complife.runfolder import RunFolderError
    from complife.simulation import Simulation, make_soup

    # Parallelism is across runs; one thread per soup (same soup on any count).
    numba.set_num_threads(1)
    config = spec.run_config(str(folder.checkpoint_dir))
    plan = None
    if folder.config_path.exists():
        _check_same_run(folder.load_config(), config, path)
        status = folder.status()
        if status.get("state") == "finished":
            return status["epoch"], status.get("stop_reason"), "skipped"
        with contextlib.suppress(RunFolderError):  # no checkpoint yet: start over
            plan = folder.plan_resume()
    if plan is None:
        folder.create(config, force=folder.config_path.exists())
        simulation = Simulation(config, checkpoint_at_stop=True)
    else:
        folder.commit_resume(plan)
        reason = _stopped_at(plan.config, plan.kept_rows)
        if reason is not None:
            # Killed after its last report and checkpoint, before it was marked
            # finished: going on would add a report the whole run never made.
            programs = read_checkpoint(plan.config.load).programs
            return _finish(folder, programs, config.language, reason)
        simulation = Simulation(
            plan.config,
            make_soup(plan.config),
            elapsed_offset=plan.elapsed_s,
            total_ops=plan.total_ops,
            carried_interval=plan.interval,
            checkpoint_at_stop=True,
        )
    folder.set_status("running", simulation.soup.epoch)
    for report in simulation.reports():
        if report.scheduled:
            folder.record(report)
    return _finish(
        folder, simulation.soup.programs, config.language, simulation.stop_reason
    )


def _finish(folder, programs, language: str, reason: str) -> tuple[int, str, str]:
    """Mark a run finished and keep only its last checkpoint (a paper-scale sweep
    would otherwise keep 8 MiB per run per save)."""
    from complife.runfolder import read_metrics

    folder.finish(programs, language)
    epoch = read_metrics(folder.metrics_path)[-1]["epoch"]
    folder.set_status("finished", epoch, reason)
    saved = sorted(folder.checkpoint_dir.glob("*.dat"))
    for old in saved[:-1]:
        old.unlink()
    return epoch, reason, "ran"


def _check_same_run(stored, config, path: Path) -> None:
    mine = {**config.to_dict(), "checkpoint_dir": None, "load": None}
    theirs = {**stored.to_dict(), "checkpoint_dir": None, "load": None}
    if mine != theirs:
        changed = sorted(k for k in mine if mine[k] != theirs.get(k))
        raise SweepError(
            f"run folder {path} holds another run (differs in {', '.join(changed)}); "
            "move it away or choose another --out"
        )


def _stopped_at(config, rows: list[dict]) -> str | None:
    """The stop rule the last logged report met, or None (as Simulation.stop_rule,
    read from metrics.csv)."""
    if not rows:
        return None
    last = rows[-1]
    epoch, entropy = int(last["epoch"]), float(last["higher_entropy"])
    if config.max_epochs is not None and epoch > config.max_epochs:
        return f"reached epoch {epoch} > max epochs {config.max_epochs}"
    if config.stopping_bpb is not None and float(last["brotli_bpb"]) < (
        config.stopping_bpb
    ):
        return f"brotli bits per byte fell below {config.stopping_bpb}"
    if config.stopping_entropy is not None and entropy >= config.stopping_entropy:
        return f"high-order entropy {entropy:.4f} reached {config.stopping_entropy}"
    return None


# Backends: each yields RunResults as runs end, in any order.


def _local_results(specs, sweep_dir: str, workers: int) -> Iterator[RunResult]:
    """Run on ``workers`` local processes (a multiprocessing Pool).

    Workers are spawned, not forked: a parent that has run numba's thread pool
    cannot fork safely. They exit when the sweep process dies, so that a killed
    sweep leaves no worker holding a run folder.
    """
    context = multiprocessing.get_context("spawn")
    with _environment(WORKER_ENV):
        pool = context.Pool(workers, initializer=_worker_start, initargs=(os.getpid(),))
    try:
        jobs = [(spec, sweep_dir) for spec in specs]
        yield from pool.imap_unordered(_run_one_args, jobs, chunksize=1)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _run_one_args(job) -> RunResult:
    return run_one(*job)


def _worker_start(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _ray_results(specs, sweep_dir: str, address: str) -> Iterator[RunResult]:
    """Run as Ray tasks on the cluster at ``address`` (one CPU each).

    Every node must see ``sweep_dir`` at the same path (a shared file system) and
    have complife installed.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise SweepError(
            "--ray needs the ray package; install it with pip install 'complife[ray]'"
        ) from None
    options = {"runtime_env": {"env_vars": WORKER_ENV}, "log_to_driver": False}
    if address.split(":")[0] in ("127.0.0.1", "localhost"):
        # A head on loopback: the driver must name the same address.
        options["_node_ip_address"] = "127.0.0.1"
    try:
        ray.init(address=address, **options)
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise SweepError(f"--ray {address}: cannot connect to the cluster: {e}") from e
    try:
        task = ray.remote(num_cpus=1, max_retries=2)(run_one)
        pending = [task.remote(spec, sweep_dir) for spec in specs]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        for ref in pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        ray.shutdown()


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    """Set environment variables for the processes started inside."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# The sweep folder.


def prepare_folder(sweep: SweepConfig, out: Path) -> None:
    """Make ``out`` the folder of this sweep, or check that it already is."""
    from complife.checkpoint import write_atomic

    manifest = out / MANIFEST
    record = {
        "name": sweep.name,
        "transition_entropy": sweep.transition_entropy,
        "runs": [spec.to_dict() for spec in sweep.runs],
    }
    if out.exists() and not out.is_dir():
        raise SweepError(f"--out {out} is a file; give a folder for the sweep")
    if manifest.exists():
        stored = json.loads(manifest.read_text())
        if any(stored.get(k) != record[k] for k in ("name", "runs")):
            raise SweepError(
                f"--out {out} holds the sweep {stored.get('name')!r} of another "
                "config; rerun that config to resume it, or choose another --out"
            )
        if stored.get("transition_entropy") != sweep.transition_entropy:
            # The threshold only reads the runs' metrics; the runs stay valid, and
            # the table is rebuilt at the new threshold.
            stored["transition_entropy"] = sweep.transition_entropy
            write_atomic(out / "sweep.toml", sweep.text.encode())
            text = json.dumps(stored, indent=1) + "\n"
            write_atomic(manifest, text.encode())
        return
    if out.exists() and any(out.iterdir()):
        raise SweepError(
            f"--out {out} is not empty and holds no {MANIFEST}, so it is not a sweep "
            "folder; choose another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "sweep.toml", sweep.text.encode())
    text = json.dumps({**record, "complife": __version__}, indent=1) + "\n"
    write_atomic(manifest, text.encode())


@contextlib.contextmanager
def _sweep_lock(out: Path):
    """Hold the sweep folder, so that two sweeps never run one folder."""
    with open(out / LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepError(
                f"sweep folder {out} is in use by another complife sweep; wait for "
                "it to end or stop it first"
            ) from None
        yield


@contextlib.contextmanager
def _stop_deferred():
    """Hold Ctrl-C and SIGTERM back while the body runs, then stop with
    KeyboardInterrupt if one came (a scheduler often sends a second signal soon
    after the first). Only the main thread can set signal handlers; elsewhere
    nothing is held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came = []
    held = [s for s in (signal.SIGINT, signal.SIGTERM)
            if signal.getsignal(s) is not signal.SIG_IGN]  # fmt: skip
    previous = {s: signal.signal(s, lambda signum, frame: came.append(signum))
                for s in held}  # fmt: skip
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if came:
        raise KeyboardInterrupt


def run_sweep(
    sweep: SweepConfig,
    out: str | Path,
    *,
    workers: int | None = None,
    ray_address: str | None = None,
    on_result: Callable[[RunResult], None] | None = None,
) -> list[RunResult]:
    """Run every run of ``sweep`` not finished yet in ``out``, then write the
    results table ``out/results.parquet`` (also when stopped half way: then it
    holds the finished runs); returns what happened to each run."""
    from complife.sweep.table import build_table, write_table

    out = Path(out).resolve()
    if workers is not None and workers < 1:
        raise SweepError(f"--workers {workers}: expected at least 1 process")
    existing = next(p for p in (out, *out.parents) if p.exists())
    if shutil.disk_usage(existing).free < 1 << 28:
        raise SweepError(f"--out {out}: less than 256 MiB free on its disk")
    prepare_folder(sweep, out)
    results = []
    with _sweep_lock(out):
        todo = [spec for spec in sweep.runs if not _finished(out / spec.folder)]
        done = [RunResult(s.folder, "skipped") for s in sweep.runs if s not in todo]
        todo = run_order(todo, out)
        try:
            if todo:
                if ray_address is not None:
                    stream = _ray_results(todo, str(out), ray_address)
                else:
                    count = min(workers or os.cpu_count() or 1, len(todo))
                    stream = _local_results(todo, str(out), count)
                try:
                    for result in stream:
                        results.append(result)
                        if on_result is not None:
                            on_result(result)
                finally:
                    stream.close()  # stops the workers now, not at collection
        finally:
            # A stopped sweep (Ctrl-C, an error) still leaves the table of the
            # runs it finished, to read while the rest waits for a rerun; a second
            # signal waits until it is written.
            with _stop_deferred():
                write_table(build_table(sweep, out), out / RESULTS)
    return done + results


def run_order(specs: list[RunSpec], out: Path) -> list[RunSpec]:
    """The order to run ``specs`` in: runs a stopped sweep had begun first, then
    in rounds, the first seed of every setting, then the second, and so on. A
    sweep stopped early then holds about as many runs of each setting, rather
    than all seeds of the first settings and none of the last. The table keeps
    the config's order whatever the order the runs ran in."""
    rank, seen = {}, defaultdict(int)
    for spec in specs:
        setting = (spec.group, spec.language, spec.num_programs,
                   spec.mutation_prob, spec.pairing, spec.max_epochs)  # fmt: skip
        rank[spec] = seen[setting]
        seen[setting] += 1

    def key(spec: RunSpec) -> tuple[int, int]:
        begun = (out / spec.folder / "status.json").exists()
        return (0 if begun else 1, rank[spec])

    return sorted(specs, key=key)


def _finished(path: Path) -> bool:
    try:
        return json.loads((path / "status.json").read_text())["state"] == "finished"
    except (OSError, ValueError, KeyError):
        return False
