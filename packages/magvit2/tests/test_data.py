import numpy as np
import pytest
from PIL import Image

from magvit2.data import VTEST_PATH, FolderDataset, make_batch, vtest_clips
from magvit2.data.folder import read_image, to_square
from magvit2.data.moving_digits import digit_images, moving_digits_clip
from magvit2.data.photos import photo, photo_pan_clip


def test_digit_split_is_disjoint_real_digits():
    train, heldout = digit_images("train"), digit_images("heldout")
    assert train.shape == (1500, 8, 8) and heldout.shape == (297, 8, 8)
    assert 0.0 <= train.min() and train.max() == 1.0
    train_rows = {row.tobytes() for row in train}
    assert sum(row.tobytes() in train_rows for row in heldout) < 5  # duplicates only


def test_moving_digits_clip_is_seeded_and_moves():
    a = moving_digits_clip(np.random.default_rng(3), frames=9, size=32)
    b = moving_digits_clip(np.random.default_rng(3), frames=9, size=32)
    assert a.shape == (3, 9, 32, 32) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert a.min() == -1.0 and a.max() <= 1.0 and a.max() > 0.5
    assert not np.array_equal(a[:, 0], a[:, -1])
    # a digit keeps its ink: frame sums stay within the overlap of two sprites
    ink = (a[0] + 1).sum(axis=(1, 2))
    assert ink.min() > 0


def test_photo_pan_clip_crops_the_photo():
    rng = np.random.default_rng(0)
    clip = photo_pan_clip(rng, frames=5, size=16, split="heldout")
    picture = photo("coffee")
    assert clip.shape == (3, 5, 16, 16)
    first = clip[:, 0].transpose(1, 2, 0)
    # the first frame is a crop of the held-out photo somewhere
    windows = np.lib.stride_tricks.sliding_window_view(picture, (16, 16, 3))
    diffs = np.abs(windows[..., 0, :, :, :] - first).max(axis=(-1, -2, -3))
    assert diffs.min() == 0.0


def test_make_batch_sources():
    rng = np.random.default_rng(0)
    batch = make_batch("mixed", rng, 2, 5, 16)
    assert batch.shape == (2, 3, 5, 16, 16)
    with pytest.raises(ValueError, match="expected one of"):
        make_batch("mnist", rng, 2, 5, 16)


def _write(path, array):
    Image.fromarray(array).save(path)


def test_folder_of_images_and_frame_folders(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    _write(tmp_path / "a.png", image)
    clip_dir = tmp_path / "clip"
    clip_dir.mkdir()
    frames = rng.integers(0, 256, size=(10, 12, 12, 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        _write(clip_dir / f"{i:03d}.png", frame)

    images = FolderDataset(tmp_path, frames=1, size=8)
    assert len(images) == 11  # the image, and each frame of the folder
    np.testing.assert_allclose(images[0][:, 0].transpose(1, 2, 0), to_square(image, 8))

    clips = FolderDataset(tmp_path, frames=5, size=12)
    assert len(clips) == 2
    second = clips[1]
    assert second.shape == (3, 5, 12, 12)
    np.testing.assert_allclose(
        second[:, 0].transpose(1, 2, 0), frames[5] / 127.5 - 1, atol=1e-6
    )


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        FolderDataset(tmp_path / "nope", 1, 8)
    with pytest.raises(ValueError, match="no samples"):
        FolderDataset(tmp_path, 5, 8)


def test_vtest_clips():
    if not VTEST_PATH.exists():
        pytest.skip(f"{VTEST_PATH} absent (Debian opencv-doc not installed)")
    try:
        clips = vtest_clips(frames=5, size=32, count=2)
    except ImportError as error:
        pytest.skip(f"no video reader: {error}")
    assert clips.shape == (2, 3, 5, 32, 32)
    assert not np.array_equal(clips[0, :, 0], clips[0, :, 4])


def test_read_image_modes(tmp_path):
    rng = np.random.default_rng(7)
    deep = rng.integers(0, 65536, size=(5, 6), dtype=np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode in ("I;16", "I")
    expected = np.repeat((deep >> 8).astype(np.uint8)[..., None], 3, axis=-1)
    assert np.array_equal(read_image(tmp_path / "deep.png"), expected)
    rgba = rng.integers(0, 256, size=(5, 6, 4), dtype=np.uint8)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    assert np.array_equal(read_image(tmp_path / "rgba.png"), rgba[..., :3])
    grey = rng.integers(0, 256, size=(5, 6), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "grey.png")
    assert np.array_equal(read_image(tmp_path / "grey.png"), np.dstack([grey] * 3))


def test_read_image_refuses_non_images(tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ValueError, match=r"text\.png is not a readable image"):
        read_image(tmp_path / "text.png")
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.png is not a readable image"):
        read_image(tmp_path / "cut.png")
