"""Analysis and synthesis transforms of the stage-1 autoencoder.

The layout follows the mean-scale hyperprior (Minnen, Ballé, Toderici 2018, fig. 4;
Ballé et al. 2018 for the hyperprior), which the multi-realism autoencoder that HFD
builds on also uses: four stride-2 5x5 convolutions with GDN for ``g_a``/``g_s``,
two more stride-2 steps for ``h_a``/``h_s``. The latent ``y`` is 1/16 of the image
side and the hyper-latent ``z`` 1/64, so images are padded to a multiple of 64.
"""

from torch import nn

from hfd.autoencoder.gdn import GDN

# Total downsampling from the image to z: 2^4 (g_a) times 2^2 (h_a).
PAD_MULTIPLE = 64


def _conv(cin: int, cout: int, k: int = 5, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)


def _deconv(cin: int, cout: int, k: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(
        cin, cout, k, stride=stride, padding=k // 2, output_padding=stride - 1
    )


def analysis_transform(N: int, M: int) -> nn.Sequential:
    """``g_a``: image (3 channels, in [0, 1]) to latent ``y`` (M channels)."""
    return nn.Sequential(
        _conv(3, N), GDN(N), _conv(N, N), GDN(N), _conv(N, N), GDN(N), _conv(N, M)
    )


def synthesis_transform(N: int, M: int) -> nn.Sequential:
    """``g_s``: quantised latent ``y_hat`` to the MSE reconstruction ``x_hat``."""
    return nn.Sequential(
        _deconv(M, N),
        GDN(N, inverse=True),
        _deconv(N, N),
        GDN(N, inverse=True),
        _deconv(N, N),
        GDN(N, inverse=True),
        _deconv(N, 3),
    )


def hyper_analysis_transform(N: int, M: int) -> nn.Sequential:
    """``h_a``: latent ``y`` to hyper-latent ``z`` (N channels)."""
    return nn.Sequential(
        _conv(M, N, 3, 1), nn.LeakyReLU(), _conv(N, N), nn.LeakyReLU(), _conv(N, N)
    )


def hyper_synthesis_transform(N: int, M: int) -> nn.Sequential:
    """``h_s``: ``z_hat`` to 2M channels of entropy parameters for ``y``."""
    return nn.Sequential(
        _deconv(N, M),
        nn.LeakyReLU(),
        _deconv(M, M * 3 // 2),
        nn.LeakyReLU(),
        _conv(M * 3 // 2, M * 2, 3, 1),
    )
