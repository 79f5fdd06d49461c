"""Stage 1 of HFD: an autoencoder trained for MSE with a learned entropy model.

HFD (Hoogeboom et al. 2023, section 3) first codes the image with an MSE-trained
neural codec and only then makes it realistic with a separate decoder. The entropy
model here is the mean-scale hyperprior (Minnen et al. 2018) and, as an option,
its channel-conditional extension (Minnen & Singh 2020): ``y`` is split into
``slices`` groups of channels and each group's mean and scale are predicted from
``h_s(z_hat)`` and the already decoded groups. The paper's own entropy model was
not seen (see the README); the multi-realism autoencoder it builds on uses a
channel-conditional hyperprior, which is why it is offered.

Quantisation (Minnen & Singh 2020, section 2.2): rates are measured on
``y + U(-1/2, 1/2)`` while the decoder sees ``round(y - mu) + mu`` through a
straight-through gradient, so training reconstructs exactly what decoding does.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from hfd.autoencoder.transforms import (
    analysis_transform,
    hyper_analysis_transform,
    hyper_synthesis_transform,
    synthesis_transform,
)
from hfd.entropy import coder
from hfd.entropy.factorized import FactorizedPrior
from hfd.entropy.gaussian import (
    gaussian_likelihood,
    gaussian_tables,
    scale_indexes,
    scale_table,
)
from hfd.entropy.tables import IntegerTables


class EntropyModelNotReadyError(RuntimeError):
    """Compressing needs integer tables built by ``update()`` from the current
    parameters."""


@dataclass(frozen=True)
class Stage1Config:
    """Sizes of the stage-1 autoencoder (N: transform width, M: latent channels,
    slices: 0 for the plain mean-scale hyperprior, else channel-conditional)."""

    N: int = 32
    M: int = 48
    slices: int = 0

    def __post_init__(self) -> None:
        if self.N < 1 or self.M < 1:
            raise ValueError(f"N and M must be positive, got N={self.N}, M={self.M}")
        if self.slices < 0 or (self.slices and self.M % self.slices):
            raise ValueError(
                f"slices={self.slices} must be 0 or divide M={self.M}; "
                "choose a divisor of M"
            )


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Rounding with an identity gradient (straight-through estimator)."""
    return x + (torch.round(x) - x).detach()


class Stage1Autoencoder(nn.Module):
    """``g_a``, ``g_s``, ``h_a``, ``h_s``, a factorized prior on ``z`` and a
    Gaussian conditional on ``y`` (mean-scale hyperprior)."""

    def __init__(self, config: Stage1Config = Stage1Config()) -> None:
        super().__init__()
        self.config = config
        N, M, S = config.N, config.M, config.slices
        self.g_a = analysis_transform(N, M)
        self.g_s = synthesis_transform(N, M)
        self.h_a = hyper_analysis_transform(N, M)
        self.h_s = hyper_synthesis_transform(N, M)
        self.prior = FactorizedPrior(N)
        if S:
            width = M // S
            self.slice_transforms = nn.ModuleList(
                nn.Sequential(
                    nn.Conv2d(2 * M + k * width, 2 * M, 3, padding=1),
                    nn.LeakyReLU(),
                    nn.Conv2d(2 * M, 2 * width, 3, padding=1),
                )
                for k in range(S)
            )
        self.register_buffer("scales", torch.from_numpy(scale_table()))
        # Integer tables, filled by update(); empty means "not ready".
        for name in ("z_counts", "z_lengths", "z_offsets"):
            self.register_buffer(name, torch.zeros(0, dtype=torch.int64))
        for name in ("y_counts", "y_lengths", "y_offsets"):
            self.register_buffer(name, torch.zeros(0, dtype=torch.int64))
        self.register_buffer("prior_digest", torch.zeros(32, dtype=torch.uint8))
        self._models: tuple[coder.TableModels, coder.TableModels] | None = None

    # -- entropy parameters -------------------------------------------------------

    def _slices(self, y: torch.Tensor) -> list[torch.Tensor]:
        S = self.config.slices
        return list(y.chunk(S, dim=1)) if S else [y]

    def _mean_scale(
        self, params: torch.Tensor, decoded: list[torch.Tensor], k: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and scale of slice ``k`` from ``h_s(z_hat)`` and slices ``< k``."""
        if self.config.slices:
            params = self.slice_transforms[k](torch.cat([params, *decoded], dim=1))
        mean, scale = params.chunk(2, dim=1)
        return mean, scale

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Reconstruction and likelihoods of ``y`` and ``z`` for rate estimates."""
        y = self.g_a(x)
        z = self.h_a(y)
        if self.training:
            z_lik = self.prior.likelihood(z + torch.empty_like(z).uniform_(-0.5, 0.5))
            z_hat = round_ste(z)
        else:
            z_hat = torch.round(z)
            z_lik = self.prior.likelihood(z_hat)
        params = self.h_s(z_hat)

        decoded, likelihoods = [], []
        for k, y_k in enumerate(self._slices(y)):
            mean, scale = self._mean_scale(params, decoded, k)
            if self.training:
                noisy = y_k + torch.empty_like(y_k).uniform_(-0.5, 0.5)
                likelihoods.append(gaussian_likelihood(noisy - mean, scale))
            else:
                likelihoods.append(gaussian_likelihood(torch.round(y_k - mean), scale))
            decoded.append(round_ste(y_k - mean) + mean)
        y_hat = torch.cat(decoded, dim=1)
        return self.g_s(y_hat), {"y": torch.cat(likelihoods, 1), "z": z_lik}

    # -- integer tables -------------------------------------------------------------

    def _prior_digest(self) -> bytes:
        h = hashlib.sha256()
        for p in self.prior.parameters():
            h.update(p.detach().cpu().contiguous().numpy().tobytes())
        return h.digest()

    @torch.no_grad()
    def update(self) -> None:
        """Build the integer tables from the current parameters (call after
        training and before ``compress``)."""
        z_tables = self.prior.integer_tables()
        y_tables = gaussian_tables(self.scales.numpy())
        for prefix, t in (("z", z_tables), ("y", y_tables)):
            setattr(self, f"{prefix}_counts", torch.from_numpy(t.counts))
            setattr(self, f"{prefix}_lengths", torch.from_numpy(t.lengths))
            setattr(self, f"{prefix}_offsets", torch.from_numpy(t.offsets))
        self.prior_digest = torch.frombuffer(
            bytearray(self._prior_digest()), dtype=torch.uint8
        )
        self._models = None

    def _table_models(self) -> tuple[coder.TableModels, coder.TableModels]:
        if len(self.z_counts) == 0 or len(self.y_counts) == 0:
            raise EntropyModelNotReadyError(
                "the entropy model has no integer tables yet; call model.update() "
                "after training (checkpoints written by `hfd train` already have them)"
            )
        if bytes(self.prior_digest.numpy()) != self._prior_digest():
            raise EntropyModelNotReadyError(
                "the entropy model's tables are stale (the prior changed after the "
                "last update()); call model.update() again before compressing"
            )
        if self._models is None:

            def tables(prefix: str) -> IntegerTables:
                return IntegerTables(
                    *(
                        getattr(self, f"{prefix}_{n}").numpy()
                        for n in ("counts", "lengths", "offsets")
                    )
                )

            self._models = (
                coder.TableModels(tables("z")),
                coder.TableModels(tables("y")),
            )
        return self._models

    def model_id(self) -> bytes:
        """16-byte fingerprint of the configuration and every weight and table,
        written into each file so that a file is never decoded by another model."""
        h = hashlib.sha256(repr(sorted(asdict(self.config).items())).encode())
        for name, tensor in sorted(self.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return h.digest()[:16]

    # -- coding ---------------------------------------------------------------------

    @torch.no_grad()
    def compress_latents(self, x: torch.Tensor) -> tuple[np.ndarray, list[int]]:
        """Code one padded image (1, 3, H, W): returns the range coder's words and
        the escaped values. ``z`` first, then the slices of ``y`` in order."""
        z_models, y_models = self._table_models()
        y = self.g_a(x)
        z = self.h_a(y)
        encoder, escapes = coder.new_encoder(), []

        z_symbols = torch.round(z)
        channel_rows = self._channel_rows(z.shape)
        coder.encode_symbols(
            encoder, z_symbols.numpy(), channel_rows, z_models, escapes
        )
        params = self.h_s(z_symbols)

        decoded = []
        for k, y_k in enumerate(self._slices(y)):
            mean, scale = self._mean_scale(params, decoded, k)
            symbols = torch.round(y_k - mean)
            rows = scale_indexes(scale, self.scales).numpy()
            coder.encode_symbols(encoder, symbols.numpy(), rows, y_models, escapes)
            decoded.append(symbols + mean)
        return encoder.get_compressed(), escapes

    @torch.no_grad()
    def decompress_latents(
        self, words: np.ndarray, escapes: Iterator[int], z_shape: tuple[int, ...]
    ) -> torch.Tensor:
        """Inverse of :meth:`compress_latents`: returns ``y_hat`` (1, M, h, w)."""
        z_models, y_models = self._table_models()
        decoder = coder.new_decoder(words)
        z_symbols = coder.decode_symbols(
            decoder, self._channel_rows(z_shape), z_models, escapes
        )
        params = self.h_s(torch.from_numpy(z_symbols).float())

        decoded = []
        for k in range(max(self.config.slices, 1)):
            mean, scale = self._mean_scale(params, decoded, k)
            rows = scale_indexes(scale, self.scales).numpy()
            symbols = coder.decode_symbols(decoder, rows, y_models, escapes)
            decoded.append(torch.from_numpy(symbols).float() + mean)
        return torch.cat(decoded, dim=1)

    @staticmethod
    def _channel_rows(shape: tuple[int, ...]) -> np.ndarray:
        """Table row of every element of ``z``: its channel."""
        b, c, h, w = shape
        return np.broadcast_to(np.arange(c).reshape(1, c, 1, 1), (b, c, h, w))
