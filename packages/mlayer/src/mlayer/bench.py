"""``python -m mlayer.bench``: the matrix exponential's forward and backward pass,
ours (``expm``: Taylor, scaling and squaring, autograd through its products)
against autograd through :func:`torch.linalg.matrix_exp`, in time and accuracy.

For each case (batch, n, 1-norm of the matrices) it reports:

- milliseconds for the forward pass alone and for forward plus backward (the
  median over rounds of the mean over repeats, so that another process on the
  machine disturbs it less);
- the relative error of exp(M) and of the gradient ``L(M^T, G)`` in float32,
  against SciPy's float64 ``expm`` and ``expm_frechet`` (the median and the worst
  over the batch).

The cases are the paper's layer sizes: n = 6 (periodic), 9 (determinant), 10
(spiral), 30 (images, batch 32, and a batch of 256 as in evaluation). Results print
as a Markdown table; ``--json FILE`` keeps them.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import date

import numpy as np
import scipy.linalg
import torch

from mlayer.expm import expm, expm_squaring

CASES = [
    (128, 6, 2.0),
    (32, 9, 3.0),
    (16, 10, 5.0),
    (32, 30, 1.0),
    (32, 30, 8.0),
    (32, 30, 30.0),
    (256, 30, 8.0),
]
METHODS = {
    "ours": expm,
    "torch": torch.linalg.matrix_exp,
    "squaring-3": lambda M: expm_squaring(M, 3),
}


def matrices(batch: int, n: int, norm: float, seed: int = 0) -> torch.Tensor:
    """Gaussian matrices rescaled to 1-norms spread over [norm / 2, norm]."""
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(batch, n, n, generator=g, dtype=torch.float64)
    target = norm * (0.5 + 0.5 * torch.rand(batch, generator=g, dtype=torch.float64))
    return A * (target / A.abs().sum(-2).amax(-1))[:, None, None]


def timing(fn, M: torch.Tensor, G: torch.Tensor, rounds: int, repeats: int):
    """(forward ms, forward+backward ms)."""

    def forward():
        with torch.no_grad():
            fn(M)

    def both():
        A = M.detach().requires_grad_(True)
        fn(A).backward(G)

    results = []
    for work in (forward, both):
        work()  # warm up
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(repeats):
                work()
            samples.append((time.perf_counter() - start) / repeats * 1e3)
        results.append(statistics.median(samples))
    return results


def accuracy(fn, M64: torch.Tensor, G64: torch.Tensor) -> tuple[float, ...]:
    """Median and worst relative errors of exp(M) and of its gradient, float32."""
    A = M64.float().requires_grad_(True)
    E = fn(A)
    E.backward(G64.float())
    forward, backward = [], []
    for a, g, e, grad in zip(M64.numpy(), G64.numpy(), E.detach(), A.grad, strict=True):
        # The reference works on the rounded input, as the float32 methods do.
        a = a.astype(np.float32).astype(np.float64)
        g = g.astype(np.float32).astype(np.float64)
        ref_e = scipy.linalg.expm(a)
        ref_g = scipy.linalg.expm_frechet(a.T, g, compute_expm=False)
        forward.append(
            np.linalg.norm(e.double().numpy() - ref_e) / np.linalg.norm(ref_e)
        )
        backward.append(
            np.linalg.norm(grad.double().numpy() - ref_g) / np.linalg.norm(ref_g)
        )
    return (
        float(np.median(forward)),
        float(np.max(forward)),
        float(np.median(backward)),
        float(np.max(backward)),
    )


def run(rounds: int, threads: int) -> list[dict]:
    torch.set_num_threads(threads)
    rows = []
    for batch, n, norm in CASES:
        M64 = matrices(batch, n, norm)
        G64 = matrices(batch, n, 1.0, seed=1)
        M, G = M64.float(), G64.float()
        repeats = max(1, 2000 // (batch * n))
        for name, fn in METHODS.items():
            fwd, both = timing(fn, M, G, rounds, repeats)
            errors = accuracy(fn, M64, G64)
            rows.append(
                {
                    "batch": batch,
                    "n": n,
                    "norm": norm,
                    "method": name,
                    "forward_ms": fwd,
                    "forward_backward_ms": both,
                    "expm_error_median": errors[0],
                    "expm_error_max": errors[1],
                    "grad_error_median": errors[2],
                    "grad_error_max": errors[3],
                }
            )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| batch x n x n | 1-norm | method | forward ms | fwd+bwd ms | exp rel. "
        "error (median / max) | gradient rel. error (median / max) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['batch']} x {r['n']} x {r['n']} | {r['norm'] / 2:g}-{r['norm']:g} "
            f"| {r['method']} | {r['forward_ms']:.3f} | {r['forward_backward_ms']:.3f} "
            f"| {r['expm_error_median']:.1e} / {r['expm_error_max']:.1e} "
            f"| {r['grad_error_median']:.1e} / {r['grad_error_max']:.1e} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlayer.bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds [7]")
    parser.add_argument("--threads", type=int, default=1, help="torch threads [1]")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    rows = run(args.rounds, args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), float32, "
        f"{platform.machine()}, {date.today()}\n"
    )
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
