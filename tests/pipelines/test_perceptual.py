"""StyleLoss: tfstyle's loss as a Keras layer — per image, differentiable, equal to a run's loss,
and a perceptual loss that trains a Keras model in ``model.fit``."""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import synthetic_image
from PIL import Image

import tfstyle
from tfstyle import ConfigError, ImageError, StyleConfig, StyleLoss, build_feature_model
from tfstyle.objective.whole import make_loss_fn

LAYERS = ("block1_conv2", "block2_conv2")


@pytest.fixture(scope="module")
def model():
    return build_feature_model(LAYERS, weights="random", seed=0)


@pytest.fixture(scope="module")
def style() -> np.ndarray:
    return synthetic_image(40, 32, seed=2)


def batch(size: int, seed: int = 0, height: int = 32, width: int = 32) -> tf.Tensor:
    return tf.constant(np.stack([synthetic_image(height, width, seed=seed + i) for i in range(size)]), tf.float32)


def test_one_loss_per_image_each_as_if_alone(model, style):
    loss = StyleLoss(style, LAYERS, feature_model=model)
    images = batch(3)
    values = loss(images)
    assert values.shape == (3,) and values.dtype == tf.float32
    alone = [float(loss(images[i : i + 1])[0]) for i in range(3)]
    np.testing.assert_allclose(values.numpy(), alone, rtol=1e-5)
    assert np.all(values.numpy() > 0)


def test_style_image_gives_zero_style_loss(model, style):
    loss = StyleLoss(style, LAYERS, feature_model=model)
    assert float(loss(style[None].astype(np.float32))[0]) == pytest.approx(0.0, abs=1e-3)


def test_equals_the_loss_of_a_stylize_run(model, style):
    content, images = synthetic_image(32, 32, seed=7), batch(2, seed=3)
    cfg = StyleConfig(
        content_layers=("block2_conv2",),
        style_layers=LAYERS,
        style_layer_weights=(0.3, 0.7),
        content_weight=2.0,
        style_weight=5.0,
        weights="random",
    )
    run_losses = make_loss_fn(model, content, style, cfg)(images)
    style_only = StyleLoss(style, LAYERS, style_layer_weights=(0.3, 0.7), style_weight=1.0, feature_model=model)
    np.testing.assert_allclose(style_only(images).numpy(), run_losses["style"].numpy(), rtol=1e-5)  # b·SL, b = 1
    both = StyleLoss(
        style,
        LAYERS,
        style_layer_weights=(0.3, 0.7),
        content_layers=("block2_conv2",),
        style_weight=5.0,
        content_weight=2.0,
        feature_model=model,
    )
    contents = tf.constant(np.stack([content, content]), tf.float32)
    np.testing.assert_allclose(both(images, contents).numpy(), run_losses["total"].numpy(), rtol=1e-5)
    terms = both.terms(images, contents)
    for name in ("content", "style", "style/block1_conv2", "content/block2_conv2"):
        np.testing.assert_allclose(terms[name].numpy(), run_losses[name].numpy(), rtol=1e-5, err_msg=name)


def test_content_layers_only_count_when_content_is_given(model, style):
    loss = StyleLoss(style, LAYERS, content_layers=("block2_conv2",), feature_model=model)
    images = batch(2)
    assert np.all(loss(images, batch(2, seed=5)).numpy() > loss(images).numpy())
    np.testing.assert_allclose(loss(images, images).numpy(), loss(images).numpy(), rtol=1e-6)


def test_differentiable_in_eager_and_in_a_tf_function(model, style):
    loss = StyleLoss(style, LAYERS, content_layers=("block2_conv2",), feature_model=model)
    images, contents = tf.Variable(batch(2)), batch(2, seed=4)

    def gradient():
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(loss(images, contents))
        return tape.gradient(total, images)

    eager, compiled = gradient(), tf.function(gradient)()
    assert eager.shape == (2, 32, 32, 3)
    assert np.all(np.isfinite(eager.numpy())) and np.abs(eager.numpy()).max() > 0
    np.testing.assert_allclose(compiled.numpy(), eager.numpy(), rtol=1e-4, atol=1e-6)
    before = loss(images, contents).numpy()
    images.assign_sub(1e-3 * eager / tf.reduce_max(tf.abs(eager)) * 255.0)
    assert np.all(loss(images, contents).numpy() < before)


def test_has_no_trainable_weights(model, style):
    loss = StyleLoss(style, LAYERS, feature_model=model)
    assert loss.trainable_weights == []


def _tiny_net() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(3, 1, activation="sigmoid")(x)
    return keras.Model(inputs, keras.layers.Rescaling(255.0)(x))


@pytest.mark.slow
def test_trains_a_tiny_keras_model_in_fit(model, style):
    loss = StyleLoss(style, LAYERS, content_layers=("block2_conv2",), style_weight=10.0, feature_model=model)
    net = _tiny_net()
    net.compile(optimizer=keras.optimizers.Adam(3e-2), loss=lambda y_true, y_pred: loss(y_pred, y_true))
    photos = tf.data.Dataset.from_tensor_slices(batch(4, seed=10)).map(lambda x: (x, x)).batch(2)
    history = net.fit(photos, epochs=6, shuffle=False, verbose=0).history["loss"]
    assert len(history) == 6 and all(np.isfinite(history))
    assert history[-1] < 0.8 * history[0], history


def test_style_from_a_path_and_style_size(model, style, tmp_path):
    path = tmp_path / "painting.png"
    Image.fromarray(synthetic_image(64, 48, seed=2)).save(path)
    loss = StyleLoss(path, LAYERS, style_size=32, feature_model=model)
    assert loss.style_image.shape == (32, 24, 3)
    assert loss(batch(1)).shape == (1,)


def test_defaults_are_the_configs(model, style):
    defaults = StyleConfig()
    parameters = inspect.signature(StyleLoss).parameters
    for name in ("style_layers", "style_layer_weights", "content_layer_weights", "style_weight", "content_weight",
                 "normalization", "weights", "seed"):  # fmt: skip
        assert parameters[name].default == getattr(defaults, name), name
    assert parameters["content_layers"].default == ()  # a content term only when asked for
    loss = StyleLoss(style, LAYERS, feature_model=model)
    assert loss.style_config.style_weight == defaults.style_weight
    assert loss.style_config.style_terms() == {"block1_conv2": 0.5, "block2_conv2": 0.5}  # the tuned weights are the default layers'


def test_errors(model, style):
    with pytest.raises(ImageError, match="style image is 1x1 pixels.*block2_conv2 needs at least 2"):
        StyleLoss(np.zeros([1, 1, 3]), LAYERS, feature_model=model)
    with pytest.raises(ConfigError, match="unknown VGG16 layer"):
        StyleLoss(style, ("conv9_9",), feature_model=model)
    with pytest.raises(ConfigError, match="2 style layer weights given for 1"):
        StyleLoss(style, ("conv1_2",), style_layer_weights=(1.0, 2.0), feature_model=model)
    with pytest.raises(ValueError, match=r"batch \[batch, height, width, 3\]"):
        StyleLoss(style, LAYERS, feature_model=model)(tf.zeros([32, 32, 3]))


def test_exported_from_the_package():
    assert tfstyle.StyleLoss is StyleLoss and "StyleLoss" in tfstyle.__all__
