"""Atomic files: checkpoints for resuming, safetensors weights for using a model.

Every file is written to a temporary name in the same folder and renamed over the
target, so a run killed mid-write leaves the previous file intact. Checkpoints
carry a SHA-256 of their bytes in a header and weights carry one of their tensors
in their metadata, so damaged or truncated files are refused instead of resuming
to different weights.
"""

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


CHECKPOINT_MAGIC = b"HFDCKPT1"


class DamagedFileError(ValueError):
    """A checkpoint or weights file whose bytes are not the ones written."""


def atomic_torch_save(obj, path: Path) -> None:
    """``obj`` as ``magic | sha256(payload) | payload`` (payload: ``torch.save``),
    in one atomic rename, so the checksum can never be out of step with the data."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    payload = buffer.getvalue()
    digest = hashlib.sha256(payload).digest()
    atomic_write_bytes(Path(path), CHECKPOINT_MAGIC + digest + payload)


def load_checkpoint(path: Path):
    """What :func:`atomic_torch_save` wrote, after checking its SHA-256."""
    path = Path(path)
    data = path.read_bytes()
    head = len(CHECKPOINT_MAGIC)
    restart = "delete it (or pass --force) to restart the stage from scratch"
    if not data.startswith(CHECKPOINT_MAGIC):
        raise DamagedFileError(
            f"checkpoint {path} has no hfd checksum header (damaged, or written by "
            f"an older hfd); {restart}"
        )
    digest, payload = data[head : head + 32], data[head + 32 :]
    if len(digest) < 32 or hashlib.sha256(payload).digest() != digest:
        raise DamagedFileError(
            f"checkpoint {path} is damaged or truncated (SHA-256 mismatch); {restart}"
        )
    return torch.load(io.BytesIO(payload), weights_only=False)


def _tensor_digest(state: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode() + b"\0")
        h.update(state[name].contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_weights(module: torch.nn.Module, config: dict, path: Path) -> None:
    """``module``'s state as safetensors, with its config as JSON metadata."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        state = {k: v.contiguous() for k, v in module.state_dict().items()}
        metadata = {"config": json.dumps(config), "sha256": _tensor_digest(state)}
        save_file(state, tmp, metadata=metadata)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_weights(path: Path) -> tuple[dict, dict]:
    """State dict and config written by :func:`save_weights`."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"model weights {path} not found; train a model with "
            "`hfd train CONFIG --out RUN`"
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        config = json.loads(metadata.get("config", "{}"))
        state = load_file(str(path))
    except Exception as error:  # SafetensorError, JSON errors: one line for users
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DamagedFileError(
            f"model weights {path} cannot be read ({reason}); the file is damaged "
            "or truncated: copy it again or retrain the run"
        ) from error
    # Weights written before checksums existed have no "sha256" entry.
    if "sha256" in metadata and _tensor_digest(state) != metadata["sha256"]:
        raise DamagedFileError(
            f"model weights {path} are damaged (SHA-256 mismatch); copy the file "
            "again or retrain the run"
        )
    return state, config
