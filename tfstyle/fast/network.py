"""The transform network of Johnson, Alahi & Fei-Fei (ECCV 2016), with Ulyanov et al.'s instance
normalization and Odena et al.'s resize-convolution upsampling: one forward pass from a photo to its
stylized picture.

Pixels in [0, 255] in and out, any height and width: each stride-2 convolution rounds a side up
(n → ⌈n/2⌉), the two upsamplings double it, and the output is cropped back to the input's size, so
odd sizes come out as they went in. Every operation is a LiteRT builtin (MIRROR_PAD, CONV_2D, MEAN,
RSQRT, RESIZE_NEAREST_NEIGHBOR, STRIDED_SLICE), with every tensor's channel count known.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

RESIDUAL_BLOCKS = 5
MIN_SIDE = 5  # the first 9x9 convolution mirrors 4 pixels, which needs 5 to mirror
EPSILON = 1e-5


@keras.saving.register_keras_serializable(package="tfstyle")
class ReflectionPad(keras.layers.Layer):
    """Pads height and width by ``pad`` on each side, mirroring the border (no seams at the edges)."""

    def __init__(self, pad: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.pad = pad

    def call(self, images: tf.Tensor) -> tf.Tensor:
        p = self.pad
        return tf.pad(images, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")

    def get_config(self) -> dict:
        return {**super().get_config(), "pad": self.pad}


@keras.saving.register_keras_serializable(package="tfstyle")
class InstanceNormalization(keras.layers.Layer):
    """y = γ·(x − μ)/√(σ² + ε) + β with μ, σ² per image and channel over the positions (Ulyanov et al.)."""

    def build(self, input_shape: tuple) -> None:
        channels = input_shape[-1]
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")

    def call(self, x: tf.Tensor) -> tf.Tensor:
        mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        return self.gamma * (x - mean) * tf.math.rsqrt(variance + EPSILON) + self.beta


def _conv(x: tf.Tensor, channels: int, kernel: int, stride: int, name: str, norm: bool = True, relu: bool = True) -> tf.Tensor:
    """Reflection-padded convolution, then instance normalization and ReLU."""
    x = ReflectionPad(kernel // 2, name=f"{name}_pad")(x)
    x = keras.layers.Conv2D(channels, kernel, strides=stride, name=name)(x)
    if norm:
        x = InstanceNormalization(name=f"{name}_norm")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _residual(x: tf.Tensor, channels: int, name: str) -> tf.Tensor:
    """x + conv(ReLU(conv(x))), both normalized; no ReLU after the sum (Gross & Wilber's variant, as Johnson's code)."""
    y = _conv(x, channels, 3, 1, f"{name}_a")
    y = _conv(y, channels, 3, 1, f"{name}_b", relu=False)
    return keras.layers.Add(name=f"{name}_add")([x, y])


@keras.saving.register_keras_serializable(package="tfstyle")
class Upsample(keras.layers.Layer):
    """Nearest-neighbour ×2 (one RESIZE_NEAREST_NEIGHBOR, which keeps the channel count known to
    LiteRT's converter, where keras' UpSampling2D loses it)."""

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return tf.image.resize(x, 2 * tf.shape(x)[1:3], method="nearest")


def _upsample(x: tf.Tensor, channels: int, name: str) -> tf.Tensor:
    """Nearest-neighbour ×2, then a convolution: no checkerboard artefacts (Odena et al. 2016)."""
    x = Upsample(name=f"{name}_resize")(x)
    return _conv(x, channels, 3, 1, name)


def transform_network(width: int = 16, seed: int = 0) -> keras.Model:
    """The transform network, ``[batch, height, width, 3]`` in [0, 255] → the same shape in [0, 255].

    ``width`` c: channels c, 2c, 4c down, five residual blocks of 4c, 2c and c up (Johnson et al.: 32;
    16 trains about 1.7x faster on 2 cores). ``seed`` fixes the initial weights."""
    keras.utils.set_random_seed(seed)
    photos = keras.Input(shape=(None, None, 3), name="photo")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="to_unit")(photos)
    x = _conv(x, width, 9, 1, "down1")
    x = _conv(x, 2 * width, 3, 2, "down2")
    x = _conv(x, 4 * width, 3, 2, "down3")
    for block in range(RESIDUAL_BLOCKS):
        x = _residual(x, 4 * width, f"residual{block + 1}")
    x = _upsample(x, 2 * width, "up1")
    x = _upsample(x, width, "up2")
    x = _conv(x, 3, 9, 1, "out", norm=False, relu=False)
    pixels = keras.layers.Rescaling(127.5, offset=127.5, name="to_pixels")(x)
    return keras.Model(photos, pixels, name=f"transform_net_{width}")


def stylize_any_size(network: keras.Model, photos: tf.Tensor) -> tf.Tensor:
    """``network`` on photos of any height and width: its output (4·⌈n/4⌉ a side) cropped to theirs."""
    shape = tf.shape(photos)
    return network(photos)[:, : shape[1], : shape[2], :]
