"""The memory estimate: the activations it counts and the largest size that fits. (Runs refused for
memory, and TensorFlow running out of it, are in objective/test_tiled.py with the large images.)"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfstyle.network import memory
from tfstyle.network.features import build_feature_model


def test_the_activation_count_is_the_feature_models():
    model = build_feature_model(("block4_conv1",), weights="random")
    x, counted = tf.zeros((1, 40, 56, 3)), 0
    for layer in model.layers[1:]:  # a chain: the preprocessing, then VGG16's layers to block4_conv1
        x = layer(x)
        counted += int(np.prod(x.shape[1:]))
    assert model.layers[-1].name == "block4_conv1"
    assert memory.activation_values(40, 56, ("conv4_1",)) == counted


def test_the_largest_size_that_fits_is_the_boundary_of_the_estimate():
    layers = ("block1_conv2", "block5_conv3")
    available = 6 * memory.GIB
    side = memory.largest_side(memory.Workload((768, 1024), layers), available)
    assert side % 16 == 0
    assert memory.run_bytes((side * 3 // 4, side), layers) <= available < memory.run_bytes(((side + 32) * 3 // 4, side + 32), layers)
    assert memory.run_bytes((4096, 4096), layers, tile_size=512) < memory.run_bytes((4096, 4096), layers) / 5


def test_the_message_names_the_largest_size_and_a_tile_size_that_fit():
    work = memory.Workload((1536, 2048), ("block1_conv1", "block4_conv2"), content_layers=("block4_conv2",))
    found = memory.estimate(work, available=2 * memory.GIB)
    assert not found.fits and found.shape == (1536, 2048) and found.tile_size is None
    text = memory.message(found)
    assert f"the largest `image_size` that fits is about {memory.largest_side(work, 2 * memory.GIB)}" in text
    assert "`tile_size`" in text and "2048x1536 px" in text
