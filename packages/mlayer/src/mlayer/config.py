"""Experiment configuration: dataclasses with the paper's settings as defaults,
read from TOML and overridden with ``section.key=value``.

A config file holds any subset of the keys of :class:`Config`; for example::

    seed = 1
    models = ["mlayer", "mlp"]

    [data]
    train = 131072

    [mlayer]
    n = 9

    [mlayer.train]
    epochs = 60

Unknown keys are errors that list the known ones.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

OPTIMIZERS = ("rmsprop", "sgd", "adam")
MONITORS = ("val_loss", "val_accuracy", "train_loss")
DTYPES = ("float32", "float64")
MODELS = ("mlayer", "mlp")
INITS = ("normal", "uniform", "negative-diagonal", "rotations")


class ConfigError(ValueError):
    """A configuration that cannot run."""


@dataclass
class TrainConfig:
    """How one model trains (paper §4). Epoch counts are maxima."""

    optimizer: str = "rmsprop"
    lr: float = 1e-3
    #: SGD momentum (the paper's 0.9 on images).
    momentum: float = 0.0
    #: Keras' inverse-time decay: the rate at step t is lr / (1 + decay t).
    decay: float = 0.0
    batch_size: int = 32
    epochs: int = 100
    #: lambda of the activity regulariser lambda |exp(M)|_F^2 (M-layer only).
    activity: float = 1e-4
    #: What the schedule, early stopping and the best checkpoint follow.
    monitor: str = "val_loss"
    #: Epochs without improvement before the rate is multiplied by plateau_factor
    #: (0: never).
    plateau_patience: int = 0
    plateau_factor: float = 0.2
    #: Epochs without improvement before training stops (0: never).
    early_stopping: int = 0

    def validate(self, where: str) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"{where}.optimizer = {self.optimizer!r}: expected one of "
                + ", ".join(OPTIMIZERS)
            )
        if self.monitor not in MONITORS:
            raise ConfigError(
                f"{where}.monitor = {self.monitor!r}: expected one of "
                + ", ".join(MONITORS)
            )
        for name in ("batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise ConfigError(
                    f"{where}.{name} = {getattr(self, name)}: expected at least 1"
                )
        for name in ("plateau_patience", "early_stopping"):
            if getattr(self, name) < 0:
                raise ConfigError(
                    f"{where}.{name} = {getattr(self, name)}: expected 0 (off) or more"
                )
        for name in ("lr", "momentum", "decay", "activity", "plateau_factor"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(
                    f"{where}.{name} = {getattr(self, name)}: expected a finite number"
                )
        if not self.lr > 0:
            raise ConfigError(f"{where}.lr = {self.lr}: expected a positive rate")
        for name in ("momentum", "decay", "activity"):
            if getattr(self, name) < 0:
                raise ConfigError(
                    f"{where}.{name} = {getattr(self, name)}: expected 0 or more"
                )
        if not 0 < self.plateau_factor < 1:
            raise ConfigError(
                f"{where}.plateau_factor = {self.plateau_factor}: expected a factor "
                "between 0 and 1"
            )


@dataclass
class MLayerConfig:
    """The M-layer's shape and initialisation (see :class:`mlayer.MLayer`)."""

    d: int = 35
    n: int = 30
    projection: bool = True
    matrix_bias: bool = True
    expm: str = "exact"
    squarings: int = 3
    #: "normal", "uniform" (§1.4), "negative-diagonal" (the paper's periodic
    #: start) or "rotations" (ours, see mlayer.layer.init_rotations).
    init: str = "normal"
    #: sigma of "normal", the bound of "uniform", the antisymmetric part's sigma
    #: of "rotations".
    init_scale: float = 0.05
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class MLPConfig:
    """The baseline: ``hidden`` widths, or (empty) ``depth`` equal layers sized to
    the M-layer's parameter count."""

    hidden: list[int] = field(default_factory=list)
    depth: int = 2
    activation: str = "relu"
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class Config:
    task: str
    seed: int = 0
    models: list[str] = field(default_factory=lambda: list(MODELS))
    device: str = "cpu"
    dtype: str = "float32"
    #: Task-specific data settings (each task documents its own keys).
    data: dict[str, Any] = field(default_factory=dict)
    mlayer: MLayerConfig = field(default_factory=MLayerConfig)
    mlp: MLPConfig = field(default_factory=MLPConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        if not self.models or any(m not in MODELS for m in self.models):
            raise ConfigError(
                f"models = {self.models}: expected a non-empty list of "
                + ", ".join(MODELS)
            )
        if len(set(self.models)) != len(self.models):
            raise ConfigError(f"models = {self.models} names a model twice")
        if self.dtype not in DTYPES:
            raise ConfigError(
                f"dtype = {self.dtype!r}: expected one of {', '.join(DTYPES)}"
            )
        if self.mlayer.init not in INITS:
            raise ConfigError(
                f"mlayer.init = {self.mlayer.init!r}: expected one of "
                + ", ".join(INITS)
            )
        if self.mlayer.expm not in ("exact", "torch", "squaring"):
            raise ConfigError(
                f"mlayer.expm = {self.mlayer.expm!r}: expected exact, torch or squaring"
            )
        for name in ("d", "n"):
            if getattr(self.mlayer, name) < 1:
                raise ConfigError(f"mlayer.{name} must be at least 1")
        if self.mlayer.squarings < 0:
            raise ConfigError(
                f"mlayer.squarings = {self.mlayer.squarings}: expected 0 or more "
                "(k of (I + M/2^k)^(2^k))"
            )
        scale = self.mlayer.init_scale
        if not (math.isfinite(scale) and scale > 0):
            raise ConfigError(
                f"mlayer.init_scale = {scale}: expected a finite number above 0"
            )
        if self.seed < 0:
            raise ConfigError(f"seed = {self.seed}: expected 0 or more")
        check_device(self.device)
        if self.mlp.depth < 1 or any(w < 1 for w in self.mlp.hidden):
            raise ConfigError(
                f"mlp: hidden = {self.mlp.hidden}, depth = {self.mlp.depth}: widths "
                "and depth must be at least 1"
            )
        self.mlayer.train.validate("mlayer.train")
        self.mlp.train.validate("mlp.train")


def check_device(device: str) -> None:
    """Refuse a device torch cannot parse or this machine does not have."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ConfigError(
            f"device = {device!r} is not a torch device ({e}); use cpu, cuda or cuda:N"
        ) from None
    if parsed.type == "cpu":
        return
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(
                f"device = {device!r}, but this torch ({torch.__version__}) sees no "
                "CUDA device; use --device cpu"
            )
        if parsed.index is not None and parsed.index >= count:
            raise ConfigError(
                f"device = {device!r}, but only {count} CUDA device(s) exist; use "
                f"cuda:0 to cuda:{count - 1}"
            )
        return
    if parsed.type == "mps" and torch.backends.mps.is_available():
        return
    raise ConfigError(
        f"device = {device!r} is not available here; use --device cpu"
        + (" or cuda" if torch.cuda.is_available() else "")
    )


def _merge(obj, values: dict, where: str):
    """Set the fields of dataclass ``obj`` from ``values``, recursively."""
    if not dataclasses.is_dataclass(obj):
        raise ConfigError(f"{where} is a value, not a section")
    hints = get_type_hints(type(obj))
    names = {f.name for f in dataclasses.fields(obj)}
    for key, value in values.items():
        path = f"{where}.{key}" if where else key
        if key not in names:
            raise ConfigError(
                f"unknown setting {path!r}; {where or 'the top level'} has "
                + ", ".join(sorted(names))
            )
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{path} is a section; give it as [{path}]")
            _merge(current, value, path)
        elif key == "data" and isinstance(current, dict):
            if not isinstance(value, dict):
                raise ConfigError("data is a section; give it as [data]")
            current.update(value)
        else:
            setattr(obj, key, _coerce(value, hints[key], path))
    return obj


def _coerce(value, hint, path: str):
    """Check a TOML value against a field's type; ints pass as floats."""
    text = hint.__name__ if isinstance(hint, type) else str(hint)
    if hint is bool or text == "bool":
        ok = isinstance(value, bool)
    elif hint is int or text == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float or text == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif hint is str or text == "str":
        ok = isinstance(value, str)
    elif text.startswith("list"):
        ok = isinstance(value, list)
    else:
        ok = True
    if not ok:
        raise ConfigError(f"{path} = {value!r}: expected a value of type {text}")
    return value


def apply(config: Config, values: dict) -> Config:
    """``config`` with the (nested) ``values`` set; raises ConfigError."""
    if "task" in values and values["task"] != config.task:
        raise ConfigError(
            f"the config file is for task {values['task']!r}, not {config.task!r}"
        )
    values = {k: v for k, v in values.items() if k != "task"}
    return _merge(config, values, "")


def read_toml(path: str | Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(
            f"config file {path} is a folder; give a TOML file (mlayer config TASK "
            "prints one)"
        ) from None
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"config file {path} is not UTF-8 text ({e.reason} at byte {e.start}); "
            "give a TOML file"
        ) from None
    except OSError as e:
        raise ConfigError(f"config file {path} cannot be read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None


def parse_override(text: str) -> dict:
    """``"mlayer.train.epochs=5"`` -> ``{"mlayer": {"train": {"epochs": 5}}}``; the
    value is read as TOML (so strings may go unquoted)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(
            f"--set {text!r}: expected KEY=VALUE, e.g. mlayer.train.epochs=5"
        )
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    nested: dict = {}
    node = nested
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return nested


def from_dict(record: dict) -> Config:
    """The Config of a run folder's ``config.json``."""
    config = Config(task=record["task"])
    return apply(config, record)


def to_toml(config: Config) -> str:
    """The config as a TOML file (for ``mlayer config TASK``)."""
    data = config.to_dict()
    lines = []

    def scalar(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str | list):
            return json.dumps(v)
        return repr(v)

    def section(name: str, values: dict) -> None:
        plain = {k: v for k, v in values.items() if not isinstance(v, dict)}
        if name:
            lines.append(f"\n[{name}]")
        lines.extend(f"{k} = {scalar(v)}" for k, v in plain.items())
        for k, v in values.items():
            if isinstance(v, dict):
                section(f"{name}.{k}" if name else k, v)

    section("", data)
    return "\n".join(lines).lstrip() + "\n"
