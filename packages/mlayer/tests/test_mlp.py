"""The MLP baseline and its matched width."""

import pytest
import torch

from mlayer.layer import count_parameters as mlayer_count
from mlayer.mlp import MLP, count_parameters, matched_width


def test_count_matches_the_module():
    model = MLP(9, [30, 30, 30, 30], 1)
    assert sum(p.numel() for p in model.parameters()) == 3121  # the paper's best DNN
    assert count_parameters(9, [30, 30, 30, 30], 1) == 3121
    # The paper's timing baseline 3072-43-100-100-10 (its Table 2).
    assert count_parameters(3072, [43, 100, 100], 10) == 147_649


@pytest.mark.parametrize(
    ("D", "h", "depth", "target"),
    [
        (9, 1, 2, 811),
        (784, 10, 2, 68_885),
        (2, 2, 2, 1332),
        (1, 1, 2, 111),
        (5, 3, 4, 7),
    ],
)
def test_matched_width_is_the_nearest(D, h, depth, target):
    w = matched_width(D, h, depth, target)
    gap = abs(count_parameters(D, [w] * depth, h) - target)
    for other in (w - 1, w + 1):
        if other >= 1:
            assert gap <= abs(count_parameters(D, [other] * depth, h) - target)


def test_matched_to_the_paper_layers():
    assert matched_width(9, 1, 2, mlayer_count(9, 9, 9, 1, False, False)) == 23
    assert matched_width(784, 10, 2, mlayer_count(784, 35, 30, 10)) == 79


def test_initialisation_is_glorot_with_zero_bias():
    torch.manual_seed(0)
    model = MLP(100, [50], 10)
    first = model[0]
    bound = (6 / 150) ** 0.5
    assert first.weight.abs().max() <= bound and first.weight.abs().max() > 0.9 * bound
    assert not first.bias.any()


def test_bad_input():
    with pytest.raises(ValueError, match="activation='gelu'"):
        MLP(3, [4], 1, "gelu")
    with pytest.raises(ValueError, match="at least one positive width"):
        MLP(3, [], 1)
    with pytest.raises(
        ValueError, match=r"inputs of shape \(\.\.\., 3\), got \(2, 4\)"
    ):
        MLP(3, [4], 1)(torch.zeros(2, 4))
