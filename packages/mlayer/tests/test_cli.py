"""The command line: run folders, --force and --resume, one-line errors (exit 2)
before any file is touched, and the certificate of a trained classifier."""

import hashlib
import json
import tomllib

import pytest
import torch

from mlayer import checkpoint, tasks
from mlayer.cli import main
from mlayer.display import ProgressView

from .conftest import FASHION_MNIST, need

SPIRAL = [
    "--set", "data.points_per_class=100",
    "--set", "data.extrapolation_points_per_class=50",
    "--set", "mlayer.train.epochs=3",
    "--set", "mlp.train.epochs=3",
    "--quiet",
]  # fmt: skip


def train(out, *extra, task="spiral"):
    return main(["train", task, "--out", str(out), *SPIRAL, *extra])


def test_tasks_and_configs(capsys):
    assert main(["tasks"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in tasks.names())
    assert main(["config", "determinant"]) == 0
    text = capsys.readouterr().out
    assert tomllib.loads(text)["mlayer"]["n"] == 9


def test_a_run_folder(tmp_path):
    out = tmp_path / "run"
    assert train(out) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "config.json",
        "mlayer",
        "mlp",
        "results.json",
        "spiral.png",
        "status.json",
        "training.png",
    ]
    for model in ("mlayer", "mlp"):
        files = sorted(p.name for p in (out / model).iterdir())
        assert files == [
            "best.safetensors",
            "best.safetensors.sha256",
            "checkpoint.safetensors",
            "checkpoint.safetensors.sha256",
            "metrics.csv",
        ]
        lines = (out / model / "metrics.csv").read_text().splitlines()
        assert lines[0].startswith("epoch,step,lr,train_loss") and len(lines) == 4
    results = json.loads((out / "results.json").read_text())
    assert results["models"]["mlayer"]["parameters"] == 1332
    assert set(results["models"]["mlayer"]["metrics"]) == {"train", "extrapolation"}
    model = checkpoint.load_model(out / "mlayer" / "best.safetensors")
    assert model.d == 10 and model.n == 10


def test_an_existing_run_is_never_overwritten_without_force(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out) == 0
    before = (out / "results.json").stat().st_mtime_ns
    capsys.readouterr()
    assert train(out) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert (out / "results.json").stat().st_mtime_ns == before
    assert train(out, "--force") == 0
    assert (out / "results.json").stat().st_mtime_ns != before


def test_force_only_overwrites_run_folders(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep")
    assert train(tmp_path, "--force") == 2
    assert "not a run folder" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "keep"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "mlayer.train.epoch=3"], "unknown setting 'mlayer.train.epoch'"),
        (["--set", "mlayer.n=-1"], "mlayer.n must be at least 1"),
        (["--config", "nowhere.toml"], "config file nowhere.toml does not exist"),
        (["--threads", "0"], "--threads 0: expected 1 or more"),
        (["--device", "banana"], "device = 'banana' is not a torch device"),
        (["--device", "cuda:99"], "device = 'cuda:99'"),
        (["--set", "mlayer.init_scale=-1"], "mlayer.init_scale = -1.0: expected"),
        (["--set", "mlayer.init_scale=nan"], "mlayer.init_scale = nan: expected"),
        (["--set", "mlayer.squarings=-3"], "mlayer.squarings = -3: expected 0"),
        (["--set", "mlayer.train.activity=nan"], "activity = nan: expected a finite"),
        (["--set", "mlp.train.lr=inf"], "mlp.train.lr = inf: expected a finite"),
        (["--seed", "-1"], "--seed -1: expected 0 or more"),
        (["--config", "."], "config file . is a folder"),
        (["--force", "--resume"], "give one"),
    ],
)
def test_bad_input_is_one_line_and_touches_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert train(out, *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_unreadable_config_files_and_empty_splits(tmp_path, capsys):
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"seed = 1\n\xff\xfe\x00")
    assert train(tmp_path / "a", "--config", str(binary)) == 2
    err = capsys.readouterr().err
    assert f"config file {binary} is not UTF-8" in err and err.count("\n") == 1
    out = tmp_path / "b"
    assert main(["train", "determinant", "--out", str(out), "--set", "data.train=0"])
    err = capsys.readouterr().err
    assert "data.train = 0: expected at least 1" in err and err.count("\n") == 1
    assert not (tmp_path / "a").exists() and not out.exists()


def test_missing_task_and_missing_data(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "a")]) == 2
    assert "TASK is required" in capsys.readouterr().err
    assert main(["train", "mnist", "--out", str(tmp_path / "b")]) == 2
    assert "give --data PATH" in capsys.readouterr().err
    assert main(["train", "mnist", "--data", str(tmp_path), "--out", "x"]) == 2
    assert "no train images in" in capsys.readouterr().err


def test_interrupted_run_resumes(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    original = ProgressView.epoch

    def interrupt(self, model, row):
        original(self, model, row)
        if model == "mlp" and row["epoch"] == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(ProgressView, "epoch", interrupt)
    assert train(out) == 130
    assert "--resume" in capsys.readouterr().err
    status = json.loads((out / "status.json").read_text())
    assert status["mlayer"]["state"] == "finished"
    assert status["mlp"]["state"] == "interrupted"
    monkeypatch.setattr(ProgressView, "epoch", original)
    assert main(["train", "--out", str(out), "--resume", "--quiet"]) == 0
    lines = (out / "mlp" / "metrics.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3"]
    # Resuming keeps the run's own settings.
    assert main(["train", "--out", str(out), "--resume", "--seed", "3"]) == 2
    assert "drop --seed" in capsys.readouterr().err


def test_a_damaged_checkpoint_is_refused_on_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out) == 0
    status = json.loads((out / "status.json").read_text())
    status["mlayer"] = {"state": "interrupted"}
    (out / "status.json").write_text(json.dumps(status))
    path = out / "mlayer" / "checkpoint.safetensors"
    data = bytearray(path.read_bytes())
    offset = len(data) - 40  # inside the tensors, which safetensors does not check
    data[offset : offset + 7] = bytes(b ^ 0xFF for b in data[offset : offset + 7])
    path.write_bytes(bytes(data))
    assert main(["train", "--out", str(out), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{path} does not match its SHA-256" in err and err.count("\n") == 1
    assert "--force" in err


def test_a_checkpoint_killed_between_its_two_writes_still_verifies(tmp_path):
    model = checkpoint.MLayer(2, d=2, n=2, out_features=1)
    path = tmp_path / "c.safetensors"
    checkpoint.save(path, model)
    old = path.read_bytes()
    with torch.no_grad():
        model.V.fill_(1.0)
    checkpoint.save(path, model)
    # The sidecar lists the new digest only, so the old bytes are refused ...
    path.write_bytes(old)
    with pytest.raises(checkpoint.CheckpointError, match="does not match"):
        checkpoint.read(path)
    # ... but a kill after the first sidecar write (old file, both digests) is fine.
    digests = checkpoint.checksum_path(path).read_text()
    checkpoint.checksum_path(path).write_text(
        digests + hashlib.sha256(old).hexdigest() + "\n"
    )
    assert checkpoint.read(path).model_state()["V"].item() == 0.0


def test_divergence_exits_1_and_says_why(tmp_path, capsys):
    out = tmp_path / "run"
    code = train(
        out, "--set", "mlayer.train.lr=1000", "--set", "mlayer.train.epochs=30"
    )
    assert code == 1
    assert "mlayer diverged" in capsys.readouterr().err
    status = json.loads((out / "status.json").read_text())
    assert status["mlayer"]["state"] == "diverged"


def test_certificate_of_a_trained_classifier(tmp_path, capsys):
    need(FASHION_MNIST, "Debian's dataset-fashion-mnist")
    out = tmp_path / "fm"
    args = ["--set", "data.limit_train=2000", "--set", "mlayer.n=8"]
    args += ["--set", "mlayer.d=8", "--set", 'models=["mlayer"]']
    args += ["--set", "mlayer.train.epochs=2", "--quiet"]
    assert main(["train", "fashion-mnist", "--out", str(out), *args]) == 0
    capsys.readouterr()
    assert main(["certify", str(out), "--limit", "300", "--samples", "3"]) == 0
    printed = capsys.readouterr().out
    assert "0 class changes in" in printed
    record = json.loads((out / "certificate.json").read_text())
    assert record["check"]["class_changes_within_radius"] == 0
    assert record["check"]["perturbations_tried"] > 0
    assert record["radius_of_correct"]["median"] > 0
    assert (out / "certificate.png").exists()


def test_certify_needs_a_classifier(tmp_path, capsys):
    out = tmp_path / "det"
    args = ["--set", "data.train=256", "--set", "data.val=64", "--set", "data.test=64"]
    args += ["--set", 'models=["mlayer"]', "--set", "mlayer.train.epochs=1", "-q"]
    assert main(["train", "determinant", "--out", str(out), *args]) == 0
    assert main(["certify", str(out)]) == 2
    assert "needs a trained M-layer classifier" in capsys.readouterr().err


def test_settings_the_data_cannot_serve_are_refused_before_training(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out, "--set", "mlayer.train.monitor=val_loss") == 2
    assert "spiral has no validation split here" in capsys.readouterr().err
    assert not out.exists()
    args = ["--set", "mlayer.d=4", "--set", "data.train=64", "--out", str(out)]
    assert main(["train", "determinant", *args]) == 2
    assert "mlayer.d must be 9, not 4" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--limit", "0"], "--limit 0: expected 1 or more"),
        (["--limit", "-5"], "--limit -5: expected 1 or more"),
        (["--samples", "-1"], "--samples -1: expected 0 or more"),
    ],
)
def test_certify_refuses_bad_counts(tmp_path, capsys, flags, message):
    assert main(["certify", str(tmp_path), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
