"""Large images: the tile layout and its feathering, tiled runs against untiled ones, and the clear
message (with the largest size that fits) when a run would not fit (the estimate: network/test_memory.py)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import synthetic_image
from PIL import Image

from tfstyle import (
    ConfigError,
    MemoryLimitError,
    StyleConfig,
    build_feature_model,
    stylize,
)
from tfstyle.cli import run as tfrun
from tfstyle.network import memory
from tfstyle.objective.tiled import TiledObjective, layout, tile_geometry
from tfstyle.objective.whole import make_loss_fn
from tfstyle.vgg16 import VGG16_CONV_LAYERS

LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3")


@pytest.fixture(scope="module")
def model():
    return build_feature_model(LAYERS, weights="random", seed=0)


@pytest.fixture(scope="module")
def images():
    return synthetic_image(72, 96, seed=1), synthetic_image(96, 96, seed=2)


def config(**changes) -> StyleConfig:
    settings = dict(
        content_layers=("block3_conv3",), style_layers=LAYERS, style_weight=1e-2, optimizer="adam", learning_rate=8.0,
        iterations=5, image_size=96, weights="random", precision="float32",
    )  # fmt: skip
    return StyleConfig(**{**settings, **changes})


# --- the layout -------------------------------------------------------------------------------------


@pytest.mark.parametrize("height, width, size, overlap, stride", [(72, 96, 48, 16, 4), (300, 517, 128, 32, 16), (64, 64, 64, 16, 16)])
def test_tiles_cover_the_image_with_weights_that_sum_to_one(height, width, size, overlap, stride):
    tiles = layout(height, width, size, overlap, stride)
    total = np.zeros((height, width))
    for tile in tiles:
        assert tile.top % stride == 0 and tile.left % stride == 0, "tiles sit on the deepest layer's grid"
        assert max(tile.shape) < size + stride
        assert tile.weights.shape == tile.shape and tile.weights.min() >= 0
        total[tile.top : tile.bottom, tile.left : tile.right] += tile.weights
    np.testing.assert_allclose(total, 1.0, atol=1e-6)
    # Averaged down to each layer's grid, the weights still sum to 1 at every position.
    for pools in range(1, int(np.log2(stride)) + 1):
        step = 2**pools
        grid = np.zeros((height // step, width // step))
        for tile in tiles:
            pooled = tf.nn.avg_pool2d(tile.weights[None, :, :, None], step, step, "VALID")[0, :, :, 0].numpy()
            grid[tile.top // step : tile.top // step + pooled.shape[0], tile.left // step : tile.left // step + pooled.shape[1]] += pooled
        np.testing.assert_allclose(grid, 1.0, atol=1e-5)


def test_seams_are_feathered_across_the_overlap():
    tiles = layout(64, 200, 64, 24, 8)  # one row of overlapping tiles
    first, second = tiles[0].weights[0], tiles[1].weights[0]
    overlap = slice(tiles[1].left, tiles[0].right)
    assert len(tiles) == 5 and tiles[0].right - tiles[1].left >= 24
    ramp = first[overlap]
    assert ramp[0] == pytest.approx(1.0) and ramp[-1] == pytest.approx(0.0), "1 inside, 0 at the far edge"
    assert np.all(np.diff(ramp) <= 1e-7), "falls monotonically"
    assert np.abs(np.diff(ramp)).max() < 0.15, "no hard step: a smooth cross-fade"
    np.testing.assert_allclose(first[overlap] + second[: tiles[0].right - tiles[1].left], 1.0, atol=1e-6)


def test_tile_geometry_rounds_to_the_stride_and_refuses_what_cannot_work():
    assert tile_geometry(500, None, VGG16_CONV_LAYERS) == (496, 112)  # 16 px stride at conv5_3; overlap a quarter
    assert tile_geometry(100, 10, ("block2_conv2",)) == (100, 10)
    with pytest.raises(ConfigError, match="too small for layer block5_conv3: give at least 64"):
        tile_geometry(40, None, VGG16_CONV_LAYERS)
    with pytest.raises(ConfigError, match="overlap 288 is too large for tiles of 512 pixels: give at most 256"):
        tile_geometry(512, 300, VGG16_CONV_LAYERS)
    with pytest.raises(ConfigError, match="a `tile_overlap` needs a `tile_size`"):
        config(tile_overlap=8)


# --- tiled runs -------------------------------------------------------------------------------------


def test_one_tile_as_large_as_the_image_gives_the_untiled_loss_and_gradient(model, images):
    content, style = images
    cfg = config(tile_size=128, tv_weight=1e-3)
    image = tf.constant(content + np.random.default_rng(0).normal(0, 20, content.shape), tf.float32)[None]
    untiled = make_loss_fn(model, content, style, cfg)
    with tf.GradientTape() as tape:
        tape.watch(image)
        expected = untiled(image)
        total = tf.reduce_sum(expected["total"])
    losses, gradient = TiledObjective(model, content, style, cfg).value_and_gradient(image)
    for name in ("total", "content", "style", "tv", "style/block1_conv2"):
        np.testing.assert_allclose(losses[name], expected[name], rtol=1e-5, err_msg=name)
    np.testing.assert_allclose(gradient, tape.gradient(total, image), rtol=0, atol=1e-5 * np.abs(gradient).max())


@pytest.mark.slow
def test_one_tile_as_large_as_the_image_is_the_untiled_run(images):
    content, style = images
    # SGD moves a pixel by lr·g, linear in the gradient, which tiling keeps to 1e-5 of its largest value
    # (the test above): the runs agree to that share of the largest move. (Adam's first steps, lr·g/(|g| + ε),
    # and max pooling's near-ties would turn round-off in a near-zero gradient into a whole step.)
    model = build_feature_model(LAYERS, weights="random", seed=0, pooling="avg")
    plain = config(optimizer="sgd", learning_rate=3.0, pooling="avg")
    untiled = stylize(content, style, plain, feature_model=model)
    tiled = stylize(content, style, plain.override(tile_size=128), feature_model=model)
    largest_move = np.abs(untiled.image - content).max()
    assert largest_move > 1.0, "the image should have moved"
    np.testing.assert_allclose(tiled.image, untiled.image, rtol=0, atol=1e-4 * largest_move)
    np.testing.assert_allclose(tiled.history["total"], untiled.history["total"], rtol=1e-5)


@pytest.mark.slow
def test_tiled_output_has_the_size_and_stays_close_to_the_untiled_run(model, images):
    content, style = images
    untiled = stylize(content, style, config(), feature_model=model)
    tiled = stylize(content, style, config(tile_size=64, tile_overlap=32), feature_model=model)  # 2 x 2 tiles
    assert tiled.image.shape == untiled.image.shape == (72, 96, 3)
    moved = np.abs(untiled.image - content).mean()
    difference = np.abs(tiled.image - untiled.image)
    # Tiles of 64 px are small for conv3_3 (its activations see 40 px around): the edges count.
    assert difference.mean() < 0.1 * moved, (difference.mean(), moved)
    # No seam: across the overlaps the tiled image differs from the untiled one little more than elsewhere.
    columns, rows = difference.mean(axis=(0, 2)), difference.mean(axis=(1, 2))
    assert columns[32:64].max() < 3 * np.median(columns) + 0.5 and rows[8:64].max() < 3 * np.median(rows) + 0.5
    assert tiled.final_losses["total"] < tiled.initial_losses["total"]


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["lbfgs", "sgd"])
def test_tiles_work_with_every_optimizer_and_a_batch(optimizer, model, images):
    content, style = images
    cfg = config(optimizer=optimizer, learning_rate=None, iterations=2, tile_size=48)
    batch = [content, content[:, ::-1]] if optimizer == "sgd" else content
    result = stylize(batch, style, cfg, feature_model=model)
    assert result.image.shape == ((2, 72, 96, 3) if optimizer == "sgd" else (72, 96, 3))
    assert result.final_losses["total"] < result.initial_losses["total"]


def test_tiles_and_masks_do_not_mix(model, images):
    content, style = images
    with pytest.raises(ConfigError, match="masks do not work with tiles"):
        stylize(content, style, config(tile_size=48), feature_model=model, content_mask=np.ones((72, 96)))


# --- runs too large for the memory -----------------------------------------------------------------


def test_a_run_that_would_not_fit_is_refused_before_it_starts_with_the_largest_size(images, monkeypatch):
    content, style = images
    monkeypatch.setattr(memory, "available_bytes", lambda device="": 300 * 1024**2)
    with pytest.raises(MemoryLimitError) as error:
        stylize(content, style, config(image_size=512))
    message = str(error.value)
    assert "optimizing 512x384 px needs about" in message and "GiB" in message
    assert "the largest `image_size` that fits is about" in message and "`tile_size` " in message
    side = int(message.split("fits is about ")[1].split(",")[0])
    assert 16 <= side < 512


def test_tensorflow_running_out_of_memory_gives_the_same_clear_error(model, images):
    content, style = images

    def exhausted(step):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")

    with pytest.raises(MemoryLimitError, match="out of memory on CPU:0 optimizing 96x72 px"):
        stylize(content, style, config(), [exhausted], model)


@pytest.mark.slow
def test_cli_tile_and_the_memory_message(tmp_path, images, capsys, monkeypatch):
    content, style = images
    Image.fromarray(content).save(tmp_path / "photo.png")
    Image.fromarray(style).save(tmp_path / "painting.png")
    base = [
        "tfstyle", "--content", str(tmp_path / "photo.png"), "--style", str(tmp_path / "painting.png"), "--weights",
        "random", "--print_every", "0", "--iterations", "2", "--content_layers", "conv3_3", "--style_layers", "conv1_2,conv3_3",
    ]  # fmt: skip
    try:
        assert tfrun.cli([*base, "--image_size", "96", "--tile", "48", "--output", str(tmp_path / "tiled.png")]) == 0
        assert Image.open(tmp_path / "tiled.png").size == (96, 72)
        monkeypatch.setattr(memory, "available_bytes", lambda device="": memory.GIB)
        capsys.readouterr()
        assert tfrun.cli([*base, "--image_size", "2048", "--output", str(tmp_path / "big.png")]) == 1
    finally:
        tfrun.FLAGS.unparse_flags()
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith("tfstyle: error: optimizing 2048x1536 px needs about") and "--tile" in err
    assert not (tmp_path / "big.png").exists()
