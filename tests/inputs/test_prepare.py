"""Preparing the inputs: the style scale (the style image's pixel count against the content's) and
the noise blend of the start image. Random VGG16 weights and 24-64 pixel images unless a test says
otherwise (the creative controls' set-up of conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CONTROLS as BASE
from conftest import gram_distance
from conftest import run_controls as run

from tfstyle.config import StyleConfig
from tfstyle.errors import ConfigError, ImageError
from tfstyle.inputs.prepare import initial_image, prepare_images
from tfstyle.loop.optimize import stylize
from tfstyle.network.features import build_feature_model
from tfstyle.objective.losses import gram_matrix


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_style_scale_scales_the_style_images_pixel_count(content, style_a, scale):
    content_image, style_image = prepare_images(content, style_a, BASE.override(style_scale=scale))
    ratio = style_image.shape[0] * style_image.shape[1] / (content_image.shape[0] * content_image.shape[1])
    assert ratio == pytest.approx(scale**2, rel=0.05)


def test_style_scale_too_small_says_so(content, style_a):
    with pytest.raises(ImageError, match="`style_scale` 0.05"):
        prepare_images(content, style_a, BASE.override(style_scale=0.05, style_layers=("conv3_3",)))


@pytest.mark.real_weights
def test_the_output_takes_the_paintings_statistics_at_its_style_scale(real_weights, shared_images):
    """Real weights, 96 px: the output made at style_scale s is closer (relative Gram distance at
    conv1_2, conv3_3, conv5_3) to the painting scaled by s than to it scaled by the other s'."""
    cfg = StyleConfig(image_size=96, iterations=20, weights=real_weights, precision="float32")
    feature_model = build_feature_model(cfg.layers_in_use(), real_weights)
    content_path, style_path = shared_images / "content" / "tubingen.jpg", shared_images / "style" / "starry_night.jpg"
    scales = (0.5, 2.0)
    outputs, targets = {}, {}
    for scale in scales:
        scaled = cfg.override(style_scale=scale)
        outputs[scale] = feature_model(stylize(content_path, style_path, scaled, feature_model=feature_model).image[None])
        targets[scale] = feature_model(prepare_images(content_path, style_path, scaled)[1][None])
    for layer in feature_model.output:
        for made, other in (scales, scales[::-1]):
            gram = gram_matrix(outputs[made][layer])
            own = gram_distance(gram, gram_matrix(targets[made][layer]))
            assert own < gram_distance(gram, gram_matrix(targets[other][layer])), (layer, made)


def test_noise_blend_mixes_the_start_with_seeded_white_noise(content, style_a):
    noise = initial_image("noise", content, style_a, seed=3)
    assert np.array_equal(initial_image("content", content, style_a, seed=3, noise_blend=0.0), content)
    np.testing.assert_allclose(initial_image("content", content, style_a, seed=3, noise_blend=1.0), noise, atol=1e-4)
    np.testing.assert_allclose(
        initial_image("content", content, style_a, seed=3, noise_blend=0.25), 0.75 * content + 0.25 * noise, atol=1e-3
    )
    with pytest.raises(ConfigError, match="between 0 and 1"):
        BASE.override(noise_blend=1.5)


@pytest.mark.slow
def test_more_noise_starts_and_ends_further_from_the_content(content, style_a, model):
    results = [run(content, style_a, model, noise_blend=t, iterations=5) for t in (0.0, 0.3, 0.7)]
    starts = [r.initial_losses["content"] for r in results]
    ends = [r.final_losses["content"] for r in results]
    assert starts[0] == 0 and starts[0] < starts[1] < starts[2]
    assert ends[0] < ends[1] < ends[2]
