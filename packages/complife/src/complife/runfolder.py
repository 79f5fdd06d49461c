"""The run folder: what a user keeps of a run, and what resumes it.

::

    DIR/config.json          the RunConfig, and the versions that ran it
    DIR/metrics.csv          one row per report; the reference's columns first
    DIR/checkpoints/*.dat    the reference's checkpoint files
    DIR/entropy.png          entropy figures over epochs
    DIR/soup.png             the soup at the last report (reference palette)
    DIR/top_programs.txt     the most common programs, in the language's text form
    DIR/status.json          running, interrupted or finished, and at which epoch
    DIR/checkpoints/*.tokens.npy   tracer tokens beside each checkpoint (traced runs)
    DIR/report.html, soup.gif      written by ``complife report``

A folder is never overwritten without ``force``; a killed run resumes from its last
checkpoint, dropping the metric rows written after it.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import json
import os
import platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from complife import __version__, languages, tracer
from complife.analysis import most_common_programs
from complife.checkpoint import (
    CHECKPOINT_NAME,
    CheckpointError,
    read_checkpoint,
    write_atomic,
)
from complife.draw import plot_run, save_png, soup_rows
from complife.simulation import Report, RunConfig

REFERENCE_COLUMNS = ("epoch", "brotli_size", "soup_size", "higher_entropy")
#: The reference's fifth column, written when replicators are counted.
SELFREP_COLUMN = "number_selfreps"
#: The last column of a traced run (paper Figs. 1-3).
TOKENS_COLUMN = "distinct_tokens"
EXTRA_COLUMNS = (
    "h0",
    "brotli_bpb",
    "bytes_per_program",
    "total_ops",
    "ops_per_interaction",
    "mops_per_s",
    "epochs_per_s",
    "elapsed_s",
)
#: Files a run writes; with ``force`` only these are removed.
_OWN_FILES = (
    "status.json",
    "config.json",
    "metrics.csv",
    "entropy.png",
    "soup.png",
    "top_programs.txt",
    "report.html",
    "soup.gif",
)
#: Held by the process that runs in the folder.
LOCK_FILE = ".lock"
#: Programs drawn in soup.png (the first ones, in storage order), in equal columns.
SNAPSHOT_PROGRAMS = 2048
SNAPSHOT_COLUMNS = 8


class RunFolderError(ValueError):
    """A run folder that cannot be created or resumed as asked."""


def columns(config: RunConfig) -> tuple[str, ...]:
    """The columns of a run's metrics.csv: the reference's log columns first."""
    selfrep = (SELFREP_COLUMN,) if config.eval_selfrep else ()
    tokens = (TOKENS_COLUMN,) if config.trace_tokens else ()
    return (*REFERENCE_COLUMNS, *selfrep, *EXTRA_COLUMNS, *tokens)


def metrics_row(report: Report) -> dict:
    m = report.metrics
    return {
        SELFREP_COLUMN: report.selfrep_count,
        "epoch": report.epoch,
        "brotli_size": m.brotli_size,
        "soup_size": m.num_programs,
        "higher_entropy": f"{m.higher_entropy:f}",
        "h0": f"{m.h0:.6f}",
        "brotli_bpb": f"{m.brotli_bpb:.6f}",
        "bytes_per_program": f"{m.bytes_per_program:.4f}",
        "total_ops": report.total_ops,
        "ops_per_interaction": f"{report.ops_per_interaction:.3f}",
        "mops_per_s": f"{report.mops_per_s:.3f}",
        "epochs_per_s": f"{report.epochs_per_s:.3f}",
        "elapsed_s": f"{report.elapsed_s:.3f}",
        TOKENS_COLUMN: report.distinct_tokens,
    }


def read_metrics(path: str | Path) -> list[dict]:
    """The rows of a ``metrics.csv`` with numbers parsed; a torn last line is
    dropped."""
    return [{k: _number(v) for k, v in row.items()} for row in _read_rows(path)]


def load_metrics(path: str | Path) -> list[dict]:
    """The rows of a run's ``metrics.csv`` with numbers parsed, refusing a missing
    file or a damaged row in one line (what a report reads; a resume drops a torn
    last line instead). A file with only its header has no rows yet."""
    path = Path(path)
    restore = "restore it from a copy, or run the soup again"
    try:
        with open(path, newline="") as f:
            lines = list(csv.reader(f))
    except FileNotFoundError:
        raise RunFolderError(
            f"{path} is missing; it holds the run's reports ({restore})"
        ) from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise RunFolderError(f"{path} cannot be read ({e}); {restore}") from None
    if not lines or not lines[0] or lines[0][0] != "epoch":
        raise RunFolderError(
            f"{path} is damaged: its first line is not the header (epoch,...); "
            + restore
        )
    header = lines[0]
    rows = []
    for number, fields in enumerate(lines[1:], 2):
        if len(fields) != len(header):
            raise RunFolderError(
                f"{path} is damaged: line {number} has {len(fields)} fields, the "
                f"header {len(header)} (truncated?); {restore}"
            )
        try:
            rows.append({k: _number(v) for k, v in zip(header, fields, strict=True)})
        except ValueError:
            raise RunFolderError(
                f"{path} is damaged: line {number} holds something that is not a "
                f"number; {restore}"
            ) from None
    return rows


def _read_rows(path: str | Path) -> list[dict[str, str]]:
    """The rows of a ``metrics.csv`` as text, up to the first torn or damaged one."""
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if None in row or None in row.values() or not row["epoch"].isdigit():
                break
            try:
                [float(v) for v in row.values()]
            except ValueError:
                break
            rows.append(row)
    return rows


def _number(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else float(text)


def _damaged_config(path: Path, what: str) -> RunFolderError:
    return RunFolderError(
        f"{path} is damaged ({what}); it should be the JSON object complife run "
        "wrote; restore it or start a new run"
    )


@dataclass
class ResumePlan:
    """Where a resumed run starts: its config (pointed at a checkpoint), the elapsed
    seconds and total ops up to it, and the checkpoints that were passed over (each
    with why: "damaged checkpoint NAME", or "checkpoint NAME: its tokens file is
    damaged")."""

    config: RunConfig
    elapsed_s: float
    total_ops: int
    skipped: list[str]
    kept_rows: list[dict] = field(repr=False)
    interval: tuple[int, int, int] = (0, 0, 0)


class RunFolder:
    """A run's folder on disk (see the module docstring for its layout)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = None

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    def check_new(self, force: bool) -> None:
        """Refuse to start a run over an existing one unless ``force``, and refuse
        any folder that is not a run folder. Changes nothing."""
        check_folder_path(self.path, "--out")
        if not self.path.exists() or self._only_unfinished_start():
            return
        if not self.config_path.exists():
            raise RunFolderError(
                f"{self.path} is not empty and holds no config.json, so it is not a "
                "run folder; choose another --out"
            )
        if not force:
            raise RunFolderError(
                f"run folder {self.path} already exists; pass --force to overwrite it, "
                "--resume to continue it, or choose another --out"
            )

    def _only_unfinished_start(self) -> bool:
        """True for an empty folder, or one that holds only what :meth:`create`
        makes before config.json (the lock file, an empty checkpoints folder, a
        temporary file of an atomic write): a run killed while it started."""
        for entry in self.path.iterdir():
            if entry.name == LOCK_FILE or (
                entry.name.startswith(".config.json.") and entry.name.endswith(".tmp")
            ):
                continue
            if entry == self.checkpoint_dir and not any(entry.iterdir()):
                continue
            return False
        return True

    def lock(self) -> None:
        """Hold the folder for this process until it exits, so that two runs never
        write one folder; the operating system frees the lock of a killed run."""
        path = self.path / LOCK_FILE
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise RunFolderError(
                f"run folder {self.path} is in use by a running complife ({owner}); "
                "wait for it to end or stop it first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._lock = handle

    def unlock(self) -> None:
        """Let go of the folder (a no-op when not held), so that another run in this
        process or another may write it; a ``with`` block does it on exit."""
        if self._lock is not None:
            self._lock.close()  # closing the descriptor releases the flock
            self._lock = None

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, *exc) -> None:
        self.unlock()

    def create(self, config: RunConfig, force: bool = False) -> None:
        """Start a new run folder for ``config`` (after :meth:`check_new`)."""
        self.check_new(force)
        self.path.mkdir(parents=True, exist_ok=True)
        self.lock()
        for name in _OWN_FILES:
            (self.path / name).unlink(missing_ok=True)
        shutil.rmtree(self.checkpoint_dir, ignore_errors=True)
        self.checkpoint_dir.mkdir()
        record = {
            "config": config.to_dict(),
            "complife": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
        }
        write_atomic(self.config_path, (json.dumps(record, indent=2) + "\n").encode())
        write_atomic(self.metrics_path, (",".join(columns(config)) + "\n").encode())

    def load_config(self) -> RunConfig:
        if not self.path.is_dir():
            raise RunFolderError(f"run folder {self.path} does not exist")
        try:
            record = json.loads(self.config_path.read_text())
        except FileNotFoundError:
            raise RunFolderError(
                f"{self.path} has no config.json, so it is not a run folder to resume"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise _damaged_config(self.config_path, f"not JSON: {e}") from None
        if not isinstance(record, dict):
            what = f"a JSON {type(record).__name__}, not an object"
            raise _damaged_config(self.config_path, what)
        if not isinstance(record.get("config"), dict):
            raise _damaged_config(self.config_path, 'no "config" object in it')
        try:
            return RunConfig.from_dict(record["config"])
        except (KeyError, TypeError, ValueError) as e:
            raise _damaged_config(self.config_path, f"its config: {e}") from None

    def plan_resume(self) -> ResumePlan:
        """Plan a resume without writing: start from the newest checkpoint that
        reads back whole (or, before the first save, from the file the run was
        loaded from), dropping the metric rows written after it."""
        config = self.load_config()
        skipped = []
        checkpoint = None
        for path in sorted(self.checkpoint_dir.glob("*.dat"), reverse=True):
            if not CHECKPOINT_NAME.match(path.name):
                continue
            try:
                checkpoint = read_checkpoint(path)
            except CheckpointError:
                skipped.append(f"damaged checkpoint {path.name}")
                continue
            if config.trace_tokens:
                # A traced run resumes only where its tokens were saved too.
                beside = tracer.tokens_path(path)
                try:
                    tracer.check_tokens(
                        tracer.read_tokens(beside),
                        checkpoint.programs,
                        "the tokens beside it",
                    )
                except tracer.TokensError:
                    checkpoint = None
                    what = "damaged" if beside.exists() else "missing"
                    skipped.append(f"checkpoint {path.name}: its tokens file is {what}")
                    continue
            config.load = str(path)
            break
        if checkpoint is None and config.load is not None:
            checkpoint = read_checkpoint(config.load)
        if checkpoint is None:
            raise RunFolderError(
                f"{self.path} has no checkpoint to resume from yet (they are saved "
                f"every {config.save_interval} epochs); start it again with --force"
            )
        rows = _read_rows(self.metrics_path) if self.metrics_path.exists() else []
        kept = [r for r in rows if int(r["epoch"]) <= checkpoint.next_epoch]
        config.checkpoint_dir = str(self.checkpoint_dir)
        last = kept[-1] if kept else {}
        plan = ResumePlan(
            config=config,
            elapsed_s=float(last.get("elapsed_s", 0.0)),
            total_ops=int(last.get("total_ops", 0)),
            skipped=skipped,
            kept_rows=kept,
        )
        status = self.status()
        if status.get("state") == "interrupted" and (
            status.get("epoch") == checkpoint.next_epoch and "interval" in status
        ):
            # Stopped between reports: go on with the counts of the open interval,
            # so that the next report is the one the whole run would have made.
            plan.total_ops = status["total_ops_before"]
            plan.interval = tuple(status["interval"])
            plan.elapsed_s = status["elapsed_s"]
        return plan

    def commit_resume(self, plan: ResumePlan) -> None:
        """Take the folder for the resumed run: drop the rows after its checkpoint."""
        self.lock()
        names = columns(plan.config)
        lines = [",".join(names)]
        lines += [",".join(r[c] for c in names) for r in plan.kept_rows]
        write_atomic(self.metrics_path, ("\n".join(lines) + "\n").encode())

    def record(self, report: Report) -> None:
        """Append a report's row to metrics.csv and note the epoch in status.json."""
        row = metrics_row(report)
        with open(self.metrics_path, newline="") as f:
            names = next(csv.reader(f))
        with open(self.metrics_path, "a", newline="") as f:
            # "\n" as the header and a resume write it (csv's default is "\r\n").
            csv.writer(f, lineterminator="\n").writerow([row[c] for c in names])
            f.flush()
            os.fsync(f.fileno())
        self.set_status("running", report.epoch)

    def is_held(self) -> bool:
        """Whether a process holds the folder now (a run in it is alive): try the
        lock on a fresh descriptor, without waiting, and let it go at once."""
        path = self.path / LOCK_FILE
        if self._lock is not None:
            return True
        try:
            handle = open(path, "rb")
        except OSError:
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    def status(self) -> dict:
        """How the run last ended: ``state`` is "finished" (a stop rule fired),
        "interrupted", or "running" (never ended cleanly: killed, or running now)."""
        try:
            return json.loads(self.status_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {"state": "running"}

    def set_status(
        self, state: str, epoch: int, stop_reason: str | None = None, **more
    ) -> None:
        """Note how the run stands; ``epoch`` is the number of epochs run."""
        record = {"state": state, "epoch": epoch, "stop_reason": stop_reason, **more}
        write_atomic(self.status_path, (json.dumps(record, indent=2) + "\n").encode())

    def set_interrupted(self, report: Report, epoch: int) -> None:
        """Note a run stopped between reports, with what its open interval needs."""
        self.set_status(
            "interrupted",
            epoch,
            report.stop_reason,
            total_ops_before=report.total_ops - report.interval_ops,
            interval=[
                report.interval_ops,
                report.interval_pairs,
                report.interval_epochs,
            ],
            elapsed_s=report.elapsed_s,
        )

    def finish(self, programs: np.ndarray, language_name: str, top: int = 20) -> None:
        """Write the pictures and the most common programs of the soup as it is."""
        language = languages.get(language_name)
        rows = read_metrics(self.metrics_path)
        if rows:
            plot_run(rows, self.path / "entropy.png", title=self._title(language_name))
        shown = programs[:SNAPSHOT_PROGRAMS]
        columns_shown = max(1, min(SNAPSHOT_COLUMNS, len(shown) // 256))
        snapshot = soup_rows(shown, language.palette, columns_shown)
        save_png(snapshot, self.path / "soup.png", scale=2)
        lines = [f"# {top} most common programs of {len(programs)} ({language_name})"]
        lines.append("# count  share   program")
        for program, count in most_common_programs(programs, top):
            share = count / len(programs)
            lines.append(f"{count:7d} {share:7.2%}  {language.format(program)}")
        write_atomic(self.path / "top_programs.txt", ("\n".join(lines) + "\n").encode())

    def _title(self, language_name: str) -> str:
        return f"{language_name}: {self.path.name}"


def check_folder_path(path: str | Path, flag: str) -> None:
    """Check, without writing, that ``path`` is or can become a folder we write in."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise RunFolderError(f"{flag} {path} exists and is not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise RunFolderError(f"{flag} {path}: the folder is not writable")
        return
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise RunFolderError(f"{flag} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RunFolderError(f"{flag} {path}: cannot create it in {parent}")


def make_folders(*paths: Path) -> None:
    """Create folders (and their parents); on failure remove the ones made here and
    raise a :class:`RunFolderError` naming the path."""
    made = []
    try:
        for path in paths:
            missing = []
            p = Path(path)
            while not p.exists():
                missing.append(p)
                p = p.parent
            p = Path(path)
            p.mkdir(parents=True, exist_ok=True)
            made += reversed(missing)
    except OSError as e:
        for p in reversed(made):
            with contextlib.suppress(OSError):
                p.rmdir()
        raise RunFolderError(
            f"cannot create folder {e.filename}: {e.strerror}"
        ) from None
