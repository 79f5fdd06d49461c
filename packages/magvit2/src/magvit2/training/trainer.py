"""The tokenizer training loop: one generator step (and a discriminator step once the
GAN is on) per batch, EMA, entropy annealing, checkpoints, resume.

Run folder: config.json (the resolved config), checkpoint.safetensors (atomic, every
checkpoint_every steps and at the end), metrics.jsonl (one line per log_every steps).
A killed run resumes from its last checkpoint; batch t is drawn from a Generator
seeded with (seed, t), so a resumed run sees the same data as an uninterrupted one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from magvit2.data import FolderDataset, make_batch
from magvit2.tokenizer import VideoTokenizer
from magvit2.training.checkpoint import (
    flatten_optimizer,
    load_checkpoint,
    save_checkpoint,
    unflatten_optimizer,
)
from magvit2.training.config import Config
from magvit2.training.discriminator import Discriminator
from magvit2.training.ema import EMA
from magvit2.training.losses import (
    LeCAM,
    PerceptualLoss,
    discriminator_loss,
    generator_adversarial_loss,
    load_feature_network,
    r1_penalty,
)
from magvit2.training.schedule import entropy_weight, warmup_factor

CHECKPOINT = "checkpoint.safetensors"


class Trainer:
    def __init__(
        self,
        config: Config,
        run_dir: str | Path,
        feature_network: nn.Module | None = None,
    ):
        self.config = config
        self.run_dir = Path(run_dir)
        self.step = 0
        torch.manual_seed(config.train.seed)
        self.model = VideoTokenizer(config.model)
        self.ema = EMA(self.model, config.train.ema_decay)
        lr, betas = config.train.learning_rate, (config.train.beta1, config.train.beta2)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr, betas=betas)

        loss = config.loss
        if feature_network is None and loss.perceptual_weight > 0:
            feature_network = load_feature_network(loss.perceptual_network)
        self.perceptual = PerceptualLoss(feature_network) if feature_network else None
        self.discriminator = None
        if loss.gan_weight > 0:
            self.discriminator = Discriminator(
                config.model.in_channels,
                loss.discriminator_base_channels,
                loss.discriminator_multipliers,
            )
            self.lecam = LeCAM()
            self.d_optimizer = torch.optim.Adam(
                self.discriminator.parameters(),
                lr * config.train.discriminator_lr_ratio,
                betas=betas,
            )
        self.folder = None
        self.pool = None
        if config.data.source == "folder":
            self.folder = FolderDataset(
                config.data.path, config.data.frames, config.data.size
            )

    # -- data ---------------------------------------------------------------------
    def batch(self, step: int) -> torch.Tensor:
        data = self.config.data
        rng = np.random.default_rng([self.config.train.seed, step])
        if data.num_clips > 0:
            if self.pool is None:
                pool_rng = np.random.default_rng([self.config.train.seed, 2**32])
                self.pool = make_batch(
                    data.source,
                    pool_rng,
                    data.num_clips,
                    data.frames,
                    data.size,
                    "train",
                    self.folder,
                )
            chosen = rng.integers(data.num_clips, size=data.batch_size)
            return torch.from_numpy(self.pool[chosen])
        array = make_batch(
            data.source,
            rng,
            data.batch_size,
            data.frames,
            data.size,
            "train",
            self.folder,
        )
        return torch.from_numpy(array)

    # -- one step -----------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        cfg, loss_cfg = self.config, self.config.loss
        self.model.train()
        video = self.batch(self.step)
        scale = warmup_factor(self.step, cfg.train.warmup_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.train.learning_rate * scale

        out = self.model(video)
        recon, quant = out.reconstruction, out.quantizer
        pixel = (recon - video).square().mean()
        w_entropy = entropy_weight(
            self.step,
            loss_cfg.entropy_weight,
            loss_cfg.entropy_scale,
            loss_cfg.entropy_decay_steps,
        )
        # LFQ: aux = entropy penalty (annealed); VQ: aux = codebook loss (weight 1)
        aux_weight = w_entropy if cfg.model.quantizer == "lfq" else 1.0
        total = (
            loss_cfg.pixel_weight * pixel
            + loss_cfg.commitment_weight * quant.commitment_loss
            + aux_weight * quant.aux_loss
        )
        metrics = {"pixel": pixel.item(), "entropy_weight": w_entropy}
        if self.perceptual is not None:
            perceptual = self.perceptual(video, recon)
            total = total + loss_cfg.perceptual_weight * perceptual
            metrics["perceptual"] = perceptual.item()
        gan_on = self.discriminator is not None and self.step >= loss_cfg.gan_start_step
        if gan_on:
            self.discriminator.requires_grad_(False)
            g_adv = generator_adversarial_loss(self.discriminator(recon))
            total = total + loss_cfg.gan_weight * g_adv
            metrics["g_adv"] = g_adv.item()

        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        self.ema.update(self.model)
        if gan_on:
            metrics.update(self.discriminator_step(video, recon.detach(), scale))

        with torch.no_grad():
            mse = (recon.clamp(-1, 1) - video).square().mean().item()
        metrics.update(
            loss=total.item(),
            psnr=float(10 * np.log10(4.0 / max(mse, 1e-12))),
            commitment=quant.commitment_loss.item(),
            per_sample_entropy=quant.per_sample_entropy.item(),
            batch_entropy=quant.batch_entropy.item(),
            codes_used=int(quant.indices.unique().numel()),
        )
        self.step += 1
        return metrics

    def discriminator_step(self, real, fake, lr_scale) -> dict[str, float]:
        loss_cfg = self.config.loss
        self.discriminator.requires_grad_(True)
        for group in self.d_optimizer.param_groups:
            group["lr"] = (
                self.config.train.learning_rate
                * self.config.train.discriminator_lr_ratio
                * lr_scale
            )
        real_logits = self.discriminator(real)
        fake_logits = self.discriminator(fake)
        d_loss = discriminator_loss(real_logits, fake_logits)
        lecam = self.lecam(real_logits, fake_logits)
        total = d_loss + loss_cfg.lecam_weight * lecam
        metrics = {"d_loss": d_loss.item(), "lecam": lecam.item()}
        if loss_cfg.r1_every > 0 and self.step % loss_cfg.r1_every == 0:
            # lazy R1 (StyleGAN2): every r1_every steps, scaled by r1_every
            r1 = r1_penalty(self.discriminator, real)
            total = total + loss_cfg.r1_weight / 2 * loss_cfg.r1_every * r1
            metrics["r1"] = r1.item()
        self.d_optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.d_optimizer.step()
        return metrics

    # -- checkpoints --------------------------------------------------------------
    def save(self) -> None:
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        tensors.update({f"ema.{k}": v for k, v in self.ema.model.state_dict().items()})
        optim_tensors, optim_rest = flatten_optimizer(
            "optim", self.optimizer.state_dict()
        )
        tensors.update(optim_tensors)
        metadata = {
            "step": self.step,
            "config": self.config.to_dict(),
            "optim": optim_rest,
        }
        if self.discriminator is not None:
            tensors.update(
                {f"disc.{k}": v for k, v in self.discriminator.state_dict().items()}
            )
            tensors.update(
                {f"lecam.{k}": v for k, v in self.lecam.state_dict().items()}
            )
            d_tensors, d_rest = flatten_optimizer(
                "d_optim", self.d_optimizer.state_dict()
            )
            tensors.update(d_tensors)
            metadata["d_optim"] = d_rest
        save_checkpoint(self.run_dir / CHECKPOINT, tensors, metadata)

    def load(self) -> None:
        tensors, metadata = load_checkpoint(self.run_dir / CHECKPOINT)

        def part(prefix):
            return {
                k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)
            }

        self.model.load_state_dict(part("model."))
        self.ema.model.load_state_dict(part("ema."))
        self.optimizer.load_state_dict(
            unflatten_optimizer("optim", tensors, metadata["optim"])
        )
        if self.discriminator is not None:
            self.discriminator.load_state_dict(part("disc."))
            self.lecam.load_state_dict(part("lecam."))
            self.d_optimizer.load_state_dict(
                unflatten_optimizer("d_optim", tensors, metadata["d_optim"])
            )
        self.step = metadata["step"]

    # -- the loop -----------------------------------------------------------------
    def run(
        self,
        until_step: int | None = None,
        on_step: Callable[[int, dict], None] | None = None,
    ) -> None:
        """Train until `until_step` (default: config steps) with checkpoints."""
        until = self.config.train.steps if until_step is None else until_step
        train = self.config.train
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.run_dir / "metrics.jsonl"
        self._trim_log(log_path)
        with log_path.open("a") as log:
            while self.step < until:
                metrics = self.train_step()
                if self.step % train.log_every == 0 or self.step == until:
                    log.write(json.dumps({"step": self.step, **metrics}) + "\n")
                    log.flush()
                if self.step % train.checkpoint_every == 0 or self.step == until:
                    self.save()
                if on_step is not None:
                    on_step(self.step, metrics)

    def _trim_log(self, log_path: Path) -> None:
        """Drop log lines past the checkpoint a resumed run restarts from."""
        if not log_path.exists():
            return
        lines = [
            line
            for line in log_path.read_text().splitlines()
            if line and json.loads(line)["step"] <= self.step
        ]
        tmp = log_path.with_name(log_path.name + ".tmp")
        tmp.write_text("".join(line + "\n" for line in lines))
        os.replace(tmp, log_path)
