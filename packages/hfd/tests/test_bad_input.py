"""New users' mistakes: each gives one line on stderr and exit status 2, and
leaves no half-made run folder; odd but valid images are read as documented."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from test_training import TINY

from hfd.cli import main
from hfd.evaluation.report import load_image
from hfd.training.checkpoint import DamagedFileError, load_checkpoint
from hfd.training.config import load_config
from hfd.training.trainer import prepare_run, train_stage1


def one_line_error(capsys, *fragments: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("hfd: error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    (root / "tiny.toml").write_text(TINY)
    assert main(["train", str(root / "tiny.toml"), "-o", str(root / "run")]) == 0
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (40, 72, 3), dtype=np.uint8)
    Image.fromarray(image).save(root / "small.png")
    return root


# 1. images of other modes


def test_16_bit_grey_keeps_its_top_8_bits(tmp_path, rng):
    grey = rng.integers(0, 65536, (9, 13), dtype=np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(grey).save(path)
    assert Image.open(path).mode.startswith("I")
    x = load_image(path)
    expected = torch.from_numpy((grey >> 8).astype(np.float32) / 255)
    for channel in range(3):
        torch.testing.assert_close(x[0, channel], expected, rtol=0, atol=0)


def test_alpha_is_dropped_and_grey_is_copied(tmp_path, rng):
    rgba = rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    x = load_image(tmp_path / "a.png")
    expected = torch.from_numpy(rgba[..., :3].astype(np.float32) / 255)
    torch.testing.assert_close(x[0].permute(1, 2, 0), expected, rtol=0, atol=0)
    grey = rgba[..., 0]
    Image.fromarray(grey, "L").save(tmp_path / "l.png")
    x = load_image(tmp_path / "l.png")
    torch.testing.assert_close(
        x[0, 2], torch.from_numpy(grey.astype(np.float32) / 255), rtol=0, atol=0
    )


def test_non_images_and_truncated_pngs(run, tmp_path, capsys):
    (tmp_path / "notimg.png").write_text("hello")
    data = (run / "small.png").read_bytes()
    (tmp_path / "trunc.png").write_bytes(data[: len(data) // 2])
    for name in ("notimg.png", "trunc.png"):
        args = ["compress", str(tmp_path / name), "-o", str(tmp_path / "x.hfd")]
        assert main([*args, "-m", str(run / "run")]) == 2
        one_line_error(capsys, name, "cannot be read")
        assert not (tmp_path / "x.hfd").exists()


# 2. damaged checkpoints and weights


def test_damaged_or_truncated_checkpoint_is_refused(tmp_path, capsys):
    config_path = tmp_path / "tiny.toml"
    config_path.write_text(TINY)
    run = tmp_path / "run"
    prepare_run(run, config_path, resume=False, force=False)
    assert train_stage1(load_config(config_path), run, stop_after=2) is None
    checkpoint = run / "stage1" / "checkpoint.pt"
    good = checkpoint.read_bytes()
    assert load_checkpoint(checkpoint)["step"] == 2
    damaged = bytearray(good)
    damaged[len(good) // 2] ^= 0xFF
    for data in (bytes(damaged), good[: len(good) // 2]):
        checkpoint.write_bytes(data)
        with pytest.raises(DamagedFileError, match="SHA-256 mismatch"):
            load_checkpoint(checkpoint)
        args = ["train", str(config_path), "-o", str(run), "--resume"]
        assert main(args) == 2
        one_line_error(capsys, str(checkpoint), "damaged or truncated", "--force")


def test_damaged_or_truncated_weights_are_refused(run, tmp_path, capsys):
    weights = run / "run" / "stage1" / "model.safetensors"
    good = weights.read_bytes()
    bad = tmp_path / "model.safetensors"
    damaged = bytearray(good)
    damaged[-100] ^= 0xFF  # inside the last tensor
    for data, why in ((bytes(damaged), "SHA-256"), (good[:-50], "cannot be read")):
        bad.write_bytes(data)
        args = ["compress", str(run / "small.png"), "-o", str(tmp_path / "s.hfd")]
        assert main([*args, "-m", str(bad)]) == 2
        one_line_error(capsys, str(bad), why)


# 3. bad settings never leave a run folder behind


@pytest.mark.parametrize(
    "change, fragment",
    [
        (("lmbda = 0.01", "lmbda = nan"), "lmbda must be a positive finite"),
        (('"coffee"', '"cofee"'), "unknown scikit-image photo 'cofee'"),
        (("steps = 6", 'steps = "6"'), "steps must be an integer"),
    ],
)
def test_bad_settings_create_no_folder(tmp_path, capsys, change, fragment):
    config = tmp_path / "c.toml"
    config.write_text(TINY.replace(*change))
    assert main(["train", str(config), "-o", str(tmp_path / "r")]) == 2
    one_line_error(capsys, str(config), fragment)
    assert not (tmp_path / "r").exists()


def test_stage_2_needs_stage_1_and_creates_no_folder(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(TINY)
    assert main(["train", str(config), "-o", str(tmp_path / "r"), "--stage", "2"]) == 2
    one_line_error(capsys, "train stage 1 first")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"  \n", "is empty; see configs/rate-low.toml"),
        (b"[stage1\nN = 1\n", "is not valid TOML"),
        (b"\xff\xfe\x00binary", "is not UTF-8"),
    ],
)
def test_unreadable_configs_name_the_file(tmp_path, capsys, content, fragment):
    config = tmp_path / "c.toml"
    config.write_bytes(content)
    assert main(["train", str(config), "-o", str(tmp_path / "r")]) == 2
    one_line_error(capsys, str(config), fragment)
    assert not (tmp_path / "r").exists()


# 4. options


@pytest.mark.parametrize("threads", ["0", "-1"])
def test_threads_below_one(capsys, threads):
    assert main(["--threads", threads, "train", "x.toml", "-o", "r"]) == 2
    one_line_error(capsys, f"--threads {threads}")


def test_existing_run_folder_and_force_with_resume(run, capsys):
    args = ["train", str(run / "tiny.toml"), "-o", str(run / "run")]
    assert main(args) == 2
    one_line_error(capsys, "already exists", "--resume")
    assert main([*args, "--force", "--resume"]) == 2
    one_line_error(capsys, "--resume and --force")
    assert (run / "run" / "stage1" / "model.safetensors").is_file()


@pytest.mark.parametrize("size", ["0", "2"])
def test_eval_fd_patch_too_small(run, tmp_path, capsys, size):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "s.png").write_bytes((run / "small.png").read_bytes())
    args = ["eval", str(photos), "-m", str(run / "run"), "-o", str(tmp_path / "e")]
    assert main([*args, "--fd-patch", size]) == 2
    one_line_error(capsys, f"--fd-patch {size}", "at least 16")


# 5. outputs


def test_eval_writes_strict_json_with_null_ms_ssim(run, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        (photos / f"s{i}.png").write_bytes((run / "small.png").read_bytes())
    out = tmp_path / "e"
    args = ["eval", str(photos), "-m", str(run / "run"), "-o", str(out)]
    assert main([*args, "--fd-patch", "16", "--steps", "1", "--patch", "16"]) == 0

    def refuse(name):
        raise AssertionError(f"{name} in results.json")

    result = json.loads((out / "results.json").read_text(), parse_constant=refuse)
    for row in result["rows"]:
        assert row["ms_ssim"] is None and row["psnr"] > 0
    assert "MS-SSIM needs both image sides of at least 161 px" in result["notes"]
    assert "null in results.json" in capsys.readouterr().out


def test_decompress_writes_the_format_of_the_extension(run, tmp_path, capsys):
    model = ["-m", str(run / "run")]
    hfd_file = tmp_path / "s.hfd"
    assert main(["compress", str(run / "small.png"), "-o", str(hfd_file), *model]) == 0
    for name, fmt in (("x.jpg", "JPEG"), ("x.png", "PNG")):
        args = ["decompress", str(hfd_file), "-o", str(tmp_path / name), *model]
        assert main(args) == 0
        with Image.open(tmp_path / name) as image:
            assert image.format == fmt and image.size == (72, 40)
    args = ["decompress", str(hfd_file), "-o", str(tmp_path / "x.xyz"), *model]
    assert main(args) == 2
    one_line_error(capsys, "x.xyz", ".png")
    assert not (tmp_path / "x.xyz").exists()


def test_missing_output_folders_are_not_created(run, tmp_path, capsys):
    model = str(run / "run")
    missing = tmp_path / "nope"
    args = ["compress", str(run / "small.png"), "-o", str(missing / "s.hfd")]
    assert main([*args, "-m", model]) == 2
    one_line_error(capsys, f"folder {missing} does not exist; create it first")
    hfd_file = tmp_path / "s.hfd"
    assert (
        main(["compress", str(run / "small.png"), "-o", str(hfd_file), "-m", model])
        == 0
    )
    args = ["decompress", str(hfd_file), "-o", str(missing / "x.png"), "-m", model]
    assert main(args) == 2
    one_line_error(capsys, f"folder {missing} does not exist")
    assert not missing.exists()
