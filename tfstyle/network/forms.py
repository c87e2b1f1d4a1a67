"""The convolution forms: a stride-1 'same' Conv2D computed by other kernels of the same sums
(:data:`FORMS`), equal to Keras' Conv2D to round-off, forward and backward. Which one a run takes
is :func:`tfstyle.network.speed.resolve_convolutions`'s choice, as measured per machine kind
(docs/performance.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from tfstyle.errors import ConfigError

# oneDNN computes a float32 3x3 convolution's input gradient faster than the convolution itself
# from 256 input channels on (python -m tools.bench --forms at 512 px, with bias and ReLU: 1.1-1.3x at
# 256, 1.3-1.7x at 512 input channels); below that the forward convolution's fused bias and ReLU win.
TRANSPOSED_MIN_CHANNELS = 256
# ... but with oneDNN's native (plain) layouts, its input-gradient kernel reorders the layer's weights
# at every call, which the forward kernel reads as they are: on an AMD EPYC Zen 5, by oneDNN's own
# clock, the input-gradient kernel saved a 512-channel layer about what that reorder cost on a 24x32
# map (768 positions), and a fifth of a 256-channel layer's time on a 48x64 map. The mixed form
# takes the input gradient's kernel for a wide layer from this many positions on.
TRANSPOSED_MIN_POSITIONS = 1024
# On AVX2-only CPUs (no AVX-512) oneDNN's forward kernel is a slow one: TensorFlow hands it the weights
# in their plain layout, which only its im2col-and-GEMM kernel takes, while the input gradient's kernel
# reorders them for its fast blocked one (an AMD EPYC Zen 3 at 256 px: 1.2-3x faster from 64 input
# channels on). Only the first layer (3 input channels) was faster as Conv2D: the transposed_all form
# takes every layer from this many input channels on.
TRANSPOSED_ALL_MIN_CHANNELS = 16
# Winograd's F(2x2, 3x3) (the winograd form) beat the transposed form's kernel per layer (forward and
# input gradient) from 128 input channels on, on an AMD EPYC Zen 3: 24.5 against 29.6 ms at 128x128
# positions and 128 channels, 20.9 against 30.6 at 32x32 and 512; at 256x256 and 64 it lost (33.7
# against 26.9). Whole passes moved by less than their noise between 64 and 512.
WINOGRAD_MIN_CHANNELS = 128


def with_convolution_form(model: keras.Model, form: str) -> keras.Model:
    """A copy of ``model`` whose stride-1 'same' Conv2D layers run in ``form`` (:data:`FORMS`):
    ``transposed`` those with at least :data:`TRANSPOSED_MIN_CHANNELS` input channels,
    ``transposed_all`` those with :data:`TRANSPOSED_ALL_MIN_CHANNELS`, ``forward`` and ``mixed``
    those with a bias and ReLU (all of VGG16's). Other layers are shared; ``model``
    itself comes back when no layer changes (``conv2d``), and the original is never changed."""
    if form not in FORMS:
        raise ConfigError(f"unknown convolutions {form!r}; choose one of: auto, {', '.join(FORMS)}")
    names = [layer.name for layer in model.layers if form != "conv2d" and _convertible(layer, form)]
    if not names:
        return model

    def converted(layer: keras.layers.Layer) -> keras.layers.Layer:
        return remade(layer, FORMS[form]) if layer.name in names else layer

    clone = keras.models.clone_model(model, clone_function=converted)
    for name in names:  # the forms' layers make their K̃ weight from these
        clone.get_layer(name).set_weights(model.get_layer(name).weights)
    clone.trainable = model.trainable
    return clone


def transposed_conv2d(images: tf.Tensor, kernel: tf.Tensor, flipped: tf.Tensor | None = None) -> tf.Tensor:
    """Y = conv(X, K), stride 1, 'same', odd kernel, computed as the input gradient of a convolution
    with K̃ = :func:`flipped_kernel` (K) (computed here unless given); dY/dX is conv's usual input
    gradient.

    The same sums in another order: equal to ``tf.nn.conv2d`` to round-off. oneDNN runs this form
    up to 1.7x faster for wide float32 convolutions (:data:`TRANSPOSED_MIN_CHANNELS`).
    """
    kernel = tf.convert_to_tensor(kernel)  # a variable is read out here
    flipped = flipped_kernel(kernel) if flipped is None else tf.convert_to_tensor(flipped)
    return _transposed_conv2d(images, kernel, flipped)


def _backward_scope(scope: str) -> tf.name_scope:
    """The name scope for a custom gradient's operations: ``gradient_tape/`` and the forward pass's
    ``scope`` (the layer's), as TensorFlow names its own gradients, so that a profile counts them as
    the layer's backward pass (python -m tools.bench --profile). Without it they are named at the top."""
    return tf.name_scope(f"gradient_tape/{scope}/" if scope else "gradient_tape/")


@tf.custom_gradient
def _transposed_conv2d(
    images: tf.Tensor, kernel: tf.Tensor, flipped: tf.Tensor
) -> tuple[tf.Tensor, Callable[[tf.Tensor], tuple[tf.Tensor, ...]]]:
    outputs = tf.nn.conv2d_transpose(
        images, flipped, tf.concat([tf.shape(images)[:-1], tf.shape(kernel)[-1:]], 0), 1, "SAME"
    )
    scope = tf.get_current_name_scope()

    def gradient(d_outputs: tf.Tensor) -> tuple[tf.Tensor, ...]:
        with _backward_scope(scope):
            d_images = tf.nn.conv2d_transpose(d_outputs, kernel, tf.shape(images), 1, "SAME")
            # Pruned from a compiled step that only needs the image's gradient.
            d_kernel = tf.raw_ops.Conv2DBackpropFilter(
                input=images, filter_sizes=tf.shape(kernel), out_backprop=d_outputs, strides=[1, 1, 1, 1], padding="SAME"
            )
            return d_images, d_kernel, tf.zeros_like(flipped)

    return outputs, gradient


class _FlippedKernelConv2D(keras.layers.Conv2D):
    """A Conv2D that keeps K̃ = :func:`flipped_kernel` (its kernel) as a last, non-trainable weight,
    made from the kernel by :meth:`set_weights` (given Conv2D's own weights: the kernel, and the bias
    if it has one), so that a step does not flip VGG16's 59 MB of kernels again (about 6 % of a 256
    px float32 step on an AMX Xeon); change the kernel through :meth:`set_weights`."""

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)
        height, width, inputs, outputs = self.kernel.shape
        self.flipped_kernel = self.add_weight(
            name="flipped_kernel", shape=(height, width, outputs, inputs), initializer="zeros", trainable=False
        )

    def set_weights(self, weights: list) -> None:
        own = self.weights[: len(self.weights) - len(self._derived())]  # Conv2D's
        if len(weights) != len(own):  # the derived ones given too
            super().set_weights(weights)
            return
        # Arrays or tensors; the derived kernels are made by TensorFlow, not through NumPy.
        for variable, value in zip(own, weights):
            variable.assign(value)
        self._derive()

    def _derived(self) -> list[tf.Variable]:
        """The weights made from the kernel, last in :attr:`weights`."""
        return [self.flipped_kernel]

    def _derive(self) -> None:
        self.flipped_kernel.assign(flipped_kernel(self.kernel))


@keras.saving.register_keras_serializable(package="tfstyle")
class TransposedFormConv2D(_FlippedKernelConv2D):
    """A stride-1 'same' Conv2D (odd kernel, channels last) computed by :func:`transposed_conv2d`."""

    def convolution_op(self, inputs: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        return transposed_conv2d(inputs, kernel, self.flipped_kernel)


def forward_form_conv2d_relu(
    images: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor, flipped: tf.Tensor | None = None
) -> tf.Tensor:
    """Y = relu(conv(X, K) + b), stride 1, 'same', odd kernel, whose input gradient is itself a
    forward convolution: dX = conv(dZ, K̃), dZ = dY·[Y > 0], with K̃ = :func:`flipped_kernel` (K)
    (the input gradient of conv is the convolution with K̃), computed here unless given.

    The same sums in another order: equal to Conv2D's gradient to round-off. On CPUs whose
    convolution library runs a forward convolution faster than an input gradient, both passes run
    the faster kernel; the forward keeps Conv2D's fused bias and ReLU.
    """
    kernel = tf.convert_to_tensor(kernel)
    flipped = flipped_kernel(kernel) if flipped is None else tf.convert_to_tensor(flipped)
    return _forward_form(images, kernel, tf.convert_to_tensor(bias), flipped)


def flipped_kernel(kernel: tf.Tensor | np.ndarray) -> tf.Tensor:
    """K̃: ``kernel`` ``[kh, kw, in, out]`` flipped in space, its channel axes swapped → ``[kh, kw, out, in]``."""
    return tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])


@tf.custom_gradient
def _forward_form(
    images: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor, flipped: tf.Tensor
) -> tuple[tf.Tensor, Callable[[tf.Tensor], tuple[tf.Tensor, ...]]]:
    outputs = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(images, kernel, 1, "SAME"), bias))
    scope = tf.get_current_name_scope()

    def gradient(d_outputs: tf.Tensor) -> tuple[tf.Tensor, ...]:
        with _backward_scope(scope):
            d_linear = tf.raw_ops.ReluGrad(gradients=d_outputs, features=outputs)
            d_images = tf.nn.conv2d(d_linear, flipped, 1, "SAME")
            # Pruned from a compiled step that only needs the image's gradient.
            d_kernel = tf.raw_ops.Conv2DBackpropFilter(
                input=images, filter_sizes=tf.shape(kernel), out_backprop=d_linear, strides=[1, 1, 1, 1], padding="SAME"
            )
            return d_images, d_kernel, tf.reduce_sum(d_linear, axis=[0, 1, 2]), tf.zeros_like(flipped)

    return outputs, gradient


@keras.saving.register_keras_serializable(package="tfstyle")
class ForwardFormConv2D(_FlippedKernelConv2D):
    """A stride-1 'same' Conv2D with bias and ReLU (odd kernel, channels last) computed by
    :func:`forward_form_conv2d_relu` with the K̃ it keeps."""

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return forward_form_conv2d_relu(inputs, self.kernel, self.bias, self.flipped_kernel)


# Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray, 2016): a 3x3 convolution's 2x2 output tile
# from a 4x4 input tile with 16 products per channel pair instead of 36. Y = Aᵀ[(G K Gᵀ) ⊙ (Bᵀ X B)]A.
_WINOGRAD_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float32)


def winograd_kernel(kernel: tf.Tensor | np.ndarray) -> tf.Tensor:
    """U = G K Gᵀ for each channel pair of a 3x3 ``kernel`` ``[3, 3, in, out]`` → ``[16, in, out]``."""
    kernel = tf.convert_to_tensor(kernel, tf.float32)
    transformed = tf.einsum("ai,ijco,bj->abco", _WINOGRAD_G, kernel, _WINOGRAD_G)
    return tf.reshape(transformed, [16, *kernel.shape[2:]])


def _winograd_tiles(images: tf.Tensor) -> tf.Tensor:
    """V = Bᵀ X B for the 4x4 tiles, 2 apart, of ``images`` ``[1, h, w, c]`` 'same'-padded → ``[16, tiles, c]``."""
    _, height, width, channels = images.shape
    rows, columns = (height + 1) // 2, (width + 1) // 2
    padded = tf.pad(images, [[0, 0], [1, 1 + 2 * rows - height], [1, 1 + 2 * columns - width], [0, 0]])
    r = [padded[:, i : i + 2 * rows : 2] for i in range(4)]
    tiles = []
    for row in (r[0] - r[2], r[1] + r[2], r[2] - r[1], r[1] - r[3]):
        c = [row[:, :, j : j + 2 * columns : 2] for j in range(4)]
        tiles += [c[0] - c[2], c[1] + c[2], c[2] - c[1], c[1] - c[3]]
    return tf.reshape(tf.stack(tiles), [16, rows * columns, channels])


def _winograd_outputs(products: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """Y = Aᵀ M A: the 2x2 output tiles of ``products`` ``[16, tiles, out]`` → ``[1, height, width, out]``."""
    rows, columns = (height + 1) // 2, (width + 1) // 2
    m = tf.reshape(products, [4, 4, rows, columns, products.shape[-1]])
    halves = (m[0] + m[1] + m[2], m[1] - m[2] - m[3])
    tiles = tf.stack([tf.stack([s[0] + s[1] + s[2], s[1] - s[2] - s[3]], 2) for s in halves], 1)
    return tf.reshape(tiles, [1, 2 * rows, 2 * columns, -1])[:, :height, :width]


def winograd_conv2d(images: tf.Tensor, transformed: tf.Tensor, transformed_flipped: tf.Tensor) -> tf.Tensor:
    """Y = conv(X, K), stride 1, 'same', 3x3, one image, by Winograd's F(2x2, 3x3) from U =
    :func:`winograd_kernel` (K); its input gradient is the same with Ũ = winograd_kernel(K̃).

    The same sums to round-off in fewer products: 2.25x fewer multiplications, in one batched
    matrix product (oneDNN's GEMM) between two element-wise passes that XLA fuses."""
    return _winograd_conv2d(images, tf.convert_to_tensor(transformed), tf.convert_to_tensor(transformed_flipped))


def _winograd(images: tf.Tensor, transformed: tf.Tensor) -> tf.Tensor:
    _, height, width, _ = images.shape
    tiles = _compiled(_winograd_tiles, tuple(images.shape))(images)
    products = tf.matmul(tiles, transformed)
    return _compiled(_winograd_outputs, tuple(products.shape), height, width)(products, height, width)


@functools.cache
def _compiled(transform: Callable, *key: object) -> Callable:
    """``transform`` XLA-compiled, which fuses its slices and sums into one pass over the map: one
    function per ``key`` (the shapes it is called with), as one traced for every layer's would warn
    of retracing."""
    # TensorFlow counts tracings per Python function, not per tf.function: each gets its own partial.
    return tf.function(functools.partial(transform), jit_compile=True)


@tf.custom_gradient
def _winograd_conv2d(
    images: tf.Tensor, transformed: tf.Tensor, transformed_flipped: tf.Tensor
) -> tuple[tf.Tensor, Callable[[tf.Tensor], tuple[tf.Tensor, ...]]]:
    scope = tf.get_current_name_scope()

    def gradient(d_outputs: tf.Tensor) -> tuple[tf.Tensor, ...]:
        with _backward_scope(scope):
            d_images = _winograd(d_outputs, transformed_flipped)
            return d_images, tf.zeros_like(transformed), tf.zeros_like(transformed_flipped)

    return _winograd(images, transformed), gradient


@keras.saving.register_keras_serializable(package="tfstyle")
class WinogradFormConv2D(TransposedFormConv2D):
    """A :class:`TransposedFormConv2D` that computes a wide 3x3 layer (:data:`WINOGRAD_MIN_CHANNELS`
    input channels) on one image by :func:`winograd_conv2d`, keeping U and Ũ as weights."""

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)
        self.winograd = tuple(self.kernel.shape[:2]) == (3, 3) and _wide(self, WINOGRAD_MIN_CHANNELS)
        if self.winograd:
            inputs, outputs = self.kernel.shape[2:]
            self.transformed = self.add_weight(
                name="winograd_kernel", shape=(16, inputs, outputs), initializer="zeros", trainable=False
            )
            self.transformed_flipped = self.add_weight(
                name="winograd_flipped_kernel", shape=(16, outputs, inputs), initializer="zeros", trainable=False
            )

    def _derived(self) -> list[tf.Variable]:
        return super()._derived() + ([self.transformed, self.transformed_flipped] if self.winograd else [])

    def _derive(self) -> None:
        super()._derive()
        if self.winograd:
            self.transformed.assign(winograd_kernel(self.kernel))
            self.transformed_flipped.assign(winograd_kernel(self.flipped_kernel))

    def convolution_op(self, inputs: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        if self.winograd and inputs.shape[0] == 1 and None not in inputs.shape[1:3]:
            return winograd_conv2d(inputs, self.transformed, self.transformed_flipped)
        return super().convolution_op(inputs, kernel)


@keras.saving.register_keras_serializable(package="tfstyle")
class MixedFormConv2D(ForwardFormConv2D):
    """A :class:`ForwardFormConv2D` that computes a wide layer (:data:`TRANSPOSED_MIN_CHANNELS`
    input channels) on a large map (:data:`TRANSPOSED_MIN_POSITIONS`, known when the step is
    traced) as :class:`TransposedFormConv2D` does, in float32."""

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        height, width = inputs.shape[1:3]
        large = height is not None and width is not None and height * width >= TRANSPOSED_MIN_POSITIONS
        if not (large and _wide(self)):
            return super().call(inputs)
        outputs = transposed_conv2d(inputs, self.kernel, self.flipped_kernel)
        return tf.nn.relu(tf.nn.bias_add(outputs, self.bias))


# The ways a stride-1 'same' float32 Conv2D with bias and ReLU can be computed, by the kernels
# its forward and backward passes run: Conv2D then its input gradient (Keras' own), the input
# gradient's kernel both ways (transposed: the wide layers; transposed_all: all but a first layer
# on the pixels), the forward kernel both ways (forward), or per layer the one of these two that
# suits its width and map (mixed).
FORMS: dict[str, type[keras.layers.Conv2D]] = {
    "conv2d": keras.layers.Conv2D,
    "transposed": TransposedFormConv2D,
    "forward": ForwardFormConv2D,
    "mixed": MixedFormConv2D,
    "transposed_all": TransposedFormConv2D,
    "winograd": WinogradFormConv2D,
}
# The forms that run a layer in the transposed form from this many input channels on (none else).
_TRANSPOSED_FROM = {
    "transposed": TRANSPOSED_MIN_CHANNELS,
    "transposed_all": TRANSPOSED_ALL_MIN_CHANNELS,
    "winograd": TRANSPOSED_ALL_MIN_CHANNELS,
}


def _convertible(layer: keras.layers.Layer, form: str) -> bool:
    """Whether ``layer`` is a plain Conv2D that ``form`` computes the same."""
    plain = (
        type(layer) is keras.layers.Conv2D
        and layer.built
        and tuple(layer.strides) == (1, 1)
        and tuple(layer.dilation_rate) == (1, 1)
        and layer.padding == "same"
        and layer.data_format == "channels_last"
        and layer.groups == 1
        and all(size % 2 == 1 for size in layer.kernel_size)
    )
    if form in _TRANSPOSED_FROM:
        return plain and _wide(layer, _TRANSPOSED_FROM[form])
    return plain and layer.use_bias and layer.activation is keras.activations.relu


def _wide(layer: keras.layers.Conv2D, min_channels: int = TRANSPOSED_MIN_CHANNELS) -> bool:
    """Whether the transposed form suits ``layer``: float32, ``min_channels`` input channels or more."""
    return layer.compute_dtype == "float32" and layer.kernel.shape[-2] >= min_channels


def remade(layer: keras.layers.Layer, kind: type[keras.layers.Layer] | None = None, **changes: object) -> keras.layers.Layer:
    """A new layer of ``kind`` (``layer``'s own by default) from ``layer``'s config with ``changes``,
    for a clone whose weights the caller copies in: its initializers are zeros, not a random draw
    that would be overwritten (half of cloning VGG16's time)."""
    config = {**layer.get_config(), **changes}
    for key in ("kernel_initializer", "bias_initializer"):
        if key in config:
            config[key] = "zeros"
    return (kind or layer.__class__).from_config(config)
