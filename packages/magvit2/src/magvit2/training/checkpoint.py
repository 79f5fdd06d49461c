"""Checkpoints in safetensors, written atomically (temporary file + rename).

Model, EMA, discriminator and optimizer tensors go into one .safetensors file; the
step, the resolved config and the optimizers' non-tensor state go into its string
metadata as JSON, so a checkpoint alone rebuilds the model (`load_tokenizer`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from magvit2.tokenizer import TokenizerConfig, VideoTokenizer


def flatten_optimizer(prefix: str, state_dict: dict) -> tuple[dict, dict]:
    """Optimizer state -> (tensors keyed prefix.state.i.name, JSON-able rest)."""
    tensors, scalars = {}, {}
    for index, state in state_dict["state"].items():
        for name, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.state.{index}.{name}"] = value.contiguous()
            else:
                scalars[f"{index}.{name}"] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def unflatten_optimizer(prefix: str, tensors: dict, rest: dict) -> dict:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + ".state."):
            index, name = key[len(prefix) + 7 :].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    for key, value in rest["scalars"].items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": rest["param_groups"]}


def save_checkpoint(path: str | Path, tensors: dict, metadata: dict) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    contiguous = {k: v.detach().contiguous() for k, v in tensors.items()}
    save_file(contiguous, str(tmp), metadata={"magvit2": json.dumps(metadata)})
    # safetensors creates the file 0600; give it the mode of any other file (0644
    # under the usual umask) so a shared run folder stays readable
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> tuple[dict, dict]:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist; pass a .safetensors file")
    tensors = {}
    try:
        with safe_open(str(path), framework="pt") as handle:
            text = (handle.metadata() or {}).get("magvit2")
            if text is None:
                raise ValueError(
                    f"{path} is not a magvit2 checkpoint (no 'magvit2' metadata); "
                    "pass a checkpoint written by `magvit2 train`"
                )
            metadata = json.loads(text)
            for key in handle.keys():
                tensors[key] = handle.get_tensor(key)
    except (SafetensorError, OSError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{path} is truncated/damaged or not a .safetensors checkpoint: {error}"
        ) from error
    return tensors, metadata


def load_tokenizer(path: str | Path, use_ema: bool = True) -> VideoTokenizer:
    """Rebuild the tokenizer from a checkpoint (EMA weights by default)."""
    tensors, metadata = load_checkpoint(path)
    if "model" not in metadata.get("config", {}):
        raise ValueError(
            f"{path} is not a tokenizer checkpoint (a MaskGIT one?); pass the "
            "checkpoint.safetensors of a `magvit2 train` run"
        )
    config = TokenizerConfig.from_dict(metadata["config"]["model"])
    model = VideoTokenizer(config)
    prefix = (
        "ema." if use_ema and any(k.startswith("ema.") for k in tensors) else "model."
    )
    state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    model.load_state_dict(state)
    return model.eval()
