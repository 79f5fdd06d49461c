"""A small MaskGIT-style masked transformer over tokenizer tokens (Sec. 4 setup,
scaled down; MaskGIT, Chang et al. 2022).

Shape key: B batch, N tokens per clip (t * h * w, raster order), D width.

Token factorization (as the paper's generation setup, via Open-MAGVIT2's
factorized_bits): a K-bit token is split into a low sub-token (bits 0..K1-1) and a
high sub-token (bits K1..K-1); the input embedding is the sum of one embedding per
sub-token (each with an extra [MASK] entry), and two heads predict the two
sub-tokens. Training masks a cosine-scheduled fraction of positions and scores
cross-entropy on them; generation starts fully masked and, over S steps, keeps the
most confident samples and re-masks the rest (confidence noised by Gumbel noise with
a temperature that decays linearly), leaving N cos(pi/2 * s/S) masked after step s.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class MaskGITConfig:
    num_bits: int = 10
    low_bits: int = 5  # K1; the high sub-token has num_bits - low_bits
    num_tokens: int = 3 * 8 * 8  # N, positions per clip
    width: int = 128
    depth: int = 2
    heads: int = 4

    def __post_init__(self):
        if not 0 < self.low_bits < self.num_bits:
            raise ValueError(
                f"low_bits={self.low_bits}; expected 1..{self.num_bits - 1} so that "
                "both sub-tokens have bits"
            )

    def to_dict(self) -> dict:
        return asdict(self)


class MaskGIT(nn.Module):
    def __init__(self, config: MaskGITConfig):
        super().__init__()
        self.config = config
        self.low_vocab = 2**config.low_bits
        self.high_vocab = 2 ** (config.num_bits - config.low_bits)
        self.embed_low = nn.Embedding(self.low_vocab + 1, config.width)  # + [MASK]
        self.embed_high = nn.Embedding(self.high_vocab + 1, config.width)
        self.position = nn.Parameter(torch.zeros(config.num_tokens, config.width))
        nn.init.normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(
            config.width,
            config.heads,
            4 * config.width,
            dropout=0.0,
            batch_first=True,
            norm_first=True,
        )
        self.blocks = nn.TransformerEncoder(
            layer, config.depth, enable_nested_tensor=False
        )
        self.norm = nn.LayerNorm(config.width)
        self.head_low = nn.Linear(config.width, self.low_vocab)
        self.head_high = nn.Linear(config.width, self.high_vocab)

    def split(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        return tokens & (self.low_vocab - 1), tokens >> self.config.low_bits

    def forward(self, tokens: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """tokens, mask (B, N) -> logits (B, N, V_low) and (B, N, V_high)."""
        if tokens.shape[1] != self.config.num_tokens:
            raise ValueError(
                f"{tokens.shape[1]} tokens per clip; this model was built for "
                f"{self.config.num_tokens}"
            )
        low, high = self.split(tokens)
        low = low.masked_fill(mask, self.low_vocab)
        high = high.masked_fill(mask, self.high_vocab)
        x = self.embed_low(low) + self.embed_high(high) + self.position
        x = self.norm(self.blocks(x))
        return self.head_low(x), self.head_high(x)

    def loss(self, tokens: Tensor, generator: torch.Generator) -> Tensor:
        """Cross-entropy (nats, both sub-tokens) on cosine-scheduled masks."""
        b, n = tokens.shape
        ratio = torch.cos(math.pi / 2 * torch.rand(b, 1, generator=generator))
        num_masked = (ratio * n).ceil().clamp(min=1)
        order = torch.rand(b, n, generator=generator).argsort(-1).argsort(-1)
        mask = order < num_masked
        return self.masked_nll(tokens, mask)

    def masked_nll(self, tokens: Tensor, mask: Tensor) -> Tensor:
        logits_low, logits_high = self(tokens, mask)
        low, high = self.split(tokens)
        nll = F.cross_entropy(logits_low[mask], low[mask]) + F.cross_entropy(
            logits_high[mask], high[mask]
        )
        return nll

    @torch.no_grad()
    def generate(
        self,
        batch_size: int,
        generator: torch.Generator,
        steps: int = 8,
        choice_temperature: float = 4.5,
    ) -> Tensor:
        """Sample (B, N) tokens by iterative parallel decoding."""
        n = self.config.num_tokens
        tokens = torch.zeros(batch_size, n, dtype=torch.long)
        mask = torch.ones(batch_size, n, dtype=torch.bool)
        for step in range(1, steps + 1):
            logits_low, logits_high = self(tokens, mask)
            probs_low, probs_high = logits_low.softmax(-1), logits_high.softmax(-1)
            low = torch.multinomial(
                probs_low.reshape(-1, self.low_vocab), 1, generator=generator
            ).reshape(batch_size, n)
            high = torch.multinomial(
                probs_high.reshape(-1, self.high_vocab), 1, generator=generator
            ).reshape(batch_size, n)
            sampled = low | (high << self.config.low_bits)
            confidence = (
                probs_low.gather(-1, low[..., None]).log()
                + probs_high.gather(-1, high[..., None]).log()
            ).squeeze(-1)
            tokens = torch.where(mask, sampled, tokens)
            remaining = math.floor(n * math.cos(math.pi / 2 * step / steps))
            if remaining == 0:
                mask = torch.zeros_like(mask)
                break
            uniform = torch.rand(batch_size, n, generator=generator).clamp(1e-20, 1)
            gumbel = -torch.log(-torch.log(uniform))
            temperature = choice_temperature * (1 - step / steps)
            confidence = confidence + temperature * gumbel
            # already-fixed positions are never re-masked
            confidence = confidence.masked_fill(~mask, math.inf)
            lowest = confidence.argsort(-1)[:, :remaining]
            mask = torch.zeros_like(mask).scatter_(1, lowest, True)
        return tokens
