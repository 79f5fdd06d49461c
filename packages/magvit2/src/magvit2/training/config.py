"""Training configuration, read from a TOML file with [model], [data], [loss], [train].

Defaults are the paper's recipe where our notes have it (loss weights, Adam betas
(0, 0.99), EMA 0.999, entropy 0.1 annealed from 0.3 over 2,000 steps, LeCAM 0.001,
R1 10); the learning rate and step counts in configs/ are scaled for a CPU.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from magvit2.data import SOURCES
from magvit2.tokenizer import TokenizerConfig


def _from_dict(cls, data: dict, section: str):
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(
            f"unknown keys {sorted(unknown)} in [{section}]; expected some of "
            f"{sorted(known)}"
        )
    return cls(**data)


@dataclass(frozen=True)
class DataConfig:
    source: str = "moving_digits"  # one of magvit2.data.SOURCES
    path: str = ""  # local folder for source = "folder"
    frames: int = 9
    size: int = 32
    batch_size: int = 4
    num_clips: int = 0  # > 0: draw batches from a fixed pool of this many clips

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"data source {self.source!r}; expected one of {SOURCES}")
        if self.source == "folder" and not self.path:
            raise ValueError("data source 'folder' needs path = '/a/folder' in [data]")
        for name in ("frames", "size", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"{name}={getattr(self, name)} in [data]; expected a positive "
                    "integer"
                )
        if self.num_clips < 0:
            raise ValueError(f"num_clips={self.num_clips} in [data]; expected >= 0")


@dataclass(frozen=True)
class LossConfig:
    pixel_weight: float = 5.0
    perceptual_weight: float = 0.0
    perceptual_network: str = ""  # TorchScript file; required if weight > 0
    commitment_weight: float = 0.25
    entropy_weight: float = 0.1
    entropy_scale: float = 3.0
    entropy_decay_steps: int = 2000
    gan_weight: float = 0.0  # paper 0.1; off by default on a CPU
    gan_start_step: int = 0
    discriminator_base_channels: int = 16
    discriminator_multipliers: tuple[int, ...] = (2, 4)
    lecam_weight: float = 0.001
    r1_weight: float = 10.0
    r1_every: int = 20

    def __post_init__(self):
        object.__setattr__(
            self,
            "discriminator_multipliers",
            tuple(int(m) for m in self.discriminator_multipliers),
        )
        if self.perceptual_weight > 0 and not self.perceptual_network:
            raise ValueError(
                f"perceptual_weight={self.perceptual_weight} needs "
                "perceptual_network = 'path/to/scripted_net.pt' in [loss]; no "
                "pretrained network is downloaded"
            )


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000
    learning_rate: float = 1e-4
    discriminator_lr_ratio: float = 0.8
    beta1: float = 0.0
    beta2: float = 0.99
    warmup_steps: int = 500
    ema_decay: float = 0.999
    seed: int = 0
    checkpoint_every: int = 100
    log_every: int = 10
    threads: int = 1

    def __post_init__(self):
        for name in ("steps", "checkpoint_every", "log_every", "threads"):
            minimum = 0 if name == "steps" else 1
            if getattr(self, name) < minimum:
                raise ValueError(
                    f"{name}={getattr(self, name)} in [train]; expected an integer "
                    f">= {minimum}"
                )


@dataclass(frozen=True)
class Config:
    model: TokenizerConfig = field(default_factory=TokenizerConfig.tiny)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self):
        # the tokenizer takes 1 + t_factor * k frames with sides divisible by the
        # spatial factor (Sec. 3.2); check here so a bad run fails before it starts
        t_factor, s_factor = self.model.temporal_factor, self.model.spatial_factor
        frames, size = self.data.frames, self.data.size
        if (frames - 1) % t_factor:
            raise ValueError(
                f"frames={frames} in [data]; the model needs 1 + {t_factor}k frames "
                f"(1, {1 + t_factor}, {1 + 2 * t_factor}, ...)"
            )
        if size % s_factor:
            raise ValueError(
                f"size={size} in [data]; the model needs a multiple of {s_factor} "
                f"(e.g. {max(s_factor, size // s_factor * s_factor)})"
            )

    @classmethod
    def from_dict(cls, data: dict) -> Config:
        unknown = set(data) - {"model", "data", "loss", "train"}
        if unknown:
            raise ValueError(
                f"unknown sections {sorted(unknown)}; expected [model], [data], "
                "[loss], [train]"
            )
        model = dict(data.get("model", {}))
        preset = model.pop("preset", "tiny")
        if preset not in ("tiny", "paper"):
            raise ValueError(f"model preset {preset!r}; expected 'tiny' or 'paper'")
        base = getattr(TokenizerConfig, preset)().to_dict()
        return cls(
            model=TokenizerConfig.from_dict({**base, **model}),
            data=_from_dict(DataConfig, data.get("data", {}), "data"),
            loss=_from_dict(LossConfig, data.get("loss", {}), "loss"),
            train=_from_dict(TrainConfig, data.get("train", {}), "train"),
        )

    def to_dict(self) -> dict:
        return {
            "model": self.model.to_dict(),
            "data": asdict(self.data),
            "loss": {
                **asdict(self.loss),
                "discriminator_multipliers": list(self.loss.discriminator_multipliers),
            },
            "train": asdict(self.train),
        }


def load_config(path: str | Path) -> Config:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file {path} does not exist; pass a TOML file")
    with path.open("rb") as handle:
        try:
            data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path} is not valid TOML: {error}") from error
    return Config.from_dict(data)
