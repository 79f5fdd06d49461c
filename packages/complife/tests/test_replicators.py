"""Replicator analysis: edit distance against its twin, families, substrings and
loops on soups built by hand."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from complife import languages
from complife.replicators import (
    DISTANCE,
    any_near,
    common_substrings,
    distinct_programs,
    edit_distance,
    edit_distance_py,
    find_first_seen,
    group_families,
    is_copy_loop,
    loops,
    near,
)

BFF = languages.get("bff_noheads")
# Few distinct bytes, so that strings share a lot and distances stay small.
strings = st.lists(st.sampled_from(b"ab[]0"), max_size=24).map(bytes)


@settings(max_examples=300, deadline=None)
@given(a=strings, b=strings, limit=st.integers(0, 30))
def test_edit_distance_matches_twin(a, b, limit):
    got = edit_distance(np.frombuffer(a, np.uint8), np.frombuffer(b, np.uint8), limit)
    assert got == min(edit_distance_py(a, b), limit + 1)


def test_edit_distance_closed_forms():
    assert edit_distance_py(b"kitten", b"sitting") == 3
    program = bytes(range(64))
    shifted = program[1:] + b"\0"
    # A shift by one byte is one deletion and one insertion.
    assert edit_distance_py(program, shifted) == 2
    assert edit_distance(np.frombuffer(program, np.uint8),
                         np.frombuffer(shifted, np.uint8), 16) == 2  # fmt: skip


def soup_of(*groups):
    """A soup from (program, copies) pairs."""
    rows = [np.frombuffer(p, np.uint8) for p, n in groups for _ in range(n)]
    return np.stack(rows)


def test_near_matches_brute_force(rng):
    founder = bytes(rng.integers(0, 256, 64, dtype=np.uint8))
    programs = rng.integers(0, 256, (200, 64), dtype=np.uint8)
    for i in range(0, 200, 3):  # a third are edited copies of the founder
        edits = int(rng.integers(0, 30))
        copy = bytearray(founder)
        for _ in range(edits):
            copy[int(rng.integers(64))] = int(rng.integers(256))
        programs[i] = np.frombuffer(bytes(copy), np.uint8)
    expected = [edit_distance_py(bytes(p), founder) <= DISTANCE for p in programs]
    assert near(programs, founder).tolist() == expected
    assert any_near(programs, founder) == any(expected)


def test_families_gather_shifted_copies():
    replicator = b"[,{<]" + bytes(range(100, 159))
    shifted = replicator[1:] + b"\0"
    other = b"[.>]" + bytes(range(200, 256)) + b"0000"
    noise = np.random.default_rng(0).integers(0, 256, (40, 64), dtype=np.uint8)
    programs = np.concatenate(
        [soup_of((replicator, 30), (shifted, 10), (other, 5)), noise]
    )
    families = group_families(programs)
    assert [(f.founder, f.count, f.variants) for f in families] == [
        (replicator, 40, 2),
        (other, 5, 1),
    ]
    assert families[0].members == [(replicator, 30), (shifted, 10)]


def test_first_seen_is_the_first_snapshot_with_a_member():
    replicator = b"[,{<]" + bytes(range(100, 159))
    families = group_families(soup_of((replicator, 4)))
    noise = np.random.default_rng(1).integers(0, 256, (16, 64), dtype=np.uint8)
    later = noise.copy()
    later[3] = np.frombuffer(replicator[:60] + b"1234", np.uint8)
    find_first_seen(families, [(1, noise), (65, later), (129, later)])
    assert families[0].first_seen == 65


def test_common_substrings_count_programs_not_windows():
    programs = soup_of((b"abcdefgh" * 8, 3), (b"x" * 56 + b"abcdefgh", 2))
    found = dict(common_substrings(programs, top=100))
    assert found[b"abcdefgh"] == 5  # once per program, however often inside it
    assert found[b"xxxxxxxx"] == 2
    assert found[b"bcdefgha"] == 3


def test_distinct_programs_most_common_first():
    programs = soup_of((b"b" * 64, 2), (b"a" * 64, 2), (b"c" * 64, 3))
    distinct, counts = distinct_programs(programs)
    assert [bytes(d[:1]) for d in distinct] == [b"c", b"a", b"b"]
    assert counts.tolist() == [3, 2, 2]


def test_innermost_loops_of_a_replicator():
    program = BFF.parse("[[{.>]-]0000]-]>.{[[")
    assert loops(BFF, program) == ["[{.>]"]
    # The paper's two families, side by side.
    assert loops(BFF, BFF.parse("[,}<]00[<,}]")) == ["[,}<]", "[<,}]"]
    assert is_copy_loop("[{.>]") and not is_copy_loop("[-]")
