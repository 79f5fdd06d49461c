"""Tracer tokens (paper Figs. 1-3): the traced kernel against its twin, hand-traced
token moves, and soups whose bytes are the same with tracing as without."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complife import RunConfig, Simulation, languages, tracer
from complife.languages import bff
from complife.pairing import Neighbours, Ring
from complife.soup import Soup, mutation_threshold
from complife.tracer import (
    Piece,
    TracedSoup,
    ancestry,
    ancestry_summary,
    birth_of,
    count_distinct,
    make_tokens,
    position_of,
    ranges,
    run_traced,
    run_traced_epoch_py,
    value_of,
)

from .conftest import run_kernel
from .test_bff import BFF_NAMES, tapes
from .test_cli import complife

VARIANTS = {v.name: v for v in bff.VARIANTS}


def twin_traced(name, tape, tokens, max_steps=8192):
    work, carried = bytearray(tape), [int(t) for t in tokens]
    ops = bff.twin(VARIANTS[name], work, max_steps, carried)
    return ops, bytes(work), carried


def tokens_for(tape, draw):
    """Tokens riding on ``tape``: arbitrary births and positions, the byte as value."""
    origins = draw(st.lists(st.integers(0, (1 << 56) - 1), min_size=128, max_size=128))
    return [(o << 8) | b for o, b in zip(origins, tape, strict=True)]


@pytest.mark.parametrize("name", BFF_NAMES)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_traced_kernel_matches_twin(name, data):
    tape = data.draw(tapes(name))
    tokens = tokens_for(tape, data.draw)
    max_steps = data.draw(st.sampled_from([1, 7, 64, 500, 8192]))
    language = languages.get(name)
    ops, final, carried = run_traced(language, tape, tokens, max_steps)
    assert (ops, final, carried.tolist()) == twin_traced(name, tape, tokens, max_steps)
    # The same run as without tokens, and every token still rides on its byte.
    assert (ops, final) == run_kernel(name, tape, max_steps)
    assert value_of(carried).tobytes() == final


def pad(program: bytes) -> bytes:
    return program + bytes(128 - len(program))


def numbered(tape: bytes) -> list[int]:
    """Tokens born at epoch 3, each at its own tape position."""
    return make_tokens(3, np.arange(128), np.frombuffer(tape, np.uint8)).tolist()


@pytest.mark.parametrize("run", ["kernel", "twin"])
class TestTokenMoves:
    """Hand-traced programs of bff_noheads (heads start at 0)."""

    def go(self, run, tape):
        if run == "kernel":
            ops, final, carried = run_traced(
                languages.get("bff_noheads"), tape, numbered(tape), 8192
            )
            return ops, final, carried.tolist()
        return twin_traced("bff_noheads", tape, numbered(tape))

    def test_copy_moves_the_token(self, run):
        # '{' moves head1 to 127; '.' copies tape[0] ('{') there with its token.
        _, final, carried = self.go(run, pad(b"{."))
        assert final[127] == ord("{")
        assert carried[127] == numbered(pad(b"{."))[0]

    def test_reverse_copy_moves_the_token(self, run):
        # '>' moves head0 to 1; '{' head1 to 127; ',' copies tape[127] (0) to 1.
        tape = pad(b">{,")
        _, final, carried = self.go(run, tape)
        assert final[1] == 0 and carried[1] == numbered(tape)[127]

    def test_arithmetic_changes_only_the_value(self, run):
        # '+' adds one to itself (0x2B), making ',' (0x2C); then only zeros follow.
        tape = pad(b"+")
        _, final, carried = self.go(run, tape)
        assert final[0] == ord(",")
        assert carried[0] == int(make_tokens(3, 0, ord(",")))
        assert birth_of(carried[0]) == 3 and position_of(carried[0]) == 0


def test_token_layout_round_trips():
    tokens = make_tokens([0, 5, tracer.MAX_BIRTH + 9], [7, 8388607, 0], [0, 255, 1])
    assert birth_of(tokens).tolist() == [0, 5, tracer.MAX_BIRTH]
    assert position_of(tokens).tolist() == [7, 8388607, 0]
    assert value_of(tokens).tolist() == [0, 255, 1]
    assert int(tokens[1]) == (5 << 40) | (8388607 << 8) | 255


def test_count_distinct_is_the_size_of_the_set(rng):
    tokens = rng.integers(0, 50, size=(30, 64)).astype(np.uint64)
    assert count_distinct(tokens) == len(set(tokens.ravel().tolist()))


@settings(max_examples=20, deadline=None)
@given(
    name=st.sampled_from(["bff_noheads", "bff", "bff_selfmove", "bff_noheads_4bit"]),
    half=st.integers(1, 8),
    seed=st.integers(0, (1 << 64) - 1),
    epoch=st.integers(0, 5000),
    prob=st.sampled_from([0.0, 0.01, 0.5, 1.0]),
)
def test_traced_epoch_matches_twin(name, half, seed, epoch, prob):
    soup = TracedSoup(name, 2 * half, seed, prob)
    soup.epoch = epoch
    programs, tokens = soup.programs.copy(), soup.tokens.copy()
    n_run = soup.pair()
    ops = run_traced_epoch_py(
        programs,
        tokens,
        soup.order.copy(),
        n_run,
        seed,
        epoch,
        mutation_threshold(prob),
        VARIANTS[name],
        8192,
    )
    soup.epoch = epoch
    assert soup.step().ops == ops
    assert np.array_equal(soup.programs, programs)
    assert np.array_equal(soup.tokens, tokens)


@pytest.mark.parametrize(
    "name, pairing",
    [("bff_noheads", None), ("bff_selfmove", None), ("bff", "ring"), ("bff8", "grid")],
)
def test_bytes_with_tracing_equal_bytes_without(name, pairing):
    def rule():
        return {None: None, "ring": Ring(), "grid": Neighbours.grid(32, 32)}[pairing]

    plain = Soup(name, 1024, seed=9, mutation_prob=0.01, pairing=rule())
    traced = TracedSoup(name, 1024, seed=9, mutation_prob=0.01, pairing=rule())
    for _ in range(12):
        assert plain.step().ops == traced.step().ops
        assert np.array_equal(plain.programs, traced.programs)
    assert np.array_equal(value_of(traced.tokens), traced.programs)
    assert plain.advance(5).ops == traced.advance(5).ops
    assert np.array_equal(plain.programs, traced.programs)


def test_tokens_of_a_fresh_soup_and_of_mutations():
    soup = TracedSoup("bff_noheads", 64, seed=2, mutation_prob=0.05)
    assert birth_of(soup.tokens).max() == 0
    assert position_of(soup.tokens).ravel().tolist() == list(range(64 * 64))
    soup.run(3)
    births = birth_of(soup.tokens)
    assert set(births.ravel().tolist()) <= {0, 1, 2, 3}
    # A byte born by mutation was born where it still is unless copied since; at
    # least most are (copies are rare in a random soup).
    young = births > 0
    assert young.any()
    here = position_of(soup.tokens) == np.arange(64 * 64).reshape(64, 64)
    assert np.count_nonzero(here & young) > np.count_nonzero(young) // 2


def test_a_reset_gives_fresh_tokens():
    soup = TracedSoup("bff", 64, seed=4)
    soup.run(2)
    soup.reset()
    assert birth_of(soup.tokens).min() == birth_of(soup.tokens).max() == 2
    assert np.array_equal(value_of(soup.tokens), soup.programs)


def test_an_initial_program_gets_tokens():
    soup = TracedSoup("bff_noheads", 8, zero_init=True)
    soup.seed_program(b"[.>]" * 20)
    assert np.array_equal(value_of(soup.tokens), soup.programs)


def test_ancestry_is_contiguous_pieces_forwards_or_reversed():
    births = [0] * 4 + [7] * 3 + [0] * 6 + [5] + [0] * 50
    positions = [
        *[640, 641, 642, 643],  # program 10, bytes 0-3: forwards
        *[200, 199, 198],  # program 3, bytes 8-6: reversed
        *[64 * 5 + 9, 64 * 5 + 10, 64 * 5 + 11],  # program 5, 9-11 forwards ...
        *[64 * 5 + 11, 64 * 5 + 10, 64 * 5 + 9],  # ... then mirrored: 11-9
        64 * 2 + 30,  # a single byte, born at epoch 5
        *range(64 * 6, 64 * 6 + 50),  # program 6, bytes 0-49
    ]
    pieces = ancestry(make_tokens(births, positions, 0))
    assert pieces == [
        Piece(0, 4, 0, 10, 0, 1),
        Piece(4, 3, 7, 3, 8, -1),
        Piece(7, 3, 0, 5, 9, 1),
        Piece(10, 3, 0, 5, 11, -1),
        Piece(13, 1, 5, 2, 30, 1),
        Piece(14, 50, 0, 6, 0, 1),
    ]
    rows = [
        (p.offsets_text(), p.birth, p.program, p.sources_text(), p.direction)
        for p in pieces
    ]
    assert rows == [
        ("0-3", 0, 10, "0-3", "forwards"),
        ("4-6", 7, 3, "8-6", "reversed"),
        ("7-9", 0, 5, "9-11", "forwards"),
        ("10-12", 0, 5, "11-9", "reversed"),
        ("13", 5, 2, "30", "forwards"),
        ("14-63", 0, 6, "0-49", "forwards"),
    ]
    # Non-adjacent bytes of one birth are separate pieces; a byte copied twice
    # (no step) too.
    twice = ancestry(make_tokens(0, [5, 5, *range(64, 126)], 0))
    assert [(p.offset, p.length, p.source) for p in twice[:2]] == [(0, 1, 5), (1, 1, 5)]
    assert ranges([0, 2, 4, 5, 6, 63]) == "0, 2, 4-6, 63"
    assert ancestry_summary(pieces) == (
        "Its 64 bytes in 6 pieces descend from 61 births: 60 bytes from the initial "
        "soup, 4 from bytes born later, between epochs 5 and 7; 6 bytes were "
        "copied reversed."
    )
    one_later = ancestry(make_tokens([30] + [0] * 63, range(64), 0))
    assert "born later, by epoch 30." in ancestry_summary(one_later)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: bytes(range(256)) * 4,  # random bytes: numpy speaks of pickles
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: data[:40],  # a torn header
    ],
)
def test_a_damaged_tokens_file_is_one_line(tmp_path, damage):
    path = tmp_path / "0000000012.tokens.npy"
    tracer.write_tokens(path, tracer.fresh_tokens(np.zeros((8, 64), np.uint8), 0))
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(tracer.TokensError) as caught:
        tracer.read_tokens(path)
    message = str(caught.value)
    assert message.startswith(f"{path} is damaged (not an (N, 64) uint64 .npy file")
    assert "delete it" in message and "\n" not in message
    for leak in ("pickle", "Failed to read"):
        assert leak not in message


def test_other_languages_are_refused():
    with pytest.raises(ValueError, match="BFF family only, not forthtrivial"):
        TracedSoup("forthtrivial", 64)
    with pytest.raises(ValueError, match="BFF family only"):
        RunConfig("subleq", trace_tokens=True).validate()


def test_traced_run_resumes_exactly(tmp_path):
    settings = dict(language="bff_noheads", num_programs=512, seed=3,
                    mutation_prob=0.01, print_interval=4, save_interval=8,
                    trace_tokens=True)  # fmt: skip

    def run_to(epochs, **more):
        simulation = Simulation(RunConfig(**settings, **more))
        reports = []
        for report in simulation.reports():
            reports.append(report)
            if report.epoch >= epochs:
                break
        return simulation, reports

    whole, reports = run_to(21, checkpoint_dir=str(tmp_path / "a"))
    # Saved after report 9 is consumed, so run past it.
    run_to(13, checkpoint_dir=str(tmp_path / "b"))
    saved = tmp_path / "b" / "0000000008.dat"
    assert tracer.tokens_path(saved).exists()
    resumed, _ = run_to(21, load=str(saved))
    assert np.array_equal(resumed.soup.tokens, whole.soup.tokens)
    assert np.array_equal(resumed.soup.programs, whole.soup.programs)
    assert reports[-1].distinct_tokens == count_distinct(whole.soup.tokens)


def test_tokens_of_another_soup_are_refused(tmp_path):
    from complife.checkpoint import write_checkpoint

    soup = TracedSoup("bff_noheads", 64, seed=1)
    path = write_checkpoint(tmp_path / "0000000000.dat", soup.checkpoint())
    tracer.write_tokens(tracer.tokens_path(path), soup.tokens[:32])
    resumed = TracedSoup("bff_noheads", 64, seed=1)
    resumed.restore(soup.checkpoint())
    with pytest.raises(tracer.TokensError, match="cover 32 programs"):
        resumed.restore_tokens_beside(path)


def test_traced_run_folder_resumes_exactly(tmp_path):
    from complife.cli import main
    from complife.runfolder import read_metrics

    run = ("run --lang bff --num 256 --seed 6 --trace-tokens --print-interval 4 "
           "--save-interval 4 --disable-output").split()  # fmt: skip
    assert main([*run, "--out", str(tmp_path / "whole"), "--max-epochs", "16"]) == 0
    # Tokens are kept beside the last two checkpoints only (--keep-tokens 2).
    saved = tmp_path / "whole" / "checkpoints"
    assert sorted(p.name for p in saved.glob("*.tokens.npy")) == [
        "0000000012.tokens.npy",
        "0000000016.tokens.npy",
    ]
    assert len(list(saved.glob("*.dat"))) == 5
    part = tmp_path / "part"
    # In processes of their own: a finished run in this process may keep holding
    # its folder's lock until garbage collection.
    complife(*run, "--out", part, "--max-epochs", "12")
    # The newest checkpoint lost its tokens: the resume passes over it.
    tracer.tokens_path(part / "checkpoints" / "0000000012.dat").unlink()
    done = complife("run", "--out", part, "--resume", "--max-epochs", "16")
    assert (
        "passed over checkpoint 0000000012.dat: its tokens file is missing"
        in done.stderr
    )

    last = "checkpoints/0000000016.tokens.npy"
    assert np.array_equal(
        tracer.read_tokens(part / last), tracer.read_tokens(tmp_path / "whole" / last)
    )
    rows = read_metrics(part / "metrics.csv")
    assert [r["distinct_tokens"] for r in rows] == [
        r["distinct_tokens"] for r in read_metrics(tmp_path / "whole" / "metrics.csv")
    ]
    header = (part / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["epoch", "brotli_size", "soup_size", "higher_entropy"]
    assert header[-1] == "distinct_tokens"


def test_keep_tokens_zero_keeps_every_checkpoints_tokens(tmp_path):
    from complife.cli import main

    run = ("run --lang bff --num 64 --seed 2 --trace-tokens --print-interval 2 "
           "--save-interval 2 --max-epochs 6 --disable-output").split()  # fmt: skip
    assert main([*run, "--out", str(tmp_path / "all"), "--keep-tokens", "0"]) == 0
    saved = sorted((tmp_path / "all" / "checkpoints").glob("*.tokens.npy"))
    assert [p.name[:10] for p in saved] == [f"{e:010d}" for e in (0, 2, 4, 6)]


def test_keep_tokens_must_be_a_count():
    with pytest.raises(ValueError, match="--keep-tokens is -1"):
        RunConfig("bff", trace_tokens=True, keep_tokens=-1).validate()
