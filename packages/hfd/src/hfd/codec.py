"""Images to ``.hfd`` bytes and back with the stage-1 autoencoder.

Images of any size are padded on the right and bottom by edge replication to a
multiple of 64 (the total stride of ``g_a`` and ``h_a``), coded, and cropped after
decoding; the original size is in the file header.
"""

import numpy as np
import torch
from torch.nn import functional as F

from hfd.autoencoder.model import Stage1Autoencoder
from hfd.autoencoder.transforms import PAD_MULTIPLE
from hfd.fileformat import MODEL_ID_BYTES, HfdFile, HfdFileError


def _check_images(x: torch.Tensor) -> None:
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(
            f"images must have shape (batch, 3, height, width), got "
            f"{tuple(x.shape)}; convert grey or RGBA images to RGB first"
        )
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(
            f"image values must lie in [0, 1], got [{x.min():.3g}, {x.max():.3g}]; "
            "divide 8-bit images by 255"
        )


def pad(x: torch.Tensor, multiple: int = PAD_MULTIPLE) -> torch.Tensor:
    """Replicate the last row/column up to a multiple of ``multiple``."""
    h, w = x.shape[-2:]
    return F.pad(x, (0, -w % multiple, 0, -h % multiple), mode="replicate")


@torch.no_grad()
def reconstruct(model: Stage1Autoencoder, x: torch.Tensor) -> torch.Tensor:
    """Stage 1's reconstruction ``g_s(y_hat)`` of ``x`` without coding (eval
    mode), clamped to [0, 1]; what decoding a file must reproduce."""
    _check_images(x)
    model.eval()
    x_hat, _ = model(pad(x))
    return x_hat[..., : x.shape[-2], : x.shape[-1]].clamp(0, 1)


@torch.no_grad()
def compress(model: Stage1Autoencoder, x: torch.Tensor) -> list[bytes]:
    """One ``.hfd`` file's bytes per image of the batch ``x`` (B, 3, H, W)."""
    _check_images(x)
    model.eval()
    model_id = model.model_id()[:MODEL_ID_BYTES]
    files = []
    # One image at a time: the decoder runs h_s on a batch of one, and running it
    # identically here keeps the scale-table rows bit-identical on both sides.
    for image in pad(x).split(1):
        words, escapes = model.compress_latents(image)
        files.append(
            HfdFile(
                model_id,
                x.shape[-2],
                x.shape[-1],
                PAD_MULTIPLE,
                words,
                np.asarray(escapes, dtype=np.int64),
            ).to_bytes()
        )
    return files


@torch.no_grad()
def decompress(model: Stage1Autoencoder, data: bytes) -> torch.Tensor:
    """Decode one file to its reconstruction (1, 3, H, W) in [0, 1]."""
    model.eval()
    f = HfdFile.from_bytes(data, expected_model_id=model.model_id()[:MODEL_ID_BYTES])
    if f.pad_multiple != PAD_MULTIPLE:
        raise HfdFileError(
            f"hfd file pads to {f.pad_multiple}, this model needs {PAD_MULTIPLE}"
        )
    hp = f.height + -f.height % PAD_MULTIPLE
    wp = f.width + -f.width % PAD_MULTIPLE
    z_shape = (1, model.config.N, hp // PAD_MULTIPLE, wp // PAD_MULTIPLE)
    escapes = iter(f.escapes.tolist())
    try:
        y_hat = model.decompress_latents(f.words, escapes, z_shape)
    except (StopIteration, ValueError, RuntimeError) as error:
        raise HfdFileError(
            f"hfd file could not be decoded ({error}); it is damaged, compress the "
            "image again"
        ) from error
    x_hat = model.g_s(y_hat)
    return x_hat[..., : f.height, : f.width].clamp(0, 1)


def decompress_batch(model: Stage1Autoencoder, files: list[bytes]) -> torch.Tensor:
    """Decode several files of the same image size into one batch."""
    images = [decompress(model, data) for data in files]
    sizes = {tuple(i.shape) for i in images}
    if len(sizes) != 1:
        raise ValueError(
            f"files hold images of different sizes {sorted(sizes)}; decode them "
            "one at a time with decompress()"
        )
    return torch.cat(images)
