"""``StyleLoss``: tfstyle's loss as a Keras layer, for TensorFlow code that trains on it.

Built once from a style image (its Gram matrices A_i are computed then and kept), it maps a batch
of images ``[batch, height, width, 3]`` in [0, 255] to one loss per image, differentiably:

    b·SL = b·Σ_i z_i·SL_i                    (``loss(images)``)
    a·CL + b·SL, CL = Σ_i w_i·CL_i           (``loss(images, content)``, with content layers)

the same terms as :func:`tfstyle.combined_loss` in a :func:`tfstyle.stylize` run. In ``model.fit``
it is a perceptual loss: ``model.compile(loss=lambda y_true, y_pred: loss(y_pred, y_true))`` trains
a model whose outputs take on the style while keeping the content of its targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from tfstyle.config import StyleConfig
from tfstyle.inputs import images as imageio
from tfstyle.inputs.images import ImageLike
from tfstyle.network.features import build_feature_model, check_image_size
from tfstyle.objective.losses import combined_loss, gram_matrix

_DEFAULT = StyleConfig()  # StyleLoss's defaults are the config's (the default preset's)


class StyleLoss(keras.layers.Layer):
    """Style loss (plus an optional content loss) of a batch of images against one style image.

    ``style`` is anything :func:`tfstyle.load_image` reads; ``style_size`` scales its longer side
    first (``None``: as given; match the scale of the images you will pass). Layers take Keras or
    paper names; the defaults are :class:`tfstyle.StyleConfig`'s (the tuned style layer weights go
    with the default style layers; other layers weigh 1/n each), except that there are no content
    layers unless given: ``content_layers`` are only used when ``call`` gets a content batch. ``weights`` is ``"imagenet"``, a path to the keras VGG16 notop
    file or ``"random"`` (seeded by ``seed``); pass ``feature_model`` to share one built by
    :func:`tfstyle.build_feature_model` (it must output every layer named here).

    ``loss(images)`` → ``[batch]`` float32; ``loss(images, content)`` adds a·CL against ``content``
    (``[batch, height, width, 3]``, the same size as ``images``, no gradient through it).
    ``loss.terms(images, content)`` returns every term (``total``, ``style``,
    ``style/<layer>``, ...) as :func:`tfstyle.combined_loss` names them.
    """

    def __init__(
        self,
        style: ImageLike,
        style_layers: Sequence[str] = _DEFAULT.style_layers,
        style_layer_weights: Sequence[float] | None = _DEFAULT.style_layer_weights,
        content_layers: Sequence[str] = (),
        content_layer_weights: Sequence[float] | None = _DEFAULT.content_layer_weights,
        style_weight: float = _DEFAULT.style_weight,
        content_weight: float = _DEFAULT.content_weight,
        normalization: str = _DEFAULT.normalization,
        weights: str = _DEFAULT.weights,
        seed: int = _DEFAULT.seed,
        style_size: int | None = None,
        feature_model: keras.Model | None = None,
        name: str = "style_loss",
        **kwargs: Any,
    ):
        super().__init__(name=name, trainable=False, **kwargs)
        # StyleConfig checks the layer names, the weights and the normalization, as for a run.
        self.style_config = StyleConfig(
            content_layers=tuple(content_layers),
            style_layers=tuple(style_layers),
            content_layer_weights=_as_tuple(content_layer_weights),
            style_layer_weights=_as_tuple(style_layer_weights),
            content_weight=content_weight,
            style_weight=style_weight,
            normalization=normalization,
            weights=weights,
            seed=seed,
        )
        style_image = imageio.load_image(style, "style image")
        if style_size is not None:
            style_image = imageio.resize_longest_side(style_image, style_size)
        check_image_size(
            style_image.shape, self.style_config.layers_in_use(), "style image",
            "pass a larger image or style_size, or use shallower layers",
        )
        self.style_image = style_image
        self.feature_model = feature_model or build_feature_model(self.style_config.layers_in_use(), weights, seed)
        features = self.feature_model(tf.constant(style_image[None]))
        self._style_grams = {
            name: gram_matrix(features[name], normalization) for name in self.style_config.style_terms()
        }

    def call(self, images: tf.Tensor, content: tf.Tensor | None = None) -> tf.Tensor:
        """The loss of each image: ``[batch]``."""
        return self.terms(images, content)["total"]

    def terms(self, images: tf.Tensor, content: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        """Every term of the loss, each ``[batch]``, keyed as :func:`tfstyle.combined_loss` does."""
        images = tf.cast(images, tf.float32)
        if images.shape.rank is not None and images.shape.rank != 4:
            raise ValueError(f"StyleLoss takes a batch [batch, height, width, 3], got shape {images.shape}")
        features = self.feature_model(images)
        content_terms, content_targets = {}, {}
        if content is not None and self.style_config.content_terms():
            content_terms = self.style_config.content_terms()
            targets = self.feature_model(tf.stop_gradient(tf.cast(content, tf.float32)))
            content_targets = {name: targets[name] for name in content_terms}
        return combined_loss(
            features,
            content_targets,
            self._style_grams,
            content_terms,
            self.style_config.style_terms(),
            a=self.style_config.content_weight,
            b=self.style_config.style_weight,
            normalization=self.style_config.normalization,
        )

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None]:
        return (input_shape[0],)


def _as_tuple(weights: Sequence[float] | None) -> tuple[float, ...] | None:
    """Layer weights as :class:`StyleConfig` holds them; a tuple as it is (the tuned default marks itself)."""
    return weights if weights is None or isinstance(weights, tuple) else tuple(weights)
