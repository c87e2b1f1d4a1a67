"""The whole-image objective's style targets: several styles blended by their weights, and a scaled
style's Grams under the paper's normalization. Random VGG16 weights and 24-64 pixel images."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import CONTROLS as BASE
from conftest import CONTROLS_LAYER as LAYER
from conftest import features, gram_distance
from conftest import run_controls as run

from tfstyle.errors import ConfigError, ImageError
from tfstyle.inputs.prepare import prepare_images
from tfstyle.objective.losses import gram_matrix
from tfstyle.objective.whole import make_loss_fn


@pytest.mark.slow
def test_blend_weights_one_zero_equal_the_single_style(content, style_a, style_b, model):
    alone_a = run(content, style_a, model).image
    alone_b = run(content, style_b, model).image
    assert np.array_equal(run(content, [style_a, style_b], model, style_blend_weights=(1, 0)).image, alone_a)
    assert np.array_equal(run(content, [style_a, style_b], model, style_blend_weights=(0, 1)).image, alone_b)
    assert np.array_equal(run(content, [style_a], model).image, alone_a)  # a list of one is one style


def test_blend_target_is_the_weighted_sum_of_the_styles_grams(content, style_a, style_b, model):
    cfg = BASE.override(style_blend_weights=(7, 3))
    assert cfg.style_blend_weights == pytest.approx((0.7, 0.3))
    content_image, (a, b) = prepare_images(content, [style_a, style_b], cfg)
    loss_fn = make_loss_fn(model, content_image, [a, b], cfg)
    image = tf.constant(content_image[None])
    target = 0.7 * gram_matrix(features(model, a)) + 0.3 * gram_matrix(features(model, b))
    expected = tf.reduce_mean(tf.square(gram_matrix(features(model, content_image)) - target))
    assert float(loss_fn(image)[f"style/{LAYER}"][0]) == pytest.approx(float(expected), rel=1e-5)


def test_blend_weights_move_the_output_toward_the_heavier_style(content, style_a, style_b, model):
    grams = {}
    for weights in ((0.9, 0.1), (0.1, 0.9)):
        out = run(content, [style_a, style_b], model, style_blend_weights=weights, iterations=15).image
        grams[weights] = gram_matrix(features(model, out))
    content_image, (a, b) = prepare_images(content, [style_a, style_b], BASE)
    gram_a, gram_b = gram_matrix(features(model, a)), gram_matrix(features(model, b))
    assert gram_distance(grams[0.9, 0.1], gram_a) < gram_distance(grams[0.1, 0.9], gram_a)
    assert gram_distance(grams[0.1, 0.9], gram_b) < gram_distance(grams[0.9, 0.1], gram_b)


def test_blend_weights_must_match_the_styles(content, style_a, style_b, model):
    with pytest.raises(ConfigError, match="3 style blend weights given for 2 style"):
        run(content, [style_a, style_b], model, style_blend_weights=(1, 1, 1))
    with pytest.raises(ConfigError, match="positive sum"):
        BASE.override(style_blend_weights=(0, 0))
    with pytest.raises(ConfigError, match="at least 0"):
        BASE.override(style_blend_weights=(1, -1))
    with pytest.raises(ImageError, match="empty"):
        run(content, [], model)


def test_paper_normalization_rescales_a_scaled_styles_grams_to_the_outputs_pixel_count(content, style_a, model):
    cfg = BASE.override(normalization="paper", style_scale=2.0)
    content_image, style_image = prepare_images(content, style_a, cfg)
    loss_fn = make_loss_fn(model, content_image, style_image, cfg)
    out = features(model, content_image)
    positions = out.shape[1] * out.shape[2]
    target = gram_matrix(features(model, style_image), "mean") * positions  # a plain sum over the output's positions
    expected = tf.reduce_sum(tf.square(gram_matrix(out, "paper") - target))
    assert float(loss_fn(tf.constant(content_image[None]))[f"style/{LAYER}"][0]) == pytest.approx(float(expected), rel=1e-3)
