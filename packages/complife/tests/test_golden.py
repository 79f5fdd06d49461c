"""The reference's own outputs, reproduced exactly (../shared/golden).

Regenerate a golden with the reference itself, never with this code:
``bin/main --lang LANG --max_epochs 256 --seed 10248 --disable_output --log LANG.txt``.
"""

import re
from pathlib import Path

import pytest

from complife import RunConfig, Simulation, languages
from complife.metrics import reference_log_line

from .conftest import GOLDEN, golden_path

LOGS = [p.stem for p in sorted((GOLDEN / "cubff-testdata").glob("*.txt"))] or ["bff"]
CHECKPOINT_RUNS = [
    p.name for p in sorted((GOLDEN / "checkpoints").glob("*_num*_seed*"))
]


def soup_log(config: RunConfig) -> list[str]:
    header = "epoch,brotli_size,soup_size,higher_entropy"
    return [header] + [
        reference_log_line(r.epoch, r.metrics) for r in Simulation(config).reports()
    ]


@pytest.mark.parametrize("lang", LOGS)
def test_reference_log(lang):
    expected = golden_path("cubff-testdata", f"{lang}.txt").read_text().splitlines()
    if lang not in languages.names():
        pytest.skip(f"language {lang} is not implemented yet")
    config = RunConfig(language=lang, seed=10248, max_epochs=256)
    assert soup_log(config) == expected


def _run_settings(name: str) -> tuple[str, int, int]:
    lang, num, seed = re.fullmatch(r"(.+)_num(\d+)_seed(\d+)", name).groups()
    return lang, int(num), int(seed)


@pytest.mark.parametrize("run", CHECKPOINT_RUNS or ["bff_noheads_num1024_seed99"])
@pytest.mark.parametrize("start", ["seed", "0000000128.dat"])
def test_reference_checkpoints(run, start, tmp_path):
    golden = golden_path("checkpoints", run)
    lang, num, seed = _run_settings(run)
    if lang not in languages.names():
        pytest.skip(f"language {lang} is not implemented yet")
    config = RunConfig(
        language=lang,
        num_programs=num,
        seed=seed,
        max_epochs=256,
        print_interval=64,
        save_interval=64,
        checkpoint_dir=str(tmp_path),
        load=None if start == "seed" else str(golden / start),
    )
    for _ in Simulation(config).reports():
        pass
    expected = sorted(p.name for p in golden.glob("*.dat"))
    if start != "seed":
        expected = [name for name in expected if name > start]
    written = sorted(p.name for p in Path(tmp_path).glob("*.dat"))
    assert written == expected
    for name in expected:
        assert (tmp_path / name).read_bytes() == (golden / name).read_bytes(), name
