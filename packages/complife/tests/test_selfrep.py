"""The self-replication score (spec §4) against its twin and on known programs."""

import numpy as np
import pytest

from complife import RunConfig, Simulation, languages, selfrep
from complife.analysis import most_common_programs
from complife.rng import derive_seed_py

BFF = languages.get("bff_noheads")
#: Paper Fig. 4: a palindrome that copies itself, reversed, into its partner.
FIG4 = BFF.parse("[[{.>]-]" + "0" * 16 + "]-]>.{[[")


def test_papers_replicator_scores_as_a_replicator():
    assert selfrep.score(BFF, FIG4) >= selfrep.THRESHOLD


def test_random_programs_do_not(rng):
    programs = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    scores = selfrep.soup_scores(programs, BFF, derive_seed_py(1, 0))
    assert scores.max() < selfrep.THRESHOLD


@pytest.mark.parametrize("index", [0, 3])
def test_kernel_matches_twin(index, rng):
    programs = rng.integers(0, 256, (4, 64), dtype=np.uint8)
    programs[1] = np.frombuffer(FIG4 + bytes(64 - len(FIG4)), dtype=np.uint8)
    programs[3] = programs[1]
    programs[3, 40:44] = rng.integers(0, 256, 4)
    epoch_seed = derive_seed_py(7, 65)
    scores = selfrep.soup_scores(programs, BFF, epoch_seed)
    for i in (index, 1):
        expected = selfrep.score_py(BFF, programs[i].tobytes(), epoch_seed, i, 4)
        assert scores[i] == expected


def test_most_common_program_of_a_transitioned_soup_is_a_replicator():
    # bff_noheads_4bit transitions within about a hundred epochs at 2**14 programs.
    config = RunConfig(
        language="bff_noheads_4bit", num_programs=1 << 14, seed=1, stopping_entropy=3
    )
    simulation = Simulation(config)
    for _ in simulation.reports():
        pass
    assert simulation.stop_reason.startswith("high-order entropy")
    language = languages.get("bff_noheads_4bit")
    (program, count), *_ = most_common_programs(simulation.soup.programs, 1)
    assert count > 1
    assert selfrep.score(language, program) >= selfrep.THRESHOLD


def test_eval_selfrep_counts_a_seeded_soup():
    text = "[[{.>]-]" + "0" * 16 + "]-]>.{[[" + "0" * 32
    config = RunConfig(
        language="bff_noheads",
        num_programs=256,
        seed=3,
        initial_program=text * 4,
        eval_selfrep=True,
        stopping_selfrep_count=64,
        max_epochs=2048,
    )
    simulation = Simulation(config)
    counts = [r.selfrep_count for r in simulation.reports()]
    assert counts[0] >= 3 and counts[-1] >= 64
    assert simulation.stop_reason.startswith(f"{counts[-1]} replicators")


def test_program_longer_than_a_cell_is_refused():
    with pytest.raises(ValueError, match="at most 64"):
        selfrep.score(BFF, bytes(65))
