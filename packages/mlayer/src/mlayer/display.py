"""Training progress in the terminal: a rich progress bar per model with the
latest epoch's numbers; a plain line per epoch (at most about 50 per model) when
the output is not a terminal."""

from __future__ import annotations

import math

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from mlayer.config import TrainConfig
from mlayer.train import Observer, Schedule


def _figures(row: dict) -> str:
    text = f"loss {row['train_loss']:.3e}"
    if not math.isnan(row["val_loss"]):
        text += f"  val {row['val_loss']:.3e}"
    if not math.isnan(row["val_accuracy"]):
        text += f"  acc {row['val_accuracy']:.2%}"
    return text + f"  lr {row['lr']:.1e}"


class ProgressView(Observer):
    def __init__(self, console: Console):
        self.console = console
        self.live = console.is_terminal
        self.progress = Progress(
            TextColumn("[bold]{task.description:<7}"),
            BarColumn(),
            TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            TextColumn("{task.fields[figures]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.tasks: dict[str, int] = {}
        self.every: dict[str, int] = {}

    def __enter__(self) -> ProgressView:
        if self.live:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.live:
            self.progress.stop()

    def start(self, model: str, schedule: Schedule, c: TrainConfig, steps: int):
        self.tasks[model] = self.progress.add_task(
            model,
            total=c.epochs * steps,
            completed=schedule.epoch * steps,
            epoch=schedule.epoch,
            epochs=c.epochs,
            figures="",
        )
        self.every[model] = max(1, c.epochs // 50)
        if not self.live and schedule.epoch:
            self.console.print(f"{model}: resuming after epoch {schedule.epoch}")

    def step(self, model: str, loss: float) -> None:
        if self.live:
            self.progress.advance(self.tasks[model])

    def epoch(self, model: str, row: dict) -> None:
        figures = _figures(row)
        self.progress.update(self.tasks[model], epoch=row["epoch"], figures=figures)
        if not self.live and row["epoch"] % self.every[model] == 0:
            self.console.print(
                f"{model:<7} epoch {row['epoch']:>5}  {figures}  "
                f"{row['epoch_seconds']:.2f} s",
                highlight=False,
            )

    def end(self, model: str, schedule: Schedule) -> None:
        task = self.progress.tasks[self.tasks[model]]
        self.progress.update(self.tasks[model], completed=task.total)
        self.console.print(
            f"{model}: {schedule.stopped}; best epoch "
            f"{schedule.best_epoch}, {schedule.elapsed:.1f} s",
            highlight=False,
        )
