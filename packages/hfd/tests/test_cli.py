"""The command line end to end on a tiny trained run."""

import json

import numpy as np
import pytest
from PIL import Image
from test_training import TINY

from hfd.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    (root / "tiny.toml").write_text(TINY)
    assert main(["train", str(root / "tiny.toml"), "-o", str(root / "run")]) == 0
    photos = root / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    from hfd.training.data import load_photo

    coffee = load_photo("coffee")
    for i, (h, w) in enumerate([(50, 70), (64, 64)]):
        top = rng.integers(0, 200)
        Image.fromarray(coffee[top : top + h, :w]).save(photos / f"p{i}.png")
    return root


def test_compress_then_decompress_both_decoders(run, capsys):
    image = run / "photos" / "p0.png"
    hfd_file, png = run / "p0.hfd", run / "p0.out.png"
    model = str(run / "run")
    assert main(["compress", str(image), "-o", str(hfd_file), "-m", model]) == 0
    assert f"{hfd_file.stat().st_size} bytes" in capsys.readouterr().out
    assert main(["decompress", str(hfd_file), "-o", str(png), "-m", model]) == 0
    assert Image.open(png).size == (70, 50)
    # Files are never overwritten without --force.
    assert main(["decompress", str(hfd_file), "-o", str(png), "-m", model]) == 2
    assert "--force" in capsys.readouterr().err
    args = ["decompress", str(hfd_file), "-o", str(png), "-m", model, "--force"]
    assert main([*args, "--decoder", "score", "--steps", "2", "--patch", "16"]) == 0
    assert Image.open(png).size == (70, 50)


def test_damaged_file_is_a_one_line_error(run, capsys):
    bad = run / "bad.hfd"
    bad.write_bytes(b"\x89HFD" + bytes(20))
    out = run / "bad.png"
    assert main(["decompress", str(bad), "-o", str(out), "-m", str(run / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hfd: error: hfd file truncated") and err.count("\n") == 1
    assert not out.exists()


def test_eval_reports_file_rates_and_plots(run, capsys):
    out = run / "eval"
    args = ["eval", str(run / "photos"), "-m", str(run / "run"), "-o", str(out)]
    assert main([*args, "--fd-patch", "32", "--steps", "2", "--patch", "16"]) == 0
    result = json.loads((out / "results.json").read_text())
    assert {r["decoder"] for r in result["rows"]} == {"mse", "diffusion"}
    assert result["fd_label"].startswith("FD-randcnn")
    sizes = sum((out / "run" / f"p{i}.hfd").stat().st_size for i in range(2))
    for r in result["rows"]:
        assert r["bpp"] == pytest.approx(8 * sizes / (50 * 70 + 64 * 64))
    assert (out / "rate_distortion.png").stat().st_size > 0
    assert (out / "rate_realism.png").stat().st_size > 0
    assert "FD-randcnn" in capsys.readouterr().out
