"""Tokenizer training losses (MAGVIT-v2 Sec. 3 and its MAGVIT recipe).

Generator side: pixel L2, perceptual loss through an injectable feature network, the
non-saturating GAN loss, commitment and the LFQ entropy penalty. Discriminator side:
non-saturating loss, LeCAM regularization (Tseng et al. 2021) and the R1 gradient
penalty (Mescheder et al. 2018).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def frames_as_images(video: Tensor) -> Tensor:
    """(B, C, T, H, W) -> (B*T, C, H, W), for 2-D feature networks."""
    b, c, t, h, w = video.shape
    return video.transpose(1, 2).reshape(b * t, c, h, w)


class PerceptualLoss(nn.Module):
    """MSE between a frozen feature network's outputs on real and reconstructed frames.

    The paper uses the logits of an ImageNet ResNet-50 (not LPIPS). Pretrained weights
    cannot be downloaded here, so the network is injected: `load_feature_network`
    reads a TorchScript file the user provides; tests use a random network.
    """

    def __init__(self, feature_network: nn.Module):
        super().__init__()
        self.feature_network = feature_network.eval().requires_grad_(False)

    def forward(self, real: Tensor, reconstruction: Tensor) -> Tensor:
        if real.ndim == 5:
            real, reconstruction = (
                frames_as_images(real),
                frames_as_images(reconstruction),
            )
        with torch.no_grad():
            target = self.feature_network(real)
        return F.mse_loss(self.feature_network(reconstruction), target)


def load_feature_network(path: str) -> nn.Module:
    """A TorchScript feature network (e.g. a scripted ResNet-50) from a local path."""
    try:
        return torch.jit.load(path, map_location="cpu")
    except (RuntimeError, ValueError, OSError) as error:
        raise ValueError(
            f"could not load a TorchScript feature network from {path!r} ({error}); "
            "save one with torch.jit.save(torch.jit.script(net), path)"
        ) from error


def generator_adversarial_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss E[softplus(-D(G(z)))]."""
    return F.softplus(-fake_logits).mean()


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Non-saturating discriminator loss E[softplus(-D(x))] + E[softplus(D(G(z)))]."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


class LeCAM(nn.Module):
    """LeCAM regularizer with EMA anchors (Tseng et al. 2021, Eq. 3).

    R = E[relu(D(x) - alpha_fake)^2] + E[relu(alpha_real - D(G(z)))^2], where the
    alphas are exponential moving averages (decay 0.999) of the mean logits.
    """

    def __init__(self, decay: float = 0.999):
        super().__init__()
        self.decay = decay
        self.register_buffer("ema_real", torch.zeros(()))
        self.register_buffer("ema_fake", torch.zeros(()))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    def forward(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        real_mean = real_logits.detach().mean()
        fake_mean = fake_logits.detach().mean()
        if not bool(self.initialized):
            self.ema_real.copy_(real_mean)
            self.ema_fake.copy_(fake_mean)
            self.initialized.fill_(True)
        else:
            self.ema_real.lerp_(real_mean, 1 - self.decay)
            self.ema_fake.lerp_(fake_mean, 1 - self.decay)
        return (
            F.relu(real_logits - self.ema_fake).square().mean()
            + F.relu(self.ema_real - fake_logits).square().mean()
        )


def r1_penalty(discriminator: nn.Module, real: Tensor) -> Tensor:
    """R1 = E[||grad_x D(x)||^2] on real data (to be weighted by gamma / 2)."""
    real = real.detach().requires_grad_(True)
    logits = discriminator(real)
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return grad.square().flatten(1).sum(1).mean()
