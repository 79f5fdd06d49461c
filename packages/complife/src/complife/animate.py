"""The soup over a run, as an animated GIF: one frame per checkpoint (paper Figs. 1-3
show such snapshots around the transition).

Each frame is the first programs of the soup in the reference's 1-D layout and
palette (spec §8), under a strip that names the epoch. The BFF palette has fewer
than 256 colours, so its frames are exact; other palettes are reduced to 256.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import numpy as np

from complife.draw import soup_rows

#: Programs in a frame, and the columns they are drawn in.
FRAME_PROGRAMS = 1024
FRAME_COLUMNS = 4
#: At most this many frames: longer runs show evenly spaced checkpoints.
MAX_FRAMES = 48
LABEL_HEIGHT = 14


def pick_frames(epochs: Sequence[int], most: int = MAX_FRAMES) -> list[int]:
    """Indices of at most ``most`` evenly spaced epochs, the first and last kept."""
    if len(epochs) <= most:
        return list(range(len(epochs)))
    picked = np.linspace(0, len(epochs) - 1, most).round().astype(int)
    return sorted(set(picked.tolist()))


def frame(programs: np.ndarray, palette: np.ndarray, label: str) -> np.ndarray:
    """One frame: the soup's first FRAME_PROGRAMS programs under a label strip."""
    from PIL import Image, ImageDraw

    shown = programs[:FRAME_PROGRAMS]
    columns = max(1, min(FRAME_COLUMNS, shown.shape[0] // 64))
    image = soup_rows(shown, palette, columns)
    strip = Image.new("RGB", (image.shape[1], LABEL_HEIGHT), (0, 0, 0))
    ImageDraw.Draw(strip).text((2, 1), label, fill=(255, 255, 255))
    return np.concatenate([np.asarray(strip), image], axis=0)


def soup_gif(
    snapshots: Iterable[tuple[int, np.ndarray]],
    palette: np.ndarray,
    frame_ms: int = 400,
) -> bytes:
    """An animated GIF of ``(epoch, programs)`` snapshots, in the order given; the
    last frame is held three times as long."""
    from PIL import Image

    frames = [
        Image.fromarray(frame(programs, palette, f"epoch {epoch}"), mode="RGB")
        for epoch, programs in snapshots
    ]
    if not frames:
        raise ValueError("an animation needs at least one snapshot of the soup")
    indexed = [f.quantize(colors=256, method=Image.Quantize.MEDIANCUT) for f in frames]
    durations = [frame_ms] * (len(indexed) - 1) + [3 * frame_ms]
    buffer = io.BytesIO()
    indexed[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=indexed[1:],
        duration=durations,
        loop=0,
        optimize=True,
    )
    return buffer.getvalue()
