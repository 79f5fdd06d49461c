"""Determinants and permanents (paper §4.3, Figs. 4-5; notes §2.3).

Matrices with entries U(-1, 1), given row-major; the target is their determinant
(or permanent). The paper's M-layer takes the 9 entries straight into T (no U, no
B): with n = 9 that is ``10 n^2 + 1 = 811`` parameters, and its MSE on 10^6 test
matrices after training on 2^17 is about 2e-4, against 3e-3 for the best ReLU
network (9-30-30-30-30-1, 3121 parameters). Always answering 0 scores
``E[det^2] = 3!/3^3 = 0.2222``. Training: RMSprop (lr 1e-3, decay 1e-6, batch 32),
the rate cut to a fifth after 10 epochs without progress, at most 256 epochs,
early stopping after 30; validation on another 25 % of the training size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from mlayer.config import Config, MLayerConfig, MLPConfig, TrainConfig
from mlayer.data.synthetic import (
    determinant,
    permanent,
    random_matrices,
    zero_predictor_mse,
)
from mlayer.tasks import Data, Split, Task, default_data, register


@dataclass
class PolynomialData:
    size: int = 3
    train: int = 2**17
    val: int = 2**15
    test: int = 10**6


def _paper_training() -> TrainConfig:
    return TrainConfig(
        optimizer="rmsprop",
        lr=1e-3,
        decay=1e-6,
        batch_size=32,
        epochs=256,
        activity=1e-4,
        monitor="val_loss",
        plateau_patience=10,
        plateau_factor=0.2,
        early_stopping=30,
    )


class MatrixFunction(Task):
    kind = "regression"
    DataConfig = PolynomialData
    #: The function of a batch of matrices (..., k, k) -> (...).
    function = staticmethod(determinant)

    def default_config(self) -> Config:
        return Config(
            task=self.name,
            data=default_data(PolynomialData),
            mlayer=MLayerConfig(
                d=9, n=9, projection=False, matrix_bias=False, train=_paper_training()
            ),
            mlp=MLPConfig(depth=2, train=_paper_training()),
        )

    def load(self, config: Config) -> Data:
        c = self.data_config(config)
        if c.size < 1:
            raise ValueError(f"data.size = {c.size}: expected a matrix size >= 1")
        for split in ("train", "val", "test"):
            if getattr(c, split) < 1:
                raise ValueError(
                    f"data.{split} = {getattr(c, split)}: expected at least 1 matrix"
                )
        splits = {}
        # An independent stream per split: the training set does not depend on the
        # test set's size.
        for index, (split, count) in enumerate(
            (("train", c.train), ("val", c.val), ("test", c.test))
        ):
            rng = np.random.default_rng([config.seed, index])
            A = random_matrices(count, c.size, rng)
            x = torch.from_numpy(A.reshape(count, -1))
            y = torch.from_numpy(self.function(A)).reshape(-1, 1)
            splits[split] = Split(x, y)
        return Data(
            train=splits["train"],
            val=splits["val"] if c.val else None,
            evaluations={"test": splits["test"]},
            in_features=c.size * c.size,
            out_features=1,
            extra={"size": c.size},
        )

    def references(self, data: Data) -> dict:
        size = data.extra["size"]
        return {
            "mse_of_predicting_0": zero_predictor_mse(size, self.name),
            "test_mse_of_predicting_0": float(
                data.evaluations["test"].y.square().mean()
            ),
        }

    def plot(self, folder: Path, models: dict[str, nn.Module], data: Data) -> None:
        from mlayer.plots import predicted_vs_true

        predicted_vs_true(folder / f"{self.name}.png", models, data, self.name)


class Determinant(MatrixFunction):
    name = "determinant"
    summary = "3 x 3 determinant of U(-1, 1) entries (811-parameter M-layer)"
    function = staticmethod(determinant)
    paper: ClassVar[dict] = {
        "mlayer_test_mse": 2e-4,
        "mlayer_parameters": 811,
        "best_dnn_test_mse": 3e-3,
        "best_dnn_parameters": 3121,
        "train_size": 2**17,
    }


class Permanent(MatrixFunction):
    name = "permanent"
    summary = "3 x 3 permanent of U(-1, 1) entries"
    function = staticmethod(permanent)
    paper: ClassVar[dict] = {
        "note": "behaves like the determinant; no numbers published"
    }


register(Determinant())
register(Permanent())
