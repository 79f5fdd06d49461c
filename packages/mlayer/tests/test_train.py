"""The training loop: exact resumption, the schedule rules, divergence, seeds."""

import json

import pytest
import torch

from mlayer import checkpoint, experiment, tasks
from mlayer.config import TrainConfig, apply
from mlayer.runfolder import METRIC_COLUMNS, RunFolder
from mlayer.train import Observer, Schedule, TrainingDiverged, evaluate

TINY = {
    "data": {"train": 512, "val": 128, "test": 256},
    "mlayer": {"n": 5, "train": {"epochs": 4, "batch_size": 64}},
    "mlp": {"train": {"epochs": 4, "batch_size": 64}},
}


def tiny_config(**changes):
    config = tasks.get("determinant").default_config()
    apply(config, TINY)
    apply(config, changes)
    return config


def start(path, config):
    folder = RunFolder(path)
    folder.create(config)
    task = tasks.get(config.task)
    return folder, task, task.load(config)


class StopAfter(Observer):
    def __init__(self, epochs: int):
        self.epochs = epochs

    def epoch(self, model, row):
        if row["epoch"] == self.epochs:
            raise KeyboardInterrupt


def test_a_killed_run_resumes_to_the_same_numbers(tmp_path):
    config = tiny_config()
    whole, task, data = start(tmp_path / "whole", config)
    experiment.run(whole, config, task, data)

    parts, _, _ = start(tmp_path / "parts", config)
    with pytest.raises(KeyboardInterrupt):
        experiment.run(parts, config, task, data, StopAfter(2))
    assert parts.status()["mlayer"]["state"] == "interrupted"
    experiment.run(parts, config, task, data)

    for name in ("mlayer", "mlp"):
        a = checkpoint.read(whole.checkpoint_path(name))
        b = checkpoint.read(parts.checkpoint_path(name))
        assert a.tensors.keys() == b.tensors.keys()
        for key in a.tensors:
            assert torch.equal(a.tensors[key], b.tensors[key]), (name, key)
        assert a.trainer["step"] == b.trainer["step"] == 4 * 8
        timing = {"epoch_seconds", "elapsed_seconds"}
        rows_a, rows_b = whole.read_metrics(name), parts.read_metrics(name)
        assert [r["epoch"] for r in rows_b] == [1, 2, 3, 4]
        for ra, rb in zip(rows_a, rows_b, strict=True):
            same = {k: ra[k] for k in METRIC_COLUMNS if k not in timing}
            assert same == pytest.approx(
                {k: rb[k] for k in same}, rel=0, abs=0, nan_ok=True
            )
    results = json.loads(parts.results_path.read_text())
    assert results["models"]["mlayer"]["parameters"] == 10 * 5**2 + 1  # 10 n^2 + 1


def test_same_seed_same_numbers_other_seed_others(tmp_path):
    numbers = []
    for i, seed in enumerate((3, 3, 4)):
        config = tiny_config(seed=seed, models=["mlayer"])
        config.mlayer.train.epochs = 2
        folder, task, data = start(tmp_path / str(i), config)
        numbers.append(experiment.run(folder, config, task, data)["models"])
    assert numbers[0]["mlayer"]["metrics"] == numbers[1]["mlayer"]["metrics"]
    assert numbers[0]["mlayer"]["metrics"] != numbers[2]["mlayer"]["metrics"]


def test_divergence_is_an_error_and_keeps_the_last_checkpoint(tmp_path):
    config = tiny_config(models=["mlayer"])
    config.mlayer.train.lr = 1e3
    folder, task, data = start(tmp_path / "run", config)
    with pytest.raises(TrainingDiverged, match=r"mlayer diverged in epoch \d+"):
        experiment.run(folder, config, task, data)
    assert folder.status()["mlayer"]["state"] == "diverged"


def test_schedule_rules():
    c = TrainConfig(lr=1.0, decay=0.5, epochs=100, plateau_patience=2, early_stopping=4)
    s = Schedule()
    assert s.rate(c) == 1.0
    s.step = 2
    assert s.rate(c) == 0.5  # lr / (1 + decay t)
    for epoch, value in enumerate([1.0, 0.5, 0.49995, 0.49995], start=1):
        s.epoch = epoch
        s.update(value, c)
    # 0.49995 improves on 0.5 (best weights follow it) but by less than Keras'
    # min_delta of 1e-4, so two such epochs cut the rate once.
    assert s.best == 0.49995 and s.best_epoch == 3 and s.reductions == 1
    for epoch in range(5, 9):
        s.epoch = epoch
        s.update(0.6, c)
    assert s.stopped == "early stopping at epoch 8"
    accuracy = TrainConfig(monitor="val_accuracy", epochs=2)
    s = Schedule(epoch=1)
    assert s.update(0.5, accuracy) and not s.update(0.4, accuracy)
    s.epoch = 2
    s.update(0.45, accuracy)
    assert s.best == 0.5 and s.stopped == "epoch limit 2"


def test_evaluate_the_exact_construction(tmp_path):
    from mlayer.constructions import determinant

    config = tiny_config()
    task = tasks.get("determinant")
    data = task.load(config)
    model = determinant()
    result = evaluate(model, task, data, data.evaluations["test"], "cpu", torch.float64)
    assert result["mse"] < 1e-28
