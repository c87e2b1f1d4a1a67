"""The transform network: any size in, the same size out; instance normalization per image; Johnson's size."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfstyle.fast.network import InstanceNormalization, ReflectionPad, stylize_any_size, transform_network


@pytest.fixture(scope="module")
def network():
    return transform_network(width=4, seed=0)


@pytest.mark.parametrize("height, width", [(32, 32), (37, 53), (17, 8), (5, 6), (64, 31)])
def test_any_size_in_gives_the_same_size_out_odd_sizes_too(network, height, width):
    photos = tf.random.uniform([2, height, width, 3], 0, 255, seed=1)
    assert stylize_any_size(network, photos).shape == (2, height, width, 3)


def test_pixels_come_out_in_the_photo_range_around_its_middle(network):
    out = stylize_any_size(network, tf.fill([1, 16, 16, 3], 128.0)).numpy()
    assert np.all(np.isfinite(out)) and -255 < out.mean() < 510  # linear output around 127.5, clipped by its users


def test_instance_normalization_normalizes_each_image_and_channel_on_its_own():
    layer = InstanceNormalization()
    rng = np.random.default_rng(0)
    batch = np.stack([rng.normal(5, 3, (8, 8, 2)), rng.normal(-100, 40, (8, 8, 2))]).astype(np.float32)
    out = layer(batch).numpy()
    np.testing.assert_allclose(out.mean(axis=(1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2)), 1, atol=1e-2)
    alone = layer(batch[:1]).numpy()  # the other image of the batch changes nothing
    np.testing.assert_allclose(alone[0], out[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("pad", [1, 4])
def test_reflection_padding_is_tf_pads_reflect(pad):
    images = tf.random.uniform([2, 7, 5, 3], 0, 255, seed=3)
    expected = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
    np.testing.assert_array_equal(ReflectionPad(pad)(images).numpy(), expected.numpy())


def test_the_bfloat16_form_keeps_float32_weights_and_output():
    network = transform_network(4, dtype="mixed_bfloat16")
    assert {v.dtype for v in network.weights} == {"float32"}
    assert network(tf.fill([1, 12, 12, 3], 100.0)).dtype == tf.float32


def test_the_other_images_of_a_batch_change_no_pixel_of_an_image(network):
    photos = tf.random.uniform([3, 24, 20, 3], 0, 255, seed=2)
    together = stylize_any_size(network, photos).numpy()
    alone = stylize_any_size(network, photos[1:2]).numpy()
    np.testing.assert_allclose(together[1], alone[0], atol=1e-3)


def test_johnsons_width_has_johnsons_size_and_half_width_a_quarter():
    full, half = transform_network(32).count_params(), transform_network(16).count_params()
    assert 1.6e6 < full < 1.75e6  # Johnson et al.'s network: about 1.68M parameters
    assert 0.24 < half / full < 0.26


def test_a_seed_fixes_the_first_weights():
    a, b, c = transform_network(4, seed=3), transform_network(4, seed=3), transform_network(4, seed=4)
    same = [np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights())]
    assert all(same)
    assert not all(np.array_equal(x, y) for x, y in zip(a.get_weights(), c.get_weights()))
