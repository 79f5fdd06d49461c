"""Shared fixtures: one torch thread (the CPU is shared), seeded generators, and a
small stage-1 model with integer tables."""

import numpy as np
import pytest
import torch

from hfd.autoencoder.model import Stage1Autoencoder, Stage1Config

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    yield


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A Generator seeded from the test's name, so a failure replays exactly."""
    return np.random.default_rng(sum(request.node.name.encode()) * 7919)


def make_model(slices: int = 0, seed: int = 0) -> Stage1Autoencoder:
    torch.manual_seed(seed)
    model = Stage1Autoencoder(Stage1Config(N=16, M=16, slices=slices)).eval()
    model.update()
    return model


@pytest.fixture(scope="session")
def model() -> Stage1Autoencoder:
    return make_model()


@pytest.fixture(scope="session")
def photo() -> torch.Tensor:
    """coffee (400x600) as (1, 3, H, W) in [0, 1]."""
    from hfd.training.data import load_photo, to_tensor

    return to_tensor(load_photo("coffee"))
