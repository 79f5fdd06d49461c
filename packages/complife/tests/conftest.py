"""Shared test fixtures: the reference's golden data beside the repo, seeded RNGs."""

import os
from pathlib import Path

import numpy as np
import pytest

from complife import languages

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("COMPLIFE_SHARED", REPO.parent / "shared"))
GOLDEN = SHARED / "golden"


def golden_path(*parts: str) -> Path:
    """A file of the reference's golden data, or skip the test with the reason."""
    path = GOLDEN.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"golden data {path} is not here: the reference's outputs live in "
            "../shared/golden beside the repo (set COMPLIFE_SHARED to point elsewhere)"
        )
    return path


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A Generator seeded from the test's name, so a failure replays exactly."""
    seed = sum(request.node.name.encode()) * 7919
    return np.random.default_rng(seed)


def run_kernel(name: str, tape: bytes, max_steps: int = 8192) -> tuple[int, bytes]:
    """(ops, final tape) of a language's numba kernel on one pair tape."""
    return languages.run(languages.get(name), tape, max_steps)


def run_twin(name: str, tape: bytes, max_steps: int = 8192) -> tuple[int, bytes]:
    """(ops, final tape) of the same language's pure-Python twin: the oracle."""
    copy = bytearray(tape)
    ops = languages.get(name).twin(copy, max_steps)
    return ops, bytes(copy)
