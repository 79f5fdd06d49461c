"""Stage 2: the score-based decoder, as diffusion or as rectified flow.

HFD trains a separate generative decoder that turns the MSE reconstruction into a
realistic image and reports two variants (section 3 of the paper): a diffusion
model, better with many sampling steps, and a rectified-flow model, better with few.

* ``diffusion``: ``z_t = alpha_t x + sigma_t eps`` with the shifted cosine schedule
  (:mod:`hfd.diffusion.schedule`), v-prediction ``v = alpha_t eps - sigma_t x``
  (Salimans & Ho 2022; the paper's parametrisation was not seen, v is what simple
  diffusion uses), deterministic DDIM sampling (Song et al. 2021, eq. 12, eta=0).
* ``rectified_flow``: ``z_t = (1 - t) x + t eps`` (Liu et al. 2023, eq. 1) with the
  velocity ``eps - x`` as target, sampled with Euler steps from ``t = 1`` to 0.

Images are in [0, 1] outside and in [-1, 1] inside the model.
"""

from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import nn
from torch.nn import functional as F

from hfd.diffusion.schedule import DEFAULT_SHIFT, alpha_sigma
from hfd.diffusion.unet import ConditionalUNet

KINDS = ("diffusion", "rectified_flow")


@dataclass(frozen=True)
class DecoderConfig:
    kind: str = "diffusion"
    channels: tuple[int, ...] = (32, 64)
    shift: float = DEFAULT_SHIFT

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"decoder kind {self.kind!r} is not one of {KINDS}")
        if not self.shift > 0 or self.shift == float("inf"):
            raise ValueError(f"schedule shift must be positive, got {self.shift}")


class ScoreDecoder(nn.Module):
    """Conditional U-Net plus the training target and the sampler of ``kind``."""

    def __init__(self, config: DecoderConfig = DecoderConfig()) -> None:
        super().__init__()
        self.config = config
        self.unet = ConditionalUNet(tuple(config.channels))

    @property
    def patch_multiple(self) -> int:
        return 2 ** (len(self.config.channels) - 1)

    def loss(
        self, x: torch.Tensor, x_rec: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Mean squared error on the target (v or velocity) at a random ``t``."""
        x, cond = 2 * x - 1, 2 * x_rec - 1
        t = torch.rand(x.shape[0], generator=generator)
        eps = torch.randn(x.shape, generator=generator)
        t4 = t[:, None, None, None]
        if self.config.kind == "diffusion":
            alpha, sigma = alpha_sigma(t4, self.config.shift)
            z_t, target = alpha * x + sigma * eps, alpha * eps - sigma * x
        else:
            z_t, target = (1 - t4) * x + t4 * eps, eps - x
        return F.mse_loss(self.unet(z_t, cond, t), target)

    @torch.no_grad()
    def sample(
        self, x_rec: torch.Tensor, noise: torch.Tensor, steps: int
    ) -> torch.Tensor:
        """Decode from ``noise`` (same shape as ``x_rec``) in ``steps`` steps."""
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        cond = 2 * x_rec - 1
        times = torch.linspace(1.0, 0.0, steps + 1)
        z = noise
        for t, s in pairwise(times):
            tb = t.expand(z.shape[0])
            prediction = self.unet(z, cond, tb)
            if self.config.kind == "diffusion":
                a_t, s_t = alpha_sigma(t, self.config.shift)
                a_s, s_s = alpha_sigma(s, self.config.shift)
                x_pred = (a_t * z - s_t * prediction).clamp(-1, 1)
                eps_pred = (z - a_t * x_pred) / s_t
                z = a_s * x_pred + s_s * eps_pred
            else:
                z = z + (s - t) * prediction
        return ((z + 1) / 2).clamp(0, 1)
