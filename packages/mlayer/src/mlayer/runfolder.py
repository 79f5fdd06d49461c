"""The run folder of an experiment: what a user keeps, and what resumes a run.

::

    DIR/config.json                    the resolved Config, and the versions
    DIR/status.json                    how each model's training last ended
    DIR/<model>/metrics.csv            one row per epoch
    DIR/<model>/checkpoint.safetensors the last epoch: weights, optimiser, RNG
    DIR/<model>/best.safetensors       the weights of the best monitored epoch
    DIR/results.json                   the best weights' metrics on every split
    DIR/*.png                          training curves and the task's picture

A folder is never overwritten without ``force``; a killed run resumes from its last
checkpoint, dropping the metric rows written after it. Every file but the
append-only metrics.csv is written atomically (a temporary file, then a rename).
"""

from __future__ import annotations

import csv
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from mlayer import __version__
from mlayer.config import Config, ConfigError, from_dict

METRIC_COLUMNS = (
    "epoch",
    "step",
    "lr",
    "train_loss",
    "train_activity",
    "val_loss",
    "val_accuracy",
    "epoch_seconds",
    "elapsed_seconds",
)
#: Files and folders a run writes; with ``force`` only these are removed.
_OWN_FILES = ("config.json", "status.json", "results.json")


class RunFolderError(ValueError):
    """A run folder that cannot be created or resumed as asked."""


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def write_atomic(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a reader sees the old or the new file,
    never a part of one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, record) -> None:
    write_atomic(path, (json.dumps(record, indent=2) + "\n").encode())


def versions() -> dict:
    return {
        "mlayer": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


class RunFolder:
    """A run's folder on disk (see the module docstring for its layout)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def results_path(self) -> Path:
        return self.path / "results.json"

    def model_dir(self, model: str) -> Path:
        return self.path / model

    def checkpoint_path(self, model: str) -> Path:
        return self.model_dir(model) / "checkpoint.safetensors"

    def best_path(self, model: str) -> Path:
        return self.model_dir(model) / "best.safetensors"

    def metrics_path(self, model: str) -> Path:
        return self.model_dir(model) / "metrics.csv"

    def check_new(self, force: bool) -> None:
        """Refuse to start over an existing run unless ``force``, and refuse
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

    def create(self, config: Config, force: bool = False) -> None:
        """Start a new run folder for ``config`` (after :meth:`check_new`)."""
        self.check_new(force)
        if self.path.exists():
            for name in _OWN_FILES:
                (self.path / name).unlink(missing_ok=True)
            for png in self.path.glob("*.png"):
                png.unlink()
            for model in ("mlayer", "mlp"):
                shutil.rmtree(self.model_dir(model), ignore_errors=True)
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.config_path, {"config": config.to_dict(), **versions()})
        self.set_status({m: {"state": "pending"} for m in config.models})

    def load_config(self) -> Config:
        try:
            record = json.loads(self.config_path.read_text())
            return from_dict(record["config"])
        except FileNotFoundError:
            raise RunFolderError(
                f"{self.path} has no config.json, so it is not a run folder"
            ) from None
        except (json.JSONDecodeError, KeyError, TypeError, ConfigError) as e:
            raise RunFolderError(f"{self.config_path} is damaged: {e}") from None

    def status(self) -> dict:
        try:
            return json.loads(self.status_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def set_status(self, status: dict) -> None:
        write_json(self.status_path, status)

    def update_status(self, model: str, **fields) -> None:
        status = self.status()
        status[model] = fields
        self.set_status(status)

    # metrics.csv: one row per epoch, appended as the epochs end.

    def start_metrics(self, model: str, keep_through_epoch: int) -> None:
        """Begin ``model``'s metrics.csv afresh, keeping the rows of epochs up to
        ``keep_through_epoch`` (those that the checkpoint resumed from has seen)."""
        self.model_dir(model).mkdir(parents=True, exist_ok=True)
        path = self.metrics_path(model)
        rows = [r for r in self.read_metrics(model) if r["epoch"] <= keep_through_epoch]
        lines = [",".join(METRIC_COLUMNS)]
        lines += [",".join(_format(r[c]) for c in METRIC_COLUMNS) for r in rows]
        write_atomic(path, ("\n".join(lines) + "\n").encode())

    def append_metrics(self, model: str, row: dict) -> None:
        with open(self.metrics_path(model), "a", newline="") as f:
            csv.writer(f).writerow([_format(row[c]) for c in METRIC_COLUMNS])
            f.flush()
            os.fsync(f.fileno())

    def read_metrics(self, model: str) -> list[dict]:
        """The rows of ``model``'s metrics.csv with numbers parsed, up to the first
        torn or damaged one."""
        path = self.metrics_path(model)
        if not path.exists():
            return []
        rows = []
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                try:
                    parsed = {c: float(row[c]) for c in METRIC_COLUMNS}
                except (KeyError, TypeError, ValueError):
                    break
                parsed["epoch"] = int(parsed["epoch"])
                parsed["step"] = int(parsed["step"])
                rows.append(parsed)
        return rows


def _format(value) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.9g}"
