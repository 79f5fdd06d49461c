"""One epoch of the soup engine against its slow twin, and the run's invariants."""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complife import Soup, languages
from complife.pairing import FixedShuffle, Neighbours
from complife.soup import mutation_threshold, run_epoch_py


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(["bff_noheads", "bff", "bff8", "bff_noheads_4bit"]),
    half=st.integers(1, 12),
    seed=st.integers(0, (1 << 64) - 1),
    epoch=st.integers(0, 10_000),
    prob=st.sampled_from([0.0, 1 / 4096, 0.01, 0.5, 1.0]),
)
def test_epoch_matches_twin(name, half, seed, epoch, prob):
    soup = Soup(name, 2 * half, seed, prob)
    soup.epoch = epoch
    before = soup.programs.copy()
    n_run = soup.pair()
    order = soup.order.copy()

    expected = before.copy()
    threshold = mutation_threshold(prob)
    twin = languages.get(name).twin
    expected_ops = run_epoch_py(
        expected, order, n_run, seed, epoch, threshold, twin, 8192
    )

    soup.epoch = epoch
    result = soup.step()
    assert result.ops == expected_ops
    assert np.array_equal(soup.programs, expected)


def test_mutation_rate_is_the_per_byte_probability():
    # With no evaluation (all-null tapes stay put), the count of changed bytes over
    # many epochs estimates the replacement rate; a replacement keeps the byte 1/256
    # of the time.
    soup = Soup("bff_noheads", 4096, seed=3, mutation_prob=0.01, zero_init=True)
    changed = 0
    for _ in range(8):
        before = soup.programs.copy()
        soup.step()
        changed += int(np.count_nonzero(before != soup.programs))
        soup.programs[:] = 0
    rate = changed / (8 * soup.programs.size)
    assert rate == pytest.approx(0.01 * 255 / 256, rel=0.05)


@pytest.mark.parametrize("threads", [1, 2])
def test_same_bytes_on_any_thread_count(threads):
    reference = Soup("bff_noheads", 2048, seed=5)
    numba.set_num_threads(1)
    reference.run(6)
    numba.set_num_threads(threads)
    try:
        soup = Soup("bff_noheads", 2048, seed=5)
        soup.run(6)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert np.array_equal(soup.programs, reference.programs)


def test_resume_from_checkpoint_continues_the_trajectory():
    whole = Soup("bff", 512, seed=11)
    whole.run(20)
    first = Soup("bff", 512, seed=11)
    first.run(9)
    second = Soup("bff", 512, seed=11)
    second.restore(first.checkpoint())
    second.run(11)
    assert second.epoch == 20
    assert np.array_equal(second.programs, whole.programs)


def test_bad_soups_are_refused():
    with pytest.raises(ValueError, match="even"):
        Soup("bff_noheads", 1023)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Soup("bff_noheads", 64, mutation_prob=1.5)
    with pytest.raises(ValueError, match="unknown language"):
        Soup("brainfuck", 64)
    with pytest.raises(ValueError, match="seed"):
        Soup("bff_noheads", 64, seed=-1)


def test_initial_program_is_written_from_the_first_byte():
    soup = Soup("bff_noheads", 8, zero_init=True)
    soup.seed_program(b"[" * 100)
    assert soup.programs.reshape(-1)[:100].tolist() == [ord("[")] * 100
    assert not soup.programs.reshape(-1)[100:].any()


def _run_to(config, epochs):
    from complife import Simulation

    simulation = Simulation(config)
    for report in simulation.reports():
        if report.epoch >= epochs:
            break
    return simulation.soup


def test_reset_interval_also_fires_after_the_first_epoch():
    # The reference's quirk (spec §1.3): epoch 0 % R == 0, so right after the first
    # epoch the soup is replaced by reset stream 1; the next reset follows epoch R.
    from complife import RunConfig

    config = RunConfig("bff_noheads", num_programs=64, seed=3, reset_interval=8,
                       print_interval=1, save_interval=1)  # fmt: skip
    soup = _run_to(config, 12)

    by_hand = Soup("bff_noheads", 64, seed=3)
    by_hand.step()
    by_hand.reset()
    by_hand.run(8)
    by_hand.reset()
    by_hand.run(3)
    assert np.array_equal(soup.programs, by_hand.programs)
    assert soup.reset_index == by_hand.reset_index == 3


def test_loading_a_checkpoint_of_a_reset_epoch_continues_the_trajectory(tmp_path):
    from complife import RunConfig
    from complife.checkpoint import write_checkpoint

    config = dict(language="bff", num_programs=256, seed=5, reset_interval=16,
                  print_interval=16, save_interval=16)  # fmt: skip
    whole = _run_to(RunConfig(**config), 49)
    part = _run_to(RunConfig(**config), 33)  # saved before the reset of epoch 32
    path = write_checkpoint(tmp_path / "c.dat", part.checkpoint())
    resumed = _run_to(RunConfig(**config, load=str(path)), 49)
    assert np.array_equal(resumed.programs, whole.programs)


@pytest.mark.parametrize(
    "pairing", [None, FixedShuffle(), Neighbours.grid(32, 16)], ids=repr
)
@pytest.mark.parametrize("name", ["bff_noheads", "bff_noheads_4bit", "bff8", "bff"])
@pytest.mark.parametrize("prob", [0.0, 1 / 4096, 0.01])
def test_what_the_kernel_keeps_changes_nothing(name, prob, pairing):
    # Soup.advance keeps each program's command masks from one epoch to the next
    # (Language.kept_words); Soup.step forgets them at every call. Programs seeded
    # with the paper's replicator copy brackets about, so the masks change a lot.
    language = languages.get(name)
    soups = []
    for _ in range(2):
        soup = Soup(name, 512, seed=11, mutation_prob=prob, pairing=pairing)
        soup.programs[::3, :32] = np.frombuffer(
            language.parse("[[{.>]-]" + "0" * 16 + "]-]>.{[["), dtype=np.uint8
        )
        soups.append(soup)
    kept, forgetting = soups

    ops = kept.advance(12).ops + kept.advance(4).ops
    expected = sum(forgetting.step().ops for _ in range(16))
    assert ops == expected
    assert np.array_equal(kept.programs, forgetting.programs)
