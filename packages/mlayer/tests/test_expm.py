"""The matrix exponential against SciPy in float64, its gradient against the
Frechet derivative, and its refusals."""

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.linalg
import torch

from mlayer.expm import (
    THETA,
    ExpmOverflowError,
    expm,
    expm_squaring,
    matrix_exp,
)


def random_matrices(rng, batch, n, norm):
    A = rng.standard_normal((batch, n, n))
    return A * (norm / np.abs(A).sum(-2).max(-1))[:, None, None]


@pytest.mark.parametrize("norm", [0.0, 1e-6, 0.05, 0.7, 3.0, 25.0, 300.0])
@pytest.mark.parametrize("n", [1, 2, 6, 30])
def test_float64_matches_scipy(rng, n, norm):
    A = random_matrices(rng, 4, n, norm)
    E = expm(torch.from_numpy(A)).numpy()
    for a, e in zip(A, E, strict=True):
        ref = scipy.linalg.expm(a)
        # Backward-stable to the unit roundoff: error ~ u |A| |exp(A)|, plus the
        # rounding of the squarings.
        tol = 1e-14 * max(1.0, norm) ** 1.5 * np.linalg.norm(ref)
        assert np.linalg.norm(e - ref) <= tol


@pytest.mark.parametrize("norm", [0.1, 2.0, 20.0])
def test_float32_matches_scipy(rng, norm):
    A = random_matrices(rng, 16, 10, norm).astype(np.float32)
    E = expm(torch.from_numpy(A)).numpy()
    for a, e in zip(A, E, strict=True):
        ref = scipy.linalg.expm(a.astype(np.float64))
        assert np.linalg.norm(e - ref) / np.linalg.norm(ref) < 3e-6 * max(1, norm)


def test_each_matrix_gets_its_own_scaling(rng):
    # A batch holding tiny and huge matrices: each as accurate as the float64 test
    # above asks of it alone (the tiny one is not over-squared into noise).
    norms = (1e-4, 0.5, 80.0)
    A = np.stack([random_matrices(rng, 1, 5, s)[0] for s in norms])
    E = expm(torch.from_numpy(A)).numpy()
    for a, e, norm in zip(A, E, norms, strict=True):
        ref = scipy.linalg.expm(a)
        tol = 1e-14 * max(1.0, norm) ** 1.5 * np.linalg.norm(ref)
        assert np.linalg.norm(e - ref) <= tol
    assert np.linalg.norm(E[0] - scipy.linalg.expm(A[0])) <= 4e-16


def test_batch_shapes(rng):
    A = torch.from_numpy(random_matrices(rng, 6, 4, 2.0)).reshape(2, 3, 4, 4)
    E = expm(A)
    assert E.shape == (2, 3, 4, 4)
    ref = np.stack([scipy.linalg.expm(a) for a in A.reshape(6, 4, 4).numpy()])
    np.testing.assert_allclose(E.reshape(6, 4, 4).numpy(), ref, rtol=1e-13)
    single = expm(A[0, 0])
    np.testing.assert_allclose(single.numpy(), ref[0], rtol=1e-13)


def test_closed_forms():
    # exp(0) = I; exp of a rotation generator; exp of a nilpotent Jordan block.
    assert torch.equal(expm(torch.zeros(3, 3)), torch.eye(3))
    w = 2.5
    E = expm(torch.tensor([[0.0, -w], [w, 0.0]], dtype=torch.float64))
    c, s = math.cos(w), math.sin(w)
    np.testing.assert_allclose(E.numpy(), [[c, -s], [s, c]], rtol=0, atol=1e-15)
    N = torch.diag(torch.ones(4, dtype=torch.float64), 1)  # 5 x 5, N^5 = 0
    expected = sum(torch.matrix_power(N, k) / math.factorial(k) for k in range(5))
    np.testing.assert_allclose(expm(N).numpy(), expected.numpy(), rtol=0, atol=1e-16)


def test_gradient_is_the_adjoint_frechet_derivative(rng):
    # d<G, exp(A)>/dA = L_exp(A^T, G) (Mathias 1996), by SciPy.
    A = random_matrices(rng, 5, 7, 4.0)
    G = rng.standard_normal(A.shape)
    At = torch.from_numpy(A).requires_grad_(True)
    expm(At).backward(torch.from_numpy(G))
    for a, g, grad in zip(A, G, At.grad.numpy(), strict=True):
        ref = scipy.linalg.expm_frechet(a.T, g, compute_expm=False)
        assert np.linalg.norm(grad - ref) <= 1e-13 * np.linalg.norm(ref)


def test_float32_gradient_is_accurate(rng):
    A = random_matrices(rng, 8, 30, 8.0)
    G = rng.standard_normal(A.shape)
    At = torch.from_numpy(A).float().requires_grad_(True)
    expm(At).backward(torch.from_numpy(G).float())
    for a, g, grad in zip(A, G, At.grad.double().numpy(), strict=True):
        a32 = a.astype(np.float32).astype(np.float64)
        g32 = g.astype(np.float32).astype(np.float64)
        ref = scipy.linalg.expm_frechet(a32.T, g32, compute_expm=False)
        assert np.linalg.norm(grad - ref) <= 2e-6 * np.linalg.norm(ref)


def test_gradcheck(gen):
    M = (
        torch.randn(3, 5, 5, generator=gen, dtype=torch.float64) * 1.5
    ).requires_grad_()
    assert torch.autograd.gradcheck(expm, (M,))
    assert torch.autograd.gradgradcheck(expm, (M,))


def assert_close_in_norm(actual, desired, rtol):
    """Entries equal to ``rtol`` relative to the largest entry: an exponential's
    rounding error scales with its norm, so an entry that cancels to near zero
    (1e-4 beside entries of 1e2) may differ in its own 12th digit."""
    scale = np.abs(desired).max()
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * scale)


def test_squaring_is_the_official_cheap_exponential(rng):
    A = random_matrices(rng, 3, 6, 3.0)
    for k in (0, 1, 3):
        E = expm_squaring(torch.from_numpy(A), k).numpy()
        for a, e in zip(A, E, strict=True):
            ref = np.linalg.matrix_power(np.eye(6) + a / 2**k, 2**k)
            assert_close_in_norm(e, ref, 1e-13)


def test_methods_agree(rng):
    A = torch.from_numpy(random_matrices(rng, 4, 8, 5.0))
    assert_close_in_norm(
        matrix_exp(A, "exact").numpy(), matrix_exp(A, "torch").numpy(), 1e-12
    )
    with pytest.raises(ValueError, match="unknown expm method 'pade'"):
        matrix_exp(A, "pade")


def test_half_precision_is_computed_in_float32(rng):
    A = torch.from_numpy(random_matrices(rng, 2, 4, 1.0))
    E = expm(A.to(torch.bfloat16))
    assert E.dtype == torch.bfloat16
    np.testing.assert_allclose(E.double().numpy(), expm(A).numpy(), rtol=2e-2)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match=r"square matrices .* got shape \(3, 4\)"):
        expm(torch.zeros(3, 4))
    with pytest.raises(TypeError, match="floating-point"):
        expm(torch.zeros(2, 2, dtype=torch.int64))
    M = torch.zeros(4, 3, 3)
    M[2, 1, 1] = float("nan")
    with pytest.raises(ValueError, match=r"non-finite .*batch index \(2,\)"):
        expm(M)
    with pytest.raises(ValueError, match="non-finite"):
        expm_squaring(M, 3)


def test_overflow_raises_instead_of_returning_inf():
    M = torch.zeros(3, 2, 2)
    M[1] = 100 * torch.eye(2)  # e^100 > float32's 3.4e38
    with pytest.raises(ExpmOverflowError, match=r"overflows torch.float32 .* \(1,\)"):
        expm(M)
    with pytest.raises(ExpmOverflowError):
        matrix_exp(M, "torch")
    # The cheap exponential too: (1 + 10^6 / 8)^8 = 6e40 > 3.4e38.
    with pytest.raises(ExpmOverflowError, match=r"\(1,\)"):
        expm_squaring(M * 1e4, 3)
    # Documented: without the check, the overflow is returned as it is.
    assert torch.isinf(expm(M, check=False)[1]).any()
    # float64 holds it.
    np.testing.assert_allclose(expm(M.double())[1, 0, 0].item(), math.exp(100))


def _backward_error_threshold(m: int, u: float, terms: int = 40) -> float:
    """theta_m: the largest x with sum_k |c_k| x^(k-1) <= u, where
    sum_k c_k x^k = log(e^-x T_m(x)) (Higham 2005), from exact rational series."""
    e = [Fraction((-1) ** k, math.factorial(k)) for k in range(terms)]
    t = [
        Fraction(1, math.factorial(k)) if k <= m else Fraction(0) for k in range(terms)
    ]

    def product(a, b):
        return [sum(a[i] * b[k - i] for i in range(k + 1)) for k in range(terms)]

    y = product(e, t)  # e^-x T_m(x) = 1 + y, y = O(x^(m+1))
    y[0] = Fraction(0)
    log, power = [Fraction(0)] * terms, [Fraction(1)] + [Fraction(0)] * (terms - 1)
    for j in range(1, terms // (m + 1) + 1):
        power = product(power, y)
        log = [
            c + Fraction((-1) ** (j + 1), j) * p
            for c, p in zip(log, power, strict=True)
        ]
    coefficients = [float(abs(c)) for c in log]

    def bound(x: float) -> float:
        return sum(c * x ** (k - 1) for k, c in enumerate(coefficients) if k)

    low, high = 0.0, 5.0
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if bound(middle) <= u else (low, middle)
    return low


@pytest.mark.parametrize(
    ("dtype", "m", "u"), [(torch.float32, 9, 2.0**-24), (torch.float64, 12, 2.0**-53)]
)
def test_taylor_thresholds_recompute(dtype, m, u):
    assert _backward_error_threshold(m, u) == pytest.approx(THETA[dtype][m], rel=1e-9)
