"""One experiment in its run folder: train each model of the config in turn (or
resume it), then measure the best weights on every split and draw the pictures."""

from __future__ import annotations

import json
import math

import torch

from mlayer import checkpoint
from mlayer.config import Config
from mlayer.runfolder import RunFolder, versions, write_json
from mlayer.tasks import Data, Task
from mlayer.train import (
    Observer,
    Trainer,
    TrainingDiverged,
    build_model,
    evaluate,
    torch_dtype,
)


def run(
    folder: RunFolder,
    config: Config,
    task: Task,
    data: Data,
    observer: Observer | None = None,
) -> dict:
    """Train every model of ``config`` not finished yet, then :func:`finish`."""
    for name in config.models:
        state = folder.status().get(name, {}).get("state")
        if state == "finished":
            continue
        folder.update_status(name, state="running")
        try:
            schedule = Trainer(name, config, task, data, folder, observer).run()
        except TrainingDiverged as e:
            folder.update_status(name, state="diverged", message=str(e))
            raise
        except BaseException:
            folder.update_status(name, state="interrupted")
            raise
        folder.update_status(
            name,
            state="finished",
            stop_reason=schedule.stopped,
            epochs=schedule.epoch,
            best_epoch=schedule.best_epoch,
            train_seconds=round(schedule.elapsed, 3),
        )
    return finish(folder, config, task, data)


def load_best(folder: RunFolder, name: str, config: Config, data: Data):
    model = build_model(name, config, data, seed=0)
    checkpoint.load_weights(model, folder.best_path(name))
    return model.to(torch_dtype(config.dtype))


def finish(folder: RunFolder, config: Config, task: Task, data: Data) -> dict:
    """results.json and the pictures, from each model's best weights."""
    from mlayer.plots import training_curves

    status = folder.status()
    device, dtype = torch.device("cpu"), torch_dtype(config.dtype)
    models, results = {}, {}
    for name in config.models:
        model = load_best(folder, name, config, data)
        models[name] = model
        metrics = {
            split_name: evaluate(model, task, data, split, device, dtype)
            for split_name, split in data.evaluations.items()
        }
        results[name] = {
            "parameters": sum(p.numel() for p in model.parameters()),
            **{k: v for k, v in status.get(name, {}).items() if k != "state"},
            "metrics": metrics,
        }
    record = {
        "task": config.task,
        "models": results,
        "references": task.references(data),
        "paper": task.paper,
        **versions(),
    }
    write_json(folder.results_path, _finite(record))
    rows = {name: folder.read_metrics(name) for name in config.models}
    training_curves(folder.path / "training.png", rows, task.kind)
    task.plot(folder.path, models, data)
    return record


def _finite(value):
    """NaN and inf as strings, so results.json stays strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def read_results(folder: RunFolder) -> dict:
    return json.loads(folder.results_path.read_text())


def certify_run(
    folder: RunFolder, task: Task, data: Data, limit: int, samples: int, seed: int
) -> dict:
    """The paper's certificate (§3.7) for the run's best M-layer on the test split:
    the Lipschitz bound on [0, 1]^D, every example's certified L-infinity radius,
    and a check that no sampled perturbation within the radius changes a class."""
    from mlayer.certify import certified_radius, lipschitz_bound
    from mlayer.plots import radius_histogram

    config = folder.load_config()
    if task.kind != "classification" or "mlayer" not in config.models:
        raise ValueError(
            f"{folder.path} is a {config.task} run; the certificate needs a trained "
            "M-layer classifier (an image task or the spiral)"
        )
    model = load_best(folder, "mlayer", config, data).double()
    name = "test" if "test" in data.evaluations else next(iter(data.evaluations))
    split = data.evaluations[name]
    count = len(split) if limit <= 0 else min(limit, len(split))
    x = data.inputs(split.x[:count], torch.float64)
    y = split.y[:count]
    radii = certified_radius(model, x)
    correct = radii.prediction == y
    lipschitz = lipschitz_bound(model, 0.0, 1.0) if data.transform else None
    flips, tried = _attack(model, x[correct], radii.radius[correct], samples, seed)

    certified = radii.radius[correct].numpy()
    quantiles = (
        {
            f"q{q}": float(v)
            for q, v in zip((10, 50, 90), _quantiles(certified), strict=True)
        }
        if certified.size
        else {}
    )
    record = {
        "split": name,
        "examples": count,
        "accuracy": float(correct.double().mean()),
        "delta_in": radii.delta_in,
        "readout_norm": radii.readout_norm,
        "norm_M_median": float(radii.norm_M.median()),
        "margin_median": float(radii.margin.median()),
        "radius_of_correct": {"median": float(_median(certified)), **quantiles},
        "lipschitz_log10": None if lipschitz is None else lipschitz.log10_constant,
        "check": {
            "perturbations_tried": tried,
            "class_changes_within_radius": flips,
        },
    }
    write_json(folder.path / "certificate.json", _finite(record))
    radius_histogram(
        folder.path / "certificate.png",
        certified,
        f"{config.task}: certified radius of {certified.size} correctly classified "
        f"{name} examples",
    )
    return record


def _median(values):
    import numpy as np

    return np.median(values) if len(values) else float("nan")


def _quantiles(values):
    import numpy as np

    return np.quantile(values, [0.1, 0.5, 0.9])


def _attack(model, x, radius, samples: int, seed: int) -> tuple[int, int]:
    """Count class changes over ``samples`` random corners of each example's
    L-infinity ball and one signed-gradient step to its surface."""
    if samples <= 0 or len(x) == 0:
        return 0, 0
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        label = model(x).argmax(-1)
    r = radius.to(x.dtype)[:, None]
    flips = tried = 0
    for _ in range(samples):
        signs = torch.randint(0, 2, x.shape, generator=generator).to(x.dtype) * 2 - 1
        with torch.no_grad():
            flips += int((model(x + r * signs).argmax(-1) != label).sum())
        tried += len(x)
    # The steepest first-order direction against the predicted class's margin.
    x_grad = x.clone().requires_grad_(True)
    logits = model(x_grad)
    top = logits.gather(-1, label[:, None])[:, 0]
    runner_up = logits.masked_fill(
        torch.nn.functional.one_hot(label, logits.shape[-1]).bool(), -torch.inf
    ).amax(-1)
    (runner_up - top).sum().backward()
    with torch.no_grad():
        flips += int((model(x + r * x_grad.grad.sign()).argmax(-1) != label).sum())
    tried += len(x)
    return flips, tried
