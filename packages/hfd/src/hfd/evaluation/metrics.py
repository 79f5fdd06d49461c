"""Rate and distortion: real bits per pixel from file sizes, PSNR, MS-SSIM."""

import math

import torch
from pytorch_msssim import ms_ssim as _ms_ssim

# pytorch-msssim's five scales with an 11-px window need sides above (11-1)*2^4.
MS_SSIM_MIN_SIDE = 161


def bits_per_pixel(num_bytes: int, height: int, width: int) -> float:
    """Real rate: 8 * file size / pixels (header and checksum included)."""
    return 8.0 * num_bytes / (height * width)


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    """PSNR in dB of images in [0, 1], after rounding both to 8 bits (what a PNG
    holds)."""
    x8, y8 = torch.round(x * 255), torch.round(y * 255)
    mse = torch.mean((x8 - y8) ** 2).item()
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def ms_ssim(x: torch.Tensor, y: torch.Tensor) -> float:
    """MS-SSIM (Wang, Simoncelli, Bovik 2003) via pytorch-msssim; NaN when the
    image is too small for five scales."""
    if min(x.shape[-2:]) < MS_SSIM_MIN_SIDE:
        return math.nan
    return _ms_ssim(x * 255, y * 255, data_range=255).item()
