"""Integer tables, the two density models and the range coder."""

import math

import numpy as np
import pytest
import torch
from scipy.special import ndtr

from hfd.entropy import coder
from hfd.entropy.factorized import FactorizedPrior
from hfd.entropy.gaussian import (
    gaussian_likelihood,
    gaussian_tables,
    scale_indexes,
    scale_table,
)
from hfd.entropy.tables import PRECISION, IntegerTables, quantize_pmf


def test_quantize_pmf_sums_exactly_keeps_every_symbol_and_stays_close(rng):
    pmf = rng.dirichlet(np.ones(50) * 0.3)
    pmf[3] = 0.0
    counts = quantize_pmf(pmf)
    assert counts.sum() == 1 << PRECISION
    assert counts.min() >= 1
    assert np.abs(counts / 2**PRECISION - pmf).max() < (2 * 50 + 1) / 2**PRECISION


@pytest.mark.parametrize("bad", [np.array([]), np.array([0.5, np.nan]), np.ones(70000)])
def test_quantize_pmf_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="pmf"):
        quantize_pmf(bad)


def test_gaussian_likelihood_matches_scipy_normal_cdf(rng):
    v = rng.integers(-20, 21, size=200).astype(np.float64)
    s = np.exp(rng.uniform(np.log(0.11), np.log(30), size=200))
    expected = ndtr((v + 0.5) / s) - ndtr((v - 0.5) / s)
    got = gaussian_likelihood(torch.from_numpy(v), torch.from_numpy(s)).numpy()
    np.testing.assert_allclose(got, np.maximum(expected, 1e-9), rtol=1e-7, atol=1e-12)


def test_gaussian_tables_rows_are_the_quantised_gaussians():
    scales = scale_table(8)
    tables = gaussian_tables(scales)
    for i, s in enumerate(scales.astype(np.float64)):
        row = tables.row(i)
        v = np.arange(len(row) - 1) + tables.offsets[i]
        pmf = ndtr((v + 0.5) / s) - ndtr((v - 0.5) / s)
        assert row.sum() == 2**PRECISION
        # Each entry is floor(p * (2^16 - n)) + 1: off by at most 1 + p * n
        # counts; the largest entry also takes the leftover (at most n).
        err = np.abs(row[:-1] / 2**PRECISION - pmf)
        assert err.max() < (2 * len(row) + 1) / 2**PRECISION
        assert tables.offsets[i] == -math.ceil(6 * s)


def test_scale_indexes_pick_the_smallest_table_scale_not_below_sigma(rng):
    scales = torch.from_numpy(scale_table())
    sigma = torch.from_numpy(np.exp(rng.uniform(-4, 5, size=300)).astype(np.float32))
    got = scale_indexes(sigma, scales)
    for s, i in zip(sigma.tolist(), got.tolist(), strict=True):
        candidates = [
            k
            for k, t in enumerate(scales.tolist())
            if t >= max(s, float(np.float32(0.11)))
        ]
        assert i == (candidates[0] if candidates else len(scales) - 1)


def test_factorized_prior_is_a_density_over_the_integers():
    torch.manual_seed(0)
    prior = FactorizedPrior(4)
    grid = torch.arange(-300, 301, dtype=torch.float32)
    z = grid.reshape(1, 1, 1, -1).expand(1, 4, 1, -1).contiguous()
    mass = prior.likelihood(z).detach().double().sum(dim=-1).flatten()
    np.testing.assert_allclose(mass.numpy(), 1.0, atol=1e-4)


def test_factorized_tables_cover_the_density():
    torch.manual_seed(1)
    prior = FactorizedPrior(3)
    tables = prior.integer_tables()
    for c in range(3):
        row = tables.row(c)
        v = torch.arange(len(row) - 1, dtype=torch.float32) + int(tables.offsets[c])
        z = v.reshape(1, 1, 1, -1).expand(1, 3, 1, -1).contiguous()
        p = prior.likelihood(z)[0, c, 0].detach().double().numpy()
        # Float32 differences of the cumulative lose ~1e-5 in total.
        assert p.sum() > 1 - 2e-5
        assert np.abs(row[:-1] / 2**PRECISION - p).max() < (2 * len(row) + 1) / 2**16


def test_range_coder_round_trips_symbols_and_escapes(rng):
    tables = IntegerTables.from_pmfs(
        [np.array([0.2, 0.5, 0.3, 1e-6]), np.array([0.1] * 9 + [1e-6])], [-1, -4]
    )
    models = coder.TableModels(tables)
    rows = rng.integers(0, 2, size=(2, 3, 7))
    values = rng.integers(-2, 3, size=rows.shape)
    values[0, 0, :3] = [1000, -77, 9]  # outside every support: escaped
    encoder, escapes = coder.new_encoder(), []
    coder.encode_symbols(encoder, values, rows, models, escapes)
    assert len(escapes) >= 3
    decoder = coder.new_decoder(encoder.get_compressed())
    decoded = coder.decode_symbols(decoder, rows, models, iter(escapes))
    np.testing.assert_array_equal(decoded, values)
