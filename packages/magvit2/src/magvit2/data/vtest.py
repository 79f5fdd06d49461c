"""Real street-scene clips from OpenCV's sample video vtest.avi (Debian opencv-doc).

Optional: used only when /usr/share/doc/opencv-doc/examples/data/vtest.avi exists
and OpenCV or imageio can read it; nothing here is required to install or test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from magvit2.data.folder import read_video, to_square

VTEST_PATH = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def vtest_clips(frames: int = 9, size: int = 32, count: int = 8) -> np.ndarray:
    """(count, 3, frames, size, size): consecutive, disjoint clips of vtest.avi."""
    if not VTEST_PATH.exists():
        raise FileNotFoundError(
            f"{VTEST_PATH} is missing; install Debian's opencv-doc to use vtest clips"
        )
    video = read_video(VTEST_PATH, frames * count)
    clips = [
        np.stack([to_square(f, size) for f in video[i * frames : (i + 1) * frames]])
        for i in range(count)
    ]
    return np.stack(clips).transpose(0, 4, 1, 2, 3)
