"""Shared fixtures: two torch threads (passive when idle, so that a busy machine
does not stall them), seeded generators, and the data beside the repo."""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path

import numpy as np
import pytest
import torch

THREADS = 2
torch.set_num_threads(THREADS)

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared"
TEMPERATURES = SHARED / "data" / "daily-minimum-temperatures.csv"
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def _pinned_threads():
    """Every test runs on THREADS threads, even after one that ran the CLI (whose
    default is 1)."""
    torch.set_num_threads(THREADS)
    yield


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A Generator seeded from the test's name, so a failure replays exactly."""
    seed = sum(request.node.name.encode()) * 7919
    return np.random.default_rng(seed)


@pytest.fixture
def gen(request) -> torch.Generator:
    """A torch Generator seeded from the test's name."""
    return torch.Generator().manual_seed(sum(request.node.name.encode()) * 104729)


def need(path: Path, what: str) -> Path:
    """``path``, or skip the test saying what is missing and how to get it."""
    if not path.exists():
        pytest.skip(f"{what} is not installed here ({path} is absent)")
    return path
