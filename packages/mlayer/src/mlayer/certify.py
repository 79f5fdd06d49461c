"""Certified robustness of a trained M-layer (paper §3.7, notes §1.7).

Two facts bound how far the evidence ``o = V + S · exp(M)`` moves when the input
moves by x~ (any sub-multiplicative norm; Horn & Johnson):

    |exp(X + Y) - exp(X)| <= |Y| e^|Y| e^|X|,        |A|_F <= sqrt(n) |A|_2.

M is linear in x, and ``|M'|_2 <= delta_in |x~|_inf`` with
``delta_in = | sum_i |W_i| |_2``, ``W_i = sum_a U[a, i] T[a]`` (entrywise absolute
values; the spectral norm is monotone on non-negative matrices). Hence

    |o(x + x~) - o(x)|_2 <= sqrt(n) |S|_2 delta_in |x~| e^(delta_in |x~|) e^|M(x)|_2

with |S|_2 the spectral norm of S as an h x n^2 matrix. The class of x cannot
change while this stays below half the gap m between the two largest logits;
solving ``u e^u = m / (sqrt(n) |S|_2 e^|M|_2)`` with Lambert's W gives the
certified L-infinity radius ``eps = W(...) / delta_in`` (the paper's robustness
notebook). Everything here is computed in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import lambertw

from mlayer.layer import MLayer


def _f64(p: torch.Tensor | None) -> torch.Tensor | None:
    return None if p is None else p.detach().to("cpu", torch.float64)


def input_sensitivity(layer: MLayer) -> float:
    """delta_in = | sum_i |(T · U)[i]| |_2: the most |M'|_2 per unit |x~|_inf."""
    T = _f64(layer.T)
    W = T if layer.U is None else torch.einsum("ai,ajk->ijk", _f64(layer.U), T)
    return float(torch.linalg.matrix_norm(W.abs().sum(0), ord=2))


def readout_norm(layer: MLayer) -> float:
    """|S|_2, the spectral norm of S reshaped to (h, n^2)."""
    S = _f64(layer.S).reshape(layer.out_features, -1)
    return float(torch.linalg.matrix_norm(S, ord=2))


def _matrix_norms(layer: MLayer, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, |M(x)|_2) in float64 for a batch x (b, D)."""
    double = _double(layer)
    with torch.no_grad():
        x = x.detach().to("cpu", torch.float64)
        M = double.generator(x)
        logits = double.readout(double.exponential(M))
        return logits, torch.linalg.matrix_norm(M, ord=2)


def _double(layer: MLayer) -> MLayer:
    twin = MLayer(
        layer.in_features,
        layer.d,
        layer.n,
        layer.out_features,
        projection=layer.projection,
        matrix_bias=layer.matrix_bias,
        expm=layer.expm,
        squarings=layer.squarings,
        dtype=torch.float64,
    )
    twin.load_state_dict({k: _f64(v) for k, v in layer.state_dict().items()})
    return twin


def output_change_bound(
    layer: MLayer, x: torch.Tensor, radius: float | torch.Tensor
) -> torch.Tensor:
    """The most |o(x + x~) - o(x)|_2 can be over |x~|_inf <= radius, per example
    of the batch x (b, D)."""
    _, norm_M = _matrix_norms(layer, x)
    delta, s = input_sensitivity(layer), readout_norm(layer)
    r = torch.as_tensor(radius, dtype=torch.float64)
    return math.sqrt(layer.n) * s * delta * r * torch.exp(delta * r + norm_M)


@dataclass
class Radii:
    """Per-example certificates of a batch: the predicted class, the certified
    L-infinity radius, and the quantities it comes from."""

    prediction: torch.Tensor  # (b,) argmax of the evidence
    radius: torch.Tensor  # (b,) certified |x~|_inf, float64
    margin: torch.Tensor  # (b,) half the gap between the two largest logits
    norm_M: torch.Tensor  # (b,) |M(x)|_2
    delta_in: float
    readout_norm: float


def certified_radius(layer: MLayer, x: torch.Tensor) -> Radii:
    """The per-example certified L-infinity radius of the paper's robustness
    notebook: no input within it of x can change the predicted class.

    ``eps = W(m / (sqrt(n) |S|_2 e^|M|_2)) / delta_in``, m half the top-2 gap.
    """
    if layer.out_features < 2:
        raise ValueError(
            f"a certified radius needs a classifier with at least 2 outputs; this "
            f"layer has {layer.out_features}"
        )
    logits, norm_M = _matrix_norms(layer, x)
    top = logits.topk(2, dim=-1).values
    margin = (top[..., 0] - top[..., 1]) / 2
    delta, s = input_sensitivity(layer), readout_norm(layer)
    # In logs, so that a large |M|_2 underflows to radius 0 instead of inf / inf.
    log_c = torch.log(margin) - math.log(math.sqrt(layer.n) * s) - norm_M
    c = torch.exp(log_c).numpy()
    radius = np.real(lambertw(c)) / delta if delta > 0 else np.full_like(c, np.inf)
    return Radii(
        prediction=logits.argmax(-1),
        radius=torch.from_numpy(np.asarray(radius, dtype=np.float64)),
        margin=margin,
        norm_M=norm_M,
        delta_in=delta,
        readout_norm=s,
    )


@dataclass
class Lipschitz:
    """A Lipschitz bound of the evidence, from L-infinity inputs in a box to L2
    outputs. The constant is astronomical for trained models; its log10 is kept
    so that it stays printable."""

    log10_constant: float
    delta_in: float
    readout_norm: float
    max_norm_M: float  # the bound on |M(x)|_2 over the box

    @property
    def constant(self) -> float:
        return 10.0**self.log10_constant if self.log10_constant < 308 else math.inf


def lipschitz_bound(layer: MLayer, low: float = 0.0, high: float = 1.0) -> Lipschitz:
    """``|o(x') - o(x)|_2 <= L |x' - x|_inf`` for all x, x' in [low, high]^D
    (paper §3.7 with ``e^(delta_in |x~|)`` bounded over the box).

    With w = high - low and c the box's centre, ``|x' - x|_inf <= w`` and
    ``|M(x)|_2 <= |M(c)|_2 + delta_in w / 2``, so
    ``L = sqrt(n) |S|_2 delta_in e^(delta_in w) e^(|M(c)|_2 + delta_in w / 2)``.
    """
    if not high > low:
        raise ValueError(f"the input box needs low < high, got [{low}, {high}]")
    width = high - low
    centre = torch.full((1, layer.in_features), (low + high) / 2, dtype=torch.float64)
    _, norm_M = _matrix_norms(layer, centre)
    delta, s = input_sensitivity(layer), readout_norm(layer)
    max_norm = float(norm_M[0]) + delta * width / 2
    if delta == 0 or s == 0:
        return Lipschitz(-math.inf, delta, s, max_norm)
    log_L = (
        math.log(math.sqrt(layer.n) * s * delta) + delta * width + max_norm
    ) / math.log(10)
    return Lipschitz(log_L, delta, s, max_norm)
