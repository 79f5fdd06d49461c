"""Training of both stages on photo crops, resumable from checkpoints.

Stage 1 minimises ``lmbda * 255^2 * MSE + bpp`` (rate-distortion Lagrangian,
Ballé et al. 2018, eq. 2, with the likelihoods of :mod:`hfd.autoencoder.model`).
Stage 2 keeps stage 1 frozen and trains the score decoder on pairs
(crop, stage-1 reconstruction of the crop), as HFD trains its decoder separately
(section 3). A run folder holds::

    config.toml                 copy of the rate point's config
    stage1/checkpoint.pt        model, optimiser, step and every RNG state,
                                behind a SHA-256 of those bytes (checked on resume)
    stage1/log.jsonl            one line of metrics per logged step
    stage1/model.safetensors    final weights with integer tables (after update())
    stage2/...                  the same for the decoder

A killed run continues from its last checkpoint with ``resume=True`` and ends with
the same weights as an uninterrupted one.
"""

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch

from hfd.autoencoder.model import Stage1Autoencoder, Stage1Config
from hfd.codec import reconstruct
from hfd.diffusion.decoder import DecoderConfig, ScoreDecoder
from hfd.training.checkpoint import (
    atomic_torch_save,
    load_checkpoint,
    load_weights,
    save_weights,
)
from hfd.training.config import RatePointConfig, TrainSettings, load_config
from hfd.training.data import PhotoCrops

Progress = Callable[[int, int, dict], None]
LOG_EVERY = 10


class RunFolderError(ValueError):
    """The run folder exists and neither resume nor force was asked for."""


def prepare_run(out: Path, config_path: Path, resume: bool, force: bool) -> None:
    """Create ``out`` with a copy of the config, or check it for resuming."""
    out, config_path = Path(out), Path(config_path)
    if resume and force:
        raise RunFolderError(
            "--resume and --force contradict each other (continue the run, or "
            "delete it and start again); pass one of them"
        )
    load_config(config_path)  # fail on a bad config before touching the folder
    saved = out / "config.toml"
    if out.exists() and any(out.iterdir()):
        if resume:
            if saved.read_bytes() != config_path.read_bytes():
                raise RunFolderError(
                    f"{config_path} differs from the config of run {out}; resume with "
                    "the same config or start a new run folder"
                )
            return
        if not force:
            raise RunFolderError(
                f"run folder {out} already exists; pass --resume to continue it or "
                "--force to overwrite it"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config_path, saved)


def _loop(
    stage_dir: Path,
    module: torch.nn.Module,
    settings: TrainSettings,
    step_fn: Callable[[], dict],
    rng_state: Callable[[], dict],
    set_rng_state: Callable[[dict], None],
    progress: Progress | None,
    stop_after: int | None,
) -> bool:
    """Optimise ``module`` with ``step_fn`` (returns metrics including ``loss``);
    returns True when all steps are done."""
    stage_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = stage_dir / "checkpoint.pt"
    optimizer = torch.optim.Adam(module.parameters(), lr=settings.lr)
    step = 0
    if checkpoint.exists():
        state = load_checkpoint(checkpoint)
        module.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"])
        step = state["step"]
    log: list[str] = []
    module.train()
    while step < settings.steps:
        optimizer.zero_grad(set_to_none=True)
        metrics = step_fn()
        metrics["loss"].backward()
        optimizer.step()
        step += 1
        metrics = {k: float(v.detach()) for k, v in metrics.items()}
        if step % LOG_EVERY == 0 or step == settings.steps:
            log.append(json.dumps({"step": step, **metrics}))
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            atomic_torch_save(
                {
                    "model": module.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "rng": rng_state(),
                    "step": step,
                },
                checkpoint,
            )
            with (stage_dir / "log.jsonl").open("a") as f:
                f.writelines(line + "\n" for line in log)
            log.clear()
        if progress is not None:
            progress(step, settings.steps, metrics)
        if stop_after is not None and step >= stop_after and step < settings.steps:
            return False
    return True


def train_stage1(
    config: RatePointConfig,
    run: Path,
    progress: Progress | None = None,
    stop_after: int | None = None,
) -> Stage1Autoencoder | None:
    """Train stage 1 in ``run/stage1``; returns the model with its integer tables,
    or None when stopped early by ``stop_after`` (used to test resuming)."""
    s = config.stage1_train
    torch.manual_seed(s.seed)
    model = Stage1Autoencoder(config.stage1)
    data = PhotoCrops(config.photos, s.crop, s.seed)

    def step_fn() -> dict:
        x = data.batch(s.batch)
        x_hat, likelihoods = model(x)
        pixels = x.shape[0] * x.shape[2] * x.shape[3]
        bpp = sum(-torch.log2(p).sum() for p in likelihoods.values()) / pixels
        mse = torch.mean((x_hat - x) ** 2)
        return {"loss": s.lmbda * 255**2 * mse + bpp, "mse": mse, "bpp": bpp}

    def rng_state() -> dict:
        return {"torch": torch.get_rng_state(), "data": data.rng.bit_generator.state}

    def set_rng_state(state: dict) -> None:
        torch.set_rng_state(state["torch"])
        data.rng.bit_generator.state = state["data"]

    stage_dir = Path(run) / "stage1"
    done = _loop(
        stage_dir, model, s, step_fn, rng_state, set_rng_state, progress, stop_after
    )
    if not done:
        return None
    model.update()
    model.eval()
    save_weights(model, asdict(config.stage1), stage_dir / "model.safetensors")
    return model


def train_stage2(
    config: RatePointConfig,
    run: Path,
    progress: Progress | None = None,
    stop_after: int | None = None,
) -> ScoreDecoder | None:
    """Train the score decoder in ``run/stage2`` on stage 1's reconstructions."""
    s = config.stage2_train
    stage1 = load_stage1(Path(run))
    for p in stage1.parameters():
        p.requires_grad_(False)
    torch.manual_seed(s.seed)
    decoder = ScoreDecoder(config.stage2)
    data = PhotoCrops(config.photos, s.crop, s.seed)
    generator = torch.Generator().manual_seed(s.seed)

    def step_fn() -> dict:
        x = data.batch(s.batch)
        x_rec = reconstruct(stage1, x)
        return {"loss": decoder.loss(x, x_rec, generator)}

    def rng_state() -> dict:
        return {"noise": generator.get_state(), "data": data.rng.bit_generator.state}

    def set_rng_state(state: dict) -> None:
        generator.set_state(state["noise"])
        data.rng.bit_generator.state = state["data"]

    stage_dir = Path(run) / "stage2"
    done = _loop(
        stage_dir, decoder, s, step_fn, rng_state, set_rng_state, progress, stop_after
    )
    if not done:
        return None
    decoder.eval()
    config_dict = {**asdict(config.stage2), "channels": list(config.stage2.channels)}
    save_weights(decoder, config_dict, stage_dir / "model.safetensors")
    return decoder


def _weights_path(path: Path, stage: str) -> Path:
    path = Path(path)
    return path / stage / "model.safetensors" if path.is_dir() else path


def load_stage1(path: Path) -> Stage1Autoencoder:
    """Stage 1 from a run folder or a ``model.safetensors`` file."""
    state, config = load_weights(_weights_path(path, "stage1"))
    model = Stage1Autoencoder(Stage1Config(**config))
    # Table buffers are empty until update(); give them the saved shapes first.
    for name, tensor in state.items():
        if name.startswith(("z_", "y_")) and "." not in name:
            setattr(model, name, torch.empty_like(tensor))
    model.load_state_dict(state)
    return model.eval()


def load_stage2(path: Path) -> ScoreDecoder:
    """The score decoder from a run folder or a ``model.safetensors`` file."""
    state, config = load_weights(_weights_path(path, "stage2"))
    config["channels"] = tuple(config["channels"])
    decoder = ScoreDecoder(DecoderConfig(**config))
    decoder.load_state_dict(state)
    return decoder.eval()
