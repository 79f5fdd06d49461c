"""The benchmark runs and measures what it says: a tiny case, one round."""

import json

from mlayer import bench


def test_bench_rows_and_table(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(bench, "CASES", [(64, 4, 2.0)])  # 7 repeats a round
    out = tmp_path / "bench.json"
    assert bench.main(["--rounds", "1", "--threads", "1", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r["method"] for r in rows] == ["ours", "torch", "squaring-3"]
    by = {r["method"]: r for r in rows}
    for name in ("ours", "torch"):
        # Exact methods: float32 roundoff against SciPy's float64 expm and Frechet.
        assert by[name]["expm_error_max"] < 1e-6
        assert by[name]["grad_error_max"] < 1e-6
    # (I + M/8)^8 is a different function: its error is far above roundoff.
    assert by["squaring-3"]["expm_error_median"] > 1e-4
    for r in rows:
        assert 0 < r["forward_ms"] and 0 < r["forward_backward_ms"]
        assert r["expm_error_median"] <= r["expm_error_max"]
    printed = capsys.readouterr().out
    assert "1 thread(s)" in printed
    assert printed.count("| 64 x 4 x 4 | 1-2 |") == 3


def test_matrices_have_the_asked_norms():
    M = bench.matrices(50, 6, 4.0)
    norms = M.abs().sum(-2).amax(-1)
    assert (norms >= 2.0 - 1e-12).all() and (norms <= 4.0 + 1e-12).all()
