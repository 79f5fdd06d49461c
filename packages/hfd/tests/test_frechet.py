"""Fréchet distance: zero on identical sets, the closed form for Gaussians, and
the FID/256 patch protocol."""

import numpy as np
import pytest
import torch

from hfd.evaluation.features import (
    RandomFeatureNetwork,
    TorchScriptFeatures,
    extract_features,
    patches,
)
from hfd.evaluation.frechet import (
    frechet_distance,
    frechet_distance_features,
    gaussian_statistics,
)


def slow_frechet(mu1, s1, mu2, s2):
    """Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2) through symmetric eigenvalues."""

    def sqrt_psd(a):
        w, v = np.linalg.eigh(a)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    r = sqrt_psd(s1)
    cross = np.trace(sqrt_psd(r @ s2 @ r))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross)


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_identical_sets_are_at_distance_zero(rng):
    features = rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8))
    assert frechet_distance_features(features, features.copy()) < 1e-8


def test_diagonal_gaussians_match_the_closed_form(rng):
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    v1, v2 = rng.uniform(0.5, 3, size=5), rng.uniform(0.5, 3, size=5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    got = frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2))
    assert got == pytest.approx(expected, rel=1e-9)


def test_general_gaussians_match_the_eigenvalue_twin(rng):
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    s1, s2 = random_spd(rng, 6), random_spd(rng, 6)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
        slow_frechet(mu1, s1, mu2, s2), rel=1e-8
    )


def test_samples_of_two_gaussians_approach_the_analytic_value(rng):
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, -1.0, 0.5])
    s1, s2 = random_spd(rng, 3), random_spd(rng, 3)
    a = rng.multivariate_normal(mu1, s1, size=200_000)
    b = rng.multivariate_normal(mu2, s2, size=200_000)
    analytic = slow_frechet(mu1, s1, mu2, s2)
    assert frechet_distance_features(a, b) == pytest.approx(analytic, rel=0.02)


def test_too_few_features_are_refused():
    with pytest.raises(ValueError, match="N >= 2"):
        gaussian_statistics(np.zeros((1, 4)))


def test_patch_protocol_counts_and_shift():
    image = np.arange(400 * 600 * 3, dtype=np.int64).reshape(400, 600, 3)
    out = patches(image, 256)
    # Two non-overlapping patches in the top row, plus one shifted by 128.
    assert len(out) == 3
    np.testing.assert_array_equal(out[1], image[:256, 256:512])
    np.testing.assert_array_equal(out[2], image[128:384, 128:384])
    assert len(patches(image[:300], 256)) == 2  # too small for the shifted pass


def test_random_feature_network_is_fixed_by_its_seed(rng):
    images = [rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8) for _ in range(5)]
    a = extract_features(RandomFeatureNetwork(seed=3), images)
    b = extract_features(RandomFeatureNetwork(seed=3), images)
    c = extract_features(RandomFeatureNetwork(seed=4), images)
    assert a.shape == (5, 64)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_torchscript_features_load_from_a_path(tmp_path):
    class Pool(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.float().mean(dim=(2, 3))

    path = tmp_path / "net.pt"
    torch.jit.script(Pool()).save(str(path))
    net = TorchScriptFeatures(path)
    x = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    torch.testing.assert_close(net(x), x.float().mean(dim=(2, 3)))
    with pytest.raises(FileNotFoundError, match="TorchScript"):
        TorchScriptFeatures(tmp_path / "missing.pt")
