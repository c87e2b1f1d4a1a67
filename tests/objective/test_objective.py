"""One objective interface: the whole-image, tiled and sharded objectives give the same losses and
gradient (on a small image, where one tile covers it and tiling is exact to round-off)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import synthetic_image

from tfstyle import StyleConfig, build_feature_model
from tfstyle.objective.sharded import ShardedObjective
from tfstyle.objective.tiled import TiledObjective
from tfstyle.objective.whole import WholeImageObjective, make_loss_fn, objective

LAYERS = ("block1_conv2", "block2_conv2", "block3_conv1")
CONFIG = StyleConfig(
    content_layers=("block2_conv2",), style_layers=LAYERS, style_weight=1e-2, tv_weight=1e-3, weights="random",
)  # fmt: skip


@pytest.fixture(scope="module")
def model():
    return build_feature_model(LAYERS, weights="random", seed=0)


@pytest.fixture(scope="module")
def inputs():
    contents = np.stack([synthetic_image(32, 40, seed=1), synthetic_image(32, 40, seed=3)]).astype(np.float32)
    style = synthetic_image(40, 40, seed=2).astype(np.float32)
    noise = np.random.default_rng(0).normal(0, 20, contents.shape)
    return contents, style, tf.constant(np.clip(contents + noise, 0, 255), tf.float32)


def test_objective_picks_the_whole_image_tiled_or_sharded_form(model, inputs):
    contents, style, _ = inputs
    strategy = tf.distribute.MirroredStrategy(devices=["/cpu:0"])
    assert isinstance(objective(model, contents, [style], CONFIG), WholeImageObjective)
    assert isinstance(objective(model, contents, [style], CONFIG.override(tile_size=64)), TiledObjective)
    assert isinstance(objective(model, contents, [style], CONFIG, strategy=strategy), ShardedObjective)
    assert isinstance(objective(model, contents[:1], [style], CONFIG, strategy=strategy), WholeImageObjective)


def test_whole_tiled_and_sharded_give_the_same_losses_and_gradient(model, inputs):
    contents, style, images = inputs
    strategy = tf.distribute.MirroredStrategy(devices=["/cpu:0"])
    objectives = {
        "whole": objective(model, contents, [style], CONFIG),
        "tiled": objective(model, contents, [style], CONFIG.override(tile_size=64)),  # one tile
        "sharded": ShardedObjective(strategy, lambda shard: make_loss_fn(model, shard, [style], CONFIG), contents),
    }
    with tf.GradientTape() as tape:  # the reference: the loss function and a tape, nothing else
        tape.watch(images)
        expected = make_loss_fn(model, contents, [style], CONFIG)(images)
        total = tf.reduce_sum(expected["total"])
    expected_gradient = tape.gradient(total, images).numpy()
    assert np.abs(expected_gradient).max() > 0
    for name, goal in objectives.items():
        called = goal(images)
        losses, gradient = goal.value_and_gradient(images)
        assert set(losses) == set(called) == set(expected), name
        for key in expected:
            assert losses[key].shape == (2,), (name, key)
            np.testing.assert_allclose(losses[key], expected[key], rtol=1e-5, atol=1e-6, err_msg=f"{name} {key}")
            np.testing.assert_allclose(called[key], expected[key], rtol=1e-5, atol=1e-6, err_msg=f"{name} {key}")
        np.testing.assert_allclose(
            gradient, expected_gradient, rtol=0, atol=1e-5 * np.abs(expected_gradient).max(), err_msg=name
        )


def test_the_whole_image_objective_takes_a_variable(model, inputs):
    contents, style, images = inputs
    goal = objective(model, contents, [style], CONFIG)
    losses, gradient = goal.value_and_gradient(tf.Variable(images))
    again, same = goal.value_and_gradient(images)
    np.testing.assert_array_equal(losses["total"], again["total"])
    np.testing.assert_array_equal(gradient, same)
