import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

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


def error_of(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_train_writes_checkpoint_and_refuses_overwrite(run, capsys):
    checkpoint = run / "run" / "checkpoint.safetensors"
    assert checkpoint.exists() and (run / "run" / "config.json").exists()
    umask = os.umask(0)
    os.umask(umask)
    assert checkpoint.stat().st_mode & 0o777 == 0o666 & ~umask
    assert main(["train", str(run / "tiny.toml"), "--out", str(run / "run")]) == 2
    assert "--resume" in error_of(capsys)
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
    assert (
        main(["tokenize", "-c", checkpoint, str(tmp_path / "in.png"), str(tokens)]) == 2
    )


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
    import importlib.util

    from magvit2.data import VTEST_PATH

    # Real street clips join the held-out sets where opencv-doc and a reader are.
    readable = importlib.util.find_spec("cv2") or importlib.util.find_spec("imageio")
    street = {"street"} if VTEST_PATH.exists() and readable else set()
    assert set(results) == {"digits", "photos"} | street
    assert 1 <= results["digits"]["codes_used"] <= results["digits"]["tokens"] == 64
    transformer = tmp_path / "maskgit.safetensors"
    assert main(["train-transformer", "-c", checkpoint, str(transformer),
                 "--clips", "8", "--frames", "5", "--size", "16", "--steps", "3",
                 "--width", "16", "--depth", "1"]) == 0  # fmt: skip
    out = tmp_path / "samples.npy"
    assert main(["generate", "-c", checkpoint, "-t", str(transformer), str(out),
                 "--count", "2", "--steps", "2"]) == 0  # fmt: skip
    assert np.load(out).shape == (5, 16, 32, 3)


def test_bad_settings_fail_before_the_run_folder_exists(tmp_path, capsys):
    for old, new in (("frames = 5", "frames = 8"), ("size = 16", "size = 30")):
        config = tmp_path / "bad.toml"
        config.write_text(CONFIG.replace(old, new))
        message = new.replace(" = ", "=")
        assert main(["train", str(config), "--out", str(tmp_path / "r")]) == 2
        assert message in error_of(capsys)
        assert not (tmp_path / "r").exists()


def test_run_stopped_before_first_checkpoint_restarts(run, tmp_path, capsys):
    out = tmp_path / "r"
    out.mkdir()
    shutil.copy(run / "run" / "config.json", out / "config.json")
    args = ["train", str(run / "tiny.toml"), "--out", str(out), "--steps", "1"]
    assert main(args) == 2
    assert "no checkpoint yet" in error_of(capsys)
    assert main([*args, "--resume"]) == 0
    assert "starting from step 0" in capsys.readouterr().out
    assert (out / "checkpoint.safetensors").exists()


def test_train_flag_misuse(run, tmp_path, capsys):
    config = str(run / "tiny.toml")
    shutil.copytree(run / "run", tmp_path / "r")
    out = str(tmp_path / "r")
    cases = [
        (["--force", "--resume"], "contradict"),
        (["--steps", "-1"], "--steps -1"),
        (["--threads", "-2"], "--threads -2"),
        (["--resume", "--steps", "1"], "already past --steps 1"),
    ]
    for flags, message in cases:
        assert main(["train", config, "--out", out, *flags]) == 2
        assert message in error_of(capsys)


def test_cli_misuse_is_a_one_line_error(run, tmp_path, capsys):
    checkpoint = str(run / "run" / "checkpoint.safetensors")
    image = np.random.default_rng(2).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "in.png")
    tokens = tmp_path / "in.mv2"
    assert main(["tokenize", "-c", checkpoint, str(tmp_path / "in.png"),
                 str(tokens)]) == 0  # fmt: skip
    capsys.readouterr()
    stream = tokens.read_bytes()
    (tmp_path / "cut.mv2").write_bytes(stream[:-8])
    (tmp_path / "twice.mv2").write_bytes(stream + stream)
    data = Path(checkpoint).read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:100])
    (tmp_path / "text.png").write_text("not an image")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    Image.fromarray(image[:3]).save(tmp_path / "thin.png")
    np.save(tmp_path / "float.npy", np.zeros((1, 8, 8, 3), np.float32))
    t = str(tmp_path)
    cases = [
        (["detokenize", "-c", checkpoint, f"{t}/cut.mv2", f"{t}/a.png"],
         "cut.mv2 is truncated/damaged"),
        (["detokenize", "-c", checkpoint, f"{t}/twice.mv2", f"{t}/a.png"],
         "twice.mv2 is truncated/damaged: "),
        (["detokenize", "-c", checkpoint, str(tokens), f"{t}/no/a.png"],
         "does not exist; create it"),
        (["detokenize", "-c", checkpoint, str(tokens), f"{t}/rec.txt"], "'.txt'"),
        (["detokenize", "-c", f"{t}/cut.safetensors", str(tokens), f"{t}/a.png"],
         "cut.safetensors is truncated/damaged"),
        (["tokenize", "-c", f"{t}/foreign.safetensors", f"{t}/in.png", f"{t}/b.mv2"],
         "not a magvit2 checkpoint"),
        (["tokenize", "-c", checkpoint, f"{t}/text.png", f"{t}/b.mv2"],
         "text.png is not a readable image"),
        (["tokenize", "-c", checkpoint, f"{t}/in.png", f"{t}/b.mv2", "--frames", "-1"],
         "--frames -1"),
        (["tokenize", "-c", checkpoint, f"{t}/thin.png", f"{t}/b.mv2"],
         "--size 16 (or"),
        (["tokenize", "-c", checkpoint, f"{t}/float.npy", f"{t}/b.mv2"], "float32"),
    ]  # fmt: skip
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in error_of(capsys)
    assert not (tmp_path / "rec.txt").exists() and not (tmp_path / "a.png").exists()
