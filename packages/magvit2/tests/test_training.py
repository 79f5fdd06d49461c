import math

import pytest
import torch
from torch import nn

from magvit2.training import Config, Trainer, load_checkpoint, load_tokenizer
from magvit2.training.discriminator import BlurPool3d, Discriminator
from magvit2.training.ema import EMA
from magvit2.training.losses import (
    LeCAM,
    PerceptualLoss,
    discriminator_loss,
    generator_adversarial_loss,
    r1_penalty,
)
from magvit2.training.schedule import entropy_weight, warmup_factor


def small_config(**train) -> Config:
    return Config.from_dict(
        {
            "model": {"base_channels": 8, "num_groups": 4, "num_bits": 6},
            "data": {"frames": 5, "size": 16, "batch_size": 1},
            "loss": {
                "gan_weight": 0.1,
                "discriminator_base_channels": 4,
                "r1_every": 2,
            },
            "train": {
                "warmup_steps": 2,
                "checkpoint_every": 2,
                "log_every": 1,
                **train,
            },
        }
    )


@pytest.mark.parametrize(
    ("step", "expected"), [(0, 0.3), (1000, 0.2), (2000, 0.1), (9000, 0.1)]
)
def test_entropy_weight_annealing(step, expected):
    assert entropy_weight(step, 0.1, 3.0, 2000) == pytest.approx(expected)


def test_warmup_factor():
    assert warmup_factor(0, 4) == 0.25 and warmup_factor(3, 4) == 1.0
    assert warmup_factor(100, 4) == 1.0 and warmup_factor(0, 0) == 1.0


def test_lecam_closed_form():
    lecam = LeCAM(decay=0.5)
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.0])
    # first call: anchors are the means, ema_real = 2, ema_fake = -0.5
    expected = (1.5**2 + 3.5**2) / 2 + (3.0**2 + 2.0**2) / 2
    assert lecam(real, fake).item() == pytest.approx(expected)
    lecam(torch.tensor([4.0]), torch.tensor([1.5]))
    assert lecam.ema_real.item() == pytest.approx(3.0)
    assert lecam.ema_fake.item() == pytest.approx(0.5)


def test_r1_of_linear_discriminator_is_weight_norm(generator):
    weight = torch.randn(3, 2, 4, 4, generator=generator)

    class Linear(nn.Module):
        def forward(self, x):
            return (x * weight).flatten(1).sum(1)

    real = torch.randn(5, 3, 2, 4, 4, generator=generator)
    assert r1_penalty(Linear(), real).item() == pytest.approx(weight.square().sum())


def test_non_saturating_losses_closed_form():
    zero = torch.zeros(3)
    assert generator_adversarial_loss(zero).item() == pytest.approx(math.log(2))
    assert discriminator_loss(zero, zero).item() == pytest.approx(2 * math.log(2))


def test_perceptual_loss_with_injected_network(generator):
    net = nn.Conv2d(3, 2, 1)
    loss = PerceptualLoss(net)
    real = torch.randn(2, 3, 5, 8, 8, generator=generator)
    fake = torch.randn(2, 3, 5, 8, 8, generator=generator)
    assert loss(real, real).item() == 0.0
    frames = [x.transpose(1, 2).reshape(10, 3, 8, 8) for x in (real, fake)]
    expected = (net(frames[0]) - net(frames[1])).square().mean()
    assert loss(real, fake).item() == pytest.approx(expected.item(), rel=1e-5)
    assert not any(p.requires_grad for p in net.parameters())


def test_blur_pool_keeps_constant_and_halves():
    pool = BlurPool3d(2)
    x = torch.full((1, 2, 4, 8, 8), 3.0)
    y = pool(x)
    assert y.shape == (1, 2, 2, 4, 4)
    torch.testing.assert_close(y, torch.full_like(y, 3.0))
    assert pool(torch.zeros(1, 2, 1, 8, 8)).shape == (1, 2, 1, 4, 4)


def test_discriminator_takes_images_and_videos(generator):
    disc = Discriminator(3, 4, (2, 4))
    assert disc(torch.randn(2, 3, 9, 32, 32, generator=generator)).shape == (2,)
    assert disc(torch.randn(2, 3, 32, 32, generator=generator)).shape == (2,)


def test_ema_closed_form():
    model = nn.Linear(1, 1, bias=False)
    nn.init.constant_(model.weight, 0.0)
    ema = EMA(model, decay=0.9)
    nn.init.constant_(model.weight, 1.0)
    ema.update(model)
    ema.update(model)
    assert ema.model.weight.item() == pytest.approx(1 - 0.9**2)


def test_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unknown keys"):
        Config.from_dict({"train": {"stepz": 3}})
    with pytest.raises(ValueError, match="perceptual_network"):
        Config.from_dict({"loss": {"perceptual_weight": 0.1}})


def test_resumed_run_equals_uninterrupted_run(tmp_path):
    config = small_config(steps=4)
    straight = Trainer(config, tmp_path / "a")
    straight.run()
    first = Trainer(config, tmp_path / "b")
    first.run(until_step=2)
    resumed = Trainer(config, tmp_path / "b")
    resumed.load()
    assert resumed.step == 2
    resumed.run()
    a, _ = load_checkpoint(tmp_path / "a" / "checkpoint.safetensors")
    b, meta = load_checkpoint(tmp_path / "b" / "checkpoint.safetensors")
    assert meta["step"] == 4 and a.keys() == b.keys()
    assert any(k.startswith("disc.") for k in a) and any("d_optim" in k for k in a)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    log = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert len(log) == 4


def test_overfits_one_clip(tmp_path):
    """Tiny model (base 16, K = 10) on one 5x16x16 moving-digit clip: >= 30 dB PSNR
    within 120 Adam steps (lr 1e-3, beta1 0.9) on one CPU thread (10-20 s)."""
    config = Config.from_dict(
        {
            "model": {"base_channels": 16, "num_groups": 4, "num_bits": 10},
            "data": {"frames": 5, "size": 16, "batch_size": 1, "num_clips": 1},
            "train": {
                "steps": 120,
                "learning_rate": 1e-3,
                "beta1": 0.9,
                "warmup_steps": 10,
                "checkpoint_every": 1000,
                "log_every": 1000,
            },
        }
    )
    trainer = Trainer(config, tmp_path)
    trainer.run()
    clip = trainer.batch(0)
    trainer.model.eval()
    with torch.no_grad():
        recon = trainer.model(clip).reconstruction.clamp(-1, 1)
    mse = (recon - clip).square().mean().item()
    assert 10 * math.log10(4 / mse) >= 30.0
    model = load_tokenizer(tmp_path / "checkpoint.safetensors", use_ema=False)
    torch.testing.assert_close(model(clip).reconstruction.clamp(-1, 1), recon)
