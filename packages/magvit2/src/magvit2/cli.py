"""`magvit2` command line: train, evaluate, tokenize, detokenize, compress,
train-transformer, generate.

Every command is `main([...])`-callable for tests. Pixels on disk are 8-bit RGB;
inside they are floats in [-1, 1].
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


def _progress():
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
    )


def _check_count(flag: str, value: int) -> None:
    if value < 0:
        raise ValueError(
            f"{flag} {value}; expected 0 (the default) or a positive count"
        )


# -- train ------------------------------------------------------------------------
def cmd_train(args) -> int:
    from magvit2.training import CHECKPOINT, Trainer, load_config

    out = Path(args.out)
    if args.force and args.resume:
        raise ValueError(
            "--force (wipe the run folder) and --resume (continue it) contradict; "
            "pass one of them"
        )
    _check_count("--steps", args.steps)
    _check_count("--threads", args.threads)
    # everything that can fail on the settings fails here, before the folder exists
    config = load_config(args.config)
    torch.set_num_threads(args.threads or config.train.threads)
    trainer = Trainer(config, out)
    trainer.batch(0)
    has_checkpoint = (out / CHECKPOINT).exists()
    # a folder with config.json but no checkpoint is a run killed before its first
    # checkpoint: it restarts from step 0
    is_run = has_checkpoint or (out / "config.json").exists()
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; pass a folder name")
    if is_run and args.force:
        shutil.rmtree(out)
        has_checkpoint = False
    elif has_checkpoint and not args.resume:
        raise ValueError(
            f"run folder {out} already has a checkpoint; pass --resume to "
            "continue it or --force to start over"
        )
    elif is_run and not has_checkpoint and not args.resume:
        raise ValueError(
            f"run folder {out} has no checkpoint yet (stopped before its first "
            "one); pass --resume to start it again from step 0 or --force to wipe it"
        )
    elif not is_run and out.exists() and any(out.iterdir()) and not args.force:
        raise ValueError(
            f"{out} exists and is not a magvit2 run; pick another --out or pass --force"
        )
    until = args.steps or config.train.steps
    if has_checkpoint:
        trainer.load()
        if trainer.step > until:
            raise ValueError(
                f"run {out} is at step {trainer.step}, already past --steps "
                f"{until}; pass a larger --steps"
            )
        print(f"resuming {out} from step {trainer.step}")
    elif is_run:
        print(f"{out} has no checkpoint yet; starting from step 0")
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "config.json.tmp"
    tmp.write_text(json.dumps(config.to_dict(), indent=2))
    os.replace(tmp, out / "config.json")
    with _progress() as progress:
        task = progress.add_task("train", total=until, completed=trainer.step, info="")

        def on_step(step, metrics):
            info = (
                f"loss {metrics['loss']:.3f} psnr {metrics['psnr']:.2f} "
                f"codes {metrics['codes_used']}"
            )
            progress.update(task, completed=step, info=info)

        trainer.run(until, on_step)
    print(f"checkpoint: {out / CHECKPOINT} (step {trainer.step})")
    return 0


# -- evaluate ---------------------------------------------------------------------
def evaluation_sets(frames: int, size: int, clips: int, seed: int) -> dict:
    """Held-out clips: unseen digits, pans over the unseen coffee photo, and, where
    Debian's opencv-doc is installed, real street video (vtest.avi, never trained
    on)."""
    from magvit2.data import VTEST_PATH, make_batch, vtest_clips

    sets = {}
    for name, source in (("digits", "moving_digits"), ("photos", "photo_pans")):
        rng = np.random.default_rng([seed, len(sets)])
        batch = make_batch(source, rng, clips, frames, size, "heldout")
        sets[name] = torch.from_numpy(batch)
    if VTEST_PATH.exists():
        try:
            street = vtest_clips(frames, size, clips).astype(np.float32)
        except ImportError:  # no video reader installed: skip the real clips
            street = None
        if street is not None:
            sets["street"] = torch.from_numpy(np.ascontiguousarray(street))
    return sets


def evaluate_checkpoint(path, frames=9, size=32, clips=8, seed=1) -> dict:
    from magvit2.compression import evaluate
    from magvit2.training import load_tokenizer

    model = load_tokenizer(path)
    results = {}
    for name, batch in evaluation_sets(frames, size, clips, seed).items():
        rows = [evaluate(model, clip) for clip in batch]
        indices = model.tokenize(batch)
        results[name] = {
            "psnr": float(np.mean([r["psnr"] for r in rows])),
            "ms_ssim": float(np.mean([r["ms_ssim"] for r in rows])),
            "ms_ssim_setting": rows[0]["ms_ssim_setting"],
            "bpp": float(np.mean([r["bpp"] for r in rows])),
            "raw_token_bpp": rows[0]["raw_token_bpp"],
            "brotli_bpp": float(np.mean([r["brotli_bpp"] for r in rows])),
            "codes_used": int(indices.unique().numel()),
            "tokens": int(indices.numel()),
            "vocab_size": 2**model.config.num_bits,
        }
    return results


def cmd_evaluate(args) -> int:
    results = evaluate_checkpoint(
        args.checkpoint, args.frames, args.size, args.clips, args.seed
    )
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for name, row in results.items():
        print(
            f"{name:7s} PSNR {row['psnr']:.2f} dB  MS-SSIM {row['ms_ssim']:.4f} "
            f"({row['ms_ssim_setting']})  bpp {row['bpp']:.4f} "
            f"(raw {row['raw_token_bpp']:.4f}, brotli {row['brotli_bpp']:.4f})  "
            f"codes used {row['codes_used']}/{row['vocab_size']} "
            f"in {row['tokens']} tokens"
        )
    return 0


# -- tokenize / detokenize / compress --------------------------------------------
def read_input(path: Path, frames: int | None, size: int | None) -> torch.Tensor:
    """An image, a folder of frames, a video file or a .npy (T, H, W, 3) uint8 array
    -> (3, T, H, W) in [-1, 1]; cropped so the sides divide by the model's factor."""
    from magvit2.data.folder import read_image, read_video, to_square

    _check_count("--frames", frames or 0)
    _check_count("--size", size or 0)
    if not path.exists():
        raise ValueError(f"input {path} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"folder {path} has no {sorted(IMAGE_SUFFIXES)} files")
        images = [read_image(p) for p in files]
        if len({image.shape for image in images}) > 1:
            raise ValueError(f"the frames in {path} differ in size; expected one size")
        raw = np.stack(images)
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        raw = read_image(path)[None]
    elif path.suffix.lower() == ".npy":
        try:
            raw = np.load(path)
        except (OSError, EOFError, ValueError) as error:
            raise ValueError(
                f"{path} is not a readable .npy array ({error})"
            ) from error
    else:
        raw = read_video(path, frames)
    if raw.ndim != 4 or raw.shape[-1] != 3 or raw.dtype != np.uint8:
        raise ValueError(
            f"{path} gives frames of shape {raw.shape} {raw.dtype}; expected "
            "(T, H, W, 3) uint8"
        )
    if frames:
        raw = raw[:frames]
    if size:
        video = np.stack([to_square(f, size) for f in raw])
    else:
        video = raw.astype(np.float32) / 127.5 - 1
    return torch.from_numpy(video).permute(3, 0, 1, 2).contiguous()


def fit_to_model(video: torch.Tensor, model) -> torch.Tensor:
    """Crop (3, T, H, W) to 1 + k * t_factor frames and sides dividing s_factor."""
    cfg = model.config
    t = 1 + (video.shape[1] - 1) // cfg.temporal_factor * cfg.temporal_factor
    h = video.shape[2] // cfg.spatial_factor * cfg.spatial_factor
    w = video.shape[3] // cfg.spatial_factor * cfg.spatial_factor
    if h == 0 or w == 0:
        raise ValueError(
            f"frames of {video.shape[2]}x{video.shape[3]} are smaller than the "
            f"model's factor {cfg.spatial_factor}; pass --size {4 * cfg.spatial_factor}"
            " (or larger) to resize them"
        )
    return video[:, :t, :h, :w]


def check_output(path: Path, force: bool) -> None:
    """Refuse, before any work, an output that exists (without --force), whose
    folder is missing, or whose name is not .npy, .png or an extension-less folder."""
    if path.exists() and not force:
        raise ValueError(f"{path} exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise ValueError(
            f"folder {path.parent} of output {path.name} does not exist; create it "
            "first"
        )
    if path.suffix and path.suffix.lower() not in (".npy", ".png"):
        raise ValueError(
            f"output {path} ends in {path.suffix!r}; expected .png (one frame), .npy "
            "or a folder name without an extension (one PNG per frame)"
        )


def write_output(path: Path, video: torch.Tensor) -> None:
    """(3, T, H, W) in [-1, 1] -> .npy (T, H, W, 3) uint8, a .png (T = 1), or a
    folder of PNG frames. Files are written atomically."""
    from PIL import Image

    frames = ((video.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 3, 0)
    frames = frames.numpy()
    if path.suffix.lower() == ".png" and len(frames) > 1:
        raise ValueError(
            f"{len(frames)} frames do not fit in one .png ({path}); pass a .npy or "
            "a folder name without an extension"
        )
    if path.suffix.lower() == ".npy":
        tmp = path.with_name(path.name + ".tmp.npy")
        np.save(tmp, frames)
        os.replace(tmp, path)
    elif path.suffix.lower() == ".png":
        tmp = path.with_name(path.name + ".tmp.png")
        Image.fromarray(frames[0]).save(tmp)
        os.replace(tmp, path)
    else:
        path.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(frames):
            tmp = path / f"{i:05d}.tmp.png"
            Image.fromarray(frame).save(tmp)
            os.replace(tmp, path / f"{i:05d}.png")


def _write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _refuse_overwrite(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise ValueError(f"{path} exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise ValueError(
            f"folder {path.parent} of output {path.name} does not exist; create it "
            "first"
        )


def cmd_tokenize(args) -> int:
    from magvit2.compression import compress
    from magvit2.training import load_tokenizer

    output = Path(args.output)
    _refuse_overwrite(output, args.force)
    model = load_tokenizer(args.checkpoint)
    video = fit_to_model(read_input(Path(args.input), args.frames, args.size), model)
    stream = compress(model, video)
    _write_bytes(output, stream)
    _, t, h, w = video.shape
    bpp = 8 * len(stream) / (t * h * w)
    print(f"{t}x{h}x{w} -> {output} ({len(stream)} bytes, {bpp:.4f} bpp)")
    return 0


def cmd_detokenize(args) -> int:
    from magvit2.compression import DamagedStreamError, decompress
    from magvit2.training import load_tokenizer

    output, source = Path(args.output), Path(args.input)
    check_output(output, args.force)
    if not source.is_file():
        raise ValueError(f"token file {source} does not exist")
    model = load_tokenizer(args.checkpoint)
    try:
        video = decompress(model, source.read_bytes())
    except DamagedStreamError as error:
        raise ValueError(f"{source} is truncated/damaged: {error}") from error
    write_output(output, video)
    print(f"{output}: {video.shape[1]} frame(s) of {video.shape[2]}x{video.shape[3]}")
    return 0


def cmd_compress(args) -> int:
    from magvit2.compression import evaluate
    from magvit2.training import load_tokenizer

    model = load_tokenizer(args.checkpoint)
    video = fit_to_model(read_input(Path(args.input), args.frames, args.size), model)
    row = evaluate(model, video)
    row.pop("reconstruction")
    print(json.dumps(row, indent=2))
    return 0


# -- transformer ------------------------------------------------------------------
def cmd_train_transformer(args) -> int:
    from magvit2.training import load_tokenizer, save_checkpoint
    from magvit2.transformer import (
        MaskGITConfig,
        masked_bits_per_token,
        tokenize_clips,
        train_maskgit,
    )

    output = Path(args.output)
    _refuse_overwrite(output, args.force)
    for flag in ("clips", "frames", "size", "steps", "width", "depth", "threads"):
        if getattr(args, flag) < 1:
            raise ValueError(
                f"--{flag} {getattr(args, flag)}; expected a positive integer"
            )
    torch.set_num_threads(args.threads)
    tokenizer = load_tokenizer(args.checkpoint)
    train_tokens = tokenize_clips(
        tokenizer, args.source, args.clips, args.frames, args.size, "train", args.seed
    )
    heldout = tokenize_clips(
        tokenizer, args.source, 64, args.frames, args.size, "heldout", args.seed + 1
    )
    config = MaskGITConfig(
        num_bits=tokenizer.config.num_bits,
        low_bits=tokenizer.config.num_bits // 2,
        num_tokens=int(np.prod(train_tokens.shape[1:])),
        width=args.width,
        depth=args.depth,
    )
    with _progress() as progress:
        task = progress.add_task("maskgit", total=args.steps, info="")

        def on_step(step, loss):
            progress.update(task, completed=step, info=f"loss {loss:.3f}")

        model = train_maskgit(
            train_tokens, config, args.steps, args.seed, on_step=on_step
        )
    bits = masked_bits_per_token(model, heldout)
    tensors = {f"maskgit.{k}": v for k, v in model.state_dict().items()}
    metadata = {
        "config": {"maskgit": config.to_dict()},
        "grid": list(train_tokens.shape[1:]),
        "heldout_bits_per_masked_token": bits,
    }
    save_checkpoint(output, tensors, metadata)
    print(
        f"{output}: held-out cross-entropy {bits:.3f} bits per masked token "
        f"(uniform: {config.num_bits} bits)"
    )
    return 0


def cmd_generate(args) -> int:
    from magvit2.training import load_checkpoint, load_tokenizer
    from magvit2.transformer import MaskGIT, MaskGITConfig

    output = Path(args.output)
    check_output(output, args.force)
    for flag in ("count", "steps"):
        if getattr(args, flag) < 1:
            raise ValueError(
                f"--{flag} {getattr(args, flag)}; expected a positive integer"
            )
    tokenizer = load_tokenizer(args.checkpoint)
    tensors, metadata = load_checkpoint(args.transformer)
    if "maskgit" not in metadata.get("config", {}):
        raise ValueError(
            f"{args.transformer} is not a MaskGIT checkpoint; pass the file written "
            "by `magvit2 train-transformer`"
        )
    model = MaskGIT(MaskGITConfig(**metadata["config"]["maskgit"]))
    model.load_state_dict(
        {
            k[len("maskgit.") :]: v
            for k, v in tensors.items()
            if k.startswith("maskgit.")
        }
    )
    model.eval()
    generator = torch.Generator().manual_seed(args.seed)
    tokens = model.generate(args.count, generator, steps=args.steps)
    grid = tokens.reshape(args.count, *metadata["grid"])
    videos = tokenizer.detokenize(grid)
    # clips side by side in one video: (3, T, H, count * W)
    write_output(output, torch.cat(list(videos), dim=-1))
    print(f"{output}: {args.count} generated clip(s)")
    return 0


# -- parser -----------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(prog="magvit2", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "train", help="train a tokenizer from a TOML config", formatter_class=fmt
    )
    p.add_argument("config", help="TOML file with [model] [data] [loss] [train]")
    p.add_argument("--out", "-o", required=True, help="run folder")
    p.add_argument("--resume", action="store_true", help="continue a run folder")
    p.add_argument("--force", action="store_true", help="wipe the run folder first")
    p.add_argument(
        "--steps", type=int, default=0, help="train until this step (0: config)"
    )
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: config)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "evaluate",
        help="held-out PSNR, MS-SSIM, bpp, codebook usage",
        formatter_class=fmt,
    )
    p.add_argument("--checkpoint", "-c", required=True)
    p.add_argument("--frames", type=int, default=9)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--clips", type=int, default=8, help="clips per held-out set")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_evaluate)

    for name, func, text in (
        ("tokenize", cmd_tokenize, "image or video -> token bitstream file"),
        ("compress", cmd_compress, "report bpp, PSNR, MS-SSIM for an image or video"),
    ):
        p = sub.add_parser(name, help=text, formatter_class=fmt)
        p.add_argument("--checkpoint", "-c", required=True)
        p.add_argument("input", help="image, folder of frames, video file or .npy")
        if name == "tokenize":
            p.add_argument("output", help="token file to write")
            p.add_argument("--force", action="store_true", help="overwrite output")
        p.add_argument(
            "--frames", type=int, default=0, help="keep this many frames (0: all)"
        )
        p.add_argument(
            "--size",
            type=int,
            default=0,
            help="centre-crop and resize to a square (0: keep)",
        )
        p.set_defaults(func=func)

    p = sub.add_parser(
        "detokenize", help="token bitstream file -> frames", formatter_class=fmt
    )
    p.add_argument("--checkpoint", "-c", required=True)
    p.add_argument("input", help="token file from `magvit2 tokenize`")
    p.add_argument(
        "output",
        help=".png (one frame), .npy, or a folder name without extension (PNG frames)",
    )
    p.add_argument("--force", action="store_true", help="overwrite output")
    p.set_defaults(func=cmd_detokenize)

    p = sub.add_parser(
        "train-transformer", help="fit a small MaskGIT on tokens", formatter_class=fmt
    )
    p.add_argument("--checkpoint", "-c", required=True, help="tokenizer checkpoint")
    p.add_argument("output", help="transformer .safetensors to write")
    p.add_argument("--source", default="moving_digits")
    p.add_argument("--clips", type=int, default=512)
    p.add_argument("--frames", type=int, default=9)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--force", action="store_true", help="overwrite output")
    p.set_defaults(func=cmd_train_transformer)

    p = sub.add_parser(
        "generate", help="sample clips with a trained MaskGIT", formatter_class=fmt
    )
    p.add_argument("--checkpoint", "-c", required=True, help="tokenizer checkpoint")
    p.add_argument("--transformer", "-t", required=True)
    p.add_argument("output", help=".npy or a folder for PNG frames")
    p.add_argument("--count", type=int, default=4)
    p.add_argument("--steps", type=int, default=8, help="decoding steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="overwrite output")
    p.set_defaults(func=cmd_generate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
