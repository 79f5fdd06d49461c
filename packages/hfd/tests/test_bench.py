"""The benchmark's argument checks and its Markdown table (no timing asserted:
speed goals live in the benchmark itself, never in tests)."""

import pytest

from hfd import bench


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--steps", "0"], "--steps must be at least 1, got 0"),
        (["--rounds", "0"], "--rounds must be at least 1, got 0"),
    ],
)
def test_bad_counts_are_rejected(argv, message, capsys):
    with pytest.raises(SystemExit) as error:
        bench.main(argv)
    assert error.value.code == 2
    assert message in capsys.readouterr().err


def test_model_without_stage1_is_rejected(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--model", str(tmp_path)])
    assert "has no stage1/ folder" in capsys.readouterr().err


def test_table_has_one_row_per_part():
    result = {
        "rows": [
            {"part": "a", "ms": 1234.56, "mp_per_s": 0.2125, "peak_rss_mib": 300.4},
            {"part": "b", "ms": 2.0, "mp_per_s": 131.0, "peak_rss_mib": 301.6},
        ]
    }
    lines = bench.table(result).splitlines()
    assert lines[2] == "| a | 1234.6 | 0.212 | 300 |"
    assert lines[3] == "| b | 2.0 | 131.000 | 302 |"
    assert len(lines) == 4


def test_median_seconds_runs_warm_up_plus_rounds():
    calls = []
    seconds = bench.median_seconds(lambda: calls.append(1), rounds=3)
    assert len(calls) == 4
    assert seconds >= 0
