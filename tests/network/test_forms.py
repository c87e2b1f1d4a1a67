"""The convolution forms compute Keras' Conv2D, its outputs and input gradients, to round-off;
each form converts the layers it is meant for and leaves the original model alone.

Behaviour only, on random weights and small images; which form is faster is measured by
python -m tools.bench (--forms), and which one a run takes is test_speed.py's.
"""

from __future__ import annotations

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import synthetic_image

import tfstyle.network.forms as forms
import tfstyle.network.speed as speed
from tfstyle import vgg16
from tfstyle.network.features import build_feature_model


def test_a_wide_convolution_without_bias_takes_the_transposed_form_with_its_own_weights():
    inputs = keras.Input(shape=(None, None, forms.TRANSPOSED_MIN_CHANNELS))
    model = keras.Model(inputs, keras.layers.Conv2D(8, 3, padding="same", use_bias=False, name="wide")(inputs))
    fast = forms.with_convolution_form(model, "transposed")
    assert type(fast.get_layer("wide")) is forms.TransposedFormConv2D
    pixels = np.random.default_rng(0).normal(size=(1, 6, 5, forms.TRANSPOSED_MIN_CHANNELS)).astype(np.float32)
    expected = model(pixels).numpy()
    np.testing.assert_allclose(fast(pixels), expected, rtol=1e-5, atol=1e-5 * float(np.abs(expected).max()))


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_the_transposed_form_is_conv2d_with_conv2d_gradients(kernel_size):
    rng = np.random.default_rng(kernel_size)
    images = tf.constant(rng.normal(size=(2, 9, 7, 5)), tf.float32)
    kernel = tf.constant(rng.normal(size=(kernel_size, kernel_size, 5, 6)), tf.float32)
    upstream = tf.constant(rng.normal(size=(2, 9, 7, 6)), tf.float32)

    def value_and_gradients(convolution):
        with tf.GradientTape() as tape:
            tape.watch([images, kernel])
            outputs = convolution(images, kernel)
            loss = tf.reduce_sum(outputs * upstream)
        return [outputs, *tape.gradient(loss, [images, kernel])]

    exact = value_and_gradients(lambda x, k: tf.nn.conv2d(x, k, 1, "SAME"))
    for computed, expected in zip(value_and_gradients(forms.transposed_conv2d), exact):
        np.testing.assert_allclose(computed, expected, rtol=1e-5, atol=1e-4)
    kept = value_and_gradients(lambda x, k: forms.transposed_conv2d(x, k, forms.flipped_kernel(k)))
    for computed, expected in zip(kept, exact):  # with K̃ given, as the layer keeps it
        np.testing.assert_allclose(computed, expected, rtol=1e-5, atol=1e-4)


def wide_model():
    """VGG16 to block4_conv1 (random weights): block3_conv2 onward have 256 input channels or more."""
    return build_feature_model(["block1_conv2", "block3_conv3", "block4_conv1"], weights="random", seed=0)


def test_the_forward_form_computes_conv2d_with_bias_and_relu_and_its_gradients():
    rng = np.random.default_rng(0)
    images = tf.constant(rng.normal(size=(2, 9, 7, 5)), tf.float32)
    kernel = tf.constant(rng.normal(size=(3, 3, 5, 6)), tf.float32)
    bias = tf.constant(rng.normal(size=6), tf.float32)
    upstream = tf.constant(rng.normal(size=(2, 9, 7, 6)), tf.float32)

    def value_and_gradients(convolution):
        with tf.GradientTape() as tape:
            tape.watch([images, kernel, bias])
            outputs = convolution(images, kernel, bias)
            loss = tf.reduce_sum(outputs * upstream)
        return [outputs, *tape.gradient(loss, [images, kernel, bias])]

    exact = value_and_gradients(lambda x, k, b: tf.nn.relu(tf.nn.conv2d(x, k, 1, "SAME") + b))
    for computed, expected in zip(value_and_gradients(forms.forward_form_conv2d_relu), exact):
        np.testing.assert_allclose(computed, expected, rtol=1e-5, atol=1e-4)


PIXELS = synthetic_image(32, 24).astype(np.float32)[None]  # block3's maps 8x6, block4's 4x3


def outputs_and_gradient(features: keras.Model) -> tuple[dict, tf.Tensor]:
    """``features`` of :data:`PIXELS` and the gradient of the mean squares of all of them."""
    pixels = tf.convert_to_tensor(PIXELS)
    with tf.GradientTape() as tape:
        tape.watch(pixels)
        outputs = features(pixels)
        loss = tf.add_n([tf.reduce_mean(tf.square(value)) for value in outputs.values()])
    return outputs, tape.gradient(loss, pixels)


def assert_same_outputs_and_gradient(computing: keras.Model, model: keras.Model) -> None:
    (expected, expected_gradient), (computed, gradient) = outputs_and_gradient(model), outputs_and_gradient(computing)
    for name, value in expected.items():
        np.testing.assert_allclose(computed[name], value, rtol=1e-5, atol=1e-5 * float(np.abs(value).max()))
    scale = float(np.abs(expected_gradient).max())
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize(
    "form, converted",
    [
        ("transposed", {"block3_conv2", "block3_conv3", "block4_conv1"}),  # the wide ones
        ("forward", {layer.name for layer in vgg16.layers_up_to("block4_conv1")}),  # every one
        ("mixed", {layer.name for layer in vgg16.layers_up_to("block4_conv1")}),  # every one
        ("transposed_all", {layer.name for layer in vgg16.layers_up_to("block4_conv1")} - {"block1_conv1"}),  # not on pixels
        ("winograd", {layer.name for layer in vgg16.layers_up_to("block4_conv1")} - {"block1_conv1"}),  # as transposed_all
    ],
)
def test_a_convolution_form_gives_the_same_outputs_and_gradient(form, converted):
    model = wide_model()
    fast = forms.with_convolution_form(model, form)
    kinds = {layer.name: type(layer) for layer in fast.layers if isinstance(layer, keras.layers.Conv2D)}
    assert {name for name, kind in kinds.items() if kind is forms.FORMS[form]} == converted
    for name in set(kinds) - converted:  # shared with the original
        assert fast.get_layer(name) is model.get_layer(name)
    assert {type(layer) for layer in speed._convolutions(model)} == {keras.layers.Conv2D}  # the original is unchanged
    assert not fast.trainable
    assert forms.with_convolution_form(model, "conv2d") is model

    assert_same_outputs_and_gradient(fast, model)
    # A step reads the K̃ each layer keeps instead of flipping the kernels again: no more reversals
    # or transposes than Keras' own model has (the preprocessing's RGB → BGR).
    def flips(features):
        graph = tf.function(outputs_and_gradient).get_concrete_function(features).graph
        return sorted(op.type for op in graph.get_operations() if op.type in ("ReverseV2", "Transpose"))

    assert flips(fast) == flips(model)

    # Every layer's convolutions, forward and backward, are named after it, the backward ones as
    # TensorFlow names its own gradients: python -m tools.bench --profile counts them by these names.
    graph = tf.function(outputs_and_gradient).get_concrete_function(fast).graph
    layers = {layer.name for layer in vgg16.layers_up_to("block4_conv1")}
    heavy = [op.name for op in graph.get_operations() if op.type in ("Conv2D", "Conv2DBackpropInput", "BatchMatMulV2")]
    assert all(any(f"/{name}_" in op for name in layers) for op in heavy), heavy
    assert {name for op in heavy if op.startswith("gradient_tape/") for name in layers if f"/{name}_" in op} == layers


@pytest.mark.parametrize("height, width", [(8, 6), (7, 5), (1, 3)])  # odd sides: tiles past the edge
def test_winograd_is_conv2d_with_conv2d_input_gradients(height, width):
    rng = np.random.default_rng(height)
    images = tf.constant(rng.normal(size=(1, height, width, 5)), tf.float32)
    kernel = tf.constant(rng.normal(size=(3, 3, 5, 6)), tf.float32)
    upstream = tf.constant(rng.normal(size=(1, height, width, 6)), tf.float32)
    transformed = forms.winograd_kernel(kernel)
    transformed_flipped = forms.winograd_kernel(forms.flipped_kernel(kernel))

    def value_and_gradient(convolution):
        with tf.GradientTape() as tape:
            tape.watch(images)
            outputs = convolution(images)
            loss = tf.reduce_sum(outputs * upstream)
        return outputs, tape.gradient(loss, images)

    exact = value_and_gradient(lambda x: tf.nn.conv2d(x, kernel, 1, "SAME"))
    computed = value_and_gradient(lambda x: forms.winograd_conv2d(x, transformed, transformed_flipped))
    for value, expected in zip(computed, exact):
        # float32 round-off (ε ≈ 6e-8) over 45 products and the transforms' few sums: far below 1e-5 of the largest.
        np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-5 * float(np.abs(expected).max()))


def test_the_winograd_form_computes_wide_layers_by_winograd_on_one_image_only(caplog):
    model = wide_model()
    winograd = forms.with_convolution_form(model, "winograd")
    by_winograd = {layer.name for layer in speed._convolutions(winograd) if getattr(layer, "winograd", False)}
    assert by_winograd == {"block2_conv2", "block3_conv1", "block3_conv2", "block3_conv3", "block4_conv1"}  # ≥ 128 in

    def graph_ops(batch: int) -> set[str]:
        pixels = tf.TensorSpec([batch, *PIXELS.shape[1:]], tf.float32)
        return {op.type for op in tf.function(winograd).get_concrete_function(pixels).graph.get_operations()}

    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        assert_same_outputs_and_gradient(winograd, model)
    assert "retracing" not in caplog.text  # each layer's shapes compile once, without TensorFlow's warning
    assert "BatchMatMulV2" in graph_ops(1)
    assert "BatchMatMulV2" not in graph_ops(2)  # more than one image: the transposed form's kernels
    two = np.concatenate([PIXELS, PIXELS[:, ::-1]])
    expected = model(two)["block4_conv1"]
    np.testing.assert_allclose(winograd(two)["block4_conv1"], expected, rtol=1e-5, atol=1e-5 * float(np.abs(expected).max()))


def test_the_mixed_form_runs_wide_layers_on_large_maps_in_the_transposed_form(monkeypatch):
    # At 32x24 pixels block3's maps have 8x6 = 48 positions, block4's 4x3 = 12.
    monkeypatch.setattr(forms, "TRANSPOSED_MIN_POSITIONS", 48)
    model = wide_model()
    mixed = forms.with_convolution_form(model, "mixed")
    graph = tf.function(outputs_and_gradient).get_concrete_function(mixed).graph
    layers = {layer.name for layer in vgg16.layers_up_to("block4_conv1")}
    transposed = {name for op in graph.get_operations() if op.type == "Conv2DBackpropInput" for name in layers if f"{name}_" in op.name or f"{name}/" in op.name}
    assert transposed == {"block3_conv2", "block3_conv3"}  # wide, and 48 positions: block4_conv1's 12 are too few
    assert_same_outputs_and_gradient(mixed, model)
