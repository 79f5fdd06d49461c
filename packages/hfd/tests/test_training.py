"""Configs, run folders and resuming a killed run exactly."""

from pathlib import Path

import pytest
import torch

from hfd.training.config import load_config, parse_config
from hfd.training.data import PhotoCrops
from hfd.training.trainer import (
    RunFolderError,
    load_stage1,
    load_stage2,
    prepare_run,
    train_stage1,
    train_stage2,
)

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
TINY = """
[stage1]
N = 8
M = 8
[stage1.train]
steps = 6
batch = 2
checkpoint_every = 2
lmbda = 0.01
[stage2]
channels = [8, 16]
[stage2.train]
steps = 4
batch = 2
checkpoint_every = 2
[data]
photos = ["astronaut", "coffee"]
"""


def test_shipped_configs_load():
    names = sorted(p.name for p in CONFIGS.glob("*.toml"))
    assert names == ["rate-high.toml", "rate-low-flow.toml", "rate-low.toml"]
    low, high = load_config(CONFIGS / "rate-low.toml"), load_config(CONFIGS / names[0])
    assert low.stage1_train.lmbda < high.stage1_train.lmbda
    assert load_config(CONFIGS / "rate-low-flow.toml").stage2.kind == "rectified_flow"


def test_bad_configs_name_the_key():
    with pytest.raises(
        ValueError, match=r"unknown keys \['lamda'\] in \[stage1.train\]"
    ):
        parse_config({"stage1": {"train": {"lamda": 1}}})
    with pytest.raises(ValueError, match="multiple of 64"):
        parse_config({"stage1": {"train": {"crop": 48}}})
    with pytest.raises(ValueError, match="divide M"):
        parse_config({"stage1": {"M": 10, "slices": 3}})


def test_crops_are_seeded():
    a = PhotoCrops(["astronaut"], 64, seed=3).batch(3)
    b = PhotoCrops(["astronaut"], 64, seed=3).batch(3)
    assert a.shape == (3, 3, 64, 64)
    torch.testing.assert_close(a, b)


def test_a_killed_run_resumes_to_the_same_weights(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    config = load_config(path)

    straight = tmp_path / "straight"
    prepare_run(straight, path, resume=False, force=False)
    train_stage1(config, straight)
    train_stage2(config, straight)

    killed = tmp_path / "killed"
    prepare_run(killed, path, resume=False, force=False)
    assert train_stage1(config, killed, stop_after=3) is None
    prepare_run(killed, path, resume=True, force=False)
    train_stage1(config, killed)
    assert train_stage2(config, killed, stop_after=2) is None
    train_stage2(config, killed)

    for load in (load_stage1, load_stage2):
        a, b = load(straight).state_dict(), load(killed).state_dict()
        assert a.keys() == b.keys()
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    lines = (killed / "stage1" / "log.jsonl").read_text().splitlines()
    assert len(lines) >= 1


def test_run_folders_are_never_overwritten_silently(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    run = tmp_path / "run"
    prepare_run(run, path, resume=False, force=False)
    (run / "marker").write_text("x")
    with pytest.raises(RunFolderError, match=r"--resume .* --force"):
        prepare_run(run, path, resume=False, force=False)
    other = tmp_path / "other.toml"
    other.write_text(TINY.replace("steps = 6", "steps = 7"))
    with pytest.raises(RunFolderError, match="differs"):
        prepare_run(run, other, resume=True, force=False)
    prepare_run(run, path, resume=False, force=True)
    assert not (run / "marker").exists()
