"""The transform network of Johnson, Alahi & Fei-Fei (ECCV 2016), with Ulyanov et al.'s instance
normalization and Odena et al.'s resize-convolution upsampling: one forward pass from a photo to its
stylized picture.

Pixels in [0, 255] in and out, any height and width: each stride-2 convolution rounds a side up
(n → ⌈n/2⌉), the two upsamplings double it, and the output is cropped back to the input's size, so
odd sizes come out as they went in. Every operation is a LiteRT builtin (STRIDED_SLICE, REVERSE_V2,
CONCATENATION, CONV_2D, MEAN, RSQRT, RESIZE_NEAREST_NEIGHBOR), with every tensor's channel count known.

``dtype`` ``mixed_bfloat16`` computes the convolutions in bfloat16 (the weights, the normalization's
statistics and the output pixels stay float32): 1.8x as fast on an AMD Zen 4 with AVX512-BF16, the
one CPU it was timed on (docs/fast.md), within a few grey levels of float32's picture.
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
        return _mirror(_mirror(images, self.pad, 1), self.pad, 2)

    def get_config(self) -> dict:
        return {**super().get_config(), "pad": self.pad}


def _mirror(x: tf.Tensor, pad: int, axis: int) -> tf.Tensor:
    """``x`` with the ``pad`` rows (``axis`` 1) or columns (2) inside each border mirrored outside it,
    the border itself not repeated: ``tf.pad``'s REFLECT, as slices and a concatenation, which run
    2-3x faster than MirrorPad on a CPU."""
    def part(begin: int, end: int) -> tf.Tensor:
        return tf.reverse(x[(slice(None),) * axis + (slice(begin, end),)], [axis])

    return tf.concat([part(1, pad + 1), x, part(-pad - 1, -1)], axis)


@keras.saving.register_keras_serializable(package="tfstyle")
class InstanceNormalization(keras.layers.Layer):
    """y = γ·(x − μ)/√(σ² + ε) + β with μ, σ² per image and channel over the positions (Ulyanov et al.)."""

    def build(self, input_shape: tuple) -> None:
        channels = input_shape[-1]
        # float32 at any precision: the statistics and the normalization are computed in float32.
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma", autocast=False)
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta", autocast=False)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        if x.shape[0] == 1:  # one image: its batch statistics are its own, one fused kernel (about 5x fewer passes)
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(x, self.gamma, self.beta, epsilon=EPSILON, is_training=True)
            return y
        x32 = tf.cast(x, tf.float32)
        mean, variance = tf.nn.moments(x32, axes=[1, 2], keepdims=True)
        return tf.cast((x32 - mean) * (self.gamma * tf.math.rsqrt(variance + EPSILON)) + self.beta, x.dtype)


def _conv(
    x: tf.Tensor, channels: int, kernel: int, stride: int, name: str, dtype: str, norm: bool = True, relu: bool = True
) -> tf.Tensor:
    """Reflection-padded convolution, then instance normalization and ReLU."""
    x = ReflectionPad(kernel // 2, name=f"{name}_pad", dtype=dtype)(x)
    x = keras.layers.Conv2D(channels, kernel, strides=stride, name=name, dtype=dtype)(x)
    if norm:
        x = InstanceNormalization(name=f"{name}_norm", dtype=dtype)(x)
    return keras.layers.ReLU(name=f"{name}_relu", dtype=dtype)(x) if relu else x


def _residual(x: tf.Tensor, channels: int, name: str, dtype: str) -> tf.Tensor:
    """x + conv(ReLU(conv(x))), both normalized; no ReLU after the sum (Gross & Wilber's variant, as Johnson's code)."""
    y = _conv(x, channels, 3, 1, f"{name}_a", dtype)
    y = _conv(y, channels, 3, 1, f"{name}_b", dtype, relu=False)
    return keras.layers.Add(name=f"{name}_add", dtype=dtype)([x, y])


@keras.saving.register_keras_serializable(package="tfstyle")
class Upsample(keras.layers.Layer):
    """Nearest-neighbour ×2 (one RESIZE_NEAREST_NEIGHBOR, which keeps the channel count known to
    LiteRT's converter, where keras' UpSampling2D loses it)."""

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return tf.image.resize(x, 2 * tf.shape(x)[1:3], method="nearest")


def _upsample(x: tf.Tensor, channels: int, name: str, dtype: str) -> tf.Tensor:
    """Nearest-neighbour ×2, then a convolution: no checkerboard artefacts (Odena et al. 2016)."""
    x = Upsample(name=f"{name}_resize", dtype=dtype)(x)
    return _conv(x, channels, 3, 1, name, dtype)


def transform_network(width: int = 16, seed: int = 0, dtype: str = "float32") -> keras.Model:
    """The transform network, ``[batch, height, width, 3]`` in [0, 255] → the same shape in [0, 255].

    ``width`` c: channels c, 2c, 4c down, five residual blocks of 4c, 2c and c up (Johnson et al.: 32;
    16 trains about 1.7x faster on 2 cores). ``seed`` fixes the initial weights. ``dtype``: the
    layers' Keras dtype policy, ``float32`` or ``mixed_bfloat16`` (the output is float32 at both)."""
    keras.utils.set_random_seed(seed)
    photos = keras.Input(shape=(None, None, 3), name="photo")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="to_unit", dtype=dtype)(photos)
    x = _conv(x, width, 9, 1, "down1", dtype)
    x = _conv(x, 2 * width, 3, 2, "down2", dtype)
    x = _conv(x, 4 * width, 3, 2, "down3", dtype)
    for block in range(RESIDUAL_BLOCKS):
        x = _residual(x, 4 * width, f"residual{block + 1}", dtype)
    x = _upsample(x, 2 * width, "up1", dtype)
    x = _upsample(x, width, "up2", dtype)
    x = _conv(x, 3, 9, 1, "out", dtype, norm=False, relu=False)
    pixels = keras.layers.Rescaling(127.5, offset=127.5, name="to_pixels", dtype="float32")(x)
    return keras.Model(photos, pixels, name=f"transform_net_{width}")


def stylize_any_size(network: keras.Model, photos: tf.Tensor) -> tf.Tensor:
    """``network`` on photos of any height and width: its output (4·⌈n/4⌉ a side) cropped to theirs."""
    shape = tf.shape(photos)
    return network(photos)[:, : shape[1], : shape[2], :]
