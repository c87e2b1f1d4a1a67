"""The VGG16 feature model: RGB pixels in [0, 255] in, a dict of the chosen layers' activations out.

``keras.applications.VGG16`` is cut after the deepest layer in use, so nothing beyond it is built
into the model or run. The caffe preprocessing (RGB→BGR, minus the ImageNet mean) happens inside the
model: callers pass plain pixels.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import keras
import numpy as np

from tfstyle import vgg16
from tfstyle.config import NAMED_WEIGHTS, StyleConfig
from tfstyle.errors import ConfigError, ImageError, WeightsError, first_line
from tfstyle.vgg16 import IMAGENET_BGR_MEAN, POOLINGS

if TYPE_CHECKING:
    import tensorflow as tf

WEIGHTS_ENV = "TFSTYLE_VGG16_WEIGHTS"


def check_image_size(
    image_shape: Sequence[int], layers: Sequence[str], what: str, advice: str, context: str = ""
) -> None:
    """Raise :class:`ImageError` if an image ``[height, width, ...]`` is too small for ``layers``."""
    deepest = vgg16.deepest(layers)
    height, width = image_shape[:2]
    if min(height, width) < deepest.stride:
        raise ImageError(
            f"the {what} is {width}x{height} pixels{context}, but layer {deepest.name} needs at least {deepest.stride} "
            f"pixels on each side; {advice}"
        )


@keras.saving.register_keras_serializable(package="tfstyle")
class VGGPreprocess(keras.layers.Layer):
    """RGB in [0, 255] → BGR minus the ImageNet mean, as ``keras.applications.vgg16.preprocess_input``."""

    def call(self, images: tf.Tensor) -> tf.Tensor:
        bgr = keras.ops.flip(images, axis=-1)
        return bgr - keras.ops.convert_to_tensor(IMAGENET_BGR_MEAN, dtype=bgr.dtype)


def build_feature_model(
    layers: Sequence[str], weights: str = "imagenet", seed: int = 0, pooling: str = "max"
) -> keras.Model:
    """A Keras model from images ``[batch, height, width, 3]`` (RGB, [0, 255]) to ``{layer: activations}``.

    ``layers`` take Keras or paper names; the model ends at the deepest of them. ``weights`` is
    ``"imagenet"`` (``$TFSTYLE_VGG16_WEIGHTS`` if set, else keras' download), a path to the keras
    ``..._notop.h5`` file, or ``"random"`` (seeded He-normal, for tests). ``pooling`` is ``"max"``
    (VGG16's) or ``"avg"``: 2×2 average pooling in place of each max pooling, the same weights
    (Gatys et al.'s choice).
    """
    names = list(dict.fromkeys(vgg16.canonical_layer_name(n) for n in layers))
    if not names:
        raise ConfigError("the feature model needs at least one layer")
    if pooling not in POOLINGS:
        raise ConfigError(f"unknown pooling {pooling!r}; choose one of: {', '.join(POOLINGS)}")
    vgg = _vgg16(weights, seed)
    inputs = keras.Input(shape=(None, None, 3), name="rgb_0_255")
    x = VGGPreprocess(name="vgg_preprocess")(inputs)
    deepest = vgg16.deepest(names).name
    outputs = {}
    # Rebuild the graph layer by layer (sharing VGG16's layers and weights) up to the deepest layer.
    for layer in vgg.layers[1:]:
        if pooling == "avg" and isinstance(layer, keras.layers.MaxPooling2D):
            layer = keras.layers.AveragePooling2D(layer.pool_size, layer.strides, layer.padding, name=layer.name)
        x = layer(x)
        if layer.name in names:
            outputs[layer.name] = x
        if layer.name == deepest:
            break
    model = keras.Model(inputs, {n: outputs[n] for n in names}, name="vgg16_features")
    model.trainable = False
    return model


def feature_model_for(config: StyleConfig) -> keras.Model:
    """:func:`build_feature_model` for the layers, weights, seed and pooling that ``config`` uses."""
    return build_feature_model(config.layers_in_use(), config.weights, config.seed, pooling=config.pooling)


def resolve_weights(weights: str | os.PathLike | None) -> str:
    """What to load: ``"random"``, ``"imagenet"`` (download) or a checked path to a weights file.

    ``"imagenet"`` (or ``None``) becomes ``$TFSTYLE_VGG16_WEIGHTS`` when that is set.
    """
    if weights is None or weights == "imagenet":
        weights = os.environ.get(WEIGHTS_ENV) or "imagenet"
        source = f"${WEIGHTS_ENV}"
    else:
        source = "weights path"
    if weights in NAMED_WEIGHTS:
        return weights
    path = os.fspath(weights)
    if not os.path.exists(path):
        raise WeightsError(f"VGG16 weights file not found: {path} (from {source}). {_HOW_TO_PASS_WEIGHTS}")
    if not os.path.isfile(path):
        raise WeightsError(f"VGG16 weights path is not a file: {path} (from {source}). {_HOW_TO_PASS_WEIGHTS}")
    return path


_HOW_TO_PASS_WEIGHTS = (
    "Pass the keras file vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 as `weights` (its path) "
    f"or ${WEIGHTS_ENV}, or leave both unset to let keras download it."
)


def _vgg16(weights: str, seed: int) -> keras.Model:
    resolved = resolve_weights(weights)
    if resolved == "imagenet":
        try:  # keras' own download and cache (~/.keras/models)
            return keras.applications.VGG16(include_top=False, weights="imagenet", input_shape=(None, None, 3))
        except Exception as err:  # noqa: BLE001 - any download failure gets the same advice
            raise WeightsError(
                f"could not download the ImageNet VGG16 weights ({first_line(err)}). {_HOW_TO_PASS_WEIGHTS}"
            ) from None
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    if resolved == "random":
        _randomize(vgg, seed)
        return vgg
    try:
        vgg.load_weights(resolved)
    except Exception as err:  # noqa: BLE001 - h5py/keras raise many types for a bad file
        raise WeightsError(
            f"could not read VGG16 weights from {resolved}: {first_line(err)}. {_HOW_TO_PASS_WEIGHTS}"
        ) from None
    return vgg


def _randomize(vgg: keras.Model, seed: int) -> None:
    """He-normal kernels and zero biases from an explicit seed, so random-weight runs repeat exactly."""
    rng = np.random.default_rng(seed)
    for layer in vgg.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kernel, bias = layer.get_weights()
            fan_in = np.prod(kernel.shape[:-1])
            kernel = rng.normal(0.0, np.sqrt(2.0 / fan_in), kernel.shape).astype("float32")
            layer.set_weights([kernel, np.zeros_like(bias)])
