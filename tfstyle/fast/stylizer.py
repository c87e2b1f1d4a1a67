"""A trained fast stylizer as a file: a SavedModel whose ``serving_default`` maps a uint8 image
``[1, height, width, 3]`` to its stylized uint8 image of the same size (plain TensorFlow loads it,
no tfstyle needed), a LiteRT flatbuffer beside it, and :class:`FastStylizer` to use either.

:class:`FastStylizer` runs the SavedModel's own signature in float32 (plain TensorFlow's and LiteRT's
pixels), or, in bfloat16, the same weights in :func:`transform_network`'s ``mixed_bfloat16`` form.

The SavedModel records what made it (``assets.extra/tfstyle_export.json``, kind ``fast_stylizer``):
the training and loss settings, the style image's SHA-256 and the steps trained.
"""

from __future__ import annotations

import functools
import os
import secrets
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from tfstyle.config import StyleConfig
from tfstyle.devices import pick_device
from tfstyle.errors import ConfigError, ExportError, ModelError, first_line
from tfstyle.exports import Staging, read_export_info
from tfstyle.fast.network import MIN_SIDE, stylize_any_size, transform_network
from tfstyle.inputs import images as imageio
from tfstyle.inputs.images import ImageLike
from tfstyle.network.speed import resolve_precision

KIND = "fast_stylizer"
SIGNATURE = "serving_default"
_SPEC = tf.TensorSpec([1, None, None, 3], tf.uint8, name="image")


class _Serving(tf.Module):
    """The exported module: the network, and uint8 in, uint8 out."""

    def __init__(self, network: keras.Model):
        super().__init__()
        self.network = network

    @tf.function(input_signature=[_SPEC], autograph=False)
    def serve(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        pixels = stylize_any_size(self.network, tf.cast(image, tf.float32))
        return {"image": tf.cast(tf.round(tf.clip_by_value(pixels, 0.0, 255.0)), tf.uint8)}


def export(network: keras.Model, path: str | os.PathLike, info: dict[str, Any], tflite: bool = True) -> Path:
    """Write ``network`` as a fast-stylizer SavedModel at ``path`` (atomically; an earlier tfstyle
    export there is replaced, anything else refused) with ``info`` recorded, and with ``tflite`` its
    LiteRT model at ``path`` + ``.tflite``. Returns the SavedModel's absolute path."""
    module = _Serving(network)
    with Staging(path) as staging:
        staging.save(module, {SIGNATURE: module.serve}, {"kind": KIND, **info})
    if tflite:
        write_tflite(module, lite_path(staging.target))
    return staging.target


def check_output(path: str | os.PathLike) -> None:
    """Raise :class:`ExportError` now if :func:`export` could not write ``path`` (a file there, a
    folder that is no tfstyle export, a parent that cannot be written): before hours of training."""
    with Staging(path):
        pass


def lite_path(saved_model: str | os.PathLike) -> Path:
    """The LiteRT model beside a SavedModel folder: ``saved_models/NAME`` → ``saved_models/NAME.tflite``."""
    path = Path(os.path.abspath(saved_model))
    return path.with_name(path.name + ".tflite")


def write_tflite(module: _Serving, path: Path) -> None:
    """The serving function as a LiteRT flatbuffer, its weights frozen in, of builtin ops only and
    any input size, written atomically to ``path``."""
    frozen = convert_variables_to_constants_v2(module.serve.get_concrete_function())
    with tempfile.TemporaryDirectory() as folder:  # a SavedModel of the frozen function keeps its signature's name
        named = tf.function(lambda image: {"image": frozen(image)[0]}, input_signature=[_SPEC])
        tf.saved_model.save(tf.Module(), folder, signatures={SIGNATURE: named})
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=[SIGNATURE])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        flatbuffer = converter.convert()
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        tmp.write_bytes(flatbuffer)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"could not write {path}: {err.strerror or err}") from None


def shipped_models() -> dict[str, Path]:
    """The models that come with tfstyle, by name (``starry_night``, ...)."""
    folder = Path(str(resources.files("tfstyle.saved_models")))
    if not folder.is_dir():
        return {}
    return {p.name: p for p in sorted(folder.iterdir()) if p.is_dir() and read_export_info(p)}


def resolve(model: str | os.PathLike) -> Path:
    """A model's folder: ``model`` itself if it is a path, else the shipped model of that name."""
    path = Path(model)
    if path.exists() or os.sep in str(model) or "/" in str(model):
        return path
    shipped = shipped_models()
    if str(model) in shipped:
        return shipped[str(model)]
    names = ", ".join(shipped) or "none"
    raise ModelError(f"model not found: {model} is neither a folder nor a shipped model ({names})")


class FastStylizer:
    """A trained fast stylizer: ``FastStylizer.load("starry_night")(image)`` stylizes in one pass.

    ``load`` takes a SavedModel folder or a shipped model's name. Calling it takes anything
    :func:`tfstyle.inputs.images.load_image` does and returns float32 RGB ``[height, width, 3]``
    in [0, 255] (whole grey levels), the size it came in or, with ``image_size``, scaled so its longer
    side is that many pixels first."""

    def __init__(self, loaded: Any, info: dict[str, Any], path: Path, precision: str = "float32"):
        self._loaded = loaded  # the SavedModel: holds the variables its signature reads
        self.info, self.path, self.precision = info, path, precision
        if precision == "float32":
            self._serve = loaded.signatures[SIGNATURE]
        else:
            self._reduced = _reduced(path, precision)  # holds the network its serve function reads
            self._serve = self._reduced.serve

    @classmethod
    def load(cls, model: str | os.PathLike, precision: str = "auto") -> FastStylizer:
        """The model ``model`` names (a folder, or a shipped model's name), loaded once per process.

        ``precision`` (as :class:`tfstyle.StyleConfig`'s): float32 runs the SavedModel's signature;
        bfloat16 the same weights with bfloat16 convolutions (a mean of about 1-2 grey levels from
        float32's picture; 1.8x as fast on an AMD Zen 4, the one CPU it was timed on); auto: bfloat16 where
        :func:`tfstyle.network.speed.resolve_precision` picks it, else float32."""
        return _load(resolve(model).resolve(), resolve_precision(precision, pick_device(None)))

    @classmethod
    def _read(cls, path: Path, precision: str) -> FastStylizer:
        if not path.exists():
            raise ModelError(f"model folder not found: {path}")
        if not path.is_dir():
            raise ModelError(f"model {path} is not a folder (a fast stylizer is a SavedModel folder)")
        info = read_export_info(path)
        if info is None or info.get("kind") != KIND:
            what = f"a tfstyle {info.get('kind')} export" if info else "not a tfstyle export"
            raise ModelError(f"{path} is not a fast stylizer ({what}); python -m tfstyle.train makes one")
        try:
            return cls(tf.saved_model.load(str(path)), info, path, precision)
        except (OSError, KeyError, ValueError, AssertionError, tf.errors.OpError) as err:
            raise ModelError(f"cannot load the fast stylizer {path}: {first_line(err)}") from None

    def pictures(self, images: np.ndarray) -> np.ndarray:
        """A batch ``[batch, height, width, 3]`` in [0, 255], each image through the network on its own."""
        return np.stack([self(image) for image in np.asarray(images, np.float32)])

    @property
    def name(self) -> str:
        return self.path.name

    def __call__(self, image: ImageLike, image_size: int | None = None) -> np.ndarray:
        pixels = imageio.load_image(image, "content image")
        if image_size is not None:
            pixels = imageio.resize_longest_side(pixels, image_size)
        if min(pixels.shape[:2]) < MIN_SIDE:
            h, w = pixels.shape[:2]
            raise ModelError(f"the content image is {w}x{h} pixels; the fast stylizer needs at least {MIN_SIDE} on each side")
        uint8 = tf.constant(np.round(pixels).astype(np.uint8)[None])
        return self._serve(image=uint8)["image"][0].numpy().astype(np.float32)


@functools.lru_cache(maxsize=8)
def _load(path: Path, precision: str) -> FastStylizer:
    """:meth:`FastStylizer.load`'s cache: a model is read-only, so one copy serves every caller."""
    return FastStylizer._read(path, precision)


def _reduced(path: Path, precision: str) -> _Serving:
    """The serving module of the SavedModel at ``path`` with its network rebuilt in ``precision``
    (Keras' ``mixed_`` policy of it) and its weights read from the SavedModel's variables."""
    variables = str(path / "variables" / "variables")
    first = [shape for _, shape in tf.train.list_variables(variables) if len(shape) == 4 and shape[:3] == [9, 9, 3]]
    if len(first) != 1:
        raise ModelError(f"{path} holds no transform network's weights (no single first 9x9 convolution)")
    network = transform_network(first[0][3], dtype=f"mixed_{precision}")
    tf.train.Checkpoint(network=network).read(variables).assert_existing_objects_matched()
    return _Serving(network)


def fast_stylizer_for(style: object | None, config: StyleConfig) -> FastStylizer | None:
    """The fast stylizer a run of ``style`` (None: none) and ``config`` uses, loaded now so that a bad
    model fails before any work: ``config.model``'s without a style (it makes the pictures) or with
    ``init`` model (it makes the start); None when the run needs none. Neither a style nor a model
    is a :class:`ConfigError`."""
    if style is None and config.model is None:
        raise ConfigError("give a `style` (a painting), or a `model` for a fast stylizer's picture")
    if style is None or config.init == "model":
        assert config.model is not None, "StyleConfig.cross_check: init model names a model"
        return FastStylizer.load(config.model, config.precision)
    return None
