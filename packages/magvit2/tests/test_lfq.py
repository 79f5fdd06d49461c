import math
import subprocess
import sys
import textwrap

import pytest
import torch

from magvit2.quantizer import (
    LFQ,
    batch_entropy,
    codes_to_indices,
    indices_to_codes,
    per_sample_entropy,
)
from tests.reference import dense_entropies, index_by_loop


def test_bit_order_is_lsb_first():
    k = 18
    z = -torch.ones(1, k)
    z[0, 0] = 1.0
    assert codes_to_indices(z).item() == 1
    z = -torch.ones(1, k)
    z[0, -1] = 1.0
    assert codes_to_indices(z).item() == 2**17 == 131072
    codes = indices_to_codes(torch.tensor([5]), 4)
    assert codes.tolist() == [[1.0, -1.0, 1.0, -1.0]]


def test_indices_match_loop(generator):
    z = torch.randn(50, 12, generator=generator)
    expected = [index_by_loop(row.tolist()) for row in z]
    assert codes_to_indices(z).tolist() == expected


def test_zero_maps_to_minus_one():
    out = LFQ(3)(torch.tensor([[0.0, 0.5, -0.5]]))
    assert out.quantized.tolist() == [[-1.0, 1.0, -1.0]]
    assert out.indices.tolist() == [2]


def test_round_trip_sequence_shape(generator):
    lfq = LFQ(6)
    z = torch.randn(2, 7, 6, generator=generator)
    out = lfq(z)
    assert out.indices.shape == (2, 7)
    codes = lfq.indices_to_codes(out.indices)
    assert codes.shape == (2, 7, 6)
    assert torch.equal(codes, out.quantized)
    assert torch.equal(codes_to_indices(codes), out.indices)


def test_round_trip_video_shape(generator):
    lfq = LFQ(5)
    z = torch.randn(2, 5, 3, 4, 4, generator=generator)
    out = lfq(z, channel_dim=1)
    assert out.indices.shape == (2, 3, 4, 4)
    codes = lfq.indices_to_codes(out.indices, channel_dim=1)
    assert codes.shape == (2, 5, 3, 4, 4)
    assert torch.equal(codes, out.quantized)
    every = torch.arange(2**5)
    assert torch.equal(codes_to_indices(indices_to_codes(every, 5)), every)


def test_bad_indices_get_clear_errors():
    with pytest.raises(ValueError, match=r"expected 0\.\.15"):
        indices_to_codes(torch.tensor([16]), 4)
    with pytest.raises(TypeError, match="integer"):
        indices_to_codes(torch.tensor([1.0]), 4)
    with pytest.raises(ValueError, match="num_bits=4"):
        LFQ(4)(torch.zeros(2, 5))


def test_straight_through_gradient(generator):
    z = torch.randn(4, 6, generator=generator, requires_grad=True)
    out = LFQ(6)(z)
    weights = torch.randn(4, 6, generator=generator)
    (out.quantized * weights).sum().backward()
    assert torch.equal(z.grad, weights)
    assert torch.equal(out.quantized.detach().abs(), torch.ones(4, 6))


def test_commitment_loss_closed_form():
    z = torch.tensor([[0.5, -2.0], [0.0, 3.0]])
    # q = [[1, -1], [-1, 1]]: squared errors 0.25, 1, 1, 4
    assert LFQ(2)(z).commitment_loss.item() == pytest.approx((0.25 + 1 + 1 + 4) / 4)


@pytest.mark.parametrize("temperature", [0.01, 0.5, 3.0])
def test_entropies_equal_dense_at_k10(generator, temperature):
    z = torch.randn(64, 10, generator=generator) * 0.3
    dense_sample, dense_batch = dense_entropies(z.double(), temperature)
    assert per_sample_entropy(z, temperature).item() == pytest.approx(
        dense_sample.item(), rel=1e-4, abs=1e-5
    )
    for chunk_elements in (64 * 7, 64 * 100, 2**22):
        chunked = batch_entropy(z, temperature, chunk_elements)
        assert chunked.item() == pytest.approx(dense_batch.item(), rel=1e-5)


def test_chunked_gradient_equals_dense_at_k10(generator):
    z = (torch.randn(32, 10, generator=generator) * 0.3).double()
    z_dense = z.clone().requires_grad_(True)
    z_chunk = z.clone().requires_grad_(True)
    per_sample, batch = dense_entropies(z_dense, 0.5)
    (per_sample - batch).backward()
    loss = per_sample_entropy(z_chunk, 0.5) - batch_entropy(z_chunk, 0.5, 32 * 50)
    loss.backward()
    torch.testing.assert_close(
        z_chunk.grad.double(), z_dense.grad, rtol=1e-3, atol=1e-6
    )


def test_batch_split_between_two_codes_has_entropy_ln2():
    k = 4
    z = torch.cat([torch.full((8, k), -5.0), torch.full((8, k), 5.0)])
    out = LFQ(k)(z)
    assert out.batch_entropy.item() == pytest.approx(math.log(2), rel=1e-5)
    assert out.per_sample_entropy.item() == pytest.approx(0.0, abs=1e-6)
    # per-bit entropy would claim K ln 2: every bit is split 50/50 across the batch
    assert out.batch_entropy.item() < k * math.log(2) / 2


def test_uniform_batch_has_entropy_k_ln2():
    k = 6
    z = indices_to_codes(torch.arange(2**k), k) * 10
    assert batch_entropy(z, 0.01).item() == pytest.approx(k * math.log(2), rel=1e-5)


def test_half_precision_large_values_finite(generator):
    z = (torch.randn(2, 18, 4, 4, generator=generator) * 50).half()
    z.requires_grad_(True)
    out = LFQ(18)(z, channel_dim=1)
    loss = out.aux_loss + 0.25 * out.commitment_loss
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(z.grad).all()
    assert out.quantized.dtype == torch.float16


PEAK_MEMORY_SCRIPT = textwrap.dedent(
    """
    import resource, torch
    torch.set_num_threads(1)
    from magvit2.quantizer import LFQ
    def peak_mib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    warm = torch.randn(64, 10, requires_grad=True)  # load lazy kernels first
    LFQ(10)(warm).aux_loss.backward()
    z = torch.randn(128, 18, generator=torch.Generator().manual_seed(0))
    z.requires_grad_(True)
    lfq = LFQ(18, chunk_elements=2**19)
    before = peak_mib()
    out = lfq(z)
    (out.aux_loss + out.commitment_loss).backward()
    assert torch.isfinite(z.grad).all()
    print(
        peak_mib() - before,
        out.batch_entropy.item(),
        out.per_sample_entropy.item(),
    )
    """
)

# Peak-memory budget of the exact K = 18 entropy, forward + backward, for N = 128
# tokens in 2**19-element (2 MiB) chunks. The dense (N, 2**18) float32 probability
# tensor alone would be 128 MiB (several times that with log-softmax and gradients).
# Measured as the rise of peak RSS in a fresh process, with glibc's mmap threshold at
# 64 KiB so that freed tensors go back to the OS instead of staying in the heap.
K18_PEAK_BUDGET_MIB = 48


def test_k18_entropy_peak_memory_within_budget():
    result = subprocess.run(
        [sys.executable, "-c", PEAK_MEMORY_SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        env={"OMP_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": "65536", "PATH": ""},
    )
    peak_mib, entropy, per_sample = map(float, result.stdout.split())
    assert peak_mib < K18_PEAK_BUDGET_MIB
    # a mixture of 128 distributions: H(mean) <= ln 128 + mean per-sample entropy, and
    # 128 random tokens in a 2**18 vocabulary are nearly all distinct: >= ~ln 128
    assert math.log(128) - 0.05 < entropy <= math.log(128) + per_sample + 1e-4
