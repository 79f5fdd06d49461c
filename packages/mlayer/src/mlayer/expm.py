"""The matrix exponential of a batch of matrices: the M-layer's only nonlinearity
(paper §3.2, ``E = expm(M)``; notes §1.2 and §3).

Three ways to compute it, all batched over leading dimensions and on any device:

- :func:`expm` (``"exact"``, the default): a truncated Taylor series evaluated by
  Paterson-Stockmeyer, with scaling and squaring chosen per matrix. Accurate to the
  working precision (backward error at most the unit roundoff, in the sense of
  Higham 2005), and differentiated by autograd through its own matrix products, so
  the backward pass costs about twice the forward.
- ``"torch"``: :func:`torch.linalg.matrix_exp`. Its backward computes the
  exponential of a 2n x 2n block matrix, 5-7x the forward in our benchmark, and
  squares large matrices one at a time (notes §3.1). Kept for comparison (``python -m
  mlayer.bench``).
- :func:`expm_squaring` (``"squaring"``): ``(I + M/2^k)^(2^k)``, the official
  code's cheap option (``matrix_squarings_exp=k``). First-order accurate only.

Why Taylor and not Pade: a polynomial needs no linear solve, so its derivative is a
few more matrix products that batch well, and the backward error of the truncated
series is as small as Pade's for the same number of products at these sizes. The
degree and the number of squarings come from the backward-error bound: for the
degree-m Taylor polynomial T_m, ``T_m(A) = exp(A + dA)`` with
``|dA| <= u |A|`` whenever ``|A|_1 <= THETA[m]`` (u: unit roundoff). The table was
computed from the series of ``log(exp(-x) T_m(x))`` with mpmath (the same
bounds that :func:`torch.linalg.matrix_exp` uses for the degrees they share; tests
recompute two of them).

Bad input is refused, never turned into NaN silently: a non-finite M is a
``ValueError``, and a result that overflows raises :class:`ExpmOverflowError`
naming the matrix (pass ``check=False`` to skip both checks and their host sync).
"""

from __future__ import annotations

import functools
import math

import torch

#: THETA[dtype][m]: the largest 1-norm for which the degree-m Taylor polynomial has
#: backward error at most the unit roundoff of dtype (2^-24 and 2^-53).
THETA = {
    torch.float32: {
        2: 5.978858893805234e-04,
        4: 5.116619363445086e-02,
        6: 2.495289322846698e-01,
        9: 7.795113374358031e-01,
        12: 1.461661507209034e00,
        16: 2.478280877521971e00,
        20: 3.550926214706497e00,
    },
    torch.float64: {
        2: 2.580956802971767e-08,
        4: 3.397168839976962e-04,
        6: 9.065656407595102e-03,
        9: 8.957760203223343e-02,
        12: 2.996158913811581e-01,
        16: 7.802874256626574e-01,
        20: 1.438252596804337e00,
    },
}

METHODS = ("exact", "torch", "squaring")


class ExpmOverflowError(FloatingPointError):
    """exp(M) does not fit the dtype: some entry is infinite."""


def _paterson_stockmeyer(A: torch.Tensor, m: int) -> torch.Tensor:
    """T_m(A) = sum_{k<=m} A^k / k! with about 2 sqrt(m) matrix products.

    Split the series into blocks of q = ceil(sqrt(m)) terms,
    ``T_m(A) = sum_j B_j (A^q)^j`` with ``B_j = sum_{i<q} A^(qj+i) / (qj+i)!``,
    and evaluate it by Horner's rule in A^q.
    """
    q = math.isqrt(m - 1) + 1
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    powers = [eye.expand_as(A), A]
    for k in range(2, q + 1):
        powers.append(powers[k // 2] @ powers[k - k // 2])

    # All blocks B_j at once: a (blocks, q) table of 1/k! times (q, ..., n, n) powers.
    # The top block is c_m I alone when q divides m: a scalar times A^q, no product.
    top = m // q - (1 if m % q == 0 else 0)
    coefficients = _coefficients(m, q, A.dtype, A.device)
    blocks = torch.tensordot(coefficients, torch.stack(powers[:q]), dims=1)
    R = blocks[top]
    if m % q == 0:
        R = R + powers[q] / math.factorial(m)
    for j in range(top - 1, -1, -1):
        R = blocks[j] + powers[q] @ R
    return R


@functools.cache
def _coefficients(m: int, q: int, dtype: torch.dtype, device) -> torch.Tensor:
    """1/(qj + i)! at [j, i] for the blocks B_j of degree m (0 beyond m)."""
    top = m // q - (1 if m % q == 0 else 0)
    c = [
        [1 / math.factorial(q * j + i) if q * j + i <= m else 0.0 for i in range(q)]
        for j in range(top + 1)
    ]
    return torch.tensor(c, dtype=dtype, device=device)


def _products(m: int) -> int:
    """Matrix products :func:`_paterson_stockmeyer` spends on degree m."""
    q = math.isqrt(m - 1) + 1
    return q - 1 + m // q - (1 if m % q == 0 else 0)


def _plan(max_norm: float, dtype: torch.dtype) -> tuple[int, float]:
    """(degree, threshold) that minimise products + squarings for the largest
    matrix of the batch; ties go to the higher degree."""
    best = None
    for m, theta in THETA[dtype].items():
        cost = _products(m) + _squarings(max_norm, theta)
        if best is None or cost <= best[0]:
            best = (cost, m, theta)
    return best[1], best[2]


def _squarings(norm: float, theta: float) -> int:
    """Squarings that bring a 1-norm down to theta: ceil(log2(norm / theta))."""
    return max(0, math.ceil(math.log2(norm / theta))) if norm > 0 else 0


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    if dtype in (torch.float32, torch.float64):
        return dtype
    if dtype in (torch.float16, torch.bfloat16):
        return torch.float32
    raise TypeError(
        f"expm needs a floating-point matrix, got dtype {dtype}; convert it with "
        ".float() or .double()"
    )


def _check_square(M: torch.Tensor) -> None:
    if M.ndim < 2 or M.shape[-1] != M.shape[-2] or M.shape[-1] == 0:
        raise ValueError(
            f"expm needs a batch of non-empty square matrices (..., n, n), got shape "
            f"{tuple(M.shape)}"
        )


def _one_norms(M: torch.Tensor) -> torch.Tensor:
    """|M|_1 (largest column sum) of every matrix, without gradient."""
    with torch.no_grad():
        return torch.linalg.matrix_norm(M, ord=1)


def _checked_norms(M: torch.Tensor) -> torch.Tensor:
    """|M|_1 of every matrix, refusing a non-finite M."""
    norms = _one_norms(M)
    if not bool(torch.isfinite(norms).all()):
        _refuse_non_finite(norms)
    return norms


def _refuse_non_finite(norms: torch.Tensor) -> None:
    bad = ~torch.isfinite(norms)
    index = tuple(int(i) for i in bad.nonzero()[0]) if bad.ndim else ()
    raise ValueError(
        f"expm got a matrix M with non-finite entries ({int(bad.sum())} of "
        f"{norms.numel()} matrices, the first at batch index {index}); M must be "
        "finite: check the inputs and the parameters for NaN or inf"
    )


def _check_overflow(E: torch.Tensor, norms: torch.Tensor) -> None:
    if bool(torch.isfinite(E).all()):
        return
    bad = ~torch.isfinite(E).flatten(-2).all(-1)
    index = tuple(int(i) for i in bad.nonzero()[0]) if bad.ndim else ()
    worst = float(norms[index]) if index else float(norms)
    limit = math.log(torch.finfo(E.dtype).max)
    raise ExpmOverflowError(
        f"expm(M) overflows {E.dtype} for {int(bad.sum())} of {bad.numel()} "
        f"matrices (the first at batch index {index}, |M|_1 = {worst:.4g}); "
        f"exp of a matrix with an eigenvalue beyond about {limit:.0f} does not fit. "
        "Keep M small: scale the inputs down, raise the activity regulariser "
        "(lambda |exp(M)|_F^2), lower the learning rate, or compute in float64"
    )


def expm(M: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    """exp(M) for a batch of square matrices ``(..., n, n)`` (paper §3.2).

    Taylor polynomial of a degree chosen for the batch, evaluated on
    ``M / 2^s`` and squared s times, with s chosen per matrix so that
    ``|M / 2^s|_1 <= THETA[degree]``. Differentiable by autograd (also twice).
    float16 and bfloat16 are computed in float32.

    With ``check`` (default), a non-finite M raises ``ValueError`` and a result with
    an infinite entry raises :class:`ExpmOverflowError`; without it, they come back
    as inf or NaN, as from :func:`torch.linalg.matrix_exp`.
    """
    _check_square(M)
    if M.numel() == 0:
        # An empty batch: nothing to scale (aminmax refuses empty input).
        return M.clone()
    dtype = M.dtype
    A = M.to(_compute_dtype(dtype))
    norms = _one_norms(A)
    min_norm, max_norm = torch.stack(torch.aminmax(norms)).tolist()
    if not math.isfinite(max_norm):
        if check:
            _refuse_non_finite(norms)
        return torch.linalg.matrix_exp(A).to(dtype)

    degree, theta = _plan(max_norm, A.dtype)
    most, least = (_squarings(norm, theta) for norm in (max_norm, min_norm))
    if least == most:
        A = A / 2.0**most
    else:
        # Clamped to the host's counts, should the device round a log2 otherwise.
        squarings = torch.ceil(torch.log2(norms / theta)).clamp(least, most)
        A = A * torch.exp2(-squarings).to(A.dtype)[..., None, None]
    E = _paterson_stockmeyer(A, degree)
    for j in range(most):
        if j < least:
            E = E @ E
        else:  # only the matrices that were scaled down this often
            E = torch.where((squarings > j)[..., None, None], E @ E, E)

    if check:
        _check_overflow(E, norms)
    return E.to(dtype)


def expm_squaring(M: torch.Tensor, squarings: int, *, check: bool = True):
    """``(I + M / 2^k)^(2^k)`` with k = ``squarings``: the official code's cheap
    stand-in for exp(M) (notes §1.2; the CIFAR-10 notebook uses k = 3).

    Its error is about ``|M|^2 / 2^(k+1)``: fine for a trained layer that learned
    with it, not an approximation of exp(M) to rely on.
    """
    _check_square(M)
    if isinstance(squarings, bool) or not isinstance(squarings, int) or squarings < 0:
        raise ValueError(
            f"squarings must be an integer >= 0, got {squarings!r}; the official "
            "CIFAR-10 setting is 3"
        )
    norms = _checked_norms(M) if check else None
    eye = torch.eye(M.shape[-1], dtype=M.dtype, device=M.device)
    E = eye + M / 2**squarings
    for _ in range(squarings):
        E = E @ E
    if check:
        _check_overflow(E, norms)
    return E


def matrix_exp(
    M: torch.Tensor, method: str = "exact", squarings: int = 3, *, check=True
):
    """exp(M) by ``method``: "exact" (:func:`expm`), "torch"
    (:func:`torch.linalg.matrix_exp`, checked alike) or "squaring"
    (:func:`expm_squaring` with ``squarings``)."""
    if method == "exact":
        return expm(M, check=check)
    if method == "squaring":
        return expm_squaring(M, squarings, check=check)
    if method == "torch":
        _check_square(M)
        norms = _checked_norms(M) if check else None
        E = torch.linalg.matrix_exp(M)
        if check:
            _check_overflow(E, norms)
        return E
    raise ValueError(
        f"unknown expm method {method!r}; choose one of {', '.join(METHODS)}"
    )
