"""Pairing rules (spec §1.4) against their twins, and the rules they must keep."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complife import RunConfig, Simulation, Soup
from complife.pairing import FixedShuffle, Neighbours, Ring, WellMixed
from complife.simulation import ConfigError

seeds = st.integers(0, (1 << 64) - 1)
epochs = st.integers(0, 1 << 20)


@settings(max_examples=50, deadline=None)
@given(seed=seeds, epoch=epochs, half=st.integers(1, 64))
@pytest.mark.parametrize("rule", [WellMixed(), Ring()], ids=["well_mixed", "ring"])
def test_rule_matches_twin(rule, seed, epoch, half):
    n = 2 * half
    order = np.empty(n, dtype=np.int64)
    pairs = rule.pair(seed, epoch, order)
    assert (order.tolist(), pairs) == rule.pair_py(seed, epoch, n)
    assert sorted(order.tolist()) == list(range(n))


@given(epoch=epochs, log2=st.integers(1, 12))
def test_fixed_shuffle_matches_twin(epoch, log2):
    n = 1 << log2
    order = np.empty(n, dtype=np.int64)
    FixedShuffle().pair(0, epoch, order)
    assert (order.tolist(), n // 2) == FixedShuffle().pair_py(0, epoch, n)
    assert sorted(order.tolist()) == list(range(n))


def test_ring_pairs_neighbours_alternately():
    order = np.empty(6, dtype=np.int64)
    Ring().pair(0, 1, order)
    assert order.tolist() == [0, 1, 2, 3, 4, 5]
    Ring().pair(0, 2, order)
    assert order.tolist() == [5, 0, 1, 2, 3, 4]


def test_fixed_shuffle_of_a_small_soup():
    # N = 8, log2 N = 3. Epoch 0: offset 1, no flip; epoch 1: offset 3, flip;
    # epoch 3: offset 1 again, flip.
    order = np.empty(8, dtype=np.int64)
    FixedShuffle().pair(0, 0, order)
    assert order.tolist() == list(range(8))
    FixedShuffle().pair(0, 1, order)
    assert order.tolist() == [((3 * i) % 8) ^ 1 for i in range(8)]
    FixedShuffle().pair(0, 3, order)
    assert order.tolist() == [i ^ 1 for i in range(8)]


@st.composite
def graphs(draw):
    n = 2 * draw(st.integers(1, 30))
    edges = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=4 * n
        )
    )
    return n, edges


@settings(max_examples=60, deadline=None)
@given(graph=graphs(), seed=seeds, epoch=epochs)
def test_neighbour_pairing_matches_twin_and_keeps_the_rules(graph, seed, epoch):
    n, edges = graph
    edges = [(a, b) for a, b in edges if a != b]
    rule = Neighbours.from_edges(n, edges)
    order = np.empty(n, dtype=np.int64)
    pairs = rule.pair(seed, epoch, order)
    assert (order.tolist(), pairs) == rule.pair_py(seed, epoch, n)

    # Who meets whom: every pair is an allowed edge with its first program first;
    # nobody is used twice; the unpaired follow in index order.
    allowed = set(edges)
    met = order[: 2 * pairs].reshape(-1, 2).tolist()
    assert all((a, b) in allowed for a, b in met)
    assert sorted(order.tolist()) == list(range(n))
    rest = order[2 * pairs :].tolist()
    assert rest == sorted(rest)


def test_unpaired_programs_are_mutated_but_not_run():
    # Two programs, no edges: nobody runs, but mutation still reaches everyone.
    rule = Neighbours.from_edges(2, [])
    soup = Soup("bff_noheads", 2, seed=1, mutation_prob=1.0, pairing=rule)
    before = soup.programs.copy()
    result = soup.step()
    assert result.pairs_run == 0 and result.ops == 0
    assert not np.array_equal(before, soup.programs)


def test_grid_neighbourhood_is_the_clipped_5x5_box():
    grid = Neighbours.grid(7, 6)
    degree = np.diff(grid.offsets)
    assert degree[0] == 8  # a corner: 3x3 box minus itself
    assert degree[2 * 7 + 3] == 24  # an inner cell: 5x5 box minus itself
    assert degree[1] == 11  # next to a corner on the top edge: 4x3 - 1
    partners = grid.partners[grid.offsets[0] : grid.offsets[1]].tolist()
    assert partners == [1, 2, 7, 8, 9, 14, 15, 16]


def test_pattern_file_errors_name_the_line(tmp_path):
    path = tmp_path / "pattern.txt"
    path.write_text("0 1\n1 two\n")
    with pytest.raises(ValueError, match="line 2"):
        Neighbours.read(path, 4)
    path.write_text("0 1\n\n3 4\n")
    with pytest.raises(ValueError, match=r"line 3: programs 3 4 are not in \[0, 4\)"):
        Neighbours.read(path, 4)


def test_pattern_file_and_grid_agree(tmp_path):
    grid = Neighbours.grid(4, 3)
    lines = []
    for i in range(12):
        for j in grid.partners[grid.offsets[i] : grid.offsets[i + 1]]:
            lines.append(f"{i} {j}")
    path = tmp_path / "pattern.txt"
    path.write_text("\n".join(lines) + "\n")
    read = Neighbours.read(path, 12)
    assert np.array_equal(read.offsets, grid.offsets)
    assert np.array_equal(read.partners, grid.partners)


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"fixed_shuffle": True, "num_programs": 24}, "power-of-two"),
        ({"fixed_shuffle": True, "permute_programs": False}, "choose one"),
        ({"grid": (4, 4), "num_programs": 24}, "holds 16 programs"),
    ],
)
def test_pairing_settings_are_checked(settings_, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig(language="bff_noheads", **settings_).validate()


def test_grid_soup_runs_only_neighbours():
    config = RunConfig(language="bff_noheads", num_programs=64, grid=(8, 8))
    simulation = Simulation(config)
    soup = simulation.soup
    pairs = soup.pair()
    met = soup.order[: 2 * pairs].reshape(-1, 2)
    rows, cols = np.divmod(met, 8)
    assert np.all(np.abs(rows[:, 0] - rows[:, 1]) <= 2)
    assert np.all(np.abs(cols[:, 0] - cols[:, 1]) <= 2)
