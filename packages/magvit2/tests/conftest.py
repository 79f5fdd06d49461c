import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def generator():
    """A seeded torch generator per test so every failure replays."""
    return torch.Generator().manual_seed(1234)
