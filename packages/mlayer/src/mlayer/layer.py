"""The M-layer: ``y = V + S · expm(B + T · (U · x))`` (paper §3.2, eqs. 2-3).

Axis key: ``...`` any batch dimensions; ``D`` input features; ``d`` latent features;
``n`` matrix size; ``h`` outputs.

====  ==============  ==================================================  ========
name  shape           role                                                paper
====  ==============  ==================================================  ========
U     (d, D), u (d,)  latent projection ``v = U x + u``                   eq. 2
T     (d, n, n)       generators: ``M = B + sum_a T[a] v[a]``             eq. 2
B     (n, n)          matrix bias                                         eq. 2
S     (h, n, n)       readout ``y = V + sum_jk S[:, j, k] E[j, k]``       eq. 3
V     (h,)            output bias                                         eq. 3
====  ==============  ==================================================  ========

Initialisation (paper §4, notes §1.4): T and B from N(0, 0.05^2) ("normal", the
paper's; "uniform" is the official code's U(-0.05, 0.05)); U and S Glorot-uniform
and u, V zero, as the official code's Keras ``Dense`` layers. The activity
regulariser of §4 is ``lambda |exp(M)|_F^2`` per example, :meth:`MLayer.activity`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mlayer.expm import METHODS, matrix_exp

INITS = ("normal", "uniform")


def count_parameters(
    in_features: int,
    d: int,
    n: int,
    out_features: int,
    projection: bool = True,
    matrix_bias: bool = True,
) -> int:
    """Parameters of an M-layer: ``D d + d`` (U, u) + ``d n^2`` (T) + ``n^2`` (B)
    + ``n^2 h + h`` (S, V) (notes §1.1)."""
    for name, value in (
        ("in_features", in_features),
        ("d", d),
        ("n", n),
        ("out_features", out_features),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    total = d * n * n + n * n * out_features + out_features
    if projection:
        total += in_features * d + d
    if matrix_bias:
        total += n * n
    return total


class MLayer(nn.Module):
    """``y = V + S · expm(B + T · (U x + u))``: the M-layer of paper §3.2.

    Args:
        in_features: D, the width of the input's last dimension.
        d: latent features (rows of U, generators in T). Without ``projection``
            the input is the latent vector itself, so d must equal D.
        n: size of the matrix M.
        out_features: h, outputs (class evidences or regression targets).
        projection: learn U and u (the official code's ``Dense(d)``). The
            paper's polynomial experiments feed the input to T directly.
        matrix_bias: learn B.
        expm: "exact" (Taylor with scaling and squaring, see :mod:`mlayer.expm`),
            "torch" (:func:`torch.linalg.matrix_exp`) or "squaring"
            (``(I + M/2^k)^(2^k)``, the official CIFAR-10 notebook's).
        squarings: k of the "squaring" method.
        init: "normal" (paper: N(0, scale^2)) or "uniform" (official code:
            U(-scale, scale)) for T and B.
        init_scale: the 0.05 of both.
        check: refuse inputs of the wrong width or with NaN/inf, and raise
            :class:`mlayer.expm.ExpmOverflowError` when exp(M) overflows. Each
            check syncs with the device once per call; turn off only in loops
            that check elsewhere.
    """

    def __init__(
        self,
        in_features: int,
        d: int,
        n: int,
        out_features: int,
        *,
        projection: bool = True,
        matrix_bias: bool = True,
        expm: str = "exact",
        squarings: int = 3,
        init: str = "normal",
        init_scale: float = 0.05,
        check: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        for name, value in (
            ("in_features", in_features),
            ("d", d),
            ("n", n),
            ("out_features", out_features),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not projection and d != in_features:
            raise ValueError(
                f"without projection the input is the latent vector, so d must equal "
                f"in_features; got d={d}, in_features={in_features}. Set d="
                f"{in_features} or projection=True"
            )
        if expm not in METHODS:
            raise ValueError(f"expm={expm!r}: expected one of {', '.join(METHODS)}")
        if init not in INITS:
            raise ValueError(f"init={init!r}: expected one of {', '.join(INITS)}")
        if (
            isinstance(squarings, bool)
            or not isinstance(squarings, int)
            or squarings < 0
        ):
            raise ValueError(f"squarings must be an integer >= 0, got {squarings!r}")
        if (
            isinstance(init_scale, bool)
            or not isinstance(init_scale, int | float)
            or not math.isfinite(init_scale)
            or init_scale <= 0
        ):
            raise ValueError(
                f"init_scale must be a finite number above 0, got {init_scale!r}"
            )
        self.in_features, self.out_features = in_features, out_features
        self.d, self.n = d, n
        self.expm, self.squarings, self.check = expm, squarings, check
        self.init, self.init_scale = init, init_scale
        kw = {"device": device, "dtype": dtype}

        if projection:
            self.U = nn.Parameter(torch.empty(d, in_features, **kw))
            self.u = nn.Parameter(torch.empty(d, **kw))
        else:
            self.register_parameter("U", None)
            self.register_parameter("u", None)
        self.T = nn.Parameter(torch.empty(d, n, n, **kw))
        if matrix_bias:
            self.B = nn.Parameter(torch.empty(n, n, **kw))
        else:
            self.register_parameter("B", None)
        self.S = nn.Parameter(torch.empty(out_features, n, n, **kw))
        self.V = nn.Parameter(torch.empty(out_features, **kw))
        self.reset_parameters()

    @property
    def projection(self) -> bool:
        return self.U is not None

    @property
    def matrix_bias(self) -> bool:
        return self.B is not None

    def reset_parameters(self) -> None:
        """The paper's initialisation (module docstring)."""
        with torch.no_grad():
            for p in (self.T, self.B):
                if p is None:
                    continue
                if self.init == "normal":
                    p.normal_(0.0, self.init_scale)
                else:
                    p.uniform_(-self.init_scale, self.init_scale)
            if self.projection:
                _glorot_uniform(self.U, fan_in=self.in_features, fan_out=self.d)
                self.u.zero_()
            _glorot_uniform(self.S, fan_in=self.n * self.n, fan_out=self.out_features)
            self.V.zero_()

    def extra_repr(self) -> str:
        parts = [
            f"in_features={self.in_features}, d={self.d}, n={self.n}, "
            f"out_features={self.out_features}"
        ]
        if not self.projection:
            parts.append("projection=False")
        if not self.matrix_bias:
            parts.append("matrix_bias=False")
        if self.expm != "exact":
            parts.append(f"expm={self.expm!r}")
        if self.expm == "squaring":
            parts.append(f"squarings={self.squarings}")
        return ", ".join(parts)

    # The three steps of eqs. 2-3, usable one by one.

    def generator(self, x: torch.Tensor) -> torch.Tensor:
        """M = B + T · (U x + u): (..., D) -> (..., n, n) (eq. 2)."""
        if self.check:
            self._check_input(x)
        v = x if self.U is None else nn.functional.linear(x, self.U, self.u)
        n = self.n
        M = (v @ self.T.reshape(self.d, n * n)).unflatten(-1, (n, n))
        return M if self.B is None else M + self.B

    def exponential(self, M: torch.Tensor) -> torch.Tensor:
        """E = expm(M) by this layer's method (eq. 3)."""
        return matrix_exp(M, self.expm, self.squarings, check=self.check)

    def readout(self, E: torch.Tensor) -> torch.Tensor:
        """y = V + S · E: (..., n, n) -> (..., h) (eq. 3)."""
        S = self.S.reshape(self.out_features, self.n * self.n)
        return nn.functional.linear(E.flatten(-2), S, self.V)

    @staticmethod
    def activity(E: torch.Tensor) -> torch.Tensor:
        """|exp(M)|_F^2 of every example, (..., n, n) -> (...): the activity that
        the paper's regulariser (§4, lambda = 1e-4) penalises."""
        return E.square().sum((-2, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.exponential(self.generator(x)))

    def forward_with_activity(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(y, |exp(M)|_F^2) in one pass, for training with the regulariser."""
        E = self.exponential(self.generator(x))
        return self.readout(E), self.activity(E)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            shape = tuple(x.shape)
            hint = (
                "; flatten images first, e.g. x.flatten(1)"
                if x.ndim > 2 and math.prod(shape[1:]) == self.in_features
                else ""
            )
            raise ValueError(
                f"MLayer expects inputs of shape (..., {self.in_features}), got "
                f"{shape}{hint}"
            )
        if x.dtype != self.T.dtype:
            raise ValueError(
                f"MLayer input is {x.dtype} but the layer's weights are "
                f"{self.T.dtype}; convert one: x.to({self.T.dtype}) (e.g. x.float()), "
                f"or the layer with layer.to({x.dtype}) (e.g. layer.double())"
            )
        finite = torch.isfinite(x)
        if not bool(finite.all()):
            bad = int((~finite).sum())
            first = tuple(int(i) for i in (~finite).nonzero()[0])
            raise ValueError(
                f"MLayer input has {bad} non-finite entries (NaN or inf; the first at "
                f"index {first}); the M-layer needs finite inputs: clean or impute "
                "them before the layer"
            )


def _glorot_uniform(p: torch.Tensor, fan_in: int, fan_out: int) -> None:
    """Keras' default kernel initialiser: U(-a, a), a = sqrt(6 / (fan_in +
    fan_out))."""
    a = math.sqrt(6.0 / (fan_in + fan_out))
    p.uniform_(-a, a)


def init_rotations(layer: MLayer, scale: float = 10.0, noise: float = 0.05) -> None:
    """Generators that start as rotations: each T[a] the antisymmetric part of an
    N(0, scale^2) matrix plus N(0, noise^2), and B drawn N(0, noise^2); when the
    input is the latent vector's size (D = d), U starts as the identity and u at 0.

    An antisymmetric generator exponentiates to a rotation whose angles grow
    linearly with the input (paper §3.5), so the layer starts as a sum of
    sinusoids of frequencies up to about ``2 scale sqrt(n)`` per input unit. Ours,
    for the periodic task, where the paper's negative-diagonal start collapses to
    the mean in our runs (README).
    """
    with torch.no_grad():
        A = torch.randn_like(layer.T) * scale
        layer.T.copy_((A - A.transpose(-1, -2)) / 2)
        layer.T.add_(torch.randn_like(layer.T) * noise)
        if layer.B is not None:
            layer.B.normal_(0.0, noise)
        if layer.U is not None and layer.in_features == layer.d:
            layer.U.copy_(torch.eye(layer.d, dtype=layer.U.dtype))
            layer.u.zero_()


def init_negative_diagonal(
    layer: MLayer, diagonal: float = -10.0, std: float = 0.01, u_mean: float = 0.1
) -> None:
    """The periodic task's initialisation (paper §4, notes §1.4): B and the
    generators T[a] drawn N(0, std^2) off the diagonal and N(diagonal, std^2) on
    it, and U drawn N(u_mean, 0.05^2), so that exp(M) starts small."""
    with torch.no_grad():
        eye = torch.eye(layer.n, dtype=layer.T.dtype, device=layer.T.device)
        for p in (layer.T, layer.B):
            if p is not None:
                p.normal_(0.0, std).add_(diagonal * eye)
        if layer.U is not None:
            layer.U.normal_(u_mean, 0.05)
