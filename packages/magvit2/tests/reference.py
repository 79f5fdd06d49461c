"""Slow, obviously-correct twins of the fast code, used only by the tests."""

import itertools

import torch


def all_codes(num_bits: int) -> torch.Tensor:
    """(2**K, K) codes in {-1, +1}, row i = code of index i with dim k = bit 2**k."""
    rows = []
    for index in range(2**num_bits):
        rows.append([1.0 if (index >> k) & 1 else -1.0 for k in range(num_bits)])
    return torch.tensor(rows)


def dense_entropies(z: torch.Tensor, temperature: float):
    """Per-sample and batch entropy from the full (N, 2**K) softmax(-||z-c||^2/tau)"""
    codes = all_codes(z.shape[-1])
    distances = torch.cdist(z.float(), codes) ** 2
    log_p = torch.log_softmax(-distances / temperature, dim=-1)
    p = log_p.exp()
    per_sample = -(p * log_p).sum(-1).mean()
    mean_p = p.mean(0)
    batch = -torch.special.xlogy(mean_p, mean_p).sum()
    return per_sample, batch


def index_by_loop(code) -> int:
    return sum(2**k for k, value in enumerate(code) if value > 0)


def causal_conv_by_loop(x, weight, bias):
    """Stride-1 conv with kt - 1 zero frames before the clip, spatial pad k // 2."""
    _, kt, kh, kw = weight.shape[1:]
    b, c, t, h, w = x.shape
    padded = torch.zeros(b, c, t + kt - 1, h + 2 * (kh // 2), w + 2 * (kw // 2))
    padded[:, :, kt - 1 :, kh // 2 : kh // 2 + h, kw // 2 : kw // 2 + w] = x
    out = torch.zeros(b, weight.shape[0], t, h, w)
    for i, j, k in itertools.product(range(t), range(h), range(w)):
        patch = padded[:, :, i : i + kt, j : j + kh, k : k + kw]
        out[:, :, i, j, k] = torch.einsum("bcxyz,ocxyz->bo", patch, weight) + bias
    return out
