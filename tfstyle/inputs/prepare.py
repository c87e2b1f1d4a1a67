"""The inputs of a run: content images (one, a batch or a dataset), style images, their scaling
and size checks, and the image the optimization starts from.

Images are paths, PIL images, numpy arrays or tensors with pixels in [0, 255]
(:func:`tfstyle.inputs.images.load_image`). The content is scaled so its longer side is
``config.image_size``; each style to ``config.style_scale``² times the content's pixel count.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
import tensorflow as tf

from tfstyle.config import INITS, StyleConfig
from tfstyle.errors import ImageError
from tfstyle.inputs import images as imageio
from tfstyle.inputs.images import ImageLike
from tfstyle.network.features import check_image_size

ContentLike: TypeAlias = ImageLike | Sequence[ImageLike] | tf.data.Dataset
StyleLike: TypeAlias = ImageLike | Sequence[ImageLike]  # one style image, or a list of them to blend
ImageBatch: TypeAlias = np.ndarray | tf.Tensor


def content_list(content: ContentLike) -> tuple[list[ImageLike], bool]:
    """The content images, and whether they came as a batch (a list, a 4-D array or a dataset)."""
    if isinstance(content, tf.data.Dataset):
        images = _dataset_images(content)
    elif isinstance(content, (list, tuple)):
        images = list(content)
    elif len(getattr(content, "shape", ())) == 4:
        images = list(np.asarray(content))
    else:
        return [content], False
    if not images:
        raise ImageError("the batch of content images is empty")
    return images, True


def _dataset_images(dataset: tf.data.Dataset) -> list[ImageLike]:
    spec = dataset.element_spec
    if not isinstance(spec, tf.TensorSpec):
        raise ImageError(
            f"a content dataset must yield images (tensors [height, width, channels], batches of them, or "
            f"file paths), not {spec}; map it to the images first"
        )
    if dataset.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise ImageError("the content dataset is infinite; take() the images to stylize")
    images: list[ImageLike] = []
    for element in dataset:
        if element.dtype == tf.string:
            images.extend(path.decode() for path in np.atleast_1d(element.numpy()))
        elif element.shape.rank == 4:
            images.extend(element.numpy())
        else:
            images.append(element.numpy())
    return images


def style_list(style: StyleLike) -> list[ImageLike]:
    """The style images: a list or tuple is several styles (to blend), anything else one."""
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    if not styles:
        raise ImageError("the list of style images is empty")
    return styles


def load_styles(style: Any, read: Callable[[Any, str], np.ndarray] = imageio.load_image) -> list[np.ndarray]:
    """The style images of ``style`` (:func:`style_list`), each read by ``read(source, what)``
    (default :func:`~tfstyle.inputs.images.load_image`; Beam reads remote paths), named in messages
    ``style image`` or, of several, ``style image 2``."""
    styles = style_list(style)
    return [read(source, "style image" if len(styles) == 1 else f"style image {index}") for index, source in enumerate(styles, 1)]


def prepare_batch(
    contents: Sequence[ImageLike], styles: Sequence[ImageLike], config: StyleConfig, layers: Sequence[str] | None = None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """:func:`prepare_images` for a batch: ``[batch, height, width, 3]`` and the list of styles; all
    the content images must come out the same size after scaling to ``config.image_size``."""
    scaled = []
    for index, content in enumerate(contents):
        what = "content image" if len(contents) == 1 else f"content image {index + 1}"
        scaled.append(imageio.resize_longest_side(imageio.load_image(content, what), config.image_size))
    for index, image in enumerate(scaled[1:], start=2):
        if image.shape != scaled[0].shape:
            (h0, w0), (h, w) = scaled[0].shape[:2], image.shape[:2]
            raise ImageError(
                f"the content images of a batch must have the same size after scaling to `image_size` "
                f"{config.image_size}: image 1 is {w0}x{h0} and image {index} is {w}x{h}; crop or resize them "
                "to one aspect ratio, or stylize them separately"
            )
    first, style_images = _prepare(scaled[0], list(styles), config, layers)  # size checks; the styles scaled once
    return np.stack([first, *scaled[1:]]), style_images


def prepare_images(
    content: ImageLike, style: StyleLike, config: StyleConfig, layers: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray | list[np.ndarray]]:
    """Load and scale the images; fail clearly if any is too small for the deepest of ``layers``
    (default: the config's layers in use). Each style image gets ``config.style_scale``² times the
    content's pixel count; a list of styles comes back as a list."""
    content_image, style_images = _prepare(content, style_list(style), config, layers)
    return content_image, style_images if isinstance(style, (list, tuple)) else style_images[0]


def _prepare(
    content: ImageLike, styles: list[ImageLike], config: StyleConfig, layers: Sequence[str] | None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """:func:`prepare_images` with the styles as a list, and a list back."""
    content_image = imageio.resize_longest_side(imageio.load_image(content, "content image"), config.image_size)
    area = content_image.shape[0] * content_image.shape[1] * config.style_scale**2
    named = [("content image", content_image)]
    for index, image in enumerate(load_styles(styles), 1):
        named.append(("style image" if len(styles) == 1 else f"style image {index}", imageio.resize_to_area(image, area)))
    layers = list(layers or config.layers_in_use())
    scale = f" and `style_scale` {config.style_scale:g}" if config.style_scale != 1 else ""
    for what, array in named:
        is_style = what != "content image"
        check_image_size(
            array.shape, layers, what, f"raise `image_size`{' or `style_scale`' if is_style and scale else ''} or use shallower layers",
            context=f" after scaling to `image_size` {config.image_size}{scale if is_style else ''}",
        )
    return content_image, [array for _, array in named[1:]]


def initial_image(
    init: str, content: ImageBatch, style: ImageBatch, seed: int = 0, noise_blend: float = 0.0
) -> np.ndarray:
    """:func:`start_image` as a numpy array: where the optimization starts for ``content``
    (``[height, width, 3]`` or a batch)."""
    return start_image(init, content, style, seed, noise_blend).numpy()


def start_image(init: str, content: ImageBatch, style: ImageBatch, seed: int = 0, noise_blend: float = 0.0) -> tf.Tensor:
    """Where the optimization starts, in TF ops (the SavedModel stylizer builds its start here too):
    ``content`` (the paper), ``noise`` (Gatys' white noise, :func:`white_noise`), ``style`` (resized to
    the content's size), or a path to an image (resized likewise; not in a graph); with
    ``noise_blend`` t > 0, (1 − t)·that + t·the white noise. ``content`` is ``[height, width, 3]`` or
    a batch, every image of which gets the same noise; the result has its shape."""
    content = tf.cast(content, tf.float32)
    shape = tf.shape(content)
    size = shape[-3:-1]
    if init == "content":
        start = tf.identity(content)
    elif init == "noise":
        start = tf.broadcast_to(white_noise(size, seed), shape)
    elif init == "style":
        start = tf.broadcast_to(imageio.resize_images(style, size), shape)
    else:
        start = tf.broadcast_to(imageio.resize_images(_init_image(init), size), shape)
    if noise_blend:
        start = (1.0 - noise_blend) * start + noise_blend * white_noise(size, seed)
    return start


def white_noise(size: Sequence[int] | tf.Tensor, seed: int) -> tf.Tensor:
    """Seeded white noise ``[height, width, 3]`` uniform in [0, 255]: TensorFlow's stateless Philox
    generator, the same pixels on every device, eagerly and in a graph."""
    shape = tf.concat([tf.cast(size, tf.int32), [3]], axis=0)
    return tf.random.stateless_uniform(shape, [seed, 0], 0.0, 255.0, tf.float32, alg="philox")


def _init_image(init: str) -> np.ndarray:
    """The image an ``init`` path names."""
    try:
        return imageio.load_image(init, "init image")
    except ImageError as err:
        raise ImageError(f"{err} (`init` takes {', '.join(INITS)} or an image path)") from None


def resized_start(start_image: ImageBatch, shape: Sequence[int]) -> np.ndarray:
    """``start_image`` (one image or a batch, [0, 255]) as a float32 batch of ``shape`` (bicubic)."""
    images = np.asarray(start_image, np.float32)
    images = images[None] if images.ndim == 3 else images
    if images.ndim != 4 or images.shape[-1] != 3 or len(images) not in (1, shape[0]):
        raise ImageError(f"the start image must be [height, width, 3] or a batch of {shape[0]}, got {images.shape}")
    return np.stack([imageio.resize(images[min(i, len(images) - 1)], (shape[1], shape[2])) for i in range(shape[0])])


def source_name(source: ImageLike, fallback: str) -> str:
    """A file's stem for a path (or a PIL image read from a file); ``fallback`` for arrays."""
    if isinstance(source, (str, os.PathLike)):
        return os.path.splitext(os.path.basename(os.fspath(source)))[0] or fallback
    filename = getattr(source, "filename", None)  # PIL images opened from a file
    return os.path.splitext(os.path.basename(filename))[0] if isinstance(filename, str) and filename else fallback

