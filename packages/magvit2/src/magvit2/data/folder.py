"""Loaders for a local folder of images or videos, in the usual layouts.

* ``root/*.png|jpg|jpeg|bmp|webp``: each image is a one-frame sample (T = 1);
* ``root/<clip>/*.png ...``: each sub-folder is a clip, frames in sorted file order
  (the layout of frame-extracted datasets such as UCF-101 or Kinetics dumps);
* ``root/*.avi|mp4|mov|mkv``: video files, read with OpenCV (cv2) or imageio if one
  of them is installed (neither is a dependency; a clear error says so otherwise).

Frames are centre-cropped to a square and resized to ``size``; clips are cut into
windows of ``frames`` consecutive frames (1 + 4k for the paper's tokenizer).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
VIDEO_SUFFIXES = {".avi", ".mp4", ".mov", ".mkv", ".webm"}


def to_square(frame: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) float32 in [-1, 1], centre crop + resize."""
    height, width = frame.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = Image.fromarray(frame[top : top + side, left : left + side])
    crop = crop.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(crop, dtype=np.float32) / 127.5 - 1


def read_image(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file.

    Greyscale (L, 1) is repeated into three channels; palette images are expanded;
    an alpha channel (RGBA, LA, transparent palettes) is dropped, not composited;
    16-bit greyscale (I;16, I) keeps its 8 most significant bits (value >> 8),
    where PIL's own convert("RGB") would clip nearly every pixel to white."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode.startswith("I"):
                values = np.asarray(image).astype(np.int64)
                if values.size and (values.min() < 0 or values.max() > 65535):
                    raise ValueError(
                        f"{path} has {image.mode} pixels in [{values.min()}, "
                        f"{values.max()}]; expected 16-bit values 0..65535"
                    )
                grey = (values >> 8).astype(np.uint8)
                return np.repeat(grey[..., None], 3, axis=-1)
            if image.mode == "F":
                raise ValueError(
                    f"{path} has floating-point pixels (mode F); expected an 8- or "
                    "16-bit image"
                )
            return np.asarray(image.convert("RGB"))
    except (OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValueError(
            f"{path} is not a readable image ({error}); expected a PNG, JPEG, BMP or "
            "WebP file"
        ) from error


def read_video(path: Path, max_frames: int | None = None) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB frames of a video file, via cv2 or imageio."""
    try:
        import cv2
    except ImportError:
        cv2 = None
    if cv2 is not None:
        capture = cv2.VideoCapture(str(path))
        frames = []
        while max_frames is None or len(frames) < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        capture.release()
        if not frames:
            raise ValueError(f"could not read any frame from {path}")
        return np.stack(frames)
    try:
        import imageio.v3 as iio
    except ImportError as error:
        raise ImportError(
            f"reading {path} needs OpenCV or imageio; pip install "
            "opencv-python-headless (or imageio[ffmpeg]), or extract frames into a "
            "folder of images"
        ) from error
    frames = iio.imread(path)
    return frames[:max_frames] if max_frames else frames


def windows(clip: np.ndarray, frames: int) -> list[np.ndarray]:
    """Non-overlapping windows of `frames` frames of a (T, ...) clip."""
    return [clip[s : s + frames] for s in range(0, len(clip) - frames + 1, frames)]


class FolderDataset:
    """Samples (3, T, size, size) in [-1, 1] from a local folder (see module doc)."""

    def __init__(self, root: str | Path, frames: int, size: int):
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f"data folder {self.root} does not exist; pass a folder")
        self.frames, self.size = frames, size
        self.samples: list[tuple[str, Path, int]] = []
        for entry in sorted(self.root.iterdir()):
            suffix = entry.suffix.lower()
            if entry.is_file() and suffix in IMAGE_SUFFIXES and frames == 1:
                self.samples.append(("image", entry, 0))
            elif entry.is_dir():
                count = len(self._frame_files(entry))
                for start in range(0, count - frames + 1, frames):
                    self.samples.append(("frames", entry, start))
            elif entry.is_file() and suffix in VIDEO_SUFFIXES:
                self.samples.append(("video", entry, 0))
        if not self.samples:
            raise ValueError(
                f"no samples of {frames} frames in {self.root}; expected images "
                "(for frames=1), sub-folders of frames or video files"
            )

    @staticmethod
    def _frame_files(folder: Path) -> list[Path]:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> np.ndarray:
        kind, path, start = self.samples[index]
        if kind == "image":
            raw = [read_image(path)]
        elif kind == "frames":
            files = self._frame_files(path)[start : start + self.frames]
            raw = [read_image(p) for p in files]
        else:
            raw = list(read_video(path, self.frames))
            if len(raw) < self.frames:
                raise ValueError(
                    f"{path} has {len(raw)} frames; expected at least {self.frames}"
                )
        clip = np.stack([to_square(frame, self.size) for frame in raw])
        return clip.transpose(3, 0, 1, 2)
