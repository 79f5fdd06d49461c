"""``hfd eval``: compress a folder with each rate point, decode with the MSE
decoder and the score decoder, and report real bpp, PSNR, MS-SSIM and a Fréchet
distance, with rate-distortion and rate-realism plots."""

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from hfd import codec
from hfd.diffusion.patches import decode_patches
from hfd.evaluation.features import extract_features, patches
from hfd.evaluation.frechet import frechet_distance_features
from hfd.evaluation.metrics import MS_SSIM_MIN_SIDE, bits_per_pixel, ms_ssim, psnr
from hfd.training.checkpoint import atomic_write_bytes
from hfd.training.trainer import load_stage1, load_stage2

# Two stride-2 3x3 convolutions must leave at least 2x2 values for a std.
MIN_FD_PATCH = 16
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".ppm", ".bmp", ".tif", ".tiff")


def load_image(path: Path) -> torch.Tensor:
    """An image file as (1, 3, H, W) in [0, 1].

    8-bit RGB is used as is; greyscale is copied to the three channels; 16-bit
    greyscale (PIL modes ``I;16*`` and ``I``, as 16-bit PNGs open) keeps its top
    8 bits (``>> 8``); an alpha channel (RGBA, LA, palettes with transparency) is
    dropped, not composited; palettes are expanded. Other modes are refused.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {path} not found; pass an image file")
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode.startswith("I;16") or mode == "I":
                grey = np.asarray(image).astype(np.int64)
                if grey.min() < 0 or grey.max() > 65535:
                    raise ValueError(
                        f"image {path} has {mode} values outside 0..65535; "
                        "save it as 8- or 16-bit PNG"
                    )
                array = np.repeat((grey >> 8).astype(np.uint8)[..., None], 3, axis=2)
            elif mode in ("RGB", "RGBA", "RGBX", "L", "LA", "P", "PA", "1", "CMYK"):
                array = np.asarray(image.convert("RGB"))
            else:
                raise ValueError(
                    f"image {path} has PIL mode {mode!r}; expected 8-bit grey/RGB(A) "
                    "or 16-bit grey: convert it to an 8-bit PNG"
                )
    except (OSError, SyntaxError, Image.DecompressionBombError) as error:
        # UnidentifiedImageError and truncated-data errors are OSErrors.
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(
            f"image {path} cannot be read ({reason}); pass a complete PNG/JPEG file"
        ) from None
    return torch.from_numpy(array.copy()).permute(2, 0, 1)[None].float() / 255


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return (x[0].permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy()


def image_format(path: Path) -> str:
    """PIL's format for ``path``'s extension (``.png``, ``.jpg``, ...)."""
    suffix = Path(path).suffix.lower()
    formats = Image.registered_extensions()
    if suffix not in formats or formats[suffix] not in Image.SAVE:
        raise ValueError(
            f"cannot tell an image format from {Path(path).name!r}; end the output "
            "name with .png (lossless) or another image extension such as .jpg"
        )
    return formats[suffix]


def save_image(x: torch.Tensor, path: Path) -> None:
    """``x`` in the format its extension names (PNG for ``.png``), atomically."""
    import io

    buffer = io.BytesIO()
    Image.fromarray(to_uint8(x)).save(buffer, format=image_format(path))
    atomic_write_bytes(Path(path), buffer.getvalue())


def save_png(x: torch.Tensor, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    Image.fromarray(to_uint8(x)).save(buffer, format="PNG")
    atomic_write_bytes(Path(path), buffer.getvalue())


def _json_safe(value):
    """NaN/inf become null: bare NaN is not JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def evaluate_folder(
    folder: Path,
    runs: list[Path],
    out: Path,
    features: torch.nn.Module,
    steps: int = 8,
    patch: int = 64,
    group: int = 8,
    fd_patch: int = 256,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Evaluate every image of ``folder`` with every run; writes ``out``."""
    folder, out = Path(folder), Path(out)
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if fd_patch < MIN_FD_PATCH:
        raise ValueError(
            f"--fd-patch {fd_patch} is too small; the feature network needs patches "
            f"of at least {MIN_FD_PATCH} px"
        )
    if not images:
        raise ValueError(
            f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}; pass a folder of "
            "photos"
        )
    originals = {p.stem: load_image(p) for p in images}
    real_patches = [
        q for x in originals.values() for q in patches(to_uint8(x), fd_patch)
    ]
    if len(real_patches) < 2:
        raise ValueError(
            f"{len(real_patches)} patch(es) of {fd_patch} px from {folder}: the "
            "Fréchet distance needs at least 2; use --fd-patch smaller"
        )
    real_features = extract_features(features, real_patches)
    rows = []
    for run in runs:
        run = Path(run)
        stage1 = load_stage1(run)
        has_stage2 = (run / "stage2" / "model.safetensors").exists()
        stage2 = load_stage2(run) if has_stage2 else None
        decoders = ["mse"] + ([stage2.config.kind] if stage2 is not None else [])
        decoded = {d: [] for d in decoders}
        per_image = {d: [] for d in decoders}
        total_bytes = total_pixels = 0
        for name, x in originals.items():
            if progress is not None:
                progress(f"{run.name}: {name}")
            data = codec.compress(stage1, x)[0]
            atomic_write_bytes(out / run.name / f"{name}.hfd", data)
            h, w = x.shape[-2:]
            total_bytes += len(data)
            total_pixels += h * w
            x_mse = codec.decompress(stage1, data)
            outputs = {"mse": x_mse}
            if stage2 is not None:
                outputs[stage2.config.kind] = decode_patches(
                    stage2, x_mse, steps=steps, seed=seed, patch=patch, group=group
                )
            for d, y in outputs.items():
                save_png(y, out / run.name / f"{name}.{d}.png")
                decoded[d].extend(patches(to_uint8(y), fd_patch))
                per_image[d].append(
                    {
                        "image": name,
                        "bpp": bits_per_pixel(len(data), h, w),
                        "psnr": psnr(x, y),
                        "ms_ssim": ms_ssim(x, y),
                    }
                )
        for d in decoders:
            fd = frechet_distance_features(
                real_features, extract_features(features, decoded[d])
            )
            rows.append(
                {
                    "run": run.name,
                    "decoder": d,
                    "bpp": 8 * total_bytes / total_pixels,
                    "psnr": float(np.mean([r["psnr"] for r in per_image[d]])),
                    "ms_ssim": float(np.mean([r["ms_ssim"] for r in per_image[d]])),
                    "fd": fd,
                    "images": per_image[d],
                }
            )
    result = {
        "folder": str(folder),
        "fd_label": f"{features.label} ({fd_patch}px patches)",
        "steps": steps,
        "rows": rows,
        "notes": (
            "null means undefined: MS-SSIM needs both image sides of at least "
            f"{MS_SSIM_MIN_SIDE} px (5 scales of an 11-px window); PSNR of an "
            "exact reconstruction is infinite"
        ),
    }
    atomic_write_bytes(
        out / "results.json",
        json.dumps(_json_safe(result), indent=2, allow_nan=False).encode(),
    )
    plot_curves(result, out)
    return result


def plot_curves(result: dict, out: Path) -> None:
    """``rate_distortion.png`` (bpp vs PSNR) and ``rate_realism.png`` (bpp vs
    Fréchet distance), one line per decoder."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    for metric, ylabel, name in (
        ("psnr", "PSNR (dB)", "rate_distortion.png"),
        ("fd", result["fd_label"] + " (lower is better)", "rate_realism.png"),
    ):
        fig, ax = plt.subplots(figsize=(5, 3.6), dpi=120)
        for decoder in sorted({r["decoder"] for r in result["rows"]}):
            points = sorted(
                (r["bpp"], r[metric])
                for r in result["rows"]
                if r["decoder"] == decoder and not math.isnan(r[metric])
            )
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=decoder)
        ax.set_xlabel("bits per pixel (file sizes)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = Path(out) / name
        tmp = path.with_suffix(".tmp.png")
        fig.savefig(tmp)
        plt.close(fig)
        tmp.replace(path)
