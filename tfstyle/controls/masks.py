"""Spatial control masks (Gatys et al. 2017): grayscale images over the output, as per-layer weights.

A mask is read like an image (any path, PIL image, array or tensor; colour is averaged to grey),
scaled to the output's size, and turned into weights m in [0, 1]: white (255) is 1, inside; black
is 0, outside; grey values weigh in between. It must have the content image's aspect ratio. For
the losses it is averaged down to each VGG16 layer's resolution (block k: the image's height and
width halved k − 1 times, as the 2×2 poolings do).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import tensorflow as tf

from tfstyle import vgg16
from tfstyle.errors import ConfigError, ImageError
from tfstyle.inputs import images as imageio
from tfstyle.inputs.images import ImageLike

# How far (relative) a mask's aspect ratio may be from the content image's before it is refused.
ASPECT_TOLERANCE = 0.02


def load_mask(source: ImageLike, shape: tuple[int, int], what: str = "mask") -> np.ndarray:
    """``source`` as float32 weights ``[height, width]`` in [0, 1] at ``shape`` = (height, width).

    ``what`` names it in errors ("style mask 2", ...). Raises :class:`ImageError` if it cannot be
    read or its aspect ratio is not the content image's.
    """
    image = imageio.load_image(source, what)
    (mh, mw), (h, w) = image.shape[:2], shape
    if abs((mw / mh) / (w / h) - 1.0) > ASPECT_TOLERANCE:
        raise ImageError(
            f"{what} is {mw}x{mh} pixels but the content image is {w}x{h} (as scaled for the run): a mask "
            "must have the content image's aspect ratio (it marks regions of the output)"
        )
    return np.clip(imageio.resize(image, shape).mean(axis=-1) / 255.0, 0.0, 1.0).astype(np.float32)


def layer_shape(layer: str, height: int, width: int) -> tuple[int, int]:
    """The activation map's (height, width) at ``layer`` for an input of ``height`` × ``width``."""
    return vgg16.layer(layer).shape(height, width)


def layer_masks(mask: np.ndarray | tf.Tensor, layers: Iterable[str]) -> dict[str, tf.Tensor]:
    """``mask`` (``[height, width]`` or ``[masks, height, width]``, at the image's size) averaged
    down to each layer's resolution: ``{layer: [..., h_i, w_i]}`` float32 weights in [0, 1]."""
    mask = tf.convert_to_tensor(mask, tf.float32)
    stacked = mask[..., None] if mask.shape.rank == 3 else mask[None, ..., None]  # [masks, h, w, 1]
    height, width = mask.shape[-2], mask.shape[-1]
    out = {}
    for layer in layers:
        size = layer_shape(layer, height, width)
        resized = stacked if size == (height, width) else tf.image.resize(stacked, size, method="area")
        resized = tf.clip_by_value(resized[..., 0], 0.0, 1.0)
        out[layer] = resized if mask.shape.rank == 3 else resized[0]
    return out


def prepare_masks(
    content_mask: ImageLike | None,
    style_masks: ImageLike | Sequence[ImageLike] | None,
    shape: tuple[int, int],
    styles: int,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Load the masks of a run at the output's ``shape``: the content mask ``[h, w]`` and the style
    masks stacked ``[styles, h, w]`` (None where not given). One style mask per style image, else
    :class:`ConfigError`; a style mask that is black everywhere is an :class:`ImageError`."""
    content = None if content_mask is None else load_mask(content_mask, shape, "content mask")
    if style_masks is None:
        return content, None
    if not isinstance(style_masks, (list, tuple)):
        style_masks = [style_masks]
    if len(style_masks) != styles:
        raise ConfigError(
            f"{len(style_masks)} style mask(s) given for {styles} style image(s); give one mask per style"
        )
    loaded = []
    for index, source in enumerate(style_masks):
        what = "style mask" if styles == 1 else f"style mask {index + 1}"
        mask = load_mask(source, shape, what)
        if not mask.any():
            raise ImageError(f"{what} is black everywhere: its style would apply nowhere")
        loaded.append(mask)
    return content, np.stack(loaded)
