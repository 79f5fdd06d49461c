"""Periodic extrapolation (paper §4.2, Fig. 3; notes §2.2), two versions.

``periodic`` is the paper's: a sum of two cosines, trained on x in [0, 2] and tested
on [2, 6], with the loss ``(f(x) - y)^2 + max(0, |f(2x + 6)| - 100)^2`` that punishes
a blow-up beyond the data. An M-layer with d = 1, n = 6, its matrices started with
a diagonal of -10 (so exp(M) starts small) against a ReLU network; RMSprop for 300
epochs, no activity regulariser.

``temperature`` is the official notebook's: Melbourne's daily minimum temperatures
(1981-1990), less their mean and smoothed over 7 days; the first 90 % of the days
train, the last 10 % (about a year) test. The notebook feeds the raw day index;
we feed it in years (days / 365.25), so that one input unit is one period and the
matrices start at a sane scale (a raw index of 3000 times weights of 0.05 already
gives entries of 150, whose exponential overflows float32).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from mlayer.config import Config, MLayerConfig, MLPConfig, TrainConfig
from mlayer.data.series import load_temperatures, moving_average
from mlayer.data.synthetic import cosines
from mlayer.tasks import Data, Split, Task, default_data, register

#: Where the temperature CSV lies beside a clone of the repo.
SHARED_DATA = Path(__file__).resolve().parents[6] / "shared" / "data"
TEMPERATURES = "daily-minimum-temperatures.csv"


def _column(values: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(values, dtype=np.float64)).reshape(-1, 1)


@dataclass
class PeriodicData:
    #: The paper's example: 1.42 cos(6 pi x + 0.84) + 6.29 cos(8 pi x + 0.76).
    cycles: list[float] = field(default_factory=lambda: [3.0, 4.0])
    amplitudes: list[float] = field(default_factory=lambda: [1.42, 6.29])
    phases: list[float] = field(default_factory=lambda: [0.84, 0.76])
    train_end: float = 2.0
    test_end: float = 6.0
    #: Distance between sample points (the paper's 1e-5 is 200,000 points).
    spacing: float = 1e-5
    #: Standard deviation of the Gaussian noise on the training targets.
    noise: float = 1e-4
    #: The blow-up penalty acts where |f(2x + 6)| exceeds this.
    bound: float = 100.0


class Periodic(Task):
    name = "periodic"
    summary = "a sum of two cosines: trained on [0, 2], extrapolated to [2, 6]"
    kind = "regression"
    DataConfig = PeriodicData
    paper: ClassVar[dict] = {
        "extrapolation": "the M-layer (115 parameters) continues the signal; a "
        "50-50-10 ReLU network (3221) does not (Fig. 3, no numbers)"
    }

    def default_config(self) -> Config:
        return Config(
            task=self.name,
            data=default_data(PeriodicData),
            mlayer=MLayerConfig(
                d=1,
                n=6,
                init="negative-diagonal",
                train=TrainConfig(
                    lr=5e-3,
                    decay=1e-5,
                    batch_size=128,
                    epochs=300,
                    activity=0.0,
                    monitor="train_loss",
                ),
            ),
            mlp=MLPConfig(
                depth=2,
                train=TrainConfig(
                    lr=1e-3,
                    decay=1e-6,
                    batch_size=64,
                    epochs=300,
                    activity=0.0,
                    monitor="train_loss",
                ),
            ),
        )

    def load(self, config: Config) -> Data:
        c = self.data_config(config)
        rng = np.random.default_rng(config.seed)
        x = np.arange(0.0, c.train_end, c.spacing)
        y = cosines(x, c.cycles, c.amplitudes, c.phases)
        noisy = y + rng.normal(0.0, c.noise, size=y.shape)
        tx = np.arange(c.train_end, c.test_end, c.spacing)
        ty = cosines(tx, c.cycles, c.amplitudes, c.phases)
        train = Split(_column(x), _column(noisy))
        grid = np.linspace(0.0, c.test_end, 6001)
        return Data(
            train=train,
            val=None,
            evaluations={
                "train": Split(_column(x), _column(y)),
                "extrapolation": Split(_column(tx), _column(ty)),
            },
            in_features=1,
            out_features=1,
            extra={
                "grid": grid,
                "target": cosines(grid, c.cycles, c.amplitudes, c.phases),
                "train_end": c.train_end,
                "xlabel": "x",
                "bound": c.bound,
            },
        )

    def penalty(self, model: nn.Module, x: torch.Tensor, data: Data) -> torch.Tensor:
        """``mean max(0, |f(2x + 6)| - bound)^2``: the paper's guard against a
        model that explodes on [6, 10]."""
        far = model(2 * x + 6)
        return torch.relu(far.abs() - data.extra["bound"]).square().mean()

    def references(self, data: Data) -> dict:
        test = data.evaluations["extrapolation"]
        return {"extrapolation_mse_of_predicting_0": float(test.y.square().mean())}

    def plot(self, folder: Path, models: dict[str, nn.Module], data: Data) -> None:
        from mlayer.plots import extrapolation

        extrapolation(folder / f"{self.name}.png", models, data)


@dataclass
class TemperatureData:
    #: The CSV; empty for ../shared/data/daily-minimum-temperatures.csv beside
    #: the repo.
    path: str = ""
    window: int = 7
    train_fraction: float = 0.9
    #: Days per input unit (the notebook: 1, the raw day index).
    time_unit: float = 365.25


class Temperature(Task):
    name = "temperature"
    summary = "Melbourne daily minimum temperatures: extrapolate the last year"
    kind = "regression"
    DataConfig = TemperatureData
    paper: ClassVar[dict] = {
        "extrapolation": "none published (official notebook only); the MEML port "
        "could not make it converge"
    }

    def default_config(self) -> Config:
        return Config(
            task=self.name,
            data=default_data(TemperatureData),
            mlayer=MLayerConfig(
                d=2,
                n=10,
                init="negative-diagonal",
                train=TrainConfig(
                    lr=1e-5,
                    batch_size=128,
                    epochs=1000,
                    activity=0.0,
                    monitor="train_loss",
                ),
            ),
            mlp=MLPConfig(
                depth=2,
                train=TrainConfig(
                    lr=1e-3,
                    batch_size=128,
                    epochs=1000,
                    activity=0.0,
                    monitor="train_loss",
                ),
            ),
        )

    def load(self, config: Config) -> Data:
        c = self.data_config(config)
        if not 0 < c.train_fraction < 1:
            raise ValueError(
                f"data.train_fraction = {c.train_fraction}: expected between 0 and 1"
            )
        path = Path(c.path) if c.path else SHARED_DATA / TEMPERATURES
        days, temps = load_temperatures(path)
        smooth = moving_average(temps, c.window)
        days = days[c.window - 1 :]  # each mean belongs to its window's last day
        cut = int(len(smooth) * c.train_fraction)
        smooth = smooth - smooth[:cut].mean()
        x = days / c.time_unit
        train = Split(_column(x[:cut]), _column(smooth[:cut]))
        test = Split(_column(x[cut:]), _column(smooth[cut:]))
        # The same day a year earlier, as a seasonal reference forecast.
        last_year = np.interp(days[cut:] - 365.25, days, smooth)
        return Data(
            train=train,
            val=None,
            evaluations={"train": train, "extrapolation": test},
            in_features=1,
            out_features=1,
            extra={
                "grid": x,
                "target": smooth,
                "train_end": float(x[cut]),
                "xlabel": "years" if c.time_unit == 365.25 else f"{c.time_unit:g} days",
                "last_year": last_year,
            },
        )

    def references(self, data: Data) -> dict:
        test = data.evaluations["extrapolation"].y.numpy().ravel()
        last_year = data.extra["last_year"]
        return {
            "extrapolation_mse_of_predicting_0": float(np.mean(test**2)),
            "extrapolation_mse_of_last_years_value": float(
                np.mean((test - last_year) ** 2)
            ),
        }

    def plot(self, folder: Path, models: dict[str, nn.Module], data: Data) -> None:
        from mlayer.plots import extrapolation

        extrapolation(folder / f"{self.name}.png", models, data)


register(Periodic())
register(Temperature())
