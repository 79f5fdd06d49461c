import pytest
import torch

from magvit2.tokenizer import (
    CausalConv3d,
    TokenizerConfig,
    VideoTokenizer,
    count_parameters,
    depth_to_space,
)
from tests.reference import causal_conv_by_loop


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return VideoTokenizer(TokenizerConfig.tiny()).eval()


def test_causal_conv_equals_loop(generator):
    conv = CausalConv3d(2, 3, 3)
    x = torch.randn(1, 2, 4, 5, 5, generator=generator)
    expected = causal_conv_by_loop(x, conv.conv.weight, conv.conv.bias)
    torch.testing.assert_close(conv(x), expected, rtol=1e-5, atol=1e-5)


def test_strided_causal_conv_frame_counts():
    conv = CausalConv3d(1, 1, 3, (2, 2, 2))
    for frames, expected in [(17, 9), (9, 5), (5, 3), (1, 1)]:
        assert conv(torch.zeros(1, 1, frames, 8, 8)).shape[2] == expected


def test_depth_to_space_matches_index_formula(generator):
    st, sh, sw = 2, 2, 3
    x = torch.randn(1, 2 * st * sh * sw, 2, 3, 2, generator=generator)
    y = depth_to_space(x, (st, sh, sw))
    assert y.shape == (1, 2, 4, 6, 6)
    for c in range(2):
        for t in range(4):
            for h in range(6):
                for w in range(6):
                    channel = c * st * sh * sw + (t % st) * sh * sw
                    channel += (h % sh) * sw + (w % sw)
                    source = x[0, channel, t // st, h // sh, w // sw]
                    assert y[0, c, t, h, w] == source


def test_encoder_is_causal(tiny, generator):
    video = torch.randn(1, 3, 9, 16, 16, generator=generator)
    with torch.no_grad():
        base = tiny.encoder(video)
        for t in range(1, 9):
            changed = video.clone()
            changed[:, :, t] += torch.randn(3, 16, 16, generator=generator)
            z = tiny.encoder(changed)
            # latent frame j covers input frames up to 4j
            for j in range(3):
                if 4 * j < t:
                    assert torch.equal(z[:, :, j], base[:, :, j]), (t, j)
            assert not torch.equal(z[:, :, (t + 3) // 4], base[:, :, (t + 3) // 4])


def test_decoder_is_causal(tiny, generator):
    z_q = torch.sign(torch.randn(1, 10, 3, 4, 4, generator=generator))
    with torch.no_grad():
        base = tiny.decoder(z_q)
        assert base.shape == (1, 3, 9, 16, 16)
        for j in range(1, 3):
            changed = z_q.clone()
            changed[:, :, j] *= -1
            out = tiny.decoder(changed)
            # latent frame j decodes to output frames 4j - 3 .. 4j
            assert torch.equal(out[:, :, : 4 * j - 3], base[:, :, : 4 * j - 3])
            for t in range(4 * j - 3, 4 * j + 1):
                assert not torch.equal(out[:, :, t], base[:, :, t])


def test_image_equals_first_latent_frame_of_video(tiny, generator):
    image = torch.rand(2, 3, 16, 16, generator=generator) * 2 - 1
    video = torch.rand(2, 3, 9, 16, 16, generator=generator) * 2 - 1
    video[:, :, 0] = image
    with torch.no_grad():
        alone = tiny.encode(image)
        first = tiny.encode(video)
        recon_image = tiny(image).reconstruction
        recon_video = tiny(video).reconstruction
    assert alone.quantized.shape == (2, 10, 1, 4, 4)
    assert torch.equal(alone.quantized[:, :, 0], first.quantized[:, :, 0])
    assert torch.equal(alone.indices[:, 0], first.indices[:, 0])
    torch.testing.assert_close(recon_image, recon_video[:, :, 0], rtol=0, atol=1e-5)


def test_two_different_images_decode_differently(tiny, generator):
    images = torch.rand(2, 3, 16, 16, generator=generator) * 2 - 1
    with torch.no_grad():
        out = tiny(images)
    assert not torch.equal(out.quantizer.indices[0], out.quantizer.indices[1])
    assert (out.reconstruction[0] - out.reconstruction[1]).abs().max() > 1e-3


def test_tokenize_detokenize_round_trip(tiny, generator):
    video = torch.rand(1, 3, 5, 16, 16, generator=generator) * 2 - 1
    with torch.no_grad():
        out = tiny(video)
    indices = tiny.tokenize(video)
    assert indices.shape == (1, 2, 4, 4) and indices.dtype == torch.long
    torch.testing.assert_close(tiny.detokenize(indices), out.reconstruction)


@pytest.mark.parametrize("frames", [2, 4, 8, 16])
def test_frame_count_not_1_plus_4k_is_rejected(tiny, frames):
    with pytest.raises(ValueError, match=rf"{frames} frames; expected 1 \+ 4k"):
        tiny.encode(torch.zeros(1, 3, frames, 16, 16))


def test_bad_size_and_channels_are_rejected(tiny):
    with pytest.raises(ValueError, match="multiples of 4"):
        tiny.encode(torch.zeros(1, 3, 5, 18, 16))
    with pytest.raises(ValueError, match="expected"):
        tiny.encode(torch.zeros(1, 1, 5, 16, 16))


def _paper_parameter_count() -> int:
    """Parameters of the appendix figure's tokenizer, counted layer by layer."""

    def conv(i, o, k):
        return i * o * k**3 + o

    def norm(c):
        return 2 * c

    def res(i, o):
        skip = conv(i, o, 1) if i != o else 0
        return norm(i) + conv(i, o, 3) + norm(o) + conv(o, o, 3) + skip

    def adagn(c):
        return 2 * (18 * c + c)

    encoder = conv(3, 128, 3)
    encoder += 4 * res(128, 128) + conv(128, 128, 3)
    encoder += res(128, 256) + 3 * res(256, 256) + conv(256, 256, 3)
    encoder += 4 * res(256, 256) + conv(256, 256, 3)
    encoder += res(256, 512) + 3 * res(512, 512)
    encoder += 4 * res(512, 512) + norm(512) + conv(512, 18, 1)
    decoder = conv(18, 512, 3)
    decoder += 4 * res(512, 512) + adagn(512) + conv(512, 4096, 3)
    decoder += res(512, 256) + 3 * res(256, 256) + adagn(256) + conv(256, 2048, 3)
    decoder += 4 * res(256, 256) + adagn(256) + conv(256, 1024, 3)
    decoder += res(256, 128) + 3 * res(128, 128) + norm(128) + conv(128, 3, 3)
    return encoder + decoder


def test_paper_config_builds_with_expected_parameter_count():
    with torch.device("meta"):
        model = VideoTokenizer(TokenizerConfig.paper())
    assert count_parameters(model) == _paper_parameter_count()
    assert model.config.temporal_factor == 4 and model.config.spatial_factor == 8
    z = model.encoder(torch.zeros(1, 3, 17, 64, 64, device="meta"))
    assert z.shape == (1, 18, 5, 8, 8)


def test_tiny_config_shapes(tiny):
    assert count_parameters(tiny) < 1_000_000
    with torch.no_grad():
        out = tiny(torch.zeros(2, 3, 9, 32, 32))
    assert out.reconstruction.shape == (2, 3, 9, 32, 32)
    assert out.quantizer.indices.shape == (2, 3, 8, 8)
