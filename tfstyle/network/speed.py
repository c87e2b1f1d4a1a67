"""Speed settings: the feature model's precision and convolutions, XLA, and their defaults.

None of them changes the objective: the losses, their gradient's accumulation into the image and
the ``tf.Variable`` image stay float32 at every setting. Reduced precision (``bfloat16``, or
``float16`` on a GPU) runs VGG16's layers after the first convolution, their weights and
activations in that type; the activations are cast back to float32 before the Gram matrices and
the losses. In float32 on a oneDNN CPU, the wide convolutions run in transposed form (the same
numbers to round-off, faster). The ``auto`` defaults were measured (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from tfstyle.config import PRECISIONS
from tfstyle.errors import ConfigError

# Under float16 the backward pass starts from the loss scaled to this size: float16 gradients of
# the raw loss underflow (mean normalization) or overflow (the paper's plain sums). Measured at
# 96 px: the float16 gradient is then within 3% of float32's (bfloat16's: 6-10%) for both.
FLOAT16_LOSS_SCALE = 2.0**15
# oneDNN computes a float32 3x3 convolution's input gradient faster than the convolution itself
# from 256 input channels on (tools/bench.py --forms at 512 px, with bias and ReLU: 1.1-1.3x at
# 256, 1.3-1.7x at 512 input channels); below that the forward convolution's fused bias and ReLU win.
TRANSPOSED_MIN_CHANNELS = 256


def cpu_has_bf16() -> bool:
    """Whether the CPU does bfloat16 arithmetic natively (AVX512-BF16 or AMX), read from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            flags = next((line for line in info if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: str) -> str:
    """The precision a run uses on ``device``: ``auto`` is bfloat16 on a CPU with native bfloat16
    (its convolutions ran about 4x faster than float32's on an AMX CPU) and float32 elsewhere (GPUs: not
    measured yet). float16 needs a GPU."""
    on_gpu = _is_gpu(device)
    if precision == "auto":
        return "bfloat16" if not on_gpu and cpu_has_bf16() else "float32"
    if precision == "float16" and not on_gpu:
        raise ConfigError(
            "precision float16 needs a GPU (CPUs have no fast float16 convolutions); use bfloat16 or float32 here"
        )
    return precision


def resolve_jit(jit: bool | None, device: str) -> bool:
    """Whether to XLA-compile the step: ``None`` is off (measured slower on the CPU: XLA's
    convolutions do not use oneDNN; on GPUs not measured yet)."""
    return bool(jit) if jit is not None else False


def for_run(model: keras.Model, precision: str, device: str, jit: bool = False) -> keras.Model:
    """``model`` as a run on ``device`` computes it: in ``precision`` (:func:`with_precision`) and,
    where that was measured faster (float32 on a CPU whose convolutions are oneDNN's, without
    XLA), with its wide convolutions in transposed form (:func:`with_transposed_convolutions`)."""
    model = with_precision(model, precision)
    if precision == "float32" and not jit and not _is_gpu(device) and _onednn_enabled():
        model = with_transposed_convolutions(model)
    return model


def with_precision(model: keras.Model, precision: str) -> keras.Model:
    """``model`` (float32 pixels → ``{layer: activations}``) with its layers in ``precision``.

    The copy takes float32 pixels and returns float32 activations; inside, weights and activations
    are ``precision``, except for the layers up to the first convolution (the preprocessing and
    block1_conv1), which stay float32. A model whose later convolutions already compute in
    ``precision`` (float32 for :func:`tfstyle.build_feature_model`'s) is returned as it is; the
    original is never changed.
    """
    if precision not in PRECISIONS[1:]:
        raise ConfigError(f"unknown precision {precision!r}; choose one of: {', '.join(PRECISIONS[1:])}")
    convolutions = _convolutions(model)
    if convolutions and all(layer.compute_dtype == precision for layer in convolutions[1:]):
        return model
    # bfloat16 holds pixels 128-255 to whole grey levels, before the ImageNet mean is taken off:
    # that moved block1_conv1's ReLUs and put the image gradient twice as far from float32's (at the
    # photos at 512 px: 9 and 22 % against 4 and 9 %) as with the first convolution (3 input
    # channels: under 1 % of the FLOPs) in float32 (docs/performance.md).
    pixel_level = _up_to_first_convolution(model)

    def in_precision(layer: keras.layers.Layer) -> keras.layers.Layer:
        dtype = "float32" if layer.name in pixel_level else precision
        return layer.__class__.from_config({**layer.get_config(), "dtype": dtype})

    reduced = keras.models.clone_model(model, clone_function=in_precision)
    reduced.set_weights(model.get_weights())  # rounded to ``precision`` once, not at every step
    inputs = keras.Input(shape=(None, None, 3), name="rgb_0_255")
    outputs = {
        name: keras.layers.Activation("linear", dtype="float32", name=f"{name}_float32")(value)
        for name, value in reduced(inputs).items()
    }
    wrapped = keras.Model(inputs, outputs, name=f"{model.name}_{precision}")
    wrapped.trainable = False
    return wrapped


def with_transposed_convolutions(
    model: keras.Model, min_channels: int = TRANSPOSED_MIN_CHANNELS
) -> keras.Model:
    """A copy of ``model`` whose float32 stride-1 'same' Conv2D layers with at least
    ``min_channels`` input channels are :class:`TransposedFormConv2D`; other layers are shared.

    Returns ``model`` itself when no layer qualifies; the original is never changed.
    """
    names = [layer.name for layer in model.layers if _transposable(layer, min_channels)]
    if not names:
        return model

    def transposed(layer: keras.layers.Layer) -> keras.layers.Layer:
        return TransposedFormConv2D.from_config(layer.get_config()) if layer.name in names else layer

    clone = keras.models.clone_model(model, clone_function=transposed)
    for name in names:
        clone.get_layer(name).set_weights(model.get_layer(name).get_weights())
    clone.trainable = model.trainable
    return clone


def transposed_conv2d(images: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """Y = conv(X, K), stride 1, 'same', odd kernel, computed as the input gradient of a convolution
    with K̃ (K flipped in space, its channel axes swapped); dY/dX is conv's usual input gradient.

    The same sums in another order: equal to ``tf.nn.conv2d`` to round-off. oneDNN runs this form
    up to 1.7x faster for wide float32 convolutions (:data:`TRANSPOSED_MIN_CHANNELS`).
    """
    return _transposed_conv2d(images, tf.convert_to_tensor(kernel))  # a variable is read out here


@tf.custom_gradient
def _transposed_conv2d(
    images: tf.Tensor, kernel: tf.Tensor
) -> tuple[tf.Tensor, Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]]:
    flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])  # [kh, kw, out, in]
    outputs = tf.nn.conv2d_transpose(
        images, flipped, tf.concat([tf.shape(images)[:-1], tf.shape(kernel)[-1:]], 0), 1, "SAME"
    )

    def gradient(d_outputs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        d_images = tf.nn.conv2d_transpose(d_outputs, kernel, tf.shape(images), 1, "SAME")
        # Pruned from a compiled step that only needs the image's gradient.
        d_kernel = tf.raw_ops.Conv2DBackpropFilter(
            input=images, filter_sizes=tf.shape(kernel), out_backprop=d_outputs, strides=[1, 1, 1, 1], padding="SAME"
        )
        return d_images, d_kernel

    return outputs, gradient


@keras.saving.register_keras_serializable(package="tfstyle")
class TransposedFormConv2D(keras.layers.Conv2D):
    """A stride-1 'same' Conv2D (odd kernel, channels last) computed by :func:`transposed_conv2d`."""

    def convolution_op(self, inputs: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        return transposed_conv2d(inputs, kernel)


def _transposable(layer: keras.layers.Layer, min_channels: int) -> bool:
    """Whether ``layer`` is a plain Conv2D that :class:`TransposedFormConv2D` computes the same and faster."""
    return (
        type(layer) is keras.layers.Conv2D
        and layer.compute_dtype == "float32"
        and layer.built
        and layer.kernel.shape[-2] >= min_channels
        and tuple(layer.strides) == (1, 1)
        and tuple(layer.dilation_rate) == (1, 1)
        and layer.padding == "same"
        and layer.data_format == "channels_last"
        and layer.groups == 1
        and all(size % 2 == 1 for size in layer.kernel_size)
    )


def _onednn_enabled() -> bool:
    """Whether TensorFlow's CPU convolutions are oneDNN's (on by default on x86; off with
    TF_ENABLE_ONEDNN_OPTS=0, where the transposed form's kernels are the slow ones)."""
    try:
        from tensorflow.python.util import _pywrap_util_port  # no public API tells this

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return False


def _convolutions(model: keras.Model) -> list[keras.layers.Conv2D]:
    """The Conv2D layers of ``model``, nested models included."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(_convolutions(layer))
    return found


def _up_to_first_convolution(model: keras.Model) -> set[str]:
    """The names of ``model``'s layers before its first Conv2D, that one included."""
    names = set()
    for layer in model.layers:
        names.add(layer.name)
        if isinstance(layer, keras.layers.Conv2D):
            break
    return names


def gradient(tape: tf.GradientTape, total: tf.Tensor, variable: tf.Variable, precision: str) -> tf.Tensor:
    """d total / d variable. Under float16 the backward pass runs on the loss scaled to
    :data:`FLOAT16_LOSS_SCALE` (computed per step, so no step is skipped) and is scaled back."""
    if precision != "float16":
        return tape.gradient(total, variable)
    scale = FLOAT16_LOSS_SCALE / tf.maximum(tf.abs(tf.stop_gradient(total)), 1e-30)
    return tape.gradient(total, variable, output_gradients=scale) / scale


def _is_gpu(device: str) -> bool:
    return tf.DeviceSpec.from_string(device).device_type == "GPU"
