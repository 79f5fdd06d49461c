"""The shifted cosine noise schedule.

HFD tunes its schedule to add *less* noise than text-to-image practice, because the
stage-1 reconstruction already fixes the coarse structure (section 3 of the paper;
the exact shift was not seen). We use the cosine schedule shifted in log-SNR
(Hoogeboom, Heek, Salimans 2023, "simple diffusion", section 3.1; the form cited for
HFD in Apple's ml-4m)::

    logSNR(t) = -2 * (log tan(pi t / 2) + log s)

``s = 1`` is the plain cosine schedule, ``s < 1`` is less noisy. With variance
preservation ``alpha^2 = sigmoid(logSNR)`` and ``sigma^2 = sigmoid(-logSNR)``, which
in closed form is ``alpha = cos(pi t/2) / sqrt(cos^2(pi t/2) + s^2 sin^2(pi t/2))``.
The closed form is what the sampler uses, so ``t = 0`` and ``t = 1`` are exact
(``alpha = 1, sigma = 0`` and ``alpha = 0, sigma = 1``) with no clipping.
"""

import math

import torch

# Chosen, not seen in the paper: half the noise standard deviation ratio of the
# plain cosine schedule (logSNR shifted up by 2 log 2 ~ 1.39 nats).
DEFAULT_SHIFT = 0.5


def logsnr(t: torch.Tensor, shift: float = DEFAULT_SHIFT) -> torch.Tensor:
    """``-2 (log tan(pi t / 2) + log s)`` for ``t`` in (0, 1)."""
    return -2 * (torch.log(torch.tan(math.pi * t / 2)) + math.log(shift))


def alpha_sigma(
    t: torch.Tensor, shift: float = DEFAULT_SHIFT
) -> tuple[torch.Tensor, torch.Tensor]:
    """Signal and noise scales at time ``t`` in [0, 1] (variance preserving)."""
    if shift <= 0:
        raise ValueError(f"schedule shift must be positive, got {shift}")
    c = torch.cos(math.pi * t / 2)
    s = shift * torch.sin(math.pi * t / 2)
    norm = torch.sqrt(c * c + s * s)
    return c / norm, s / norm
