"""The report metrics (spec §3) on cases with closed forms."""

import brotli
import numpy as np
import pytest

from complife.metrics import (
    brotli_size,
    measure,
    order0_entropy,
    ranked_bytes,
    reference_log_line,
)


def test_entropy_of_uniform_and_constant_soups():
    uniform = np.tile(np.arange(256, dtype=np.uint8), 64).reshape(256, 64)
    assert measure(uniform).h0 == pytest.approx(8.0, abs=1e-12)
    assert measure(np.zeros((4, 64), dtype=np.uint8)).h0 == 0.0


def test_entropy_of_two_values():
    counts = np.zeros(256, dtype=np.int64)
    counts[[1, 2]] = (1, 3)
    p = np.array([0.25, 0.75])
    assert order0_entropy(counts) == pytest.approx(float(-(p * np.log2(p)).sum()))


def test_brotli_size_is_a_valid_brotli_stream_length(rng):
    data = rng.integers(0, 4, 100_000, dtype=np.uint8).tobytes()
    streamed = brotli.compress(data, quality=2, lgwin=24)
    assert brotli.decompress(streamed) == data
    # The one-shot API the reference calls may differ from the streaming one by a
    # few bytes, never by much.
    assert abs(brotli_size(data) - len(streamed)) <= 8


def test_high_order_entropy_is_h0_minus_bits_per_byte(rng):
    programs = rng.integers(0, 256, (512, 64), dtype=np.uint8)
    programs[::2] = programs[0]
    m = measure(programs)
    assert m.brotli_bpb == m.brotli_size * 8 / programs.size
    assert m.higher_entropy == float(np.float32(m.h0 - m.brotli_bpb))
    assert m.higher_entropy > 1


def test_byte_ranking_breaks_ties_towards_larger_values():
    counts = np.zeros(256, dtype=np.int64)
    counts[[7, 9, 200]] = (5, 5, 9)
    ranked = ranked_bytes(counts)
    assert ranked[:3] == [200, 9, 7]
    assert ranked[-1] == 0 and ranked[3] == 255


def test_reference_log_line_format():
    programs = np.zeros((2, 64), dtype=np.uint8)
    m = measure(programs)
    assert reference_log_line(65, m) == f"65,{m.brotli_size},2,{m.higher_entropy:f}"
    assert reference_log_line(65, m).count(".") == 1
