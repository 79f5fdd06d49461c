"""The pictures of a run: training curves and each task's figure (paper Figs. 2-6).
Every figure is written atomically as a PNG."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from mlayer.runfolder import write_atomic

COLOURS = {"mlayer": "tab:blue", "mlp": "tab:orange"}
LABELS = {"mlayer": "M-layer", "mlp": "MLP"}


def _save(fig, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    write_atomic(path, buffer.getvalue())


def _label(name: str, model: nn.Module) -> str:
    count = sum(p.numel() for p in model.parameters())
    return f"{LABELS.get(name, name)} ({count:,} params)"


@torch.no_grad()
def _predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    dtype = next(model.parameters()).dtype
    out = model(torch.as_tensor(x, dtype=dtype))
    return out.numpy()


def training_curves(path: Path, rows: dict[str, list[dict]], kind: str) -> None:
    """Loss (log scale) over epochs for every model, validation dashed; accuracy
    beside it for classifiers. The training line is the objective, activity
    regulariser included (as Keras reports it); validation is the loss alone."""
    panels = 2 if kind == "classification" else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4), squeeze=False)
    ax = axes[0, 0]
    for name, table in rows.items():
        if not table:
            continue
        epochs = [r["epoch"] for r in table]
        colour = COLOURS.get(name)
        ax.plot(
            epochs,
            [r["train_loss"] for r in table],
            color=colour,
            label=f"{name} training objective",
        )
        val = [r["val_loss"] for r in table]
        if not np.all(np.isnan(val)):
            ax.plot(epochs, val, "--", color=colour, label=f"{name} validation")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    if panels == 2:
        ax = axes[0, 1]
        for name, table in rows.items():
            if table:
                ax.plot(
                    [r["epoch"] for r in table],
                    [r["val_accuracy"] for r in table],
                    color=COLOURS.get(name),
                    label=f"{name} validation",
                )
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
        ax.legend()
    _save(fig, path)


def decision_regions(path: Path, models: dict[str, nn.Module], data) -> None:
    """Each model's predicted class over the plane, with the training points and
    the extrapolation points (paper Fig. 2)."""
    reach = data.extra["reach"]
    axis = np.linspace(-reach, reach, 300)
    gx, gy = np.meshgrid(axis, axis)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=-1)
    train, far = data.train, data.evaluations["extrapolation"]
    fig, axes = plt.subplots(
        1, len(models), figsize=(5 * len(models), 5), squeeze=False
    )
    for ax, (name, model) in zip(axes[0], models.items(), strict=True):
        classes = _predict(model, grid).argmax(-1).reshape(gx.shape)
        ax.contourf(
            gx, gy, classes, levels=[-0.5, 0.5, 1.5], colors=["#f4c7a1", "#a9c8e8"]
        )
        for points, marker, size in ((train, "o", 4), (far, "x", 8)):
            x, y = points.x.numpy(), points.y.numpy()
            for c, colour in ((0, "tab:orange"), (1, "tab:blue")):
                ax.scatter(*x[y == c].T, s=size, marker=marker, color=colour, lw=0.6)
        ax.set_title(_label(name, model))
        ax.set_aspect("equal")
    _save(fig, path)


def extrapolation(path: Path, models: dict[str, nn.Module], data) -> None:
    """Target and predictions over the training range and beyond (paper Fig. 3)."""
    grid, target = data.extra["grid"], data.extra["target"]
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot(grid, target, color="black", lw=1.2, label="target")
    for name, model in models.items():
        prediction = _predict(model, grid.reshape(-1, 1)).ravel()
        ax.plot(
            grid, prediction, color=COLOURS.get(name), lw=0.9, label=_label(name, model)
        )
    ax.axvspan(grid[0], data.extra["train_end"], color="0.92", label="training range")
    span = np.ptp(target)
    ax.set_ylim(target.min() - 0.5 * span, target.max() + 0.5 * span)
    ax.set_xlabel(data.extra["xlabel"])
    ax.legend(loc="upper right", fontsize=8)
    _save(fig, path)


def predicted_vs_true(path: Path, models: dict[str, nn.Module], data, what: str):
    """Prediction against the true value on 2000 test matrices (paper Figs. 4-5)."""
    test = data.evaluations["test"]
    x, y = test.x[:2000].numpy(), test.y[:2000].numpy().ravel()
    fig, axes = plt.subplots(
        1, len(models), figsize=(4.5 * len(models), 4.5), squeeze=False
    )
    for ax, (name, model) in zip(axes[0], models.items(), strict=True):
        prediction = _predict(model, x).ravel()
        mse = float(np.mean((prediction - y) ** 2))
        ax.scatter(y, prediction, s=2, color=COLOURS.get(name))
        lim = np.abs(y).max() * 1.05
        ax.plot([-lim, lim], [-lim, lim], color="black", lw=0.6)
        ax.set_title(f"{_label(name, model)}\nMSE {mse:.2e} on these", fontsize=9)
        ax.set_xlabel(f"true {what}")
        ax.set_ylabel(f"predicted {what}")
        ax.set_aspect("equal")
    _save(fig, path)


def class_accuracy(path: Path, models: dict[str, nn.Module], data) -> None:
    """Test accuracy per class for every model."""
    test = data.evaluations["test"]
    classes = data.extra["classes"]
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(models)
    for i, (name, model) in enumerate(models.items()):
        dtype = next(model.parameters()).dtype
        with torch.no_grad():
            predicted = torch.cat(
                [
                    model(data.inputs(test.x[s : s + 8192], dtype)).argmax(-1)
                    for s in range(0, len(test), 8192)
                ]
            ).numpy()
        truth = test.y.numpy()
        per_class = [np.mean(predicted[truth == c] == c) for c in range(len(classes))]
        total = np.mean(predicted == truth)
        ax.bar(
            np.arange(len(classes)) + i * width,
            per_class,
            width,
            color=COLOURS.get(name),
            label=f"{_label(name, model)}: {total:.2%}",
        )
    ax.set_xticks(np.arange(len(classes)) + 0.4 - width / 2)
    ax.set_xticklabels(classes, rotation=30, ha="right")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right")
    _save(fig, path)


def radius_histogram(path: Path, radii: np.ndarray, title: str) -> None:
    """Certified L-infinity radii on a log scale (paper Fig. 6)."""
    positive = radii[radii > 0]
    fig, ax = plt.subplots(figsize=(6, 4))
    if positive.size:
        low = np.floor(np.log10(positive.min()))
        high = np.ceil(np.log10(positive.max())) + 1e-9
        bins = np.logspace(low, high, int(4 * (high - low)) + 1)
        ax.hist(positive, bins=bins, color="tab:blue")
        ax.set_xscale("log")
    ax.set_xlabel("certified L-infinity radius")
    ax.set_ylabel("test images")
    ax.set_title(title, fontsize=9)
    _save(fig, path)
