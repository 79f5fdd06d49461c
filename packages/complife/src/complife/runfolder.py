"""The run folder: what a user keeps of a run, and what resumes it.

::

    DIR/config.json          the RunConfig, and the versions that ran it
    DIR/metrics.csv          one row per report; the reference's columns first
    DIR/checkpoints/*.dat    the reference's checkpoint files
    DIR/entropy.png          entropy figures over epochs
    DIR/soup.png             the soup at the last report (reference palette)
    DIR/top_programs.txt     the most common programs, in the language's text form

A folder is never overwritten without ``force``; a killed run resumes from its last
checkpoint, dropping the metric rows written after it.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import shutil
from pathlib import Path

import numpy as np

from complife import __version__, languages
from complife.analysis import most_common_programs
from complife.checkpoint import latest_checkpoint, read_checkpoint, write_atomic
from complife.draw import plot_run, save_png, soup_rows
from complife.simulation import ConfigError, Report, RunConfig

REFERENCE_COLUMNS = ("epoch", "brotli_size", "soup_size", "higher_entropy")
#: The reference's fifth column, written when replicators are counted.
SELFREP_COLUMN = "number_selfreps"
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
)
#: Programs drawn in soup.png (the first ones, in storage order), in equal columns.
SNAPSHOT_PROGRAMS = 2048
SNAPSHOT_COLUMNS = 8


class RunFolderError(ValueError):
    """A run folder that cannot be created or resumed as asked."""


def columns(config: RunConfig) -> tuple[str, ...]:
    """The columns of a run's metrics.csv: the reference's log columns first."""
    selfrep = (SELFREP_COLUMN,) if config.eval_selfrep else ()
    return (*REFERENCE_COLUMNS, *selfrep, *EXTRA_COLUMNS)


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
    }


def read_metrics(path: str | Path) -> list[dict]:
    """The rows of a ``metrics.csv`` with numbers parsed; a torn last line is
    dropped."""
    return [{k: _number(v) for k, v in row.items()} for row in _read_rows(path)]


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


class RunFolder:
    """A run's folder on disk (see the module docstring for its layout)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    def check_new(self, force: bool) -> None:
        """Refuse to start a run over an existing one unless ``force``, and refuse
        ``force`` on a folder that is not a run folder. Changes nothing."""
        if not self.path.exists():
            return
        if not self.path.is_dir():
            raise RunFolderError(f"{self.path} exists and is not a folder")
        if not any(self.path.iterdir()):
            return
        if not force:
            raise RunFolderError(
                f"run folder {self.path} already exists; pass --force to overwrite it, "
                "--resume to continue it, or choose another --out"
            )
        if not self.config_path.exists():
            raise RunFolderError(
                f"{self.path} is not empty and holds no config.json, so it is not a "
                "run folder; --force only overwrites run folders. Choose another --out"
            )

    def create(self, config: RunConfig, force: bool = False) -> None:
        """Start a new run folder for ``config`` (after :meth:`check_new`)."""
        self.check_new(force)
        if self.path.exists():
            for name in _OWN_FILES:
                (self.path / name).unlink(missing_ok=True)
            shutil.rmtree(self.checkpoint_dir, ignore_errors=True)
        self.path.mkdir(parents=True, exist_ok=True)
        record = {
            "config": config.to_dict(),
            "complife": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
        }
        write_atomic(self.config_path, (json.dumps(record, indent=2) + "\n").encode())
        with open(self.metrics_path, "w", newline="") as f:
            csv.writer(f).writerow(columns(config))

    def load_config(self) -> RunConfig:
        try:
            record = json.loads(self.config_path.read_text())
            return RunConfig.from_dict(record["config"])
        except FileNotFoundError:
            raise RunFolderError(
                f"{self.path} has no config.json, so it is not a run folder to resume"
            ) from None
        except (json.JSONDecodeError, KeyError, TypeError, ConfigError) as e:
            raise RunFolderError(f"{self.config_path} is damaged: {e}") from None

    def prepare_resume_plan(self) -> tuple[RunConfig, float]:
        """Plan a resume without writing: the config pointed at the last checkpoint,
        and the elapsed seconds up to it. :meth:`commit_resume` then drops the metric
        rows written after that checkpoint."""
        config = self.load_config()
        last = latest_checkpoint(self.checkpoint_dir)
        if last is None:
            raise RunFolderError(
                f"{self.path} has no checkpoint to resume from yet (they are saved "
                f"every {config.save_interval} epochs); start it again with --force"
            )
        checkpoint = read_checkpoint(last)
        rows = _read_rows(self.metrics_path) if self.metrics_path.exists() else []
        self._kept_rows = [r for r in rows if int(r["epoch"]) <= checkpoint.next_epoch]
        config.load = str(last)
        config.checkpoint_dir = str(self.checkpoint_dir)
        elapsed = float(self._kept_rows[-1]["elapsed_s"]) if self._kept_rows else 0.0
        return config, elapsed

    def commit_resume(self) -> None:
        self._rewrite_metrics(self._kept_rows)

    def _columns(self) -> list[str]:
        with open(self.metrics_path, newline="") as f:
            return next(csv.reader(f))

    def _rewrite_metrics(self, rows: list[dict]) -> None:
        names = columns(self.load_config())
        lines = [",".join(names)]
        lines += [",".join(r[c] for c in names) for r in rows]
        write_atomic(self.metrics_path, ("\n".join(lines) + "\n").encode())

    def record(self, report: Report) -> None:
        """Append a report's row to metrics.csv."""
        row = metrics_row(report)
        names = self._columns()
        with open(self.metrics_path, "a", newline="") as f:
            csv.writer(f).writerow([row[c] for c in names])
            f.flush()
            os.fsync(f.fileno())

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    def status(self) -> dict:
        """How the run last ended: ``state`` is "finished" (a stop rule fired),
        "interrupted", or "running" (never ended cleanly: killed, or running now)."""
        try:
            return json.loads(self.status_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {"state": "running"}

    def set_status(
        self, state: str, epoch: int, stop_reason: str | None = None
    ) -> None:
        record = {"state": state, "epoch": epoch, "stop_reason": stop_reason}
        write_atomic(self.status_path, (json.dumps(record, indent=2) + "\n").encode())

    def finish(self, programs: np.ndarray, language_name: str, top: int = 20) -> None:
        """Write the pictures and the most common programs of the soup as it is."""
        language = languages.get(language_name)
        rows = read_metrics(self.metrics_path)
        if rows:
            plot_run(rows, self.path / "entropy.png", title=self._title(language_name))
        snapshot = soup_rows(
            programs[:SNAPSHOT_PROGRAMS], language.palette, SNAPSHOT_COLUMNS
        )
        save_png(snapshot, self.path / "soup.png", scale=2)
        lines = [f"# {top} most common programs of {len(programs)} ({language_name})"]
        lines.append("# count  share   program")
        for program, count in most_common_programs(programs, top):
            share = count / len(programs)
            lines.append(f"{count:7d} {share:7.2%}  {language.format(program)}")
        write_atomic(self.path / "top_programs.txt", ("\n".join(lines) + "\n").encode())

    def _title(self, language_name: str) -> str:
        return f"{language_name}: {self.path.name}"
