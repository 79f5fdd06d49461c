"""The paper's experiments as tasks: each one knows its data, its default config
(the paper's settings, notes §2) and its picture. A registry keyed by name serves
the command line (``mlayer train TASK``).

==================  =====================================================  =======
task                what                                                    paper
==================  =====================================================  =======
spiral              two interleaved spirals, and their continuation         §4.1
periodic            a sum of two cosines, trained on [0, 2], tested [2, 6]  §4.2
temperature         Melbourne minimum temperatures, last year extrapolated  code
determinant         3 x 3 determinant of U(-1, 1) entries                   §4.3
permanent           3 x 3 permanent, likewise                               §4.3
fashion-mnist       Fashion-MNIST (Debian's dataset-fashion-mnist)          §4.4
mnist, cifar10,     from a local copy (``--data PATH``)                     §4.4
svhn
==================  =====================================================  =======
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from mlayer.config import Config, ConfigError, _merge


@dataclass
class Split:
    """Inputs as stored (float features, or uint8 images) and targets."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Data:
    """A task's data: ``train``, an optional ``val`` (monitored every epoch), and
    the splits the best weights are measured on at the end."""

    train: Split
    val: Split | None
    evaluations: dict[str, Split]
    in_features: int
    out_features: int
    #: Stored batch -> model input (for images: uint8 to [0, 1], flattened).
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None
    #: Whatever the task's picture needs beside the splits.
    extra: dict = field(default_factory=dict)

    def inputs(self, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        x = self.transform(x) if self.transform is not None else x
        return x.to(dtype)


class Task:
    """One experiment. Subclasses set the class attributes and :meth:`load`."""

    name: str = ""
    summary: str = ""
    #: "regression" (MSE) or "classification" (softmax cross-entropy, accuracy).
    kind: str = "regression"
    #: The dataclass of this task's ``[data]`` settings.
    DataConfig: type = object
    #: The paper's numbers to print beside ours in results.json.
    paper: ClassVar[dict] = {}

    def default_config(self) -> Config:
        raise NotImplementedError

    def data_config(self, config: Config):
        """``config.data`` checked against this task's DataConfig."""
        return _merge(self.DataConfig(), config.data, "data")

    def load(self, config: Config) -> Data:
        raise NotImplementedError

    def penalty(
        self, model: nn.Module, x: torch.Tensor, data: Data
    ) -> torch.Tensor | float:
        """An extra training-loss term (the periodic task's blow-up penalty)."""
        return 0.0

    def references(self, data: Data) -> dict:
        """Reference numbers for results.json (e.g. the MSE of predicting 0)."""
        return {}

    def plot(self, folder: Path, models: dict[str, nn.Module], data: Data) -> None:
        """Write the task's picture(s) into ``folder``."""


_REGISTRY: dict[str, Task] = {}


def register(task: Task) -> Task:
    _REGISTRY[task.name] = task
    return task


def names() -> list[str]:
    _load_all()
    return list(_REGISTRY)


def get(name: str) -> Task:
    _load_all()
    if name not in _REGISTRY:
        raise ConfigError(f"unknown task {name!r}; choose one of {', '.join(names())}")
    return _REGISTRY[name]


def _load_all() -> None:
    from mlayer.tasks import images, periodic, polynomials, spiral  # noqa: F401


def default_data(data_class: type) -> dict:
    return dataclasses.asdict(data_class())
