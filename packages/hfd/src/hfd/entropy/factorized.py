"""Factorized (non-parametric) prior for the hyper-latent ``z``.

Ballé, Minnen, Singh, Hwang, Johnston 2018, appendix 6.1: per channel, a learned
cumulative ``c(x) = sigmoid(f_K(... f_1(x)))`` with ``f_k(x) = g_k(H_k x + b_k)``,
``g_k(x) = x + a_k * tanh(x)`` (``H_k`` kept positive through softplus, ``a_k``
kept in (-1, 1) through tanh), so ``c`` is monotone. The likelihood of a noisy or
rounded value is ``c(x + 1/2) - c(x - 1/2)`` (eq. 11 of the hyperprior paper).
"""

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from hfd.entropy.tables import IntegerTables

LIKELIHOOD_BOUND = 1e-9
# Tails kept in the table: below this mass per side the escape bin takes over.
TAIL_MASS = 1e-6
# Widest support searched when building tables (values beyond it always escape).
MAX_RADIUS = 128


class FactorizedPrior(nn.Module):
    """Density model of ``z`` with ``channels`` independent univariate densities."""

    def __init__(
        self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale=10.0
    ) -> None:
        super().__init__()
        self.channels = channels
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(dims) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for k in range(len(dims) - 1):
            # softplus(init) * fan-in * scale ~ 1 keeps the initial density wide.
            init = math.log(math.expm1(1 / scale / dims[k + 1]))
            self.matrices.append(
                nn.Parameter(torch.full((channels, dims[k + 1], dims[k]), init))
            )
            self.biases.append(nn.Parameter(torch.rand(channels, dims[k + 1], 1) - 0.5))
            if k < len(dims) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[k + 1], 1)))

    def logits_cumulative(self, v: torch.Tensor) -> torch.Tensor:
        """``f_K(...f_1(v))`` for ``v`` of shape (channels, 1, n)."""
        for k, (matrix, bias) in enumerate(
            zip(self.matrices, self.biases, strict=True)
        ):
            v = torch.matmul(F.softplus(matrix), v) + bias
            if k < len(self.factors):
                v = v + torch.tanh(self.factors[k]) * torch.tanh(v)
        return v

    def likelihood(self, z: torch.Tensor) -> torch.Tensor:
        """``c(z + 1/2) - c(z - 1/2)`` elementwise for ``z`` of shape (B, C, H, W)."""
        b, c, h, w = z.shape
        v = z.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower = self.logits_cumulative(v - 0.5)
        upper = self.logits_cumulative(v + 0.5)
        # Difference of sigmoids taken on the side where both are small, which
        # keeps precision in the far tails.
        sign = -torch.sign(lower + upper).detach()
        p = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        p = p.reshape(c, b, h, w).permute(1, 0, 2, 3)
        return p.clamp_min(LIKELIHOOD_BOUND)

    @torch.no_grad()
    def integer_tables(self) -> IntegerTables:
        """One integer table per channel, covering all but ``TAIL_MASS`` per side."""
        grid = torch.arange(-MAX_RADIUS, MAX_RADIUS + 1, dtype=torch.float32)
        v = grid.reshape(1, 1, -1).expand(self.channels, 1, -1)
        cdf_low = torch.sigmoid(self.logits_cumulative(v - 0.5))[:, 0].double()
        cdf_high = torch.sigmoid(self.logits_cumulative(v + 0.5))[:, 0].double()
        pmfs, offsets = [], []
        for c in range(self.channels):
            low, high = cdf_low[c].numpy(), cdf_high[c].numpy()
            inside = np.nonzero((high > TAIL_MASS) & (low < 1 - TAIL_MASS))[0]
            first, last = (inside[0], inside[-1]) if len(inside) else (MAX_RADIUS,) * 2
            pmf = np.clip(high[first : last + 1] - low[first : last + 1], 0, None)
            escape = low[first] + (1 - high[last])
            pmfs.append(np.append(pmf, escape))
            offsets.append(int(grid[first]))
        return IntegerTables.from_pmfs(pmfs, offsets)
