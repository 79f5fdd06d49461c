"""Counter-based random numbers (spec §1.2) against their twins and a closed form."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from complife.pairing import shuffled, shuffled_py
from complife.rng import (
    derive_seed,
    derive_seed_py,
    fill_random_programs,
    splitmix64,
    splitmix64_py,
)

u64 = st.integers(min_value=0, max_value=(1 << 64) - 1)


def test_splitmix64_known_output():
    # The first output of SplitMix64 seeded with 0 (Vigna's reference generator
    # advances its state by the gamma, then mixes): a published constant.
    assert splitmix64_py(0) == 0xE220A8397B1DCDAF
    assert int(splitmix64(np.uint64(0))) == 0xE220A8397B1DCDAF


@given(u64)
def test_splitmix64_kernel_matches_twin(x):
    assert int(splitmix64(np.uint64(x))) == splitmix64_py(x)


@given(u64, u64)
def test_derive_seed_kernel_matches_twin(seed, k):
    assert int(derive_seed(np.uint64(seed), np.uint64(k))) == derive_seed_py(seed, k)


@given(st.integers(1, 40).map(lambda h: 2 * h), u64)
def test_initial_bytes_follow_the_counter_layout(n, stream_seed):
    programs = np.empty((n, 64), dtype=np.uint8)
    fill_random_programs(programs, np.uint64(stream_seed))
    expected = [
        [
            splitmix64_py((64 * n * stream_seed + 64 * p + i) % (1 << 64)) % 256
            for i in range(64)
        ]
        for p in range(n)
    ]
    assert programs.tolist() == expected


@given(u64, st.integers(0, 1 << 40), st.integers(1, 300))
def test_well_mixed_shuffle_matches_twin(seed, epoch, n):
    order = np.empty(n, dtype=np.int64)
    shuffled(seed, epoch, order)
    assert order.tolist() == shuffled_py(seed, epoch, n)
    assert sorted(order.tolist()) == list(range(n))
