"""Generalized divisive normalization (Ballé, Laparra, Simoncelli 2016, eq. 6).

``y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)``; the inverse (IGDN) multiplies
instead of dividing and is used in the synthesis transform.
"""

import torch
from torch import nn
from torch.nn import functional as F


class GDN(nn.Module):
    """GDN over channels, with beta and gamma kept positive by squaring
    (a reparametrisation that keeps gradients alive near zero)."""

    def __init__(self, channels: int, inverse: bool = False) -> None:
        super().__init__()
        self.inverse = inverse
        # Stored as square roots: beta = beta_root^2 + eps, gamma = gamma_root^2.
        self.beta_root = nn.Parameter(torch.ones(channels))
        self.gamma_root = nn.Parameter(torch.eye(channels) * 0.1**0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        beta = self.beta_root**2 + 1e-6
        gamma = (self.gamma_root**2).reshape(channels, channels, 1, 1)
        norm = torch.sqrt(F.conv2d(x * x, gamma, beta))
        return x * norm if self.inverse else x / norm
