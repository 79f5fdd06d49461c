"""The robustness certificate of paper §3.7: its constants by their definitions,
the output bound, and, on a trained model, no class change within the radius."""

import math

import numpy as np
import pytest
import torch

from mlayer import MLayer
from mlayer.certify import (
    certified_radius,
    input_sensitivity,
    lipschitz_bound,
    output_change_bound,
    readout_norm,
)


@pytest.fixture(scope="module")
def trained():
    """An M-layer trained for a second on three classes of points in [0, 1]^8."""
    g = torch.Generator().manual_seed(11)
    centres = torch.rand(3, 8, generator=g)
    y = torch.arange(3).repeat_interleave(200)
    x = (centres[y] + 0.12 * torch.randn(600, 8, generator=g)).clamp(0, 1)
    torch.manual_seed(5)
    layer = MLayer(8, 4, 6, 3, dtype=torch.float64)
    x = x.double()
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.03)
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(layer(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert (layer(x).argmax(-1) == y).double().mean() > 0.9
    return layer, x, y


def test_constants_by_definition(trained):
    layer, _, _ = trained
    U, T, S = (p.detach().numpy() for p in (layer.U, layer.T, layer.S))
    W = np.zeros((layer.n, layer.n))
    for i in range(layer.in_features):  # sum_i |sum_a U[a, i] T[a]|
        W += np.abs(sum(U[a, i] * T[a] for a in range(layer.d)))
    assert input_sensitivity(layer) == pytest.approx(np.linalg.norm(W, 2), rel=1e-12)
    assert readout_norm(layer) == pytest.approx(
        np.linalg.norm(S.reshape(3, -1), 2), rel=1e-12
    )


def test_output_change_stays_within_the_bound(trained, gen):
    layer, x, _ = trained
    with torch.no_grad():
        for radius in (1e-3, 1e-2, 0.1):
            bound = output_change_bound(layer, x[:50], radius)
            for _ in range(5):
                noise = (
                    torch.rand(50, 8, generator=gen, dtype=x.dtype) * 2 - 1
                ) * radius
                change = (layer(x[:50] + noise) - layer(x[:50])).norm(dim=-1)
                assert (change <= bound).all()


def test_no_perturbation_within_the_radius_changes_the_class(trained, gen):
    layer, x, _ = trained
    radii = certified_radius(layer, x)
    label = radii.prediction
    r = radii.radius[:, None]
    assert (radii.radius > 0).all() and torch.isfinite(radii.radius).all()
    with torch.no_grad():
        # Corners of the L-infinity ball, where a linearised change is largest.
        for _ in range(20):
            signs = torch.randint(0, 2, x.shape, generator=gen).double() * 2 - 1
            assert torch.equal(layer(x + r * signs).argmax(-1), label)
    # And a few steps of projected gradient ascent on the runner-up's margin.
    delta = torch.zeros_like(x, requires_grad=True)
    for _ in range(10):
        logits = layer(x + delta)
        top = logits.gather(-1, label[:, None])[:, 0]
        others = logits.masked_fill(torch.nn.functional.one_hot(label, 3).bool(), -1e9)
        (others.amax(-1) - top).sum().backward()
        with torch.no_grad():
            delta += r * 0.5 * delta.grad.sign()
            delta.copy_(torch.maximum(torch.minimum(delta, r), -r))
        delta.grad.zero_()
    with torch.no_grad():
        assert torch.equal(layer(x + delta).argmax(-1), label)


def test_radius_solves_the_bound_with_equality(trained):
    # At eps, sqrt(n) |S| delta eps e^(delta eps) e^|M| equals half the top-2 gap.
    layer, x, _ = trained
    radii = certified_radius(layer, x[:20])
    bound = output_change_bound(layer, x[:20], radii.radius)
    torch.testing.assert_close(bound, radii.margin, rtol=1e-9, atol=0)


def test_lipschitz_bound_holds_on_the_box(trained, gen):
    layer, _, _ = trained
    L = lipschitz_bound(layer, 0.0, 1.0)
    assert math.isfinite(L.log10_constant)
    a = torch.rand(500, 8, generator=gen, dtype=torch.float64)
    b = torch.rand(500, 8, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        ratio = (layer(a) - layer(b)).norm(dim=-1) / (a - b).abs().amax(-1)
    assert ratio.max().item() <= L.constant


def test_needs_a_classifier():
    with pytest.raises(ValueError, match="at least 2 outputs"):
        certified_radius(MLayer(3, 2, 2, 1), torch.zeros(1, 3))
    with pytest.raises(ValueError, match="low < high"):
        lipschitz_bound(MLayer(3, 2, 2, 2), 1.0, 0.0)
