"""Gaussian conditional model of the latent ``y`` given the hyperprior.

Each element of ``y`` is modelled as a Gaussian ``N(mu, sigma^2)`` convolved with a
unit uniform (Minnen et al. 2018, eq. 3), so the likelihood of the rounded residual
``v = round(y - mu)`` is ``Phi((v + 1/2)/sigma) - Phi((v - 1/2)/sigma)``.

For coding, sigma is snapped up to the next entry of a fixed, log-spaced *scale
table*, each with a precomputed integer table (the approach of Ballé et al.'s
tensorflow-compression and CompressAI): both sides pick the same row from the same
decoded ``z_hat``.
"""

import math

import numpy as np
import torch
from scipy.special import ndtr

from hfd.entropy.tables import IntegerTables

SCALE_BOUND = 0.11
LIKELIHOOD_BOUND = 1e-9
# Support of a row: +-TAIL_SIGMAS sigma; beyond it the escape bin (mass ~2e-9).
TAIL_SIGMAS = 6.0


def scale_table(levels: int = 64, low: float = SCALE_BOUND, high: float = 64.0):
    """Log-spaced scales from ``low`` to ``high`` (as float32 numbers)."""
    return np.exp(np.linspace(math.log(low), math.log(high), levels)).astype(np.float32)


def gaussian_likelihood(residual: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``Phi((v + 1/2)/s) - Phi((v - 1/2)/s)`` (Minnen et al. 2018, eq. 3), computed
    on the lower tail of ``|v|`` for precision."""
    scale = scale.clamp_min(SCALE_BOUND)
    v = residual.abs()
    upper = 0.5 * torch.erfc((v - 0.5) / (scale * math.sqrt(2)))
    lower = 0.5 * torch.erfc((v + 0.5) / (scale * math.sqrt(2)))
    return (upper - lower).clamp_min(LIKELIHOOD_BOUND)


def gaussian_tables(scales: np.ndarray) -> IntegerTables:
    """Integer tables for zero-mean quantised Gaussians of the given scales."""
    pmfs, offsets = [], []
    for s in scales.astype(np.float64):
        radius = math.ceil(TAIL_SIGMAS * s)
        v = np.arange(-radius, radius + 1, dtype=np.float64)
        pmf = ndtr((v + 0.5) / s) - ndtr((v - 0.5) / s)
        escape = 2 * ndtr(-(radius + 0.5) / s)
        pmfs.append(np.append(pmf, escape))
        offsets.append(-radius)
    return IntegerTables.from_pmfs(pmfs, offsets)


def scale_indexes(scale: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Index of the smallest table scale >= sigma (clipped to the table), so the
    coded distribution is never narrower than the modelled one."""
    scale = scale.clamp_min(SCALE_BOUND)
    return torch.bucketize(scale, scales).clamp_max(len(scales) - 1)
