"""The Z80 and 8080 cores against the PyPI ``Z80`` emulator, step by step (§5).

After every instruction the registers, flags (all 8 bits), MEMPTR (Z80), T-states
and the whole tape must agree. The fast suite runs a few thousand random 32-byte
tapes; ``COMPLIFE_Z80_SLOW=1 pytest -m slow`` runs 10^5 per mode
(``COMPLIFE_Z80_SLOW_COUNT=N`` runs N per mode instead).
"""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from tests import z80_oracle

pytestmark = pytest.mark.skipif(
    not z80_oracle.available(), reason="the PyPI Z80 package (test extra) is absent"
)


def _check(mode, n, seed, registers=False, prefixes=0.0):
    rng = np.random.default_rng(seed)
    for k in range(n):
        tape = rng.integers(0, 256, 32, dtype=np.uint8)
        if prefixes:
            where = rng.random(32) < prefixes
            tape[where] = rng.choice([0xDD, 0xFD, 0xED, 0xCB], where.sum())
        regs = z80_oracle.random_registers(rng, mode) if registers else None
        diff = z80_oracle.compare(tape.tobytes(), mode, 128, regs)
        assert diff is None, f"seed {seed} tape {k}: {diff}"


@pytest.mark.parametrize("mode", ["z80", "i8080"])
def test_random_tapes_from_reset(mode):
    _check(mode, 400, 1)


@pytest.mark.parametrize("mode", ["z80", "i8080"])
def test_random_tapes_from_random_registers(mode):
    _check(mode, 400, 2, registers=True)


def test_prefix_heavy_tapes():
    _check("z80", 400, 3, registers=True, prefixes=0.3)


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("COMPLIFE_Z80_SLOW"), reason="set COMPLIFE_Z80_SLOW=1"
)
@pytest.mark.parametrize("mode", ["z80", "i8080"])
def test_hundred_thousand_tapes(mode):
    """Four parts (from reset; random registers; prefix-heavy in Z80 mode, reset
    in 8080 mode; random registers), each in chunks of :data:`CHUNK` tapes with
    seeds 100 000 * (part + 1) + chunk, every chunk in a fresh process: the oracle
    machine and its callbacks form a reference cycle that Python cannot collect
    (about 120 KiB a tape), which a process's exit frees."""
    count = int(os.environ.get("COMPLIFE_Z80_SLOW_COUNT", 100_000))
    jobs = []
    for part in range(4):
        for chunk in range((count // 4 + CHUNK - 1) // CHUNK):
            n = min(CHUNK, count // 4 - chunk * CHUNK)
            prefixes = 0.3 if part == 2 and mode == "z80" else 0.0
            seed = 100_000 * (part + 1) + chunk
            jobs.append((mode, n, seed, part % 2 == 1, prefixes))
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn, max_tasks_per_child=1) as pool:
        for job, done in zip(jobs, pool.map(_check_job, jobs), strict=True):
            assert done == job[1]


#: Tapes per process in the slow test (about 1.2 GiB of the oracle's leak).
CHUNK = 10_000


def _check_job(job) -> int:
    mode, n, seed, registers, prefixes = job
    z80_oracle.available()
    _check(mode, n, seed, registers, prefixes)
    return n


def test_the_oracle_sees_a_difference():
    """The comparison can fail: a changed register is reported."""
    regs = {"a": 1}
    tape = bytes([0x3C]) + bytes(31)  # INC A
    assert z80_oracle.compare(tape, "z80", 1, regs) is None
    oracle = z80_oracle.Oracle(bytearray(tape), "z80")
    oracle.step()
    assert oracle.state()["a"] == 0x00  # FF + 1 from reset
