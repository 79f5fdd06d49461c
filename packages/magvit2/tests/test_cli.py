import json

import numpy as np
import pytest
import torch
from PIL import Image

from magvit2.cli import main
from magvit2.training import load_tokenizer

CONFIG = """
[model]
preset = "tiny"
base_channels = 8
num_groups = 4
num_bits = 6

[data]
frames = 5
size = 16
batch_size = 1

[train]
steps = 2
checkpoint_every = 1
log_every = 1
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    config = root / "tiny.toml"
    config.write_text(CONFIG)
    assert (
        main(["train", str(config), "--out", str(root / "run"), "--threads", "1"]) == 0
    )
    return root


def test_train_writes_checkpoint_and_refuses_overwrite(run, capsys):
    checkpoint = run / "run" / "checkpoint.safetensors"
    assert checkpoint.exists() and (run / "run" / "config.json").exists()
    with pytest.raises(SystemExit, match="--resume"):
        main(["train", str(run / "tiny.toml"), "--out", str(run / "run")])
    assert main(["train", str(run / "tiny.toml"), "--out", str(run / "run"),
                 "--resume", "--steps", "3"]) == 0  # fmt: skip
    assert "resuming" in capsys.readouterr().out
    log = (run / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in log] == [1, 2, 3]


def test_bad_config_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nstepz = 3\n")
    assert main(["train", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert "unknown keys ['stepz']" in capsys.readouterr().err


def test_tokenize_detokenize_image(run, tmp_path):
    checkpoint = str(run / "run" / "checkpoint.safetensors")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(18, 17, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "in.png")
    tokens, out = tmp_path / "in.mv2", tmp_path / "out.png"
    assert (
        main(["tokenize", "-c", checkpoint, str(tmp_path / "in.png"), str(tokens)]) == 0
    )
    assert main(["detokenize", "-c", checkpoint, str(tokens), str(out)]) == 0
    decoded = np.asarray(Image.open(out))
    assert decoded.shape == (16, 16, 3)  # cropped to multiples of the factor 4
    model = load_tokenizer(checkpoint)
    x = torch.from_numpy(image[:16, :16].astype(np.float32) / 127.5 - 1)
    with torch.no_grad():
        expected = model(x.permute(2, 0, 1)[None]).reconstruction[0]
    expected = ((expected.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0)
    assert np.abs(decoded.astype(int) - expected.numpy().astype(int)).max() <= 1
    with pytest.raises(SystemExit, match="--force"):
        main(["tokenize", "-c", checkpoint, str(tmp_path / "in.png"), str(tokens)])


def test_tokenize_video_npy_and_compress(run, tmp_path, capsys):
    checkpoint = str(run / "run" / "checkpoint.safetensors")
    rng = np.random.default_rng(1)
    video = rng.integers(0, 256, size=(7, 16, 16, 3), dtype=np.uint8)
    np.save(tmp_path / "clip.npy", video)
    tokens = tmp_path / "clip.mv2"
    assert (
        main(["tokenize", "-c", checkpoint, str(tmp_path / "clip.npy"), str(tokens)])
        == 0
    )
    assert (
        main(["detokenize", "-c", checkpoint, str(tokens), str(tmp_path / "o.npy")])
        == 0
    )
    assert np.load(tmp_path / "o.npy").shape == (5, 16, 16, 3)  # 1 + 4k frames kept
    capsys.readouterr()
    assert main(["compress", "-c", checkpoint, str(tmp_path / "clip.npy")]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["bpp"] > 0 and row["ms_ssim_setting"] == "3 scales, win 3"


def test_evaluate_and_transformer(run, tmp_path, capsys):
    checkpoint = str(run / "run" / "checkpoint.safetensors")
    assert main(["evaluate", "-c", checkpoint, "--frames", "5", "--size", "16",
                 "--clips", "2", "--json"]) == 0  # fmt: skip
    results = json.loads(capsys.readouterr().out)
    assert set(results) == {"digits", "photos"}
    assert 1 <= results["digits"]["codes_used"] <= results["digits"]["tokens"] == 64
    transformer = tmp_path / "maskgit.safetensors"
    assert main(["train-transformer", "-c", checkpoint, str(transformer),
                 "--clips", "8", "--frames", "5", "--size", "16", "--steps", "3",
                 "--width", "16", "--depth", "1"]) == 0  # fmt: skip
    out = tmp_path / "samples.npy"
    assert main(["generate", "-c", checkpoint, "-t", str(transformer), str(out),
                 "--count", "2", "--steps", "2"]) == 0  # fmt: skip
    assert np.load(out).shape == (5, 16, 32, 3)
