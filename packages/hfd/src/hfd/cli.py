"""Command line: ``hfd train | compress | decompress | eval``."""

import argparse
import os
import sys
from pathlib import Path

import torch

from hfd.fileformat import HfdFileError


def _progress_bar():
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[metrics]}"),
    )


def cmd_train(args: argparse.Namespace) -> int:
    from hfd.training.config import load_config
    from hfd.training.trainer import prepare_run, train_stage1, train_stage2

    config = load_config(args.config)
    stages = {"1": ["1"], "2": ["2"], "all": ["1", "2"]}[args.stage]
    stage1_weights = args.out / "stage1" / "model.safetensors"
    if stages == ["2"] and (args.force or not stage1_weights.is_file()):
        raise ValueError(
            f"--stage 2 needs stage 1's weights {stage1_weights}, which "
            + ("--force would delete" if args.force else "do not exist")
            + "; train stage 1 first (--stage 1 or all)"
        )
    prepare_run(args.out, args.config, resume=args.resume, force=args.force)
    with _progress_bar() as bar:
        for stage in stages:
            task = bar.add_task(f"stage {stage}", total=None, metrics="")

            def progress(step, total, metrics, task=task):
                shown = " ".join(f"{k}={v:.4g}" for k, v in metrics.items())
                bar.update(task, completed=step, total=total, metrics=shown)

            train = train_stage1 if stage == "1" else train_stage2
            train(config, args.out, progress=progress)
    print(f"trained {args.out}")
    return 0


def _check_out_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {folder} does not exist; create it first")


def cmd_compress(args: argparse.Namespace) -> int:
    from hfd import codec
    from hfd.evaluation.report import load_image
    from hfd.training.checkpoint import atomic_write_bytes
    from hfd.training.trainer import load_stage1

    if len(args.images) > 1:
        _check_out_folder(args.out)
        targets = [args.out / (Path(i).stem + ".hfd") for i in args.images]
    else:
        _check_out_folder(args.out.parent)
        targets = [args.out]
    model = load_stage1(args.model)
    for image, target in zip(args.images, targets, strict=True):
        if target.exists() and not args.force:
            raise FileExistsError(f"{target} exists; pass --force to overwrite it")
        x = load_image(image)
        data = codec.compress(model, x)[0]
        atomic_write_bytes(target, data)
        bpp = 8 * len(data) / (x.shape[-1] * x.shape[-2])
        print(f"{image} -> {target}: {len(data)} bytes, {bpp:.4f} bpp")
    return 0


def cmd_decompress(args: argparse.Namespace) -> int:
    from hfd import codec
    from hfd.diffusion.patches import decode_patches
    from hfd.evaluation.report import image_format, save_image
    from hfd.training.trainer import load_stage1, load_stage2

    if args.out.exists() and not args.force:
        raise FileExistsError(f"{args.out} exists; pass --force to overwrite it")
    if not args.file.is_file():
        raise FileNotFoundError(f"{args.file} not found; pass an .hfd file")
    _check_out_folder(args.out.parent)
    image_format(args.out)  # refuse an unknown extension before decoding
    model = load_stage1(args.model)
    x = codec.decompress(model, args.file.read_bytes())
    if args.decoder == "score":
        decoder = load_stage2(args.model)
        x = decode_patches(
            decoder, x, args.steps, args.seed, patch=args.patch, group=args.group
        )
    save_image(x, args.out)
    print(f"{args.file} -> {args.out} ({args.decoder} decoder)")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from hfd.evaluation.features import RandomFeatureNetwork, TorchScriptFeatures
    from hfd.evaluation.report import evaluate_folder

    if args.out.exists() and any(args.out.iterdir()) and not args.force:
        raise FileExistsError(f"{args.out} exists; pass --force to overwrite it")
    features = (
        TorchScriptFeatures(args.inception)
        if args.inception
        else RandomFeatureNetwork()
    )
    with _progress_bar() as bar:
        task = bar.add_task("eval", total=None, metrics="")
        result = evaluate_folder(
            args.folder,
            args.model,
            args.out,
            features,
            steps=args.steps,
            patch=args.patch,
            group=args.group,
            fd_patch=args.fd_patch,
            seed=args.seed,
            progress=lambda s: bar.update(task, description=s),
        )
    print(f"{'run':<16}{'decoder':<16}{'bpp':>8}{'PSNR':>8}{'MS-SSIM':>9}  FD")
    for r in result["rows"]:
        print(
            f"{r['run']:<16}{r['decoder']:<16}{r['bpp']:8.4f}{r['psnr']:8.2f}"
            f"{r['ms_ssim']:9.4f}  {r['fd']:.4g}"
        )
    print(f"FD is {result['fd_label']}; plots and results.json in {args.out}")
    if any(r["ms_ssim"] != r["ms_ssim"] for r in result["rows"]):
        print(f"MS-SSIM nan (null in results.json): {result['notes']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(prog="hfd", description=__doc__)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (the CPU is shared)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "train", help="train a rate point (both stages)", formatter_class=fmt
    )
    p.add_argument("config", type=Path, help="TOML config of the rate point")
    p.add_argument("-o", "--out", type=Path, required=True, help="run folder")
    p.add_argument("--stage", choices=["1", "2", "all"], default="all")
    p.add_argument("--resume", action="store_true", help="continue a killed run")
    p.add_argument("--force", action="store_true", help="overwrite the run folder")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("compress", help="image(s) to .hfd file(s)", formatter_class=fmt)
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument(
        "-o", "--out", type=Path, required=True, help="file (or folder for several)"
    )
    p.add_argument("-m", "--model", type=Path, required=True, help="run folder")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("decompress", help=".hfd file to an image", formatter_class=fmt)
    p.add_argument("file", type=Path)
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        required=True,
        help="image to write, in the format its extension names (.png, .jpg, ...)",
    )
    p.add_argument("-m", "--model", type=Path, required=True, help="run folder")
    p.add_argument(
        "--decoder",
        choices=["mse", "score"],
        default="mse",
        help="stage 1's MSE reconstruction or stage 2's score decoder",
    )
    _sampling_options(p)
    p.add_argument("--force", action="store_true", help="overwrite the PNG")
    p.set_defaults(func=cmd_decompress)

    p = sub.add_parser(
        "eval", help="rate-distortion-realism of a folder", formatter_class=fmt
    )
    p.add_argument("folder", type=Path, help="folder of images")
    p.add_argument(
        "-m", "--model", type=Path, nargs="+", required=True, help="run folder(s)"
    )
    p.add_argument("-o", "--out", type=Path, required=True, help="results folder")
    p.add_argument(
        "--inception",
        type=Path,
        default=os.environ.get("HFD_INCEPTION"),
        help="TorchScript Inception file for FID (else a random CNN, labelled so)",
    )
    p.add_argument("--fd-patch", type=int, default=256, help="FID patch size")
    _sampling_options(p)
    p.add_argument("--force", action="store_true", help="overwrite the results")
    p.set_defaults(func=cmd_eval)
    return parser


def _sampling_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, default=8, help="sampling steps")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler's noise")
    p.add_argument("--patch", type=int, default=64, help="patch side for decoding")
    p.add_argument("--group", type=int, default=8, help="patches sampled together")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads < 1:
        print(
            f"hfd: error: --threads {args.threads} must be at least 1 "
            "(1 is the default on shared machines)",
            file=sys.stderr,
        )
        return 2
    torch.set_num_threads(args.threads)
    try:
        return args.func(args)
    except (HfdFileError, ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"hfd: error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"hfd: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
