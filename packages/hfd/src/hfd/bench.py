"""``python -m hfd.bench``: speed and memory of both decoders on a 512x512 photo.

Reports, as a Markdown table:

- stage 1 (the MSE codec of the paper's first stage): milliseconds and megapixels
  per second to **encode** an image to ``.hfd`` bytes (``g_a``, ``h_a``, ``h_s`` and
  range coding), to **decode** the bytes (range decoding, ``h_s``, ``g_s``), and for
  the plain forward pass without coding; and the real bits per pixel of the file;
- stage 2 (the score decoder, §3 of the paper): milliseconds per **sampler step**
  for a whole 512x512 image decoded as 64 patches of 64x64 in groups of 8: a
  ``--steps``-step decode divided by the step count (tiling and the per-patch
  noise cost well under 1 % of a U-Net pass), for the diffusion (DDIM) and the
  rectified-flow (Euler) samplers;
- the process's **peak resident memory** after each part (``ru_maxrss``, which
  includes the Python interpreter and torch themselves; the baseline before any
  model ran is printed too).

Times are the median over ``--rounds`` rounds after a warm-up, so another process
on a shared machine disturbs them less. Without ``--model`` the networks have the
architecture of ``configs/rate-low.toml`` with seeded random weights (speed does not
depend on training; the bits per pixel do). The photo is scikit-image's astronaut
(512x512, bundled, no download).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import torch

from hfd import codec
from hfd.autoencoder.model import Stage1Autoencoder, Stage1Config
from hfd.diffusion.decoder import KINDS, DecoderConfig, ScoreDecoder
from hfd.diffusion.patches import decode_patches
from hfd.training.data import load_photo, to_tensor

SIDE = 512


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def median_seconds(work: Callable[[], object], rounds: int) -> float:
    """Median wall time of ``work`` over ``rounds`` runs after one warm-up."""
    work()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def load_models(model: Path | None) -> tuple[Stage1Autoencoder, list[ScoreDecoder]]:
    """Trained models from a run folder, or seeded random ones of the same size."""
    if model is not None:
        from hfd.training.trainer import load_stage1, load_stage2

        stage1 = load_stage1(model)
        decoders = []
        if (Path(model) / "stage2" / "model.safetensors").exists():
            decoders.append(load_stage2(model))
        # Sampling cost per step is the U-Net's; time both samplers with its size.
        have = {d.config.kind for d in decoders}
        base = decoders[0].config if decoders else DecoderConfig()
        for kind in KINDS:
            if kind not in have:
                torch.manual_seed(0)
                config = DecoderConfig(kind, base.channels, base.shift)
                decoders.append(ScoreDecoder(config).eval())
        return stage1, decoders
    torch.manual_seed(0)
    stage1 = Stage1Autoencoder(Stage1Config(N=32, M=48, slices=0))
    stage1.update()
    stage1.eval()
    decoders = [ScoreDecoder(DecoderConfig(kind, (32, 64))).eval() for kind in KINDS]
    return stage1, decoders


def run(model: Path | None, rounds: int, steps: int, threads: int) -> dict:
    torch.set_num_threads(threads)
    x = to_tensor(load_photo("astronaut")[:SIDE, :SIDE])
    baseline = peak_rss_mib()
    stage1, decoders = load_models(model)
    megapixels = SIDE * SIDE / 1e6

    files = codec.compress(stage1, x)
    rows = []
    for name, work in (
        ("stage 1 encode (to .hfd bytes)", lambda: codec.compress(stage1, x)),
        (
            "stage 1 decode (from .hfd bytes)",
            lambda: codec.decompress(stage1, files[0]),
        ),
        ("stage 1 forward pass, no coding", lambda: codec.reconstruct(stage1, x)),
    ):
        seconds = median_seconds(work, rounds)
        rows.append(
            {
                "part": name,
                "ms": seconds * 1e3,
                "mp_per_s": megapixels / seconds,
                "peak_rss_mib": peak_rss_mib(),
            }
        )
    x_rec = codec.decompress(stage1, files[0])
    for decoder in decoders:

        def decode(decoder: ScoreDecoder = decoder) -> None:
            decode_patches(decoder, x_rec, steps=steps, seed=0, patch=64, group=8)

        # Warm up on one group only: a whole image per warm-up would double the
        # bench's time, and the kernels are the same.
        decode_patches(decoder, x_rec[..., :64, :512], steps=1, seed=0)
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            decode()
            samples.append(time.perf_counter() - start)
        total = statistics.median(samples)
        rows.append(
            {
                "part": f"stage 2 {decoder.config.kind}, per sampler step",
                "ms": total / steps * 1e3,
                "mp_per_s": megapixels * steps / total,
                "peak_rss_mib": peak_rss_mib(),
                "total_ms": total * 1e3,
            }
        )
    return {
        "image": f"astronaut {SIDE}x{SIDE}",
        "model": str(model) if model else "random weights (rate-low architecture)",
        "bpp": 8 * len(files[0]) / (SIDE * SIDE),
        "steps": steps,
        "threads": threads,
        "rounds": rounds,
        "baseline_rss_mib": baseline,
        "rows": rows,
    }


def table(result: dict) -> str:
    lines = [
        "| part | ms (median) | megapixels/s | peak RSS so far (MiB) |",
        "|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['part']} | {r['ms']:.1f} | {r['mp_per_s']:.3f} "
            f"| {r['peak_rss_mib']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hfd.bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "-m", "--model", type=Path, help="run folder (default: random weights)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds [3]")
    parser.add_argument(
        "--steps", type=int, default=2, help="sampler steps per stage-2 decode [2]"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads [1]")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write JSON")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    if args.model is not None and not (args.model / "stage1").is_dir():
        parser.error(
            f"--model {args.model} has no stage1/ folder; pass a run folder made by "
            "`hfd train`"
        )
    result = run(args.model, args.rounds, args.steps, args.threads)
    print(
        f"hfd bench: {result['image']}, model: {result['model']}, "
        f"{result['bpp']:.3f} bpp; torch {torch.__version__}, {args.threads} "
        f"thread(s), {platform.machine()}, {date.today()}; median of {args.rounds} "
        f"rounds; stage 2 decodes with {args.steps} sampler steps; "
        f"peak RSS before any model ran: {result['baseline_rss_mib']:.0f} MiB\n"
    )
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
