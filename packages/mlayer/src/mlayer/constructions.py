"""M-layers built by hand: the paper's explicit constructions (§3.3-3.5, appendix
Theorem 1 and Corollary 2; notes §1.6).

All of them feed the input straight to the generators (no U, no B), so
``M = sum_i x_i T[i]``. When every T[i] is strictly upper triangular, M is nilpotent,
its exponential series stops after n terms, and every entry of exp(M) is an exact
polynomial in x: entry (a, b) sums, over the paths a -> b in the graph of M, the
product of the edge weights divided by the path length factorial.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch

from mlayer.layer import MLayer


def _layer(num_inputs: int, n: int, out_features: int, dtype) -> MLayer:
    layer = MLayer(
        num_inputs, num_inputs, n, out_features, projection=False, matrix_bias=False
    ).to(dtype)
    with torch.no_grad():
        for p in layer.parameters():
            p.zero_()
    return layer


def chains_generator(
    chains: Sequence[Sequence[int]], num_inputs: int, dtype=torch.float64
) -> torch.Tensor:
    """Generators T (num_inputs, n, n) of block-diagonal superdiagonal chains.

    Chain ``(i1, ..., ik)`` is a (k+1) x (k+1) block with x_i1, ..., x_ik on its
    superdiagonal, so exp(M) holds every product of consecutive chain variables
    over its length factorial; the corner holds ``x_i1 ... x_ik / k!``.
    n is the sum of (k + 1) over the chains.
    """
    n = sum(len(c) + 1 for c in chains)
    T = torch.zeros(num_inputs, n, n, dtype=dtype)
    start = 0
    for chain in chains:
        for step, i in enumerate(chain):
            if not 0 <= i < num_inputs:
                raise ValueError(
                    f"chain {tuple(chain)} names input {i}; inputs are 0 to "
                    f"{num_inputs - 1}"
                )
            T[i, start + step, start + step + 1] = 1.0
        start += len(chain) + 1
    return T


def feature_crosses(dtype=torch.float64) -> MLayer:
    """The paper's feature-cross example (§3.3): a nilpotent 7 x 7 M of three
    features whose exponential holds phi0, phi1, phi2, phi0 phi1 and phi1 phi2^2.

    Two chains: (phi0, phi1) on nodes 0-2 and (phi1, phi2, phi2) on nodes 3-6, so
    ``exp(M)[0, 2] = phi0 phi1 / 2`` and ``exp(M)[3, 6] = phi1 phi2^2 / 6``. The
    readout gives the five features in that order.
    """
    layer = _layer(3, 7, 5, dtype)
    with torch.no_grad():
        layer.T.copy_(chains_generator([(0, 1), (1, 2, 2)], 3, dtype))
        for out, (a, b, scale) in enumerate(
            [(0, 1, 1), (1, 2, 1), (4, 5, 1), (0, 2, 2), (3, 6, 6)]
        ):
            layer.S[out, a, b] = scale
    return layer


def polynomial(
    terms: Sequence[tuple[float, Sequence[int]]], num_inputs: int, dtype=torch.float64
) -> MLayer:
    """An M-layer computing ``sum_t c_t prod(x[i] for i in monomial_t)`` exactly
    (appendix Theorem 1 and Corollary 2).

    ``terms`` lists (coefficient, monomial) pairs, a monomial being the input
    indices it multiplies, repeated for powers: ``(2.0, (0, 1, 1))`` is
    ``2 x0 x1^2``; ``(c, ())`` is a constant. Each monomial of degree k takes one
    (k+1) x (k+1) superdiagonal block (:func:`chains_generator`), read from its
    corner times ``c k!``: n = sum of (degree + 1), the paper's t (d + 1) bound.
    """
    chains = [tuple(m) for _, m in terms if len(m) > 0]
    n = max(1, sum(len(c) + 1 for c in chains))
    layer = _layer(num_inputs, n, 1, dtype)
    with torch.no_grad():
        if chains:
            layer.T.copy_(chains_generator(chains, num_inputs, dtype))
        start = 0
        for c, monomial in terms:
            k = len(monomial)
            if k == 0:
                layer.V[0] += c
                continue
            layer.S[0, start, start + k] = c * math.factorial(k)
            start += k + 1
    return layer


def _levi_civita(i: int, j: int, k: int) -> int:
    return (i - j) * (j - k) * (k - i) // 2


def determinant(permanent: bool = False, dtype=torch.float64) -> MLayer:
    """The 3 x 3 determinant (or, with ``permanent``, the permanent) of a matrix
    given row-major as 9 inputs, exactly, by a nilpotent 8 x 8 M (paper §3.4).

    ``det A = sum_jm a_0j (sum_k eps_jkm a_1k) a_2m`` (the triple product of the
    rows) is a sum over paths 0 -> p_j -> q_m -> 7 of length 3: node 0, nodes
    p_0..p_2 (1-3), nodes q_0..q_2 (4-6) and node 7, with edge weights a_0j,
    sum_k eps_jkm a_1k and a_2m. So ``exp(M)[0, 7] = det A / 3!`` and the readout
    is ``6 exp(M)[0, 7]``. Dropping the signs of eps gives the permanent. (The
    paper's own 8 x 8 matrix reads the result from two corners; this layout
    needs one.)
    """
    layer = _layer(9, 8, 1, dtype)
    with torch.no_grad():
        for j in range(3):
            layer.T[j, 0, 1 + j] = 1.0
            layer.T[6 + j, 4 + j, 7] = 1.0
        for j, k, m in itertools.product(range(3), repeat=3):
            sign = _levi_civita(j, k, m)
            layer.T[3 + k, 1 + j, 4 + m] = abs(sign) if permanent else sign
        layer.S[0, 0, 7] = 6.0
    return layer


def rotations(
    frequencies: Sequence[float],
    amplitudes: Sequence[float],
    phases: Sequence[float],
    dtype=torch.float64,
) -> MLayer:
    """``sum_i A_i cos(w_i x + p_i)`` of a scalar x, exactly and for every x
    (paper §3.5: periodicity for free).

    Each frequency takes a 2 x 2 block ``x [[0, -w], [w, 0]]``, whose exponential
    is the rotation ``[[cos wx, -sin wx], [sin wx, cos wx]]``; the readout is
    ``A cos(p) E[0, 0] - A sin(p) E[1, 0]`` per block. n = 2 x frequencies (so the
    paper's sums of two cosines need n = 4).
    """
    if not len(frequencies) == len(amplitudes) == len(phases) > 0:
        raise ValueError(
            "frequencies, amplitudes and phases must be equally long and not empty, "
            f"got {len(frequencies)}, {len(amplitudes)} and {len(phases)}"
        )
    layer = _layer(1, 2 * len(frequencies), 1, dtype)
    with torch.no_grad():
        for i, (w, a, p) in enumerate(
            zip(frequencies, amplitudes, phases, strict=True)
        ):
            r = 2 * i
            layer.T[0, r, r + 1] = -w
            layer.T[0, r + 1, r] = w
            layer.S[0, r, r] = a * math.cos(p)
            layer.S[0, r + 1, r] = -a * math.sin(p)
    return layer
