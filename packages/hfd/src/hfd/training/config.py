"""One TOML file per rate point: stage-1 and stage-2 sizes and training settings.

Example (``configs/rate-low.toml``)::

    [stage1]
    N = 32
    M = 48
    slices = 0
    [stage1.train]
    lmbda = 0.0035
    steps = 1500
    [stage2]
    kind = "diffusion"
    [stage2.train]
    steps = 1500
"""

import math
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from hfd.autoencoder.model import Stage1Config
from hfd.diffusion.decoder import DecoderConfig
from hfd.training.data import TRAIN_PHOTOS, check_photo_name


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings of one stage (``lmbda`` is used by stage 1 only:
    loss = lmbda * 255^2 * MSE + bpp, the convention of Ballé et al. 2018)."""

    steps: int = 1000
    batch: int = 8
    crop: int = 64
    lr: float = 5e-4
    seed: int = 0
    checkpoint_every: int = 100
    lmbda: float = 0.01

    def __post_init__(self) -> None:
        for name in ("steps", "batch", "crop", "checkpoint_every", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        for name in ("lr", "lmbda"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(
                    f"{name} must be a positive finite number, got {value!r}"
                )
        for name in ("steps", "batch", "crop", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"{name} must be at least 1, got {getattr(self, name)}"
                )
        if self.crop % 64:
            raise ValueError(
                f"crop={self.crop} must be a multiple of 64 (stage 1's total stride)"
            )


@dataclass(frozen=True)
class RatePointConfig:
    stage1: Stage1Config = field(default_factory=Stage1Config)
    stage1_train: TrainSettings = field(default_factory=TrainSettings)
    stage2: DecoderConfig = field(default_factory=DecoderConfig)
    stage2_train: TrainSettings = field(default_factory=TrainSettings)
    photos: tuple[str, ...] = TRAIN_PHOTOS

    def to_dict(self) -> dict:
        return {
            "stage1": {**asdict(self.stage1), "train": asdict(self.stage1_train)},
            "stage2": {
                **{**asdict(self.stage2), "channels": list(self.stage2.channels)},
                "train": asdict(self.stage2_train),
            },
            "data": {"photos": list(self.photos)},
        }


def _build(cls, table: dict, where: str):
    known = {f.name for f in fields(cls)}
    unknown = set(table) - known
    if unknown:
        raise ValueError(
            f"unknown keys {sorted(unknown)} in [{where}]; expected some of "
            f"{sorted(known)}"
        )
    return cls(**table)


def parse_config(table: dict) -> RatePointConfig:
    unknown = set(table) - {"stage1", "stage2", "data"}
    if unknown:
        raise ValueError(
            f"unknown sections {sorted(unknown)}; expected stage1, stage2, data"
        )
    s1 = dict(table.get("stage1", {}))
    s2 = dict(table.get("stage2", {}))
    s1_train, s2_train = s1.pop("train", {}), s2.pop("train", {})
    if "channels" in s2:
        s2["channels"] = tuple(s2["channels"])
    photos = tuple(table.get("data", {}).get("photos", TRAIN_PHOTOS))
    for name in photos:
        check_photo_name(name)
    return RatePointConfig(
        _build(Stage1Config, s1, "stage1"),
        _build(TrainSettings, s1_train, "stage1.train"),
        _build(DecoderConfig, s2, "stage2"),
        _build(TrainSettings, s2_train, "stage2.train"),
        photos,
    )


def load_config(path: str | Path) -> RatePointConfig:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config {path} does not exist; see configs/*.toml")
    data = path.read_bytes()
    if not data.strip():
        raise ValueError(f"config {path} is empty; see configs/rate-low.toml")
    try:
        table = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ValueError(
            f"config {path} is not UTF-8 text ({error.reason} at byte "
            f"{error.start}); pass a TOML file such as configs/rate-low.toml"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(
            f"config {path} is not valid TOML: {error}; see configs/rate-low.toml"
        ) from None
    try:
        return parse_config(table)
    except (ValueError, TypeError) as error:
        raise ValueError(f"config {path}: {error}") from None
