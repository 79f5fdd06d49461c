"""Vector quantization (VQ-VAE, van den Oord et al. 2017): the baseline LFQ replaces.

Used only for the same-size comparison in the README: the codebook has 2**K learned
entries of dimension K, the same latent width and vocabulary as LFQ with K bits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from magvit2.quantizer.lfq import QuantizerOutput


class VectorQuantizer(nn.Module):
    """Nearest-neighbour codebook lookup, straight-through, codebook + commitment loss.

    Returns the same QuantizerOutput as LFQ: aux_loss is the codebook loss
    ||sg(z) - e||^2, commitment_loss is ||z - sg(e)||^2, the entropies are zero.
    """

    def __init__(self, num_bits: int, *, seed: int = 0):
        super().__init__()
        self.num_bits = num_bits
        generator = torch.Generator().manual_seed(seed)
        codebook = torch.randn(2**num_bits, num_bits, generator=generator)
        self.codebook = nn.Parameter(codebook)

    @property
    def vocab_size(self) -> int:
        return 2**self.num_bits

    def forward(self, z: Tensor, channel_dim: int = -1) -> QuantizerOutput:
        z32 = z.float().movedim(channel_dim, -1)
        flat = z32.reshape(-1, self.num_bits)
        distances = torch.cdist(flat, self.codebook.float())
        indices = distances.argmin(-1)
        e = self.codebook[indices].reshape(z32.shape)
        quantized = z32 + (e - z32).detach()
        zeros = z32.new_zeros(())
        return QuantizerOutput(
            quantized=quantized.movedim(-1, channel_dim).to(z.dtype),
            indices=indices.reshape(z32.shape[:-1]),
            commitment_loss=F.mse_loss(z32, e.detach()),
            aux_loss=F.mse_loss(e, z32.detach()),
            per_sample_entropy=zeros,
            batch_entropy=zeros,
        )

    def indices_to_codes(self, indices: Tensor, channel_dim: int = -1) -> Tensor:
        return self.codebook[indices].movedim(-1, channel_dim)
