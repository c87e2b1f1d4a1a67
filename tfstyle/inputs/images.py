"""Image I/O: anything image-like in, float32 RGB ``[height, width, 3]`` in [0, 255] out; atomic saves.

Paths, PIL images, numpy arrays and tensors are accepted, and a file's bytes
(:func:`decode_image`). Grayscale, palette, 16-bit, CMYK and images with alpha (composited on
white) become RGB, and EXIF orientation is applied. :func:`encode_image` gives the bytes
:func:`save_image` writes.
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, TypeAlias

import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps, UnidentifiedImageError

from tfstyle.errors import ImageError

ImageLike: TypeAlias = str | os.PathLike | Image.Image | np.ndarray | tf.Tensor

_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def load_image(source: ImageLike, what: str = "image") -> np.ndarray:
    """Read ``source`` as float32 RGB ``[height, width, 3]`` in [0, 255].

    ``what`` names the image in error messages ("content image", ...). Arrays and tensors must
    already hold values in [0, 255]: ``[h, w]``, ``[h, w, 1|3|4]``.
    """
    if isinstance(source, (str, os.PathLike)):
        return _pil_to_array(_open(Path(source), what))
    if isinstance(source, Image.Image):
        return _pil_to_array(source)
    array = np.asarray(source.numpy() if isinstance(source, tf.Tensor) else source)
    return _array_to_rgb(array, what)


def decode_image(data: bytes, what: str = "image", name: str = "") -> np.ndarray:
    """An image file's bytes (``.jpg``, ``.png``, ...) read as :func:`load_image` reads the file;
    ``name`` (its path) in error messages."""
    if not data:
        raise ImageError(f"{what} {name} is empty (0 bytes)" if name else f"{what} is empty (0 bytes)")
    return _pil_to_array(_read(io.BytesIO(data), what, name))


def encode_image(image: np.ndarray | tf.Tensor | Image.Image, suffix: str = ".png") -> bytes:
    """The bytes of ``image`` as :func:`save_image` writes a file ending in ``suffix`` (``.jpg``:
    JPEG of quality 95)."""
    image_format = Image.registered_extensions().get(suffix.lower())
    if image_format not in Image.SAVE:
        raise ImageError(f"{suffix!r} is no image extension PIL can write (use .png or .jpg)")
    buffer = io.BytesIO()
    _write(image if isinstance(image, Image.Image) else to_pil(image), buffer, image_format)
    return buffer.getvalue()


def scaled_size(shape: Sequence[int], longest: int, multiple: int = 1) -> tuple[int, int]:
    """``(height, width)`` of an image of ``shape`` (``[height, width, ...]``) scaled so its longer
    side is ``longest``, the aspect kept: each side rounded to a ``multiple`` (video codecs want
    even sides) and at least one."""
    height, width = shape[:2]
    scale = longest / max(height, width)
    return max(multiple, multiple * round(height * scale / multiple)), max(multiple, multiple * round(width * scale / multiple))


def resize_longest_side(image: np.ndarray, size: int) -> np.ndarray:
    """Scale ``image`` ([h, w, 3]) so that its longer side is ``size`` pixels, keeping the aspect."""
    return resize(image, scaled_size(image.shape, size))


def resize_to_area(image: np.ndarray, area: float) -> np.ndarray:
    """Scale ``image`` to about ``area`` pixels in all, keeping the aspect (how a style image matches)."""
    return resize_images_to_area(image, area).numpy()


def resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Antialiased bicubic resize of ``[h, w, 3]`` to ``shape`` = (height, width), clipped to [0, 255]."""
    if tuple(image.shape[:2]) == tuple(shape):
        return image
    return resize_images(image, shape).numpy()


def resize_images(images: np.ndarray | tf.Tensor, size: Sequence[int] | tf.Tensor) -> tf.Tensor:
    """:func:`resize` in TF ops, graphs included (the SavedModel stylizer resizes here):
    ``[h, w, 3]`` or ``[batch, h, w, 3]`` to ``size`` (height, width); unchanged if already that size."""
    images = tf.cast(images, tf.float32)
    size = tf.cast(size, tf.int32)
    same = tf.reduce_all(tf.equal(tf.shape(images)[-3:-1], size))

    def resized() -> tf.Tensor:
        return tf.clip_by_value(tf.image.resize(images, size, method="bicubic", antialias=True), 0.0, 255.0)

    known = tf.get_static_value(same)
    if known is not None:
        return images if known else resized()
    return tf.cond(same, lambda: images, resized)


def resize_images_to_area(images: np.ndarray | tf.Tensor, area: float | tf.Tensor) -> tf.Tensor:
    """:func:`resize_to_area` in TF ops: about ``area`` pixels (``[h, w, 3]`` or a batch), aspect kept."""
    images = tf.cast(images, tf.float32)
    shape = tf.cast(tf.shape(images)[-3:-1], tf.float64)
    scale = tf.sqrt(tf.cast(area, tf.float64) / (shape[0] * shape[1]))
    return resize_images(images, tf.maximum(tf.cast(tf.round(shape * scale), tf.int32), 1))


def to_pil(image: np.ndarray | tf.Tensor) -> Image.Image:
    """A PIL RGB image from float or uint8 pixels in [0, 255] (``[h, w, 3]`` or ``[1, h, w, 3]``)."""
    array = np.asarray(image.numpy() if isinstance(image, tf.Tensor) else image)
    if array.ndim == 4:
        if array.shape[0] != 1:
            raise ValueError(f"to_pil takes one image, got a batch of {array.shape[0]}")
        array = array[0]
    return Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8), "RGB")


def check_writable(path: str | os.PathLike) -> Path:
    """Fail early, before any work, if an image cannot be saved at ``path``."""
    path = Path(path)
    if path.is_dir():
        raise ImageError(f"output {path} is a directory; give a file name such as {path / 'stylized.png'}")
    if Image.registered_extensions().get(path.suffix.lower()) not in Image.SAVE:  # .psd: read-only
        raise ImageError(f"output {path} has no image extension PIL can write (use .png or .jpg)")
    parent = check_parent(path)
    if not os.access(parent, os.W_OK):
        raise ImageError(f"output folder {parent} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise ImageError(f"output {path} exists and is not writable")
    return path


def check_parent(path: str | os.PathLike) -> Path:
    """The folder ``path`` would be written in; :class:`ImageError` if it does not exist or is not a folder."""
    parent = Path(path).parent if str(Path(path).parent) else Path(".")
    if not parent.is_dir():
        blocking = next((p for p in (parent, *parent.parents) if p.exists() and not p.is_dir()), None)
        if blocking == parent:
            raise ImageError(f"output folder {parent} is a file, not a folder")
        if blocking is not None:
            raise ImageError(f"output folder {parent} cannot be made: {blocking} is a file, not a folder")
        raise ImageError(f"output folder {parent} does not exist")
    return parent


def create_beside(path: Path, suffix: str = ".tmp") -> tuple[int, Path]:
    """An empty temporary file in ``path``'s folder, named after it and ending in ``suffix``, made
    exclusively and open for writing: its descriptor and path. Its mode follows the umask, as any
    new file's does (``tempfile.mkstemp`` would make it private, 0600, and so the renamed result)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{suffix}")
    return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), temporary


def save_image(image: np.ndarray | tf.Tensor | Image.Image, path: str | os.PathLike) -> Path:
    """Write ``image`` to ``path`` atomically: a temporary file in the same folder, then a rename.

    A failed or interrupted save leaves whatever was at ``path`` before untouched.
    """
    path = check_writable(path)
    pil = image if isinstance(image, Image.Image) else to_pil(image)
    image_format = Image.registered_extensions()[path.suffix.lower()]
    fd, tmp = create_beside(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            _write(pil, handle, image_format)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise ImageError(f"could not write {path}: {err.strerror or err}") from None
        raise
    return path


def _write(pil: Image.Image, handle: BinaryIO, image_format: str) -> None:
    options = {"quality": 95} if image_format == "JPEG" else {}
    pil.save(handle, format=image_format, **options)


def check_image_file(path: Path, what: str = "image") -> Path:
    """:class:`ImageError` if ``path`` is missing, a directory or an empty file (before PIL reads it)."""
    if not path.exists():
        raise ImageError(f"{what} not found: {path}")
    if path.is_dir():
        raise ImageError(f"{what} {path} is a directory, not an image file")
    if path.stat().st_size == 0:
        raise ImageError(f"{what} {path} is empty (0 bytes)")
    return path


def _open(path: Path, what: str) -> Image.Image:
    return _read(check_image_file(path, what), what, str(path))


def _read(source: Path | BinaryIO, what: str, name: str) -> Image.Image:
    named = f"{what} {name}" if name else what
    try:
        with Image.open(source) as pil:
            pil.load()
            return ImageOps.exif_transpose(pil)
    except UnidentifiedImageError:
        raise ImageError(f"{named} is not an image (PIL cannot identify its format)") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError(f"{named} is corrupt or truncated ({err})") from None
    except Image.DecompressionBombError as err:
        raise ImageError(f"{named} is too large to read safely ({err})") from None


def _pil_to_array(pil: Image.Image) -> np.ndarray:
    if pil.mode in _SIXTEEN_BIT_MODES:
        # 16-bit grayscale: scale 0..65535 to 0..255 (PIL's convert("RGB") would clip instead).
        gray = np.asarray(pil, dtype=np.float32) / 257.0
        return np.repeat(np.clip(gray, 0, 255)[..., None], 3, axis=2)
    if pil.mode == "F":
        return _array_to_rgb(np.asarray(pil, dtype=np.float32), "image")
    if pil.mode in ("RGBA", "LA", "PA") or (pil.mode == "P" and "transparency" in pil.info):
        rgba = pil.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        pil = Image.alpha_composite(white, rgba)
    return np.asarray(pil.convert("RGB"), dtype=np.float32)


def _array_to_rgb(array: np.ndarray, what: str) -> np.ndarray:
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ImageError(f"{what} array must be [height, width] or [height, width, 1|3|4], got shape {array.shape}")
    if array.dtype == np.uint16:
        array = array / 257.0
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ImageError(f"{what} array holds NaN or infinite values")
    if array.shape[2] == 4:
        alpha = array[..., 3:] / 255.0
        array = array[..., :3] * alpha + 255.0 * (1.0 - alpha)
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.clip(array, 0.0, 255.0)
