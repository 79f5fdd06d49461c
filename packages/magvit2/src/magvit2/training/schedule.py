"""Schedules: entropy-weight annealing and learning-rate warm-up.

Entropy annealing (MAGVIT-v2 recipe as quoted by O2-MAGVIT2; the paper's own wording is
not verified in our notes): the entropy weight starts at scale * weight and decays
linearly to weight over decay_steps (0.3 -> 0.1 over 2,000 steps by default).
"""

from __future__ import annotations


def entropy_weight(step: int, weight: float, scale: float, decay_steps: int) -> float:
    if decay_steps <= 0:
        return weight
    remaining = max(0.0, 1.0 - step / decay_steps)
    return weight * (1.0 + (scale - 1.0) * remaining)


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Linear learning-rate warm-up from 1/warmup_steps to 1."""
    if warmup_steps <= 0:
        return 1.0
    return min(1.0, (step + 1) / warmup_steps)
