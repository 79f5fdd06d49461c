"""Reconstruction metrics: PSNR, MS-SSIM, bits per pixel.

MS-SSIM (Wang, Simoncelli & Bovik 2003) is written here because pytorch-msssim, the
pinned reference, refuses frames of 160 pixels or less (it always assumes 5 scales
with an 11-tap window), and our clips are 32x32. Ours follows the same definition
(Gaussian window sigma 1.5, K1 0.01, K2 0.03, contrast-structure at every scale and
SSIM at the coarsest, the standard scale weights, renormalized when fewer scales fit)
and the tests check it equals pytorch-msssim on frames large enough for both. For
small frames it uses fewer scales and a shorter window, and reports the setting so
numbers are labelled (e.g. "4 scales, win 3").
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

STANDARD_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def psnr(reference: Tensor, test: Tensor, data_range: float = 2.0) -> float:
    """10 log10(range^2 / MSE) over the whole tensor, in dB (inf if identical)."""
    mse = (reference.double() - test.double().clamp(-1, 1)).square().mean().item()
    return math.inf if mse == 0 else 10 * math.log10(data_range**2 / mse)


def ms_ssim_setting(side: int) -> tuple[int, int]:
    """(window size, scales): the most scales (<= 5) whose coarsest side holds a
    window of at least 3 taps; the window is min(11, that side), odd."""
    for scales in range(5, 0, -1):
        coarsest = side // 2 ** (scales - 1)
        window = min(11, coarsest if coarsest % 2 else coarsest - 1)
        if window >= 3:
            return window, scales
    raise ValueError(f"frames of side {side} are too small for MS-SSIM; expected >= 3")


def _gaussian_window(size: int, sigma: float = 1.5) -> Tensor:
    coords = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def _ssim_and_cs(x: Tensor, y: Tensor, window: Tensor, data_range: float):
    """Per-image, per-channel mean SSIM and contrast-structure of (N, C, H, W)."""
    c = x.shape[1]
    kh = window.view(1, 1, -1, 1).expand(c, 1, -1, 1)
    kw = window.view(1, 1, 1, -1).expand(c, 1, 1, -1)

    def blur(t):  # separable Gaussian, "valid" borders as in the reference
        return F.conv2d(F.conv2d(t, kh, groups=c), kw, groups=c)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    cs_map = (2 * cov + c2) / (var_x + var_y + c2)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs_map
    return ssim_map.flatten(2).mean(-1), cs_map.flatten(2).mean(-1)


def ms_ssim_images(
    x: Tensor, y: Tensor, data_range: float = 1.0, window: int = 11, scales: int = 5
) -> Tensor:
    """MS-SSIM per image of (N, C, H, W) tensors, averaged over channels."""
    weights = torch.tensor(STANDARD_WEIGHTS[:scales], dtype=torch.float64)
    if scales < len(STANDARD_WEIGHTS):  # the standard five sum to 1.0001; kept as is
        weights = weights / weights.sum()
    g = _gaussian_window(window).to(x.dtype)
    factors = []
    for scale in range(scales):
        ssim, cs = _ssim_and_cs(x, y, g, data_range)
        if scale < scales - 1:
            factors.append(F.relu(cs))
            padding = [s % 2 for s in x.shape[2:]]
            x = F.avg_pool2d(x, 2, padding=padding)
            y = F.avg_pool2d(y, 2, padding=padding)
    factors.append(F.relu(ssim))
    stacked = torch.stack(factors)  # (scales, N, C)
    value = torch.prod(stacked ** weights.to(x.dtype).view(-1, 1, 1), dim=0)
    return value.mean(1)


def ms_ssim(reference: Tensor, test: Tensor) -> tuple[float, str]:
    """Mean MS-SSIM over frames of (B, C, T, H, W) or (B, C, H, W) in [-1, 1]."""
    if reference.ndim == 5:
        b, c, t, h, w = reference.shape
        reference = reference.transpose(1, 2).reshape(b * t, c, h, w)
        test = test.transpose(1, 2).reshape(b * t, c, h, w)
    window, scales = ms_ssim_setting(min(reference.shape[-2:]))
    value = ms_ssim_images(
        (reference.double() + 1) / 2,
        (test.double().clamp(-1, 1) + 1) / 2,
        data_range=1.0,
        window=window,
        scales=scales,
    )
    return value.mean().item(), f"{scales} scales, win {window}"


def bits_per_pixel(num_bytes: int, frames: int, height: int, width: int) -> float:
    """Bits of the stream per pixel of the clip (a pixel = all its colour channels)."""
    return 8 * num_bytes / (frames * height * width)
