"""The shifted cosine schedule against its closed form."""

import math

import numpy as np
import pytest
import torch

from hfd.diffusion.schedule import alpha_sigma, logsnr

T = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)


@pytest.mark.parametrize("shift", [0.25, 0.5, 1.0, 2.0])
def test_alpha_sigma_are_the_sigmoids_of_the_shifted_logsnr(shift):
    alpha, sigma = alpha_sigma(T, shift)
    t = T.numpy()
    snr = np.exp(-2 * (np.log(np.tan(np.pi * t / 2)) + np.log(shift)))
    np.testing.assert_allclose(alpha.numpy() ** 2, snr / (1 + snr), rtol=1e-10)
    np.testing.assert_allclose(sigma.numpy() ** 2, 1 / (1 + snr), rtol=1e-10)
    np.testing.assert_allclose(logsnr(T, shift).numpy(), np.log(snr), rtol=1e-10)


def test_shift_one_is_the_plain_cosine_schedule():
    alpha, sigma = alpha_sigma(T, 1.0)
    np.testing.assert_allclose(alpha.numpy(), np.cos(np.pi * T.numpy() / 2), 1e-12)
    np.testing.assert_allclose(sigma.numpy(), np.sin(np.pi * T.numpy() / 2), 1e-12)


def test_endpoints_are_exact_and_smaller_shift_is_less_noisy():
    a0, s0 = alpha_sigma(torch.tensor(0.0), 0.5)
    a1, s1 = alpha_sigma(torch.tensor(1.0), 0.5)
    assert (a0.item(), s0.item()) == (1.0, 0.0)
    assert abs(a1.item()) < 1e-7 and s1.item() == 1.0
    # The shift moves log-SNR up by exactly -2 log s.
    diff = logsnr(T, 0.5) - logsnr(T, 1.0)
    np.testing.assert_allclose(diff.numpy(), 2 * math.log(2), rtol=1e-12)


def test_bad_shift_is_refused():
    with pytest.raises(ValueError, match="shift"):
        alpha_sigma(T, 0.0)
