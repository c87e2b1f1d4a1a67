"""THE VGG16 table: layer names in Keras' and the paper's spellings, each layer's channels, stride and
output shape against Keras' VGG16, and the smallest image that reaches a layer."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tfstyle.errors import ConfigError
from tfstyle.vgg16 import (
    CONV_LAYERS,
    VGG16_CONV_LAYERS,
    canonical_layer_name,
    min_image_side,
)

# --- layer names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["block3_conv3", "conv3_3", "conv3-3", "CONV3_3", "Block3_Conv3", " conv3_3 "])
def test_canonical_layer_name_accepts_keras_and_paper_spellings(name):
    assert canonical_layer_name(name) == "block3_conv3"


def test_canonical_layer_name_maps_every_paper_name_to_its_keras_name():
    for keras_name in VGG16_CONV_LAYERS:
        block, conv = keras_name[5], keras_name[-1]
        assert canonical_layer_name(f"conv{block}_{conv}") == keras_name


@pytest.mark.parametrize("name", ["conv6_1", "block3_conv4", "conv3_4", "block3_pool", "fc1", "", "conv33"])
def test_unknown_layer_is_a_config_error_listing_the_valid_layers(name):
    with pytest.raises(ConfigError) as error:
        canonical_layer_name(name)
    message = str(error.value)
    assert repr(name) in message
    for valid in ("conv1_1", "conv3_3", "conv5_3"):
        assert valid in message
    assert "block3_conv3" in message  # and says Keras names work too


# --- the table against Keras' VGG16 --------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_vgg16():
    return keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))


def test_the_table_has_keras_vgg16s_conv_layers_in_order_with_their_channels_and_strides(keras_vgg16):
    layers = keras_vgg16.layers
    convs = [(i, layer) for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.name for _, layer in convs] == [row.name for row in CONV_LAYERS]
    for (index, layer), row in zip(convs, CONV_LAYERS):
        assert tuple(layer.kernel.shape) == (3, 3, row.in_channels, row.channels), row.name
        poolings = sum(isinstance(before, keras.layers.MaxPooling2D) for before in layers[:index])
        assert row.stride == 2**poolings, row.name
        followed_by_pooling = index + 1 < len(layers) and isinstance(layers[index + 1], keras.layers.MaxPooling2D)
        assert followed_by_pooling == row.last_of_block, row.name


@pytest.mark.parametrize("height, width", [(19, 101), (37, 53)])
def test_each_layers_output_shape_is_the_tables_at_odd_sizes(keras_vgg16, height, width):
    taps = keras.Model(keras_vgg16.input, [keras_vgg16.get_layer(row.name).output for row in CONV_LAYERS])
    outputs = taps(np.zeros((1, height, width, 3), np.float32))
    for row, out in zip(CONV_LAYERS, outputs):
        assert tuple(out.shape) == (1, *row.shape(height, width), row.channels), row.name


# --- min_image_side ------------------------------------------------------------------------------


def test_min_image_side_is_two_to_the_number_of_pools_before_the_deepest_layer():
    assert min_image_side(["conv1_1"]) == 1
    assert min_image_side(["block2_conv2"]) == 2
    assert min_image_side(["conv1_2", "conv3_3"]) == 4
    assert min_image_side(["conv4_2", "conv1_1"]) == 8
    assert min_image_side(["conv1_2", "conv3_3", "conv5_3"]) == 16
