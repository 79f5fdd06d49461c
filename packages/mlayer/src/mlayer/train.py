"""Training one model of an experiment: the paper's loop (§4) with checkpoints.

Each epoch shuffles the training set with a seeded generator, steps the optimiser
over mini-batches of ``loss + lambda mean |exp(M)|_F^2`` (the activity regulariser,
M-layer only) plus the task's penalty, then measures the monitored value and
applies Keras' schedule rules:

- the rate at step t is ``lr 0.2^k / (1 + decay t)``: inverse-time decay times the
  k reductions of ReduceLROnPlateau (after ``plateau_patience`` epochs without an
  improvement larger than 1e-4, Keras' default ``min_delta``);
- training stops after ``early_stopping`` epochs without improvement, and the
  weights of the best epoch are kept (the paper tests the best-validation model).

After every epoch the whole state (weights, optimiser, generator, schedule) goes
to a safetensors checkpoint, so a killed run resumes exactly where it was: the
same seed gives the same numbers, interrupted or not.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from mlayer import checkpoint
from mlayer.config import Config, ConfigError, TrainConfig
from mlayer.expm import ExpmOverflowError
from mlayer.layer import (
    MLayer,
    count_parameters,
    init_negative_diagonal,
    init_rotations,
)
from mlayer.mlp import MLP, matched_width
from mlayer.runfolder import RunFolder
from mlayer.tasks import Data, Split, Task

#: Keras ReduceLROnPlateau's default min_delta.
PLATEAU_MIN_DELTA = 1e-4
EVAL_BATCH = 8192


class TrainingDiverged(RuntimeError):
    """The loss or exp(M) stopped being finite."""


def torch_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "float64": torch.float64}[name]


def mlayer_parameters(config: Config, data: Data) -> int:
    c = config.mlayer
    return count_parameters(
        data.in_features, c.d, c.n, data.out_features, c.projection, c.matrix_bias
    )


def mlp_hidden(config: Config, data: Data) -> list[int]:
    """The baseline's widths: as configured, or matched to the M-layer."""
    if config.mlp.hidden:
        return list(config.mlp.hidden)
    width = matched_width(
        data.in_features,
        data.out_features,
        config.mlp.depth,
        mlayer_parameters(config, data),
    )
    return [width] * config.mlp.depth


def build_model(name: str, config: Config, data: Data, seed: int) -> nn.Module:
    """The model ``name`` ("mlayer" or "mlp") of an experiment, initialised from
    ``seed``."""
    torch.manual_seed(seed)
    dtype = torch_dtype(config.dtype)
    if name == "mlayer":
        c = config.mlayer
        model = MLayer(
            data.in_features,
            c.d,
            c.n,
            data.out_features,
            projection=c.projection,
            matrix_bias=c.matrix_bias,
            expm=c.expm,
            squarings=c.squarings,
            init="uniform" if c.init == "uniform" else "normal",
            init_scale=c.init_scale,
            dtype=dtype,
        )
        if c.init == "negative-diagonal":
            init_negative_diagonal(model)
        elif c.init == "rotations":
            init_rotations(model, c.init_scale)
        return model
    hidden = mlp_hidden(config, data)
    return MLP(
        data.in_features,
        hidden,
        data.out_features,
        config.mlp.activation,
        dtype=dtype,
    )


def train_config(config: Config, name: str) -> TrainConfig:
    return config.mlayer.train if name == "mlayer" else config.mlp.train


def check_fits(config: Config, task: Task, data: Data) -> None:
    """Refuse settings that this task's data cannot serve, before any training."""
    for name in config.models:
        monitor = train_config(config, name).monitor
        if monitor.startswith("val_") and data.val is None:
            raise ConfigError(
                f"{name}.train.monitor = {monitor}, but {task.name} has no validation "
                "split here; monitor train_loss"
            )
        if monitor == "val_accuracy" and task.kind != "classification":
            raise ConfigError(
                f"{name}.train.monitor = val_accuracy, but {task.name} is a "
                "regression; monitor val_loss or train_loss"
            )
    c = config.mlayer
    if "mlayer" in config.models and not c.projection and c.d != data.in_features:
        raise ConfigError(
            f"mlayer.projection = false feeds the {data.in_features} inputs to T "
            f"directly, so mlayer.d must be {data.in_features}, not {c.d}"
        )


def make_optimizer(model: nn.Module, c: TrainConfig) -> torch.optim.Optimizer:
    """Keras' optimisers in torch terms: RMSprop with rho 0.9 and epsilon 1e-7
    outside the root (torch's alpha, eps), SGD with momentum, Adam."""
    params = model.parameters()
    if c.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=c.lr, alpha=0.9, eps=1e-7)
    if c.optimizer == "sgd":
        return torch.optim.SGD(params, lr=c.lr, momentum=c.momentum)
    return torch.optim.Adam(params, lr=c.lr, eps=1e-7)


def outputs(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(prediction, per-example activity |exp(M)|_F^2; zeros for an MLP)."""
    if isinstance(model, MLayer):
        return model.forward_with_activity(x)
    y = model(x)
    return y, torch.zeros(y.shape[:-1], dtype=y.dtype, device=y.device)


def data_loss(task: Task, prediction: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if task.kind == "classification":
        return nn.functional.cross_entropy(prediction, y)
    return nn.functional.mse_loss(prediction, y.reshape(prediction.shape))


@torch.no_grad()
def evaluate(
    model: nn.Module, task: Task, data: Data, split: Split, device, dtype
) -> dict:
    """Mean loss (MSE or cross-entropy) on ``split``, and accuracy for classifiers."""
    model.eval()
    total, correct = 0.0, 0
    for start in range(0, len(split), EVAL_BATCH):
        x = data.inputs(split.x[start : start + EVAL_BATCH].to(device), dtype)
        y = split.y[start : start + EVAL_BATCH].to(device)
        prediction = model(x)
        if task.kind == "classification":
            total += float(nn.functional.cross_entropy(prediction, y, reduction="sum"))
            correct += int((prediction.argmax(-1) == y).sum())
        else:
            error = (prediction - y.to(dtype).reshape(prediction.shape)).square()
            total += float(error.mean(-1).sum())
    model.train()
    result = {"loss": total / len(split)}
    if task.kind == "classification":
        result["accuracy"] = correct / len(split)
    else:
        result["mse"] = result["loss"]
    return result


@dataclass
class Schedule:
    """Where training stands: counters of the loop and of the schedule rules."""

    epoch: int = 0  # epochs completed
    step: int = 0
    best: float | None = None  # best monitored value (early stopping, best weights)
    best_epoch: int = 0
    wait: int = 0  # epochs since ``best`` improved
    plateau_best: float | None = None
    plateau_wait: int = 0
    reductions: int = 0
    elapsed: float = 0.0
    stopped: str | None = None  # why training ended, once it has

    def rate(self, c: TrainConfig) -> float:
        return c.lr * c.plateau_factor**self.reductions / (1.0 + c.decay * self.step)

    def update(self, value: float, c: TrainConfig) -> bool:
        """Apply the epoch's monitored ``value``; True if it is the best so far."""
        sign = -1.0 if c.monitor == "val_accuracy" else 1.0
        v = sign * value
        improved = self.best is None or v < sign * self.best
        if improved:
            self.best, self.best_epoch, self.wait = value, self.epoch, 0
        else:
            self.wait += 1
        if c.plateau_patience:
            if self.plateau_best is None or v < sign * self.plateau_best - (
                PLATEAU_MIN_DELTA
            ):
                self.plateau_best, self.plateau_wait = value, 0
            else:
                self.plateau_wait += 1
                if self.plateau_wait >= c.plateau_patience:
                    self.reductions += 1
                    self.plateau_wait = 0
        if c.early_stopping and self.wait >= c.early_stopping:
            self.stopped = f"early stopping at epoch {self.epoch}"
        elif self.epoch >= c.epochs:
            self.stopped = f"epoch limit {c.epochs}"
        return improved


class Observer:
    """Hooks for a progress display; the defaults do nothing."""

    def start(self, model: str, schedule: Schedule, c: TrainConfig, steps: int):
        pass

    def step(self, model: str, loss: float) -> None:
        pass

    def epoch(self, model: str, row: dict) -> None:
        pass

    def end(self, model: str, schedule: Schedule) -> None:
        pass


class Trainer:
    """Trains model ``name`` of a run, resuming from its checkpoint if there is
    one (see the module docstring)."""

    def __init__(
        self,
        name: str,
        config: Config,
        task: Task,
        data: Data,
        folder: RunFolder,
        observer: Observer | None = None,
    ):
        check_fits(config, task, data)
        self.name, self.config, self.task, self.data = name, config, task, data
        self.folder = folder
        self.observer = observer or Observer()
        self.c = train_config(config, name)
        self.device = torch.device(config.device)
        self.dtype = torch_dtype(config.dtype)
        index = ("mlayer", "mlp").index(name)
        self.model = build_model(name, config, data, config.seed * 2 + index).to(
            self.device
        )
        self.optimizer = make_optimizer(self.model, self.c)
        self.generator = torch.Generator().manual_seed(config.seed * 2 + index + 1)
        self.schedule = Schedule()
        path = folder.checkpoint_path(name)
        if path.exists():
            saved = checkpoint.read(path)
            saved.restore(self.model, self.optimizer, self.generator)
            self.schedule = Schedule(**saved.trainer)
        folder.start_metrics(name, keep_through_epoch=self.schedule.epoch)

    def run(self) -> Schedule:
        s, c = self.schedule, self.c
        train = self.data.train
        steps = math.ceil(len(train) / c.batch_size)
        self.observer.start(self.name, s, c, steps)
        while s.stopped is None:
            start = time.perf_counter()
            loss, activity = self._epoch(train, c)
            s.epoch += 1
            row = self._measure(loss, activity)
            monitored = {
                "val_loss": row["val_loss"],
                "val_accuracy": row["val_accuracy"],
                "train_loss": row["train_loss"],
            }[c.monitor]
            if s.update(monitored, c):
                checkpoint.save(self.folder.best_path(self.name), self.model)
            s.elapsed += time.perf_counter() - start
            row["epoch_seconds"] = time.perf_counter() - start
            row["elapsed_seconds"] = s.elapsed
            self._save()
            self.folder.append_metrics(self.name, row)
            self.observer.epoch(self.name, row)
        self.observer.end(self.name, s)
        return s

    def _epoch(self, train: Split, c: TrainConfig) -> tuple[float, float]:
        order = torch.randperm(len(train), generator=self.generator)
        total_loss, total_activity = 0.0, torch.zeros(())
        for start in range(0, len(train), c.batch_size):
            index = order[start : start + c.batch_size]
            x = self.data.inputs(train.x[index].to(self.device), self.dtype)
            y = train.y[index].to(self.device)
            for group in self.optimizer.param_groups:
                group["lr"] = self.schedule.rate(c)
            try:
                prediction, activity = outputs(self.model, x)
                activity = activity.mean()
                loss = data_loss(self.task, prediction, y)
                objective = loss + c.activity * activity
                objective = objective + self.task.penalty(self.model, x, self.data)
            except ExpmOverflowError as e:
                raise self._diverged(str(e)) from None
            value = objective.item()
            if not math.isfinite(value):
                raise self._diverged(f"the loss is {value}")
            self.optimizer.zero_grad(set_to_none=True)
            objective.backward()
            self.optimizer.step()
            self.schedule.step += 1
            total_loss += value * len(index)
            total_activity += activity.detach().cpu() * len(index)
            self.observer.step(self.name, value)
        return total_loss / len(train), total_activity.item() / len(train)

    def _diverged(self, why: str) -> TrainingDiverged:
        s = self.schedule
        return TrainingDiverged(
            f"{self.name} diverged in epoch {s.epoch + 1} (step {s.step}): {why}. The "
            f"checkpoint of epoch {s.epoch} is kept; start again (--force) with a "
            "lower learning rate or a larger activity regulariser"
        )

    def _measure(self, loss: float, activity: float) -> dict:
        nan = float("nan")
        row = {
            "epoch": self.schedule.epoch,
            "step": self.schedule.step,
            "lr": self.schedule.rate(self.c),
            "train_loss": loss,
            "train_activity": activity,
            "val_loss": nan,
            "val_accuracy": nan,
        }
        if self.data.val is not None:
            result = evaluate(
                self.model, self.task, self.data, self.data.val, self.device, self.dtype
            )
            row["val_loss"] = result["loss"]
            row["val_accuracy"] = result.get("accuracy", nan)
        return row

    def _save(self) -> None:
        checkpoint.save(
            self.folder.checkpoint_path(self.name),
            self.model,
            optimizer=self.optimizer,
            generator=self.generator,
            trainer=self.schedule.__dict__,
        )
