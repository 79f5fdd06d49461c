"""The M-layer against a float64 NumPy/SciPy twin, its gradients, parameter
counts, initialisation, the paper's symmetries, and bad input."""

import math

import numpy as np
import pytest
import torch

from mlayer import ExpmOverflowError, MLayer, count_parameters
from mlayer.layer import init_negative_diagonal

from . import reference


def randomised(layer: MLayer, gen: torch.Generator, scale: float = 0.3) -> MLayer:
    """The layer with every parameter drawn N(0, scale^2), so that no term is 0."""
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * scale)
    return layer


@pytest.mark.parametrize("projection", [True, False])
@pytest.mark.parametrize("matrix_bias", [True, False])
def test_matches_the_float64_reference(gen, projection, matrix_bias):
    D = 5 if projection else 3
    layer = MLayer(
        D, 3, 6, 4, projection=projection, matrix_bias=matrix_bias, dtype=torch.float64
    )
    randomised(layer, gen)
    x = torch.randn(7, D, generator=gen, dtype=torch.float64)
    expected = reference.mlayer(reference.params_of(layer), x.numpy())
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-12)


def test_float32_matches_the_reference(gen):
    layer = randomised(MLayer(12, 4, 10, 3), gen, scale=0.2)
    x = torch.randn(16, 12, generator=gen)
    expected = reference.mlayer(reference.params_of(layer), x.double().numpy())
    np.testing.assert_allclose(
        layer(x).detach().numpy(), expected, rtol=2e-5, atol=2e-5
    )


def test_any_batch_shape(gen):
    layer = randomised(MLayer(4, 2, 3, 2, dtype=torch.float64), gen)
    x = torch.randn(2, 3, 4, generator=gen, dtype=torch.float64)
    y = layer(x)
    assert y.shape == (2, 3, 2)
    torch.testing.assert_close(y.reshape(6, 2), layer(x.reshape(6, 4)))
    assert layer(x[0, 0]).shape == (2,)


def test_gradcheck_inputs_and_parameters(gen):
    layer = randomised(MLayer(3, 2, 4, 2, dtype=torch.float64), gen)
    x = torch.randn(5, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    names = [name for name, _ in layer.named_parameters()]

    def f(x, *params):
        state = dict(zip(names, params, strict=True))
        return torch.func.functional_call(layer, state, (x,))

    assert torch.autograd.gradcheck(f, (x, *layer.parameters()))


@pytest.mark.parametrize(
    ("D", "d", "n", "h", "expected"),
    [
        (3072, 35, 30, 10, 148_965),  # the paper's CIFAR-10 and SVHN layer
        (784, 35, 30, 10, 68_885),  # its MNIST layer
    ],
)
def test_paper_parameter_counts(D, d, n, h, expected):
    layer = MLayer(D, d, n, h)
    assert sum(p.numel() for p in layer.parameters()) == expected
    assert count_parameters(D, d, n, h) == expected


def test_polynomial_experiment_counts():
    # Input straight into T, no B: 10 n^2 + 1 (3 x 3 determinant, n = 9), and
    # 25 n^2 + n^2 + 1 (5 x 5, n = 24), as the paper reports.
    for D, n, expected in ((9, 9, 811), (25, 24, 14_977)):
        layer = MLayer(D, D, n, 1, projection=False, matrix_bias=False)
        assert sum(p.numel() for p in layer.parameters()) == expected
        assert count_parameters(D, D, n, 1, False, False) == expected


def test_initialisation(gen):
    torch.manual_seed(0)
    layer = MLayer(784, 35, 30, 10)
    assert layer.T.std().item() == pytest.approx(0.05, rel=0.02)
    assert abs(layer.T.mean().item()) < 1e-3
    glorot_U = math.sqrt(6 / (784 + 35))
    assert layer.U.abs().max() <= glorot_U and layer.U.abs().max() > 0.95 * glorot_U
    glorot_S = math.sqrt(6 / (900 + 10))
    assert layer.S.abs().max() <= glorot_S
    assert not layer.u.any() and not layer.V.any()
    uniform = MLayer(10, 4, 5, 2, init="uniform")
    assert uniform.T.abs().max() <= 0.05 and uniform.B.abs().max() <= 0.05


def test_negative_diagonal_initialisation():
    torch.manual_seed(0)
    layer = MLayer(1, 1, 6, 1)
    init_negative_diagonal(layer)
    for M in (layer.T[0], layer.B):
        assert torch.diagonal(M).mean().item() == pytest.approx(-10, abs=0.02)
        off = M - torch.diag(torch.diagonal(M))
        assert off.abs().max() < 0.06
    assert layer.U.mean().item() == pytest.approx(0.1, abs=0.15)


def test_activity_is_the_squared_frobenius_norm(gen):
    layer = randomised(MLayer(4, 2, 3, 2, dtype=torch.float64), gen)
    x = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    y, activity = layer.forward_with_activity(x)
    E = torch.linalg.matrix_exp(layer.generator(x))
    torch.testing.assert_close(activity, (E**2).sum((-2, -1)))
    torch.testing.assert_close(y, layer(x))


def test_squaring_layer_uses_the_cheap_exponential(gen):
    layer = randomised(MLayer(4, 2, 3, 2, expm="squaring", squarings=3), gen)
    x = torch.randn(5, 4, generator=gen)
    M = layer.generator(x)
    E = torch.linalg.matrix_power(torch.eye(3) + M / 8, 8)
    torch.testing.assert_close(layer(x), layer.readout(E))


def test_conjugation_symmetry(gen):
    # T, B -> P T P^-1, S -> P^-T S P^T leaves the function unchanged (paper §3.2).
    layer = randomised(MLayer(4, 3, 5, 2, dtype=torch.float64), gen)
    x = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    before = layer(x)
    P = torch.randn(5, 5, generator=gen, dtype=torch.float64) + 3 * torch.eye(5)
    Pinv = torch.linalg.inv(P)
    with torch.no_grad():
        layer.T.copy_(P @ layer.T @ Pinv)
        layer.B.copy_(P @ layer.B @ Pinv)
        layer.S.copy_(Pinv.T @ layer.S @ P.T)
    torch.testing.assert_close(layer(x), before)


def test_latent_basis_symmetry(gen):
    # (U, u) -> A (U, u) and T[a] -> sum_b A^-1[b, a] T[b] leave it unchanged.
    layer = randomised(MLayer(4, 3, 5, 2, dtype=torch.float64), gen)
    x = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    before = layer(x)
    A = torch.randn(3, 3, generator=gen, dtype=torch.float64) + 2 * torch.eye(3)
    Ainv = torch.linalg.inv(A)
    with torch.no_grad():
        layer.U.copy_(A @ layer.U)
        layer.u.copy_(A @ layer.u)
        layer.T.copy_(torch.einsum("ba,bjk->ajk", Ainv, layer.T))
    torch.testing.assert_close(layer(x), before)


def test_wrong_width_is_refused():
    layer = MLayer(784, 4, 5, 10)
    with pytest.raises(
        ValueError, match=r"inputs of shape \(\.\.\., 784\), got \(8, 10\)"
    ):
        layer(torch.zeros(8, 10))
    with pytest.raises(ValueError, match=r"flatten images first"):
        layer(torch.zeros(8, 28, 28))
    with pytest.raises(ValueError, match="d must equal in_features"):
        MLayer(9, 5, 4, 1, projection=False)
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        MLayer(9, 5, 0, 1)
    with pytest.raises(ValueError, match="expm='pade'"):
        MLayer(9, 5, 4, 1, expm="pade")


def test_non_finite_input_is_refused():
    layer = MLayer(3, 2, 4, 2)
    x = torch.zeros(5, 3)
    x[3, 1] = float("inf")
    with pytest.raises(ValueError, match=r"1 non-finite entries .*index \(3, 1\)"):
        layer(x)


def test_overflow_is_an_error_not_nan():
    layer = MLayer(2, 1, 3, 2)
    with torch.no_grad():
        layer.T.fill_(0.0)
        layer.T[0] = 50 * torch.eye(3)
        layer.U.fill_(1.0)
    with pytest.raises(ExpmOverflowError, match=r"overflows torch\.float32"):
        layer(torch.ones(4, 2))
    assert torch.isfinite(layer(torch.full((4, 2), 0.1))).all()


def test_repr_names_the_shape():
    text = repr(MLayer(9, 9, 8, 1, projection=False, matrix_bias=False))
    assert "d=9, n=8" in text and "projection=False" in text


@pytest.mark.parametrize("method", ["exact", "torch", "squaring"])
def test_an_empty_batch_gives_an_empty_output(method):
    layer = MLayer(4, d=3, n=5, out_features=2, expm=method)
    y, activity = layer.forward_with_activity(torch.rand(0, 4))
    assert y.shape == (0, 2) and activity.shape == (0,)
    assert layer(torch.rand(3, 0, 4)).shape == (3, 0, 2)


def test_a_mismatched_dtype_is_refused_with_the_fix():
    layer = MLayer(4, d=3, n=5, out_features=2)
    with pytest.raises(ValueError, match=r"torch\.float64 .* torch\.float32") as e:
        layer(torch.rand(2, 4, dtype=torch.float64))
    assert "x.float()" in str(e.value) and "layer.double()" in str(e.value)
    assert layer.double()(torch.rand(2, 4, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.parametrize("scale", [-1.0, 0.0, float("nan"), float("inf")])
def test_a_bad_init_scale_is_refused(scale):
    with pytest.raises(ValueError, match="init_scale must be a finite number"):
        MLayer(4, d=3, n=5, out_features=2, init_scale=scale)
    with pytest.raises(ValueError, match="squarings must be an integer >= 0"):
        MLayer(4, d=3, n=5, out_features=2, squarings=-3)


@pytest.mark.parametrize("sizes", [(-1, 3, 3, 2), (4, 0, 3, 2), (4, 3, 3, -2)])
def test_count_parameters_refuses_non_positive_sizes(sizes):
    with pytest.raises(ValueError, match="must be a positive integer"):
        count_parameters(*sizes)


def test_the_readme_initialisers_are_exported():
    import mlayer

    layer = MLayer(1, d=1, n=6, out_features=1)
    mlayer.init_rotations(layer)
    mlayer.init_negative_diagonal(layer)
    assert {"init_rotations", "init_negative_diagonal"} <= set(mlayer.__all__)
