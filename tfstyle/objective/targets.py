"""The fixed content targets P_i: the photo's activations (Gatys et al.) or, as Yu & Chang print
it (CL_i = Σ(A_i − B_i), B the style image), the style image's at the photo's height and width."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from tfstyle.inputs import images as imageio
from tfstyle.inputs.prepare import ImageBatch


def content_activations(
    model: keras.Model,
    content_image: ImageBatch,
    styles: Sequence[ImageBatch],
    blend: Sequence[float],
    layers: Sequence[str],
    content_target: str = "content",
) -> dict[str, tf.Tensor]:
    """P_i, fixed: the content image's activations (``content_target`` "content", Gatys et al.), or
    (``"style"``, Yu & Chang's printed CL_i = Σ(A_i − B_i)) the style images' activations, each
    stretched to the content's height and width first, blended by ``blend`` (β_s)."""
    content = as_batch(content_image)
    if content_target == "content":
        features = model(content)
        return {name: tf.stop_gradient(features[name]) for name in layers}
    targets: dict[str, tf.Tensor] = {}
    for beta, style in zip(blend, styles):
        if not beta:
            continue
        features = model(style_at_content_size(style, content))
        for name in layers:
            part = beta * tf.stop_gradient(features[name])
            targets[name] = targets[name] + part if name in targets else part
    return targets


def style_at_content_size(style_image: ImageBatch, content_image: ImageBatch) -> tf.Tensor:
    """The style image stretched to the content image's height and width (the resize of ``init``
    "style", :func:`tfstyle.inputs.images.resize_images`), as a batch as large as the content's: the
    paper's content target B at the photo's shape."""
    style, content = as_batch(style_image), as_batch(content_image)
    shape = tf.shape(content)
    resized = imageio.resize_images(style[:1], shape[1:3])
    return tf.broadcast_to(resized, tf.concat([shape[:1], tf.shape(resized)[1:]], 0))


def as_batch(image: ImageBatch) -> tf.Tensor:
    """``image`` as a float32 tensor with a batch axis."""
    image = tf.convert_to_tensor(image, tf.float32)
    return image if image.shape.rank == 4 else image[None]
