"""The paper's explicit constructions (§3.3-3.5, appendix Theorem 1) hold
exactly."""

import itertools
import math

import numpy as np
import pytest
import torch

from mlayer import constructions
from mlayer.data.synthetic import permanent


def test_nilpotent_generator_gives_exact_feature_crosses(rng):
    # The 7 x 7 example: phi0, phi1, phi2, phi0 phi1 and phi1 phi2^2.
    layer = constructions.feature_crosses()
    phi = torch.from_numpy(rng.uniform(-3, 3, size=(50, 3)))
    with torch.no_grad():
        out = layer(phi).numpy()
        M = layer.generator(phi)
    p0, p1, p2 = phi.numpy().T
    expected = np.stack([p0, p1, p2, p0 * p1, p1 * p2**2], axis=-1)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)
    # Nilpotent: strictly upper triangular, so M^7 = 0 and the series is finite.
    assert torch.equal(M, torch.triu(M, diagonal=1))
    assert torch.matrix_power(M, 7).abs().max() == 0


def test_chain_entries_are_products_over_factorials(rng):
    T = constructions.chains_generator([(0, 1, 2)], 3)
    x = torch.from_numpy(rng.standard_normal(3))
    E = torch.linalg.matrix_exp(torch.einsum("a,ajk->jk", x, T)).numpy()
    a, b, c = x.numpy()
    assert E[0, 3] == pytest.approx(a * b * c / 6, rel=1e-13)
    assert E[0, 2] == pytest.approx(a * b / 2, rel=1e-13)
    assert E[1, 3] == pytest.approx(b * c / 2, rel=1e-13)


def test_any_polynomial_exactly(rng):
    # Theorem 1: one superdiagonal block per monomial.
    terms = [(2.0, (0, 1, 1)), (-1.5, (2,)), (0.25, (0, 0, 0, 2)), (0.7, ())]
    layer = constructions.polynomial(terms, 3)
    assert layer.n == 4 + 2 + 5
    x = torch.from_numpy(rng.uniform(-2, 2, size=(40, 3)))
    with torch.no_grad():
        out = layer(x)[:, 0].numpy()
    a, b, c = x.numpy().T
    expected = 2 * a * b**2 - 1.5 * c + 0.25 * a**3 * c + 0.7
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["determinant", "permanent"])
def test_8x8_construction_gives_the_exact_3x3_function(rng, kind):
    layer = constructions.determinant(permanent=kind == "permanent")
    assert layer.n == 8
    A = rng.uniform(-1, 1, size=(200, 3, 3))
    with torch.no_grad():
        out = layer(torch.from_numpy(A.reshape(200, 9)))[:, 0].numpy()
    expected = np.linalg.det(A) if kind == "determinant" else permanent(A)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)


def test_determinant_construction_by_the_leibniz_formula():
    # Exact on integer matrices, term by term.
    layer = constructions.determinant()
    for values in itertools.islice(
        itertools.product(range(-1, 2), repeat=9), 0, None, 97
    ):
        A = np.array(values, dtype=np.float64).reshape(3, 3)
        leibniz = sum(
            math.prod(A[i, p[i]] for i in range(3)) * _sign(p)
            for p in itertools.permutations(range(3))
        )
        with torch.no_grad():
            assert layer(torch.from_numpy(A.reshape(9)))[0].item() == pytest.approx(
                leibniz, abs=1e-13
            )


def _sign(p) -> int:
    return (-1) ** sum(p[i] > p[j] for i in range(3) for j in range(i + 1, 3))


def test_rotations_extrapolate_periodic_functions_forever():
    # The 2 x 2 block [[0, -w], [w, 0]] exponentiates to a rotation (§3.5).
    w, a, p = [6 * math.pi, 8 * math.pi], [1.42, 6.29], [0.84, 0.76]
    layer = constructions.rotations(w, a, p)
    x = torch.linspace(0, 1000, 4001, dtype=torch.float64)[:, None]
    with torch.no_grad():
        out = layer(x)[:, 0].numpy()
    xs = x[:, 0].numpy()
    expected = sum(
        ai * np.cos(wi * xs + pi) for wi, ai, pi in zip(w, a, p, strict=True)
    )
    # The angle reaches 25,000 rad: error ~ u times that.
    np.testing.assert_allclose(out, expected, atol=5e-11)


def test_bad_constructions_are_refused():
    with pytest.raises(ValueError, match="names input 5; inputs are 0 to 2"):
        constructions.chains_generator([(0, 5)], 3)
    with pytest.raises(ValueError, match="equally long"):
        constructions.rotations([1.0], [1.0, 2.0], [0.0])
