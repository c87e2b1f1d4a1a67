"""The VGG16 feature model: the smallest image it takes, where it is cut, preprocessing, the weights,
and average pooling. (The layer table itself: network/test_vgg16.py.)"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import CONTROLS as BASE
from conftest import synthetic_image

import tfstyle.network.features as features
from tfstyle.errors import ConfigError, WeightsError
from tfstyle.loop.optimize import stylize
from tfstyle.network.features import WEIGHTS_ENV, build_feature_model, resolve_weights
from tfstyle.vgg16 import (
    CONV_LAYERS,
    VGG16_CONV_LAYERS,
    min_image_side,
)


def pixels(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (1, height, width, 3)).astype(np.float32)


# --- the smallest image --------------------------------------------------------------------------------


def test_an_image_of_exactly_the_minimum_side_reaches_the_deepest_layer(random_model):
    side = min_image_side(["conv5_3"])
    out = random_model(pixels(side, side))
    assert tuple(out["block5_conv3"].shape) == (1, 1, 1, 512)


def test_an_image_of_the_minimum_side_for_conv3_3_reaches_it(cut_model):
    side = min_image_side(["conv3_3"])
    assert tuple(cut_model(pixels(side, side + 3))["block3_conv3"].shape) == (1, 1, 1, 256)  # 7 → 3 → 1


# --- build_feature_model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cut_model():
    """A model for two layers, given in paper names, cut at conv3_3."""
    return build_feature_model(["conv3_3", "conv1_2"], weights="random", seed=0)


def test_feature_model_outputs_exactly_the_chosen_layers(cut_model, random_model):
    out = cut_model(pixels(32, 32))
    assert set(out) == {"block1_conv2", "block3_conv3"}
    assert set(random_model(pixels(32, 32))) == set(VGG16_CONV_LAYERS)


def test_feature_model_is_cut_at_the_deepest_layer(cut_model):
    names = [layer.name for layer in cut_model.layers]
    assert names[-1] == "block3_conv3"
    assert "block3_pool" not in names
    assert not [name for name in names if name.startswith(("block4", "block5"))]
    assert "block2_pool" in names  # everything up to the deepest layer is still there


def test_feature_model_for_the_first_layer_has_just_preprocessing_and_one_conv():
    model = build_feature_model(["conv1_1"], weights="random")
    conv_layers = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert conv_layers == ["block1_conv1"]


def test_cut_model_gives_the_same_activations_as_the_full_model(cut_model, random_model):
    x = pixels(24, 40)
    cut, full = cut_model(x), random_model(x)
    for name in ("block1_conv2", "block3_conv3"):
        np.testing.assert_allclose(cut[name].numpy(), full[name].numpy(), rtol=1e-5, atol=1e-4)


def test_feature_model_is_not_trainable(cut_model):
    assert cut_model.trainable_weights == []


@pytest.mark.parametrize("height, width", [(17, 23), (40, 33), (64, 16)])
def test_feature_model_takes_any_height_and_width(random_model, height, width):
    out = random_model(pixels(height, width))
    for layer in CONV_LAYERS:
        assert tuple(out[layer.name].shape[1:3]) == layer.shape(height, width), layer.name


def test_feature_model_takes_a_batch(random_model):
    x = np.concatenate([pixels(32, 32, seed=1), pixels(32, 32, seed=2)])
    batched = random_model(x)["block2_conv1"].numpy()
    single = random_model(x[1:])["block2_conv1"].numpy()
    # Another batch size may pick another convolution algorithm (oneDNN does): float32 round-off of
    # sums of 3·3·64 products of activations up to ~1e3 (n·eps·Σ|term| ≈ 1e-3), not an equality.
    np.testing.assert_allclose(batched[1], single[0], rtol=1e-4, atol=1e-3)


def test_preprocessing_is_inside_the_model(random_model):
    """The model on plain RGB pixels = VGG16 with the same weights on ``preprocess_input`` pixels."""
    plain = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    for layer in plain.layers:
        if layer.get_weights():
            layer.set_weights(random_model.get_layer(layer.name).get_weights())
    outputs = {name: plain.get_layer(name).output for name in ("block1_conv1", "block2_conv2", "block4_conv1")}
    reference = keras.Model(plain.input, outputs)
    x = pixels(32, 48, seed=3)
    # Colour-asymmetric input: a swapped channel order or a missing mean would show.
    x[..., 0] *= 0.2
    expected = reference(keras.applications.vgg16.preprocess_input(x.copy()))
    got = random_model(x)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name].numpy(), np.asarray(value), rtol=1e-4, atol=1e-3)
    # And the raw pixels, unprocessed, would give something else.
    raw = reference(x)
    assert not np.allclose(got["block1_conv1"].numpy(), np.asarray(raw["block1_conv1"]), atol=1e-1)


def test_feature_model_needs_at_least_one_layer():
    with pytest.raises(ConfigError, match="at least one layer"):
        build_feature_model([], weights="random")


def test_feature_model_rejects_an_unknown_layer_before_building_anything():
    with pytest.raises(ConfigError, match="valid layers"):
        build_feature_model(["conv3_3", "conv9_9"], weights="random")


# --- random weights --------------------------------------------------------------------------------


def test_random_weights_are_the_same_for_the_same_seed(cut_model, random_model):
    # cut_model and random_model are separate builds, both from seed 0.
    for name in ("block1_conv1", "block1_conv2", "block3_conv3"):
        for mine, theirs in zip(cut_model.get_layer(name).get_weights(), random_model.get_layer(name).get_weights()):
            np.testing.assert_array_equal(mine, theirs)


def test_random_weights_differ_between_seeds(random_model):
    other = build_feature_model(["conv1_1"], weights="random", seed=1)
    mine = random_model.get_layer("block1_conv1").get_weights()[0]
    theirs = other.get_layer("block1_conv1").get_weights()[0]
    assert mine.shape == theirs.shape
    assert not np.allclose(mine, theirs)


def test_random_weights_are_he_normal_with_zero_biases(random_model):
    kernel, bias = random_model.get_layer("block3_conv1").get_weights()
    fan_in = 3 * 3 * 128
    assert np.std(kernel) == pytest.approx(np.sqrt(2.0 / fan_in), rel=0.02)
    assert np.all(bias == 0)


# --- resolve_weights and weight errors ---------------------------------------------------------------


def test_resolve_weights_uses_the_environment_variable_for_imagenet(monkeypatch, tmp_path):
    weights = tmp_path / "vgg16.h5"
    weights.write_bytes(b"not checked here")
    monkeypatch.setenv(WEIGHTS_ENV, str(weights))
    assert resolve_weights("imagenet") == str(weights)
    assert resolve_weights(None) == str(weights)


def test_resolve_weights_without_the_environment_variable_means_keras_download(monkeypatch):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    assert resolve_weights("imagenet") == "imagenet"
    assert resolve_weights(None) == "imagenet"


def test_an_explicit_path_or_random_wins_over_the_environment_variable(monkeypatch, tmp_path):
    env_file, explicit = tmp_path / "env.h5", tmp_path / "explicit.h5"
    env_file.write_bytes(b"x")
    explicit.write_bytes(b"x")
    monkeypatch.setenv(WEIGHTS_ENV, str(env_file))
    assert resolve_weights(str(explicit)) == str(explicit)
    assert resolve_weights(explicit) == str(explicit)  # a Path works too
    assert resolve_weights("random") == "random"


def assert_advice(message: str) -> None:
    assert "`weights`" in message and "--weights" not in message  # the setting; the CLI names its flag
    assert WEIGHTS_ENV in message
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in message


def test_missing_weights_file_is_a_weights_error_with_advice(tmp_path):
    missing = tmp_path / "nowhere.h5"
    with pytest.raises(WeightsError, match="not found") as error:
        resolve_weights(str(missing))
    assert str(missing) in str(error.value)
    assert_advice(str(error.value))


def test_missing_file_named_by_the_environment_variable_says_where_it_came_from(monkeypatch, tmp_path):
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "gone.h5"))
    with pytest.raises(WeightsError, match="not found") as error:
        build_feature_model(["conv1_1"], weights="imagenet")
    assert f"${WEIGHTS_ENV}" in str(error.value)
    assert_advice(str(error.value))


def test_weights_path_that_is_a_directory_is_a_weights_error_with_advice(tmp_path):
    with pytest.raises(WeightsError, match="not a file") as error:
        build_feature_model(["conv1_1"], weights=str(tmp_path))
    assert_advice(str(error.value))


def test_corrupt_weights_file_is_a_weights_error_with_advice(tmp_path):
    corrupt = tmp_path / "x.h5"
    corrupt.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(WeightsError, match="could not read") as error:
        build_feature_model(["conv1_1"], weights=str(corrupt))
    message = str(error.value)
    assert str(corrupt) in message
    assert "\n" not in message  # one line for the CLI
    assert_advice(message)


# --- pooling -------------------------------------------------------------------------------------------


def test_avg_pooling_replaces_max_pooling_with_the_same_weights():
    layers = ("conv1_2", "conv3_3")
    max_model = build_feature_model(layers, weights="random", seed=0)
    avg_model = build_feature_model(layers, weights="random", seed=0, pooling="avg")
    kinds = {type(layer) for layer in avg_model.layers}
    assert keras.layers.AveragePooling2D in kinds and keras.layers.MaxPooling2D not in kinds
    image = tf.constant(synthetic_image(32, 32, seed=3)[None].astype(np.float32))
    max_out, avg_out = max_model(image), avg_model(image)
    np.testing.assert_array_equal(max_out["block1_conv2"], avg_out["block1_conv2"])  # before any pooling
    assert not np.allclose(max_out["block3_conv3"], avg_out["block3_conv3"])
    with pytest.raises(ConfigError, match="pooling"):
        build_feature_model(layers, weights="random", pooling="min")


@pytest.mark.slow
def test_avg_pooling_config_changes_the_result(content, style_a, monkeypatch):
    built = []
    real_build = features.build_feature_model

    def recording_build(*args, **kwargs):
        built.append(kwargs.get("pooling"))
        return real_build(*args, **kwargs)

    monkeypatch.setattr(features, "build_feature_model", recording_build)  # what the run's recipe calls
    cfg = BASE.override(iterations=3, image_size=32)
    with_max, with_avg = (stylize(content, style_a, cfg.override(pooling=p)).image for p in ("max", "avg"))
    assert built == ["max", "avg"] and not np.allclose(with_max, with_avg)
