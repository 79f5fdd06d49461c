"""The DNN baselines of the paper's experiments (§4): fully connected layers with
ReLU (or tanh), Glorot-uniform kernels and zero biases, as Keras ``Dense`` layers
start. :func:`matched_width` sizes one to the parameter count of an M-layer."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


def count_parameters(in_features: int, hidden: Sequence[int], out_features: int):
    """Weights and biases of in_features -> hidden... -> out_features."""
    widths = [in_features, *hidden, out_features]
    return sum(a * b + b for a, b in itertools.pairwise(widths))


def matched_width(in_features: int, out_features: int, depth: int, target: int):
    """The width w whose ``depth`` equal hidden layers of w units come nearest to
    ``target`` parameters (the smaller w on a tie)."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1 hidden layer, got {depth}")
    if target < 1:
        raise ValueError(f"target must be a positive parameter count, got {target}")

    def gap(w: int) -> int:
        return abs(count_parameters(in_features, [w] * depth, out_features) - target)

    # The count grows with w; bisect for the first w at or over the target.
    lo, hi = 1, max(2, target)
    while lo < hi:
        mid = (lo + hi) // 2
        if count_parameters(in_features, [mid] * depth, out_features) < target:
            lo = mid + 1
        else:
            hi = mid
    return min((w for w in (lo - 1, lo) if w >= 1), key=lambda w: (gap(w), w))


class MLP(nn.Sequential):
    """in_features -> hidden[0] -> ... -> out_features, an activation between."""

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        activation: str = "relu",
        *,
        device=None,
        dtype=None,
    ):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation={activation!r}: expected one of {', '.join(ACTIVATIONS)}"
            )
        if not hidden or any(int(w) < 1 for w in hidden):
            raise ValueError(
                f"hidden must list at least one positive width, got {list(hidden)}"
            )
        widths = [in_features, *hidden, out_features]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(itertools.pairwise(widths)):
            layers.append(nn.Linear(a, b, device=device, dtype=dtype))
            if i < len(hidden):
                layers.append(ACTIVATIONS[activation]())
        super().__init__(*layers)
        self.in_features, self.hidden = in_features, list(hidden)
        self.out_features, self.activation = out_features, activation
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            for layer in self:
                if isinstance(layer, nn.Linear):
                    a = math.sqrt(6.0 / (layer.in_features + layer.out_features))
                    layer.weight.uniform_(-a, a)
                    layer.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"MLP expects inputs of shape (..., {self.in_features}), got "
                f"{tuple(x.shape)}"
            )
        return super().forward(x)
