"""Lookup-free quantization (LFQ), MAGVIT-v2 Sec. 3.1.

Shape key: N tokens, K bits per token (K = log2 of the vocabulary), M codes in a chunk.

The codebook is implicit: the 2**K corners of {-1, +1}**K. A latent z in R^K is
quantized per dimension, q_k = +1 if z_k > 0 else -1 (an exact 0 maps to -1).

Bit order (this package's convention, fixed in checkpoints and token files): latent
dimension k carries the bit of weight 2**k, i.e. dimension 0 is the least significant
bit, and q_k = +1 means bit k is 1. So z = [+1, -1, ..., -1] has index 1 and
z = [-1, ..., -1, +1] (K = 18) has index 2**17 = 131072. This is Open-MAGVIT2's order;
lucidrains' LFQ reads dimension 0 as the most significant bit.

Entropy penalty (Sec. 3.1, "L_entropy = E[H(q(z))] - H(E[q(z)])"): with
p(c | z) = softmax_c(-||z - c||^2 / tau) over all 2**K codes c. Every code has the
same norm, so p(c | z) is proportional to
exp(2 z.c / tau) = prod_k exp(2 z_k c_k / tau):
the distribution factorizes into independent bits with
p(bit_k = 1 | z) = sigmoid(4 z_k / tau). Hence

* the per-sample entropy is exactly the sum of K binary entropies (no 2**K tensor), and
* the batch entropy H(mean_n p(. | z_n)) is a mixture over the batch, which does not
  factorize; it is computed exactly over joint codes, chunk by chunk over the code
  axis, from the per-bit log-probabilities (one (N, M) matrix product per chunk),
  with activation checkpointing so the backward pass also holds one chunk at a time.

All of this runs in float32 whatever the input dtype, and in the log domain
(log-sigmoid, logsumexp) instead of adding an epsilon inside log(), so half-precision
inputs with large values give a finite loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

# Float32 elements in one (N, M) chunk of the batch-entropy computation: 2**22 = 16 MiB.
DEFAULT_CHUNK_ELEMENTS = 2**22


@dataclass
class QuantizerOutput:
    """What a quantizer returns (LFQ and the VQ baseline share it).

    quantized: the codes, in the input's shape and dtype, with straight-through
        gradients (forward value q, gradient of the identity).
    indices: int64 token indices, the input's shape without the channel dimension.
    commitment_loss: mean squared distance ||z - sg(q)||^2 per element.
    aux_loss: the quantizer's own terms other than commitment (LFQ: the entropy
        penalty; VQ: the codebook loss).
    per_sample_entropy, batch_entropy: LFQ's two entropy terms in nats (VQ: zeros).
    """

    quantized: Tensor
    indices: Tensor
    commitment_loss: Tensor
    aux_loss: Tensor
    per_sample_entropy: Tensor
    batch_entropy: Tensor


def _check_bits(num_bits: int) -> None:
    if not 1 <= num_bits <= 62:
        raise ValueError(
            f"num_bits={num_bits} is out of range; expected 1..62 so that indices fit "
            "in int64; pick a smaller vocabulary"
        )


def codes_to_indices(codes: Tensor, channel_dim: int = -1) -> Tensor:
    """Token index of each code: sum_k 2**k [z_k > 0] (dimension 0 = LSB)."""
    bits = (codes.movedim(channel_dim, -1) > 0).long()
    num_bits = bits.shape[-1]
    _check_bits(num_bits)
    weights = 2 ** torch.arange(num_bits, device=codes.device, dtype=torch.long)
    return (bits * weights).sum(-1)


def indices_to_codes(
    indices: Tensor, num_bits: int, channel_dim: int = -1, dtype=torch.float32
) -> Tensor:
    """Codes in {-1, +1}**K for token indices; the K axis is put at ``channel_dim``.

    Indices (B, N) give codes (B, N, K) with channel_dim=-1, and indices (B, T, H, W)
    give codes (B, K, T, H, W) with channel_dim=1.
    """
    _check_bits(num_bits)
    if indices.dtype.is_floating_point:
        raise TypeError(
            f"indices have dtype {indices.dtype}; expected an integer tensor of token "
            "indices"
        )
    if indices.numel() and (indices.min() < 0 or indices.max() >= 2**num_bits):
        raise ValueError(
            f"indices span [{int(indices.min())}, {int(indices.max())}]; expected "
            f"0..{2**num_bits - 1} for num_bits={num_bits}"
        )
    shifts = torch.arange(num_bits, device=indices.device, dtype=torch.long)
    bits = (indices.long().unsqueeze(-1) >> shifts) & 1
    return (bits.to(dtype) * 2 - 1).movedim(-1, channel_dim)


def bit_log_probs(z: Tensor, temperature: float) -> tuple[Tensor, Tensor]:
    """log p(bit_k = 1 | z) and log p(bit_k = 0 | z), each (N, K), in float32.

    From p(c | z) = softmax(-||z - c||^2 / tau) = prod_k sigmoid(4 z_k c_k / tau).
    """
    logits = 4.0 * z.float() / temperature
    return F.logsigmoid(logits), F.logsigmoid(-logits)


def per_sample_entropy(z: Tensor, temperature: float) -> Tensor:
    """E_n[H(p(. | z_n))] in nats, exactly: a sum of K binary entropies. z: (N, K)"""
    log_one, log_zero = bit_log_probs(z, temperature)
    entropy = -(log_one.exp() * log_one + log_zero.exp() * log_zero)
    return entropy.sum(-1).mean()


def _chunk_bits(start: int, stop: int, num_bits: int, device) -> Tensor:
    """Bits (M, K) of codes start..stop-1, dimension k = bit of weight 2**k."""
    codes = torch.arange(start, stop, device=device, dtype=torch.long)
    shifts = torch.arange(num_bits, device=device, dtype=torch.long)
    return ((codes.unsqueeze(-1) >> shifts) & 1).float()


def _chunk_entropy(log_all_zero: Tensor, logits: Tensor, bits: Tensor) -> Tensor:
    """-sum_c P(c) log P(c) over the chunk's codes, P = mean_n p(c | z_n).

    log p(c | z) = sum_k log p(bit_k = 0) + sum_{k: c_k = 1} logit_k, because
    logsigmoid(x) - logsigmoid(-x) = x: one (N, K) x (K, M) product per chunk.
    """
    log_p = log_all_zero.unsqueeze(-1) + logits @ bits.T  # (N, M)
    log_mean = torch.logsumexp(log_p, dim=0) - math.log(log_p.shape[0])  # (M,)
    return -(log_mean.exp() * log_mean).sum()


def batch_entropy(
    z: Tensor,
    temperature: float,
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
) -> Tensor:
    """H(E_n[p(. | z_n)]) in nats over the 2**K joint codes (not per bit). z: (N, K).

    Exact: the code axis is split into chunks of M = chunk_elements // N codes, and
    each chunk's contribution is recomputed in the backward pass (checkpointing), so
    extra memory is O(N * M) floats rather than O(N * 2**K).
    """
    num_tokens, num_bits = z.shape
    _check_bits(num_bits)
    logits = 4.0 * z.float() / temperature
    log_all_zero = F.logsigmoid(-logits).sum(-1)  # (N,) log p(code 0 | z)
    num_codes = 2**num_bits
    chunk = max(1, min(num_codes, chunk_elements // max(num_tokens, 1)))
    total = z.new_zeros((), dtype=torch.float32)
    for start in range(0, num_codes, chunk):
        bits = _chunk_bits(start, min(start + chunk, num_codes), num_bits, z.device)
        if torch.is_grad_enabled() and logits.requires_grad:
            part = checkpoint(
                _chunk_entropy, log_all_zero, logits, bits, use_reentrant=False
            )
        else:
            part = _chunk_entropy(log_all_zero, logits, bits)
        total = total + part
    return total


class LFQ(nn.Module):
    """Lookup-free quantizer with straight-through gradients and the entropy penalty.

    Args:
        num_bits: K, the latent width; the vocabulary has 2**K tokens (paper: 18).
        temperature: tau of p(c | z) (0.01, MAGVIT's entropy_temperature).
        diversity_gamma: weight of the batch-entropy term inside the penalty (1.0).
        chunk_elements: memory bound of the exact batch entropy, see batch_entropy.
    """

    def __init__(
        self,
        num_bits: int,
        *,
        temperature: float = 0.01,
        diversity_gamma: float = 1.0,
        chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
    ):
        super().__init__()
        _check_bits(num_bits)
        if temperature <= 0:
            raise ValueError(f"temperature={temperature}; expected a positive number")
        self.num_bits = num_bits
        self.temperature = temperature
        self.diversity_gamma = diversity_gamma
        self.chunk_elements = chunk_elements

    @property
    def vocab_size(self) -> int:
        return 2**self.num_bits

    def forward(self, z: Tensor, channel_dim: int = -1) -> QuantizerOutput:
        if z.shape[channel_dim] != self.num_bits:
            raise ValueError(
                f"latent has {z.shape[channel_dim]} channels at dim {channel_dim}; "
                f"expected num_bits={self.num_bits}"
            )
        z32 = z.float()
        q = torch.where(z32 > 0, 1.0, -1.0)
        quantized = (z32 + (q - z32).detach()).to(z.dtype)  # straight-through
        indices = codes_to_indices(q, channel_dim)
        commitment = F.mse_loss(z32, q.detach())

        tokens = z32.movedim(channel_dim, -1).reshape(-1, self.num_bits)  # (N, K)
        if self.training or torch.is_grad_enabled():
            sample_h = per_sample_entropy(tokens, self.temperature)
            batch_h = batch_entropy(tokens, self.temperature, self.chunk_elements)
        else:
            sample_h = batch_h = z32.new_zeros(())
        entropy_loss = sample_h - self.diversity_gamma * batch_h
        return QuantizerOutput(
            quantized=quantized,
            indices=indices,
            commitment_loss=commitment,
            aux_loss=entropy_loss,
            per_sample_entropy=sample_h,
            batch_entropy=batch_h,
        )

    def indices_to_codes(self, indices: Tensor, channel_dim: int = -1) -> Tensor:
        return indices_to_codes(indices, self.num_bits, channel_dim)
