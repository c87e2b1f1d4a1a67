"""The whole-image objective: the image → losses function, with the content activations P_i and
the style Gram matrices A_i computed once and fixed (:func:`tfstyle.objective.losses.combined_loss`).

:func:`objective` picks the objective of a run: this one, its tiled form
(:mod:`tfstyle.objective.tiled`) or its form spread over devices (:mod:`tfstyle.objective.sharded`),
each an :class:`~tfstyle.objective.interface.Objective`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from tfstyle.config import StyleConfig
from tfstyle.controls import masks as maskio
from tfstyle.inputs.prepare import ImageBatch
from tfstyle.objective.interface import Losses, LossFn, Objective, differentiate
from tfstyle.objective.losses import combined_loss, gram_matrix
from tfstyle.objective.sharded import ShardedObjective
from tfstyle.objective.targets import content_activations
from tfstyle.objective.tiled import TiledObjective


def objective(
    model: keras.Model,
    content_images: np.ndarray,
    style_images: ImageBatch | Sequence[ImageBatch],
    config: StyleConfig,
    content_mask: np.ndarray | None = None,
    style_masks: np.ndarray | None = None,
    strategy: tf.distribute.Strategy | None = None,
    jit: bool = False,
) -> Objective:
    """The objective of a run: the whole image's (its step XLA-compiled with ``jit``), or the same
    tile by tile (``config.tile_size``), or spread over ``strategy``'s replicas."""
    if config.tile_size:
        return TiledObjective(model, content_images, style_images, config)
    if strategy is not None and len(content_images) > 1:  # one image cannot be split
        return ShardedObjective(
            strategy,
            lambda shard: make_loss_fn(model, shard, style_images, config, content_mask, style_masks),
            content_images,
        )
    loss_fn = make_loss_fn(model, content_images, style_images, config, content_mask, style_masks)
    return WholeImageObjective(loss_fn, config.precision, jit)


class WholeImageObjective:
    """An :class:`~tfstyle.objective.interface.Objective` over a loss function of whole images;
    :meth:`value_and_gradient` is one compiled forward and backward pass."""

    def __init__(self, loss_fn: LossFn, precision: str = "float32", jit: bool = False):
        self.loss_fn, self.precision = loss_fn, precision
        # No Python control flow on tensors here (nor in the other traced steps): autograph's source
        # conversion would only cost time, about 1 s at a process's first run.
        self._value_and_gradient = tf.function(self._differentiate, jit_compile=jit, autograph=False)

    def __call__(self, images: tf.Tensor) -> Losses:
        return self.loss_fn(images)

    def value_and_gradient(self, images: tf.Tensor) -> tuple[Losses, tf.Tensor]:
        return self._value_and_gradient(images)

    def _differentiate(self, images: tf.Tensor) -> tuple[Losses, tf.Tensor]:
        return differentiate(self.loss_fn, images, self.precision)


def make_loss_fn(
    model: keras.Model,
    content_image: ImageBatch,
    style_image: ImageBatch | Sequence[ImageBatch],
    config: StyleConfig,
    content_mask: np.ndarray | None = None,
    style_masks: np.ndarray | None = None,
) -> LossFn:
    """The objective image → losses, with the content activations P_i and style Grams A_i fixed.

    The images are arrays or tensors (graph tensors too: the SavedModel stylizer builds its loss
    here), ``[height, width, 3]`` or ``[batch, height, width, 3]``. ``style_image`` may be a list
    of style images: A_i is then Σ_s β_s·A_i^s (β = ``config.style_blend``), or, with
    ``style_masks`` (``[styles, height, width]`` at the content's size), each style is compared in
    its own region. ``content_mask`` (``[height, width]``) weights the content loss per position."""
    fixed = targets(model, content_image, style_image, config, per_region=style_masks is not None)
    return loss_fn_of(model, fixed, config, content_mask, style_masks)


@dataclass(frozen=True)
class Targets:
    """What the losses compare with: P_i per content layer, A_i per style layer (tensors, or
    variables that a caller reassigns so one traced step serves many images), and β_s."""

    content: dict[str, tf.Tensor]
    style: dict[str, tf.Tensor]
    blend: tuple[float, ...]


def targets(
    model: keras.Model,
    content_image: ImageBatch,
    style_image: ImageBatch | Sequence[ImageBatch],
    config: StyleConfig,
    per_region: bool = False,
) -> Targets:
    """P_i of ``content_image`` and A_i of the ``style_image`` (s) for :func:`loss_fn_of`: the
    blend Σ_s β_s·A_i^s, or ``per_region`` one Gram per style, for ``style_masks`` to compare each
    in its own region (see :func:`make_loss_fn`)."""
    content_terms, style_terms = config.content_terms(), config.style_terms()
    styles = list(style_image) if isinstance(style_image, (list, tuple)) else [style_image]
    blend = config.style_blend(len(styles))
    content_targets = {}
    if content_terms:
        content_targets = content_activations(model, content_image, styles, blend, list(content_terms), config.content_target)
    style_targets = {}
    if style_terms:
        grams = [_style_grams(model, s, content_image, style_terms, config) for s in styles]
        if per_region:  # one Gram per style, each compared in its region
            style_targets = {name: tf.stack([g[name][0] for g in grams]) for name in style_terms}
        else:  # the blend: Σ_s β_s·A^s over the styles with a weight
            style_targets = {
                name: tf.add_n([beta * g[name] for beta, g in zip(blend, grams) if beta]) for name in style_terms
            }
    return Targets(content_targets, style_targets, tuple(blend))


def loss_fn_of(
    model: keras.Model,
    fixed: Targets,
    config: StyleConfig,
    content_mask: np.ndarray | None = None,
    style_masks: np.ndarray | None = None,
) -> LossFn:
    """The objective image → losses against the targets ``fixed`` (:func:`targets`), read each call."""
    content_terms, style_terms = config.content_terms(), config.style_terms()
    content_masks = maskio.layer_masks(content_mask, content_terms) if content_mask is not None and content_terms else None
    region_masks = maskio.layer_masks(style_masks, style_terms) if style_masks is not None and style_terms else None

    def loss_fn(images: tf.Tensor) -> Losses:
        return combined_loss(
            model(images),
            fixed.content,
            fixed.style,
            content_terms,
            style_terms,
            a=config.content_weight,
            b=config.style_weight,
            tv_weight=config.tv_weight,
            images=images,
            normalization=config.normalization,
            content_masks=content_masks,
            style_masks=region_masks,
            style_blend=fixed.blend,
        )

    return loss_fn


def _style_grams(
    model: keras.Model, style_image: ImageBatch, content_image: ImageBatch, layers: Iterable[str], config: StyleConfig
) -> dict[str, tf.Tensor]:
    """A_i of one style image. Under the ``paper`` normalization (plain sums, which grow with the
    pixel count) a style scaled by ``style_scale`` ≠ 1 has its Grams rescaled to the output's pixel count."""
    style_image = _as_batch(style_image)
    features = model(style_image)
    grams = {name: tf.stop_gradient(gram_matrix(features[name], config.normalization)) for name in layers}
    if config.normalization == "paper" and config.style_scale != 1:
        content_shape, style_shape = tf.shape(_as_batch(content_image)), tf.shape(style_image)
        ratio = tf.cast(content_shape[1] * content_shape[2], tf.float32) / tf.cast(
            style_shape[1] * style_shape[2], tf.float32
        )
        grams = {name: gram * tf.cast(ratio, gram.dtype) for name, gram in grams.items()}
    return grams


def _as_batch(image: ImageBatch) -> tf.Tensor:
    image = tf.convert_to_tensor(image, tf.float32)
    return image if image.shape.rank == 4 else image[None]

