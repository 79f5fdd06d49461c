"""Synthetic data of the paper's experiments, drawn from a numpy Generator so that
the same seed gives the same numbers on every machine (paper §4, notes §2)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np


def double_spiral(
    points_per_class: int,
    rng: np.random.Generator,
    *,
    turns: float = 1.5,
    radius: float = 10.0,
    noise: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals ("Swiss roll", paper §4.1, Fig. 2).

    Class 0 is ``r (cos t, sin t)`` with ``r = radius t / (2 pi turns)`` and
    t / 2 pi uniform in [0, turns]; class 1 is class 0 turned by pi. ``noise`` adds
    U(-noise, noise) to each coordinate, so the points fill about
    [-radius, radius]^2. Returns x (2N, 2) and labels y (2N,), class 0 first.
    """
    if points_per_class < 1:
        raise ValueError(f"points_per_class must be positive, got {points_per_class}")
    scale = radius / (2 * math.pi * turns)
    t = 2 * math.pi * rng.uniform(0.0, turns, size=(2, points_per_class))
    return _spiral_points(t, scale, noise, rng)


def spiral_continuation(
    points_per_class: int,
    rng: np.random.Generator,
    *,
    turns: float = 1.5,
    extra_turns: float = 0.5,
    radius: float = 10.0,
    noise: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """The spirals of :func:`double_spiral` continued for ``extra_turns`` beyond
    the training turns (radius grows past ``radius``): the extrapolation set."""
    scale = radius / (2 * math.pi * turns)
    t = 2 * math.pi * rng.uniform(turns, turns + extra_turns, (2, points_per_class))
    return _spiral_points(t, scale, noise, rng)


def _spiral_points(t, scale, noise, rng) -> tuple[np.ndarray, np.ndarray]:
    r = scale * t
    x = np.stack([r * np.cos(t), r * np.sin(t)], axis=-1)  # (2, N, 2)
    x[1] *= -1  # class 1: class 0 turned by pi
    x += rng.uniform(-noise, noise, size=x.shape)
    y = np.repeat(np.arange(2), t.shape[1])
    return x.reshape(-1, 2), y


def cosines(
    x: np.ndarray,
    cycles: Sequence[float],
    amplitudes: Sequence[float],
    phases: Sequence[float],
) -> np.ndarray:
    """``sum_i A_i cos(2 pi c_i x + p_i)``: the paper's periodic targets (§4.2), e.g.
    1.42 cos(6 pi x + 0.84) + 6.29 cos(8 pi x + 0.76) is cycles (3, 4)."""
    if not len(cycles) == len(amplitudes) == len(phases) > 0:
        raise ValueError(
            "cycles, amplitudes and phases must be equally long and not empty, got "
            f"{len(cycles)}, {len(amplitudes)} and {len(phases)}"
        )
    x = np.asarray(x, dtype=np.float64)
    y = np.zeros_like(x)
    for c, a, p in zip(cycles, amplitudes, phases, strict=True):
        y += a * np.cos(2 * math.pi * c * x + p)
    return y


def random_matrices(count: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` matrices of ``size`` x ``size`` with entries U(-1, 1) (paper §4.3)."""
    return rng.uniform(-1.0, 1.0, size=(count, size, size))


def permanent(A: np.ndarray) -> np.ndarray:
    """The permanent of each matrix of a batch (..., k, k), by Ryser's formula
    ``perm A = (-1)^k sum_S (-1)^|S| prod_i sum_(j in S) a_ij`` (2^k terms)."""
    k = A.shape[-1]
    total = np.zeros(A.shape[:-2])
    for size in range(1, k + 1):
        for S in itertools.combinations(range(k), size):
            total += (-1) ** size * np.prod(A[..., list(S)].sum(-1), axis=-1)
    return (-1) ** k * total


def determinant(A: np.ndarray) -> np.ndarray:
    """The determinant of each matrix of a batch (..., k, k)."""
    return np.linalg.det(A)


def zero_predictor_mse(size: int, kind: str) -> float:
    """E[f(A)^2] for entries U(-1, 1): the MSE of always answering 0.

    Both the determinant and the permanent are sums of k! products of k distinct,
    independent entries of variance 1/3, uncorrelated with one another, so
    E[f^2] = k! / 3^k (2/9 for 3 x 3, 0.4938 for 5 x 5; notes §2.3).
    """
    if kind not in ("determinant", "permanent"):
        raise ValueError(f"kind must be determinant or permanent, got {kind!r}")
    return math.factorial(size) / 3**size
