"""With the ImageNet VGG16 weights and real pictures: a short run really stylizes, and the weights
file loads into the feature model exactly as keras loads it."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tfstyle.config import preset
from tfstyle.inputs.images import load_image, resize
from tfstyle.inputs.prepare import prepare_images
from tfstyle.loop.optimize import stylize
from tfstyle.network.features import build_feature_model

pytestmark = pytest.mark.real_weights


def test_a_short_default_run_halves_the_style_loss_and_stays_close_to_the_content(real_weights, shared_images):
    content = shared_images / "content" / "tubingen.jpg"
    style = shared_images / "style" / "starry_night.jpg"
    config = preset("default").override(image_size=128, iterations=20, weights=real_weights)
    result = stylize(content, style, config)

    assert result.iterations == 20
    assert result.image.shape == (96, 128, 3)
    assert result.final_losses["style"] < 0.5 * result.initial_losses["style"]
    # Measured at 128 px, 20 iterations: the mean absolute pixel difference to the content was 17
    # (L-BFGS) to 27 (Adam) for the presets tried, against 51 between the content and the style
    # scaled to the same size. The output must have moved, but stay much nearer the content.
    content_image, style_image = prepare_images(content, style, config)
    to_content = np.abs(result.image - content_image).mean()
    content_to_style = np.abs(resize(style_image, content_image.shape[:2]) - content_image).mean()
    assert 2.0 < to_content < 0.6 * content_to_style


def test_the_weights_file_gives_the_same_features_as_keras_vgg16(real_weights, shared_images):
    layers = ("block1_conv2", "block3_conv3")
    model = build_feature_model(layers, weights=real_weights)
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    vgg.load_weights(real_weights)
    reference = keras.Model(vgg.input, {name: vgg.get_layer(name).output for name in layers})

    image = resize(load_image(shared_images / "content" / "tubingen.jpg"), (48, 64))[None]
    expected = reference(keras.applications.vgg16.preprocess_input(image.copy()))
    got = model(image)
    for name in layers:
        scale = float(np.abs(np.asarray(expected[name])).max())
        np.testing.assert_allclose(got[name].numpy(), np.asarray(expected[name]), rtol=1e-4, atol=1e-5 * scale)
