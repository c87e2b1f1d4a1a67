"""SavedModel exports: the VGG16 feature extractor, and the whole style transfer as one graph.

Both load with plain ``tf.saved_model.load`` in a TensorFlow that has no tfstyle installed:

- :func:`export_features` writes the signatures ``features`` (images → ``{layer: activations}``)
  and ``gram`` (images → ``{layer: Gram matrix}``, normalized as the style loss uses it).
- :func:`export_stylizer` adds ``stylize(content, style, iterations)``: the optimization loop of
  :func:`tfstyle.stylize` as a ``tf.while_loop`` over its SGD or Adam step
  (:mod:`tfstyle.loop.updates`) from its start image, with the config's layers, weights, a, b and
  learning rate baked in.

An export is written into a temporary sibling directory and renamed into place when complete, so
``path`` holds either the previous export or the whole new one. ``path`` may be missing, empty, or
a previous tfstyle export (recognized by ``assets.extra/tfstyle_export.json``), which is replaced;
anything else is refused.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from tfstyle.config import NORMALIZATIONS, StyleConfig
from tfstyle.errors import ConfigError
from tfstyle.exports import Staging
from tfstyle.inputs.images import resize_images_to_area
from tfstyle.inputs.prepare import start_image
from tfstyle.loop import updates
from tfstyle.network.features import WEIGHTS_ENV, build_feature_model, resolve_weights
from tfstyle.objective.interface import differentiate
from tfstyle.objective.losses import gram_matrix
from tfstyle.objective.whole import make_loss_fn
from tfstyle.vgg16 import in_network_order, min_image_side

STYLIZER_OPTIMIZERS = tuple(updates.RULES)
STYLIZER_INITS = ("content", "noise", "style")  # the starts a graph can make (not a file, nor a fast stylizer's)

_IMAGES = tf.TensorSpec([None, None, None, 3], tf.float32, name="images")
_ONE_IMAGE = [1, None, None, 3]


class FeatureExtractor(tf.Module):
    """``features`` and ``gram`` as ``tf.function``\\ s over a Keras feature model (what gets saved)."""

    def __init__(self, model: keras.Model, layers: Sequence[str], normalization: str = "mean"):
        super().__init__(name="tfstyle_features")
        self.model = model
        self._layers = tuple(layers)
        self._normalization = normalization
        self._min_side = min_image_side(self._layers)

    @tf.function(input_signature=[_IMAGES])
    def features(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        """RGB ``[batch, height, width, 3]`` in [0, 255] → ``{layer: [batch, h_i, w_i, N_i]}``."""
        return self._features(_check_size(images, self._min_side, "images"))

    @tf.function(input_signature=[_IMAGES])
    def gram(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        """RGB ``[batch, height, width, 3]`` in [0, 255] → ``{layer: [batch, N_i, N_i]}``."""
        features = self._features(_check_size(images, self._min_side, "images"))
        return {name: gram_matrix(value, self._normalization) for name, value in features.items()}

    def _features(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs = self.model(images)
        return {name: outputs[name] for name in self._layers}


class Stylizer(FeatureExtractor):
    """:class:`FeatureExtractor` plus ``stylize``: the whole optimization as one graph."""

    def __init__(self, model: keras.Model, layers: Sequence[str], config: StyleConfig):
        super().__init__(model, layers, config.normalization)
        self._config = config

    @tf.function(
        input_signature=[
            tf.TensorSpec(_ONE_IMAGE, tf.float32, name="content"),
            tf.TensorSpec(_ONE_IMAGE, tf.float32, name="style"),
            tf.TensorSpec([], tf.int32, name="iterations"),
        ]
    )
    def stylize(self, content: tf.Tensor, style: tf.Tensor, iterations: tf.Tensor) -> dict[str, tf.Tensor]:
        """Paint ``content`` in the style of ``style`` with ``iterations`` steps (RGB in [0, 255]).

        The content is used at its size; the style is scaled to the content's number of pixels, as
        :func:`tfstyle.stylize` does. Returns ``image`` ``[1, h, w, 3]``, the ``iterations`` run
        (fewer if the loss stopped being finite; the image is then the last one with a finite
        loss) and the final losses ``total``, ``content``, ``style``, ``tv``.
        """
        config = self._config
        content = _check_size(_clip(content), self._min_side, "content")
        style = _check_size(_clip(style), self._min_side, "style")
        size = tf.shape(content)[1:3]
        style = resize_images_to_area(style, size[0] * size[1])
        style = _check_size(style, self._min_side, "style (scaled to the content's area)")
        loss_fn = make_loss_fn(self.model, content, style, config)
        update = updates.rule(config.optimizer, config.effective_learning_rate)

        def step(
            done: tf.Tensor, image: tf.Tensor, last_good: tf.Tensor, state: updates.UpdateState, ok: tf.Tensor
        ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, updates.UpdateState, tf.Tensor]:
            losses, gradient = differentiate(loss_fn, image)
            taken = updates.step(update, image, gradient, tf.reduce_sum(losses["total"]), state, last_good)
            return done + tf.cast(taken.ok, tf.int32), taken.image, taken.last_good, taken.state, taken.ok

        # The library's start (export_stylizer refuses an image path): the same pixels.
        start = start_image(config.init, content, style, config.seed)
        done, image, last_good, _, ok = tf.while_loop(
            lambda done, image, last_good, state, ok: tf.logical_and(ok, done < iterations),
            step,
            (tf.constant(0), start, start, updates.initial_state(start), tf.constant(True)),
        )
        image = tf.where(ok, image, last_good)  # a non-finite loss ended the loop: the last finite image
        final = loss_fn(image)
        result = {name: final[name][0] for name in ("total", "content", "style", "tv")}
        result.update(image=image, iterations=done)
        return result


def export_features(
    path: str | os.PathLike,
    layers: Sequence[str],
    weights: str = "imagenet",
    normalization: str = "mean",
    seed: int = 0,
) -> Path:
    """Write a SavedModel of the feature extractor for ``layers`` to ``path``; return its absolute path.

    Signatures ``features`` and ``gram``; ``weights`` and ``seed`` as in
    :func:`tfstyle.build_feature_model`, ``normalization`` as in :func:`tfstyle.gram_matrix`.
    """
    names = _canonical_layers(layers)
    if normalization not in NORMALIZATIONS:
        raise ConfigError(f"unknown normalization {normalization!r}; choose one of: {', '.join(NORMALIZATIONS)}")
    source = _describe_weights(weights, seed)
    with Staging(path) as staging:
        module = FeatureExtractor(build_feature_model(names, weights, seed), names, normalization)
        info = {"kind": "features", "layers": list(names), "normalization": normalization, "weights": source}
        staging.save(module, {"features": module.features, "gram": module.gram}, info)
    return staging.target


def export_stylizer(path: str | os.PathLike, config: StyleConfig | None = None) -> Path:
    """Write a SavedModel of the whole style transfer with ``config`` baked in; return its absolute path.

    Signatures ``stylize``, ``features`` and ``gram`` (over every layer the config uses). Only
    ``sgd`` and ``adam`` run in the graph; ``init`` may be ``content``, ``noise`` or ``style``.
    ``image_size``, ``iterations`` and ``device`` are not baked in: the caller sizes the content
    image, passes the iterations, and TensorFlow places the graph.
    """
    config = config or StyleConfig()
    if config.optimizer not in STYLIZER_OPTIMIZERS:
        raise ConfigError(
            f"the stylizer runs {' or '.join(STYLIZER_OPTIMIZERS)} inside the graph; {config.optimizer} "
            "needs SciPy in Python (choose `optimizer` adam or sgd)"
        )
    if config.init not in STYLIZER_INITS:
        raise ConfigError(f"the stylizer starts from content, noise or style, not {config.init}")
    _check_controls(config)
    names = in_network_order(config.layers_in_use())
    source = _describe_weights(config.weights, config.seed)
    with Staging(path) as staging:
        module = Stylizer(build_feature_model(names, config.weights, config.seed, pooling=config.pooling), names, config)
        settings = dataclasses.asdict(config)
        settings.update(learning_rate=config.effective_learning_rate, weights=source)
        for name in ("iterations", "image_size", "device"):  # not baked in
            settings.pop(name)
        info: dict[str, Any] = {"kind": "stylizer", "layers": list(names), "normalization": config.normalization}
        info.update(content_target=config.content_target, weights=source, config=settings)
        signatures = {"stylize": module.stylize, "features": module.features, "gram": module.gram}
        staging.save(module, signatures, info)
    return staging.target


def _check_size(images: tf.Tensor, min_side: int, what: str) -> tf.Tensor:
    """``images`` once its height and width reach the deepest layer (a clear error, not empty maps)."""
    check = tf.debugging.assert_greater_equal(
        tf.reduce_min(tf.shape(images)[1:3]),
        min_side,
        message=f"{what}: height and width must be at least {min_side} pixels for the deepest exported layer",
    )
    with tf.control_dependencies([check]):
        return tf.identity(images)


def _clip(images: tf.Tensor) -> tf.Tensor:
    return tf.clip_by_value(images, 0.0, 255.0)


def _check_controls(config: StyleConfig) -> None:
    """The creative controls the in-graph stylizer has no room for (``pooling`` it bakes in)."""
    unsupported = [
        name
        for name, used in (
            ("style_blend_weights", config.style_blend_weights is not None and len(config.style_blend_weights) > 1),
            ("style_scale", config.style_scale != 1),
            ("preserve_colors", config.preserve_colors is not None),
            ("noise_blend", config.noise_blend != 0),
        )
        if used
    ]
    if unsupported:
        raise ConfigError(
            f"the stylizer export takes one style at the content's size from the plain init; it cannot bake in "
            f"{', '.join(unsupported)} (use tfstyle.stylize for them)"
        )


def _canonical_layers(layers: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(layers, str):
        layers = [name for name in layers.split(",") if name.strip()]
    names = in_network_order(layers)
    if not names:
        raise ConfigError("name at least one VGG16 layer to export")
    return names


def _describe_weights(weights: str, seed: int) -> str:
    """Where the weights come from, for the export's record; checks a path before any work."""
    resolved = resolve_weights(weights)
    if resolved == "random":
        return f"random (seed {seed})"
    if resolved != "imagenet" and (weights is None or weights == "imagenet"):
        return f"imagenet (${WEIGHTS_ENV}={resolved})"
    return resolved
