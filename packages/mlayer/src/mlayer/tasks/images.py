"""Image classification (paper §4.4, Table 1; notes §2.4).

Pixels divided by 255 and flattened, no other preprocessing or augmentation; 10 %
of the shuffled training set held out for validation. The M-layer has d = 35 and
n = 30 (68,885 parameters on 28 x 28 images, 148,965 on 32 x 32 x 3). Training:
SGD (lr 1e-3, momentum 0.9, batch 32), the rate cut to a fifth after 5 epochs
without a gain in validation accuracy, at most 150 epochs, early stopping after
15; the best-validation weights are tested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from mlayer.config import Config, ConfigError, MLayerConfig, MLPConfig, TrainConfig
from mlayer.data.images import (
    FASHION_MNIST_ROOT,
    ImageSet,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
    load_svhn,
)
from mlayer.tasks import Data, Split, Task, default_data, register


@dataclass
class ImageData:
    #: The folder holding the set's files (see mlayer.data.images).
    path: str = ""
    val_fraction: float = 0.1
    #: Train on the first N images of the shuffled training set only (0: all).
    limit_train: int = 0


def _to_inputs(x: torch.Tensor) -> torch.Tensor:
    """uint8 images (b, H, W, C) -> [0, 1] features (b, H W C)."""
    return x.flatten(1).to(torch.float32) / 255.0


def _paper_training() -> TrainConfig:
    return TrainConfig(
        optimizer="sgd",
        lr=1e-3,
        momentum=0.9,
        batch_size=32,
        epochs=150,
        activity=1e-4,
        monitor="val_accuracy",
        plateau_patience=5,
        plateau_factor=0.2,
        early_stopping=15,
    )


class ImageTask(Task):
    kind = "classification"
    DataConfig = ImageData
    loader: Callable[[str], ImageSet]
    default_path: str = ""

    def default_config(self) -> Config:
        data = default_data(ImageData)
        data["path"] = self.default_path
        return Config(
            task=self.name,
            data=data,
            mlayer=MLayerConfig(d=35, n=30, train=_paper_training()),
            mlp=MLPConfig(depth=2, train=_paper_training()),
        )

    def load(self, config: Config) -> Data:
        c = self.data_config(config)
        if not c.path:
            raise ConfigError(
                f"{self.name} needs its files: give --data PATH (or data.path), the "
                "folder that holds them"
            )
        if not 0 <= c.val_fraction < 1:
            raise ConfigError(
                f"data.val_fraction = {c.val_fraction}: expected at least 0, below 1"
            )
        images = type(self).loader(c.path)
        order = np.random.default_rng(config.seed).permutation(len(images.train_y))
        held = round(len(order) * c.val_fraction)
        val_index, train_index = order[:held], order[held:]
        if c.limit_train:
            train_index = train_index[: c.limit_train]

        def split(x: np.ndarray, y: np.ndarray) -> Split:
            return Split(torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y))

        train = split(images.train_x[train_index], images.train_y[train_index])
        val = split(images.train_x[val_index], images.train_y[val_index])
        test = split(images.test_x, images.test_y)
        return Data(
            train=train,
            val=val if held else None,
            evaluations={"test": test},
            in_features=images.features,
            out_features=len(images.classes),
            transform=_to_inputs,
            extra={"classes": images.classes, "name": images.name},
        )

    def plot(self, folder: Path, models: dict[str, nn.Module], data: Data) -> None:
        from mlayer.plots import class_accuracy

        class_accuracy(folder / f"{self.name}.png", models, data)


class FashionMNIST(ImageTask):
    name = "fashion-mnist"
    summary = "Fashion-MNIST, 28 x 28 grey (Debian dataset-fashion-mnist)"
    loader = staticmethod(load_fashion_mnist)
    default_path = str(FASHION_MNIST_ROOT)
    paper: ClassVar[dict] = {
        "note": "not in the paper; its MNIST: 97.99 +- 0.12 % (68,885 params)"
    }


class MNIST(ImageTask):
    name = "mnist"
    summary = "MNIST, 28 x 28 grey, from --data PATH"
    loader = staticmethod(load_mnist)
    paper: ClassVar[dict] = {
        "mlayer_test_accuracy": 0.9799,
        "sd": 0.0012,
        "parameters": 68885,
    }


class CIFAR10(ImageTask):
    name = "cifar10"
    summary = "CIFAR-10, 32 x 32 colour, from --data PATH"
    loader = staticmethod(load_cifar10)
    paper: ClassVar[dict] = {
        "mlayer_test_accuracy": 0.5417,
        "sd": 0.0036,
        "parameters": 148965,
    }


class SVHN(ImageTask):
    name = "svhn"
    summary = "SVHN cropped digits, 32 x 32 colour, from --data PATH"
    loader = staticmethod(load_svhn)
    paper: ClassVar[dict] = {
        "mlayer_test_accuracy": 0.8119,
        "sd": 0.0023,
        "parameters": 148965,
    }


for _task in (FashionMNIST(), MNIST(), CIFAR10(), SVHN()):
    register(_task)
