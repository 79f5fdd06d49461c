"""Checkpoints as safetensors files: the model's weights, and, to resume training,
the optimiser's state, the shuffling RNG and the schedule.

Tensor names: ``model.<parameter>``, ``optimizer.<index>.<key>``, ``rng.shuffle``.
The metadata (strings) holds ``model`` (how to rebuild it: kind and arguments, so
:func:`load_model` needs no config), ``param_groups`` and ``trainer`` (epoch, step,
schedule), each as JSON. Files are written atomically.

Each file has a sidecar ``<file>.sha256`` with the SHA-256 of its bytes, which
:func:`read` checks, so a file damaged after it was written (bytes changed in the
middle, where safetensors itself does not look) is refused rather than loaded. The
sidecar is written *before* the file and lists the new and the previous digest, so
a kill between the two writes leaves a pair that still verifies.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as save_bytes
from torch import nn

from mlayer.layer import MLayer
from mlayer.mlp import MLP
from mlayer.runfolder import write_atomic

FORMAT = "mlayer-checkpoint-1"


class CheckpointError(ValueError):
    """A file that is not a checkpoint this program can load."""


def model_spec(model: nn.Module) -> dict:
    """Kind and constructor arguments that rebuild ``model``."""
    if isinstance(model, MLayer):
        args = {
            "in_features": model.in_features,
            "d": model.d,
            "n": model.n,
            "out_features": model.out_features,
            "projection": model.projection,
            "matrix_bias": model.matrix_bias,
            "expm": model.expm,
            "squarings": model.squarings,
        }
        return {"kind": "mlayer", "args": args}
    if isinstance(model, MLP):
        args = {
            "in_features": model.in_features,
            "hidden": model.hidden,
            "out_features": model.out_features,
            "activation": model.activation,
        }
        return {"kind": "mlp", "args": args}
    raise TypeError(f"cannot checkpoint a {type(model).__name__}; expected MLayer/MLP")


def build(spec: dict, dtype=None) -> nn.Module:
    kinds = {"mlayer": MLayer, "mlp": MLP}
    return kinds[spec["kind"]](**spec["args"], dtype=dtype)


def save(
    path: str | Path,
    model: nn.Module,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    generator: torch.Generator | None = None,
    trainer: dict | None = None,
) -> None:
    tensors = {
        f"model.{k}": v.detach().cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    metadata = {"format": FORMAT, "model": json.dumps(model_spec(model))}
    if optimizer is not None:
        state = optimizer.state_dict()
        for index, entries in state["state"].items():
            for key, value in entries.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"optimizer.{index}.{key}"] = value.detach().cpu()
        metadata["param_groups"] = json.dumps(state["param_groups"])
    if generator is not None:
        tensors["rng.shuffle"] = generator.get_state()
    if trainer is not None:
        metadata["trainer"] = json.dumps(trainer)
    data = save_bytes(tensors, metadata=metadata)
    path = Path(path)
    previous = _digest(path) if path.is_file() else None
    digests = [hashlib.sha256(data).hexdigest()] + ([previous] if previous else [])
    write_atomic(checksum_path(path), ("\n".join(digests) + "\n").encode())
    write_atomic(path, data)
    write_atomic(checksum_path(path), (digests[0] + "\n").encode())


def checksum_path(path: str | Path) -> Path:
    """The sidecar holding the SHA-256 of checkpoint ``path``."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def _digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verify(path: str | Path) -> None:
    """Refuse a checkpoint whose bytes do not match its sidecar's SHA-256. A file
    without a sidecar (copied alone, or written before sidecars) passes."""
    path = Path(path)
    sidecar = checksum_path(path)
    if not sidecar.is_file():
        return
    expected = sidecar.read_text().split()
    if _digest(path) not in expected:
        raise CheckpointError(
            f"{path} does not match its SHA-256 in {sidecar.name}: the file was "
            "damaged after it was written; restore it from a copy, or start the run "
            "again with --force"
        )


@dataclass
class Checkpoint:
    tensors: dict[str, torch.Tensor]
    metadata: dict[str, str]

    @property
    def spec(self) -> dict:
        return json.loads(self.metadata["model"])

    @property
    def trainer(self) -> dict:
        return json.loads(self.metadata.get("trainer", "{}"))

    def model_state(self) -> dict[str, torch.Tensor]:
        return {k[6:]: v for k, v in self.tensors.items() if k.startswith("model.")}

    def restore(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        """Load the weights (and optimiser and RNG state, if given) in place."""
        load_weights(model, self)
        if optimizer is not None:
            state: dict = {}
            for name, value in self.tensors.items():
                if name.startswith("optimizer."):
                    _, index, key = name.split(".", 2)
                    state.setdefault(int(index), {})[key] = value
            groups = json.loads(self.metadata["param_groups"])
            optimizer.load_state_dict({"state": state, "param_groups": groups})
        if generator is not None:
            generator.set_state(self.tensors["rng.shuffle"])


def read(path: str | Path) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    verify(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(
            f"{path} is not a readable safetensors file ({e}); it is truncated or "
            "not a checkpoint"
        ) from None
    if metadata.get("format") != FORMAT or "model" not in metadata:
        raise CheckpointError(
            f"{path} is a safetensors file but not an mlayer checkpoint (format "
            f"{metadata.get('format')!r}, expected {FORMAT!r})"
        )
    return Checkpoint(tensors, metadata)


def load_weights(model: nn.Module, checkpoint: Checkpoint | str | Path) -> None:
    """Load a checkpoint's weights into ``model``, which must match its shape."""
    if not isinstance(checkpoint, Checkpoint):
        checkpoint = read(checkpoint)
    state = checkpoint.model_state()
    own = model.state_dict()
    mismatched = [
        f"{k} {tuple(v.shape)} vs {tuple(own[k].shape)}"
        for k, v in state.items()
        if k in own and v.shape != own[k].shape
    ]
    if set(state) != set(own) or mismatched:
        raise CheckpointError(
            f"the checkpoint's weights do not fit this {type(model).__name__}: "
            f"missing {sorted(set(own) - set(state))}, unexpected "
            f"{sorted(set(state) - set(own))}, shapes {mismatched}; rebuild the model "
            "with load_model(path)"
        )
    model.load_state_dict(state)


def load_model(path: str | Path, dtype=None) -> nn.Module:
    """The model saved in a checkpoint, rebuilt from its metadata."""
    checkpoint = read(path)
    model = build(checkpoint.spec, dtype=dtype)
    load_weights(model, checkpoint)
    return model
