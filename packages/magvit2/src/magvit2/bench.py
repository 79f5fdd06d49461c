"""Benchmarks (speed lives here, not in tests): `python -m magvit2.bench`.

Times, on one thread: the exact LFQ batch entropy (forward + backward) at K = 10, 14
and 18; one training step of the tiny tokenizer; the token range coder.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from magvit2.compression import decode_tokens, encode_tokens
from magvit2.quantizer import LFQ
from magvit2.tokenizer import TokenizerConfig, VideoTokenizer


def timed(fn, repeats: int = 3) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    for bits, tokens in ((10, 768), (14, 768), (18, 128)):
        z = torch.randn(tokens, bits, generator=generator, requires_grad=True)
        lfq = LFQ(bits, chunk_elements=2**19)

        def step(z=z, lfq=lfq):
            lfq(z).aux_loss.backward()

        print(f"LFQ entropy K={bits:2d} N={tokens}: {timed(step, 1):.3f} s fwd+bwd")

    model = VideoTokenizer(TokenizerConfig.tiny())
    video = torch.rand(4, 3, 9, 32, 32, generator=generator) * 2 - 1

    def train_step():
        out = model(video)
        (
            (out.reconstruction - video).square().mean() + out.quantizer.aux_loss
        ).backward()

    print(f"tiny tokenizer step, batch 4 x 9 x 32 x 32: {timed(train_step):.3f} s")
    tokens = np.random.default_rng(0).integers(0, 1024, size=(3, 8, 8))
    stream = encode_tokens(tokens, 10)
    encode = timed(lambda: encode_tokens(tokens, 10))
    decode = timed(lambda: decode_tokens(stream))
    print(f"range coder, 192 tokens: encode {encode:.4f} s, decode {decode:.4f} s")


if __name__ == "__main__":
    main()
