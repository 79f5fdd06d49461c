"""Checkpoints in the reference's ``.dat`` format (spec §6).

Three little-endian uint64 (reset index, number of programs, next epoch to run) then
the soup's raw bytes, 64 per program; no magic number. Files are named by the 0-based
epoch after which they were saved, ``%010d.dat``. We write them atomically and read
them strictly, so that a truncated or foreign file is refused with a reason instead
of becoming a soup.
"""

from __future__ import annotations

import os
import re
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HEADER = struct.Struct("<QQQ")
PROGRAM_SIZE = 64
CHECKPOINT_NAME = re.compile(r"^(\d{10})\.dat$")
#: More programs than any soup holds (2**32 programs are 256 GiB): a header that
#: says more is not a checkpoint's.
MAX_PROGRAMS = 1 << 32


class CheckpointError(ValueError):
    """A file that is not a checkpoint this program can continue from."""


@dataclass
class Checkpoint:
    """A soup as saved: ``programs`` after ``next_epoch`` epochs, and the reset
    stream that the next ``--reset-interval`` reset draws from."""

    reset_index: int
    next_epoch: int
    programs: np.ndarray

    @property
    def num_programs(self) -> int:
        return self.programs.shape[0]


def checkpoint_name(epoch_index: int) -> str:
    """File name of the checkpoint saved after 0-based epoch ``epoch_index``."""
    return f"{epoch_index:010d}.dat"


def write_checkpoint(path: str | Path, checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` to ``path`` atomically (a temporary file, then rename)."""
    path = Path(path)
    programs = np.ascontiguousarray(checkpoint.programs, dtype=np.uint8)
    header = HEADER.pack(
        checkpoint.reset_index, programs.shape[0], checkpoint.next_epoch
    )
    write_atomic(path, header + programs.tobytes())
    return path


def _file_mode() -> int:
    """The mode ``open`` would give a new file (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a reader sees the old or the new file,
    never a part of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_checkpoint(path: str | Path, program_size: int = PROGRAM_SIZE) -> Checkpoint:
    """Read a checkpoint written by us or by the reference, checking that the header
    agrees with the file size."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist") from None
    except IsADirectoryError:
        raise CheckpointError(
            f"checkpoint {path} is a directory; give one of its .dat files"
        ) from None
    if len(data) < HEADER.size:
        raise CheckpointError(
            f"{path} is {len(data)} bytes, shorter than the 24-byte checkpoint header; "
            "it is truncated or not a checkpoint"
        )
    reset_index, n, next_epoch = HEADER.unpack_from(data)
    expected = HEADER.size + n * program_size
    not_ours = "this is not a complife or cubff checkpoint"
    if n < 2 or n % 2 or n > MAX_PROGRAMS:
        raise CheckpointError(
            f"{path} does not look like a checkpoint: its header says {n} programs, "
            f"but a soup holds an even number from 2 to {MAX_PROGRAMS}; {not_ours}"
        )
    if len(data) < expected:
        raise CheckpointError(
            f"{path} does not look like a checkpoint: its header says {n} programs, "
            f"which needs {expected} bytes, but the file has {len(data)}; it is "
            "truncated, or not a .dat file of complife or cubff"
        )
    if len(data) > expected:
        raise CheckpointError(
            f"{path} does not look like a checkpoint: its header says {n} programs, "
            f"which needs {expected} bytes, but the file has {len(data)}; it is too "
            "long, or not a .dat file of complife or cubff"
        )
    # A soup resets at most once per epoch, after starting at reset index 1 (or 0 in
    # files made by the reference's add_header.py).
    if next_epoch >= 1 << 48 or reset_index > next_epoch + 1:
        raise CheckpointError(
            f"{path} has an implausible header (reset index {reset_index}, next epoch "
            f"{next_epoch}); it is not a checkpoint of complife or cubff"
        )
    programs = np.frombuffer(data, dtype=np.uint8, offset=HEADER.size)
    return Checkpoint(reset_index, next_epoch, programs.reshape(n, program_size).copy())


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The checkpoint of the highest epoch in ``directory``, or None."""
    found = sorted(
        p
        for p in Path(directory).glob("*.dat")
        if CHECKPOINT_NAME.match(p.name) is not None
    )
    return found[-1] if found else None
