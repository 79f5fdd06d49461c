"""Pictures of a soup and plots of a run (spec §8).

A soup picture colours every byte with its language's palette. The 1-D layout is the
reference's ``--draw_to``: one program per 64-pixel row, rows filling columns that
are separated by 4 black pixels. The 2-D layout is its ``--draw_to_2d``: each program
an 8x8 tile on the grid, with the tile's first row and column darkened.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from complife.checkpoint import write_atomic

#: Black pixels between columns of the 1-D layout.
COLUMN_PADDING = 4


def rows_layout(num_programs: int, program_size: int = 64) -> tuple[int, int]:
    """(programs per column, columns) of the reference's 1-D picture: about as many
    columns as sqrt(N / 68). Soups under 68 programs (where the reference divides
    by zero) are one column."""
    columns = math.ceil(math.sqrt(num_programs // (program_size + COLUMN_PADDING)))
    per_column = int(num_programs / max(columns, 1))
    return per_column, -(-num_programs // per_column)


def soup_rows(
    programs: np.ndarray, palette: np.ndarray, columns: int | None = None
) -> np.ndarray:
    """The soup in the 1-D layout, as an (H, W, 3) uint8 image: the reference's
    columns, or ``columns`` equal ones."""
    n, size = programs.shape
    if columns is None:
        per_column, columns = rows_layout(n, size)
    else:
        per_column = -(-n // columns)
    width = columns * (size + COLUMN_PADDING) - COLUMN_PADDING
    image = np.zeros((per_column, width, 3), dtype=np.uint8)
    colours = palette[programs]
    for c in range(columns):
        block = colours[c * per_column : (c + 1) * per_column]
        x = c * (size + COLUMN_PADDING)
        image[: block.shape[0], x : x + size] = block
    return image


def soup_tiles(programs: np.ndarray, palette: np.ndarray, width: int) -> np.ndarray:
    """The soup on a ``width``-wide grid of 8x8 tiles, as an (H, W, 3) uint8 image."""
    n, size = programs.shape
    if size != 64:
        raise ValueError(f"tiles need 64-byte programs, not {size}-byte ones")
    if width < 1 or n % width:
        raise ValueError(
            f"grid width {width} does not divide the {n} programs; give a width that "
            "does, such as the grid's own (240 for the paper's 240x135 grid)"
        )
    height = n // width
    tiles = palette[programs].reshape(height, width, 8, 8, 3).astype(np.int16)
    tiles[:, :, 0, :, :] -= 32
    tiles[:, :, 1:, 0, :] -= 32
    tiles = np.clip(tiles, 0, 255).astype(np.uint8)
    return tiles.transpose(0, 2, 1, 3, 4).reshape(height * 8, width * 8, 3)


def save_png(image: np.ndarray, path: str | Path, scale: int = 1) -> Path:
    """Write an (H, W, 3) uint8 image as a PNG, atomically, enlarged ``scale`` times."""
    from PIL import Image

    if scale > 1:
        image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(image, mode="RGB").save(buffer, format="PNG", optimize=False)
    path = Path(path)
    write_atomic(path, buffer.getvalue())
    return path


def save_ppm(image: np.ndarray, path: str | Path) -> Path:
    """Write an image as the reference's binary PPM (P6)."""
    h, w, _ = image.shape
    path = Path(path)
    write_atomic(path, f"P6\n{w} {h}\n255\n".encode() + image.tobytes())
    return path


def plot_run(rows: Sequence[dict], path: str | Path, title: str = "") -> Path:
    """Plot a run's entropy figures and ops per interaction against epochs.

    ``rows`` are the run's metrics (dicts with the columns of ``metrics.csv``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 6), sharex=True, height_ratios=(2, 1), layout="constrained"
    )
    top.plot(epochs, [r["higher_entropy"] for r in rows], label="high-order entropy")
    top.plot(epochs, [r["h0"] for r in rows], label="order-0 entropy H0")
    top.plot(epochs, [r["brotli_bpb"] for r in rows], label="brotli bits per byte")
    top.axhline(1.0, color="grey", lw=0.8, ls="--", label="transition threshold (1)")
    top.set_ylabel("bits per byte")
    top.legend(loc="center left", fontsize="small")
    top.grid(alpha=0.3)
    if title:
        top.set_title(title)
    ops = [r["ops_per_interaction"] for r in rows]
    bottom.plot(epochs, ops, color="tab:purple")
    if min(ops) > 0:
        bottom.set_yscale("log")
    bottom.set_ylabel("ops per interaction")
    bottom.set_xlabel("epoch")
    bottom.grid(alpha=0.3)

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    path = Path(path)
    write_atomic(path, buffer.getvalue())
    return path
