"""The double spiral (paper §4.1, Fig. 2; notes §2.1).

2000 points on two interleaved spirals of 1.5 turns in [-10, 10]^2 with uniform
noise in [-0.5, 0.5]; an M-layer with d = 10, n = 10 against a ReLU network, both
trained with RMSprop on softmax cross-entropy (M-layer 100 epochs, network 1000, as
in the paper). The paper shows only the decision boundaries; we also measure the
accuracy on the spirals' next half turn (the official notebook's extrapolation
set), where the M-layer's boundary keeps spiralling and a ReLU network's does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from mlayer.config import Config, MLayerConfig, MLPConfig, TrainConfig
from mlayer.data.synthetic import double_spiral, spiral_continuation
from mlayer.tasks import Data, Split, Task, default_data, register


@dataclass
class SpiralData:
    points_per_class: int = 1000
    turns: float = 1.5
    radius: float = 10.0
    noise: float = 0.5
    #: The extrapolation set: this many more turns beyond the training spirals.
    extra_turns: float = 0.5
    extrapolation_points_per_class: int = 500


class Spiral(Task):
    name = "spiral"
    summary = "two interleaved spirals: fit, and extrapolate the next half turn"
    kind = "classification"
    DataConfig = SpiralData
    paper: ClassVar[dict] = {
        "train_accuracy": "a perfect fit for all three models (Fig. 2)"
    }

    def default_config(self) -> Config:
        return Config(
            task=self.name,
            data=default_data(SpiralData),
            mlayer=MLayerConfig(
                d=10,
                n=10,
                train=TrainConfig(
                    lr=1e-3, batch_size=16, epochs=100, monitor="train_loss"
                ),
            ),
            mlp=MLPConfig(
                depth=2,
                train=TrainConfig(
                    lr=1e-3, batch_size=16, epochs=1000, monitor="train_loss"
                ),
            ),
        )

    def load(self, config: Config) -> Data:
        c = self.data_config(config)
        rng = np.random.default_rng(config.seed)
        x, y = double_spiral(
            c.points_per_class, rng, turns=c.turns, radius=c.radius, noise=c.noise
        )
        ex, ey = spiral_continuation(
            c.extrapolation_points_per_class,
            rng,
            turns=c.turns,
            extra_turns=c.extra_turns,
            radius=c.radius,
            noise=c.noise,
        )
        train = Split(torch.from_numpy(x), torch.from_numpy(y))
        extrapolation = Split(torch.from_numpy(ex), torch.from_numpy(ey))
        return Data(
            train=train,
            val=None,
            evaluations={"train": train, "extrapolation": extrapolation},
            in_features=2,
            out_features=2,
            extra={"reach": c.radius * (c.turns + c.extra_turns) / c.turns + 1},
        )

    def plot(self, folder: Path, models: dict[str, nn.Module], data: Data) -> None:
        from mlayer.plots import decision_regions

        decision_regions(folder / "spiral.png", models, data)


register(Spiral())
