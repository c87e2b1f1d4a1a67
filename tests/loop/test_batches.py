"""Batch stylization: a list, a 4-D array or a tf.data.Dataset of content images, optimized together
in one variable, gives each image what stylizing it alone gives (to round-off); callbacks see the batch."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import synthetic_image
from PIL import Image

from tfstyle import Callback, ImageError, StyleConfig, build_feature_model, stylize

LAYERS = ("block1_conv2", "block2_conv2")
# Pixels are in [0, 255]; a batched convolution may sum in another order than a single one.
ROUND_OFF = dict(rtol=0, atol=1e-2)


@pytest.fixture(scope="module")
def model():
    return build_feature_model(LAYERS, weights="random", seed=0)


@pytest.fixture(scope="module")
def contents() -> list[np.ndarray]:
    return [synthetic_image(24, 32, seed=seed) for seed in (1, 2, 3)]


@pytest.fixture(scope="module")
def style() -> np.ndarray:
    return synthetic_image(32, 32, seed=9)


def config(optimizer: str = "adam", **changes) -> StyleConfig:
    # Adam at 4, not 8: the comparisons below are to round-off, and at 8 a pixel of these random-weight
    # images crosses a ReLU or pooling switch within 6 steps in one run and not the other.
    learning_rates = {"adam": 4.0, "sgd": 1.0, "lbfgs": None}
    settings = dict(
        content_layers=("block2_conv2",),
        style_layers=LAYERS,
        style_layer_weights=None,
        style_weight=1e-2,
        optimizer=optimizer,
        learning_rate=learning_rates[optimizer],
        iterations=6,
        image_size=32,
        weights="random",
        precision="float32",
    )
    return StyleConfig(**{**settings, **changes})


class Seen(Callback):
    def __init__(self, every: int = 1, stop_at: int | None = None):
        self.every, self.stop_at = every, stop_at
        self.steps = []

    def on_step(self, step):
        self.steps.append((step.iteration, step.iterations, step.image.numpy()))
        return step.iteration == self.stop_at


@pytest.mark.parametrize("optimizer", ["adam", pytest.param("sgd", marks=pytest.mark.slow), pytest.param("lbfgs", marks=pytest.mark.slow)])
def test_a_batch_equals_each_image_stylized_alone(optimizer, model, contents, style):
    cfg = config(optimizer)
    batch = stylize(contents, style, cfg, feature_model=model)
    alone = np.stack([stylize(content, style, cfg, feature_model=model).image for content in contents])
    assert batch.image.shape == (3, 24, 32, 3)
    assert np.abs(alone - np.stack(contents)).max() > 1.0, "the images should have moved"
    np.testing.assert_allclose(batch.image, alone, **ROUND_OFF)


@pytest.mark.slow
def test_noise_init_gives_each_image_of_a_batch_the_noise_it_gets_alone(model, contents, style):
    cfg = config("adam", init="noise", iterations=3)
    batch = stylize(contents[:2], style, cfg, feature_model=model)
    alone = np.stack([stylize(content, style, cfg, feature_model=model).image for content in contents[:2]])
    np.testing.assert_allclose(batch.image, alone, **ROUND_OFF)


@pytest.mark.slow
def test_a_list_a_tuple_an_array_and_a_tensor_are_the_same_batch(model, contents, style):
    cfg = config(iterations=2)
    expected = stylize(contents, style, cfg, feature_model=model).image
    for batch in (tuple(contents), np.stack(contents), tf.constant(np.stack(contents))):
        np.testing.assert_allclose(stylize(batch, style, cfg, feature_model=model).image, expected, **ROUND_OFF)


def test_one_image_gives_hwc_and_a_batch_of_one_gives_bhwc(model, contents, style):
    cfg = config(iterations=2)
    single = stylize(contents[0], style, cfg, feature_model=model)
    listed = stylize([contents[0]], style, cfg, feature_model=model)
    array = stylize(np.stack(contents[:1]), style, cfg, feature_model=model)
    assert single.image.shape == (24, 32, 3)
    assert listed.image.shape == array.image.shape == (1, 24, 32, 3)
    np.testing.assert_array_equal(listed.image[0], single.image)
    np.testing.assert_array_equal(array.image[0], single.image)


@pytest.mark.slow
def test_a_dataset_of_images_of_batches_or_of_paths_is_one_batch(model, contents, style, tmp_path):
    cfg = config(iterations=2)
    expected = stylize(contents, style, cfg, feature_model=model).image
    paths = []
    for index, content in enumerate(contents):
        paths.append(str(tmp_path / f"photo{index}.png"))
        Image.fromarray(content).save(paths[-1])
    images = tf.data.Dataset.from_tensor_slices(np.stack(contents))
    datasets = {
        "images": images,
        "uneven batches": images.batch(2),
        "paths": tf.data.Dataset.from_tensor_slices(paths),
        "decoded files": tf.data.Dataset.from_tensor_slices(paths).map(
            lambda path: tf.io.decode_png(tf.io.read_file(path), channels=3)
        ),
    }
    for name, dataset in datasets.items():
        result = stylize(dataset, style, cfg, feature_model=model)
        np.testing.assert_allclose(result.image, expected, **ROUND_OFF, err_msg=name)


def test_images_of_different_sizes_that_scale_alike_make_a_batch(model, style):
    small, large = synthetic_image(24, 32, seed=1), synthetic_image(48, 64, seed=2)
    cfg = config(iterations=2)
    result = stylize([small, large], style, cfg, feature_model=model)
    assert result.image.shape == (2, 24, 32, 3)
    alone = stylize(large, style, cfg, feature_model=model).image
    np.testing.assert_allclose(result.image[1], alone, **ROUND_OFF)


def test_images_that_scale_to_different_sizes_are_a_clear_error(model, contents, style):
    portrait = synthetic_image(32, 24, seed=4)
    with pytest.raises(ImageError, match=r"same size.*image 1 is 32x24 and image 3 is 24x32"):
        stylize([contents[0], contents[1], portrait], style, config(), feature_model=model)


@pytest.mark.parametrize(
    "content, message",
    [
        ([], "empty"),
        (tf.data.Dataset.from_tensor_slices(np.zeros([0, 24, 32, 3], np.float32)), "empty"),
        (np.zeros([0, 24, 32, 3]), "empty"),
        (tf.data.Dataset.from_tensor_slices(np.zeros([2, 24, 32, 3], np.float32)).repeat(), "infinite"),
        (tf.data.Dataset.from_tensor_slices((np.zeros([2, 24, 32, 3]), np.zeros([2]))), "must yield images"),
    ],
    ids=["empty list", "empty dataset", "empty array", "infinite dataset", "dataset of pairs"],
)
def test_bad_batches_are_clear_errors(content, message, model, style):
    with pytest.raises(ImageError, match=message):
        stylize(content, style, config(), feature_model=model)


@pytest.mark.parametrize("optimizer", ["adam", pytest.param("lbfgs", marks=pytest.mark.slow)])
def test_callbacks_see_the_whole_batch_every_n_steps(optimizer, model, contents, style):
    cfg = config(optimizer, iterations=4)
    every_two, every_step = Seen(every=2), []
    result = stylize(contents, style, cfg, callbacks=[every_two, every_step.append], feature_model=model)
    total = 4 * len(contents) if optimizer == "lbfgs" else 4  # lbfgs: the images one after another
    assert result.iterations == total == len(every_step) == len(result.history["total"])
    assert [iteration for iteration, _, _ in every_two.steps] == list(range(2, total + 1, 2))
    assert all(iterations == total and image.shape == (3, 24, 32, 3) for _, iterations, image in every_two.steps)
    np.testing.assert_array_equal(every_two.steps[-1][2], result.image)
    assert every_step[0].image.shape == (3, 24, 32, 3) and set(every_step[0].losses) >= {"total", "content", "style"}


def test_an_early_stop_stops_the_whole_batch(model, contents, style):
    stop = Seen(stop_at=2)
    result = stylize(contents, style, config(iterations=6), callbacks=[stop], feature_model=model)
    assert result.iterations == 2 and result.image.shape == (3, 24, 32, 3)
    np.testing.assert_array_equal(stop.steps[-1][2], result.image)


def test_lbfgs_stopped_in_the_first_image_leaves_the_others_at_the_start(model, contents, style):
    stop_at_two = [lambda step: step.iteration == 2]
    result = stylize(contents, style, config("lbfgs"), callbacks=stop_at_two, feature_model=model)
    assert result.iterations == 2
    assert np.abs(result.image[0] - contents[0]).max() > 1.0
    np.testing.assert_array_equal(result.image[1:], np.stack(contents[1:]).astype(np.float32))
