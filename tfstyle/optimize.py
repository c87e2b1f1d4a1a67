"""The optimization: a ``tf.Variable`` image moved down the total loss by SGD, Adam or L-BFGS.

``stylize`` is the whole pipeline: images → feature targets → the compiled loss step → image.
SGD and Adam run one ``tf.function``-compiled ``GradientTape`` step per iteration; L-BFGS is
SciPy's L-BFGS-B driven by a compiled value-and-gradient function, with the pixel range as bounds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import keras
import numpy as np
import scipy.optimize
import tensorflow as tf

from tfstyle import images as imageio
from tfstyle.callbacks import CallbackLike, CallbackList, RunInfo, Step
from tfstyle.config import INITS, StyleConfig
from tfstyle.errors import ConfigError, ImageError, NonFiniteLossError, StyleInterrupted
from tfstyle.features import build_feature_model, min_image_side
from tfstyle.images import ImageLike
from tfstyle.losses import combined_loss, gram_matrix

Losses = dict[str, tf.Tensor]


@dataclass
class Result:
    """A finished run. ``image`` is float32 ``[height, width, 3]`` in [0, 255] (``[batch, ...]`` for
    a batch); ``history`` maps each loss name to its value at every iteration run."""

    image: np.ndarray
    history: dict[str, np.ndarray]
    initial_losses: dict[str, float]
    final_losses: dict[str, float]
    iterations: int
    seconds: float
    device: str
    config: StyleConfig = field(repr=False)

    def to_pil(self):
        """The image as a PIL RGB image."""
        return imageio.to_pil(self.image)

    def save(self, path) -> None:
        """Write the image atomically (PNG, JPEG, ... by the file's extension)."""
        imageio.save_image(self.image, path)


def stylize(
    content: ImageLike,
    style: ImageLike,
    config: StyleConfig | None = None,
    callbacks: Iterable[CallbackLike] = (),
    feature_model: keras.Model | None = None,
) -> Result:
    """Paint ``content`` in the style of ``style``; the paper's algorithm with ``config``'s settings.

    Images are paths, PIL images, arrays or tensors with pixels in [0, 255]. The content is scaled
    so its longer side is ``config.image_size``; the style to the same number of pixels. Pass a
    ``feature_model`` from :func:`tfstyle.build_feature_model` to reuse one across runs.
    Raises :class:`NonFiniteLossError` (with the last finite image) if the loss blows up, and
    :class:`StyleInterrupted` (a ``KeyboardInterrupt`` with the current image) on Ctrl-C.
    """
    config = config or StyleConfig()
    content_image, style_image = prepare_images(content, style, config)
    device = pick_device(config.device)
    with tf.device(device):
        model = feature_model or build_feature_model(config.layers_in_use(), config.weights, config.seed)
        loss_fn = make_loss_fn(model, content_image, style_image, config)
        start = initial_image(config.init, content_image, style_image, config.seed)
        image = tf.Variable(start[None], name="stylized_image")
        info = RunInfo(
            config=config,
            content=content_image,
            style=style_image,
            start=start[None],
            content_name=_source_name(content, "content"),
            style_name=_source_name(style, "style"),
            device=device,
        )
        return _optimize(image, loss_fn, config, CallbackList(callbacks), device, info)


def prepare_images(content: ImageLike, style: ImageLike, config: StyleConfig) -> tuple[np.ndarray, np.ndarray]:
    """Load and scale both images; fail clearly if either is too small for the deepest layer."""
    content_image = imageio.resize_longest_side(imageio.load_image(content, "content image"), config.image_size)
    style_image = imageio.load_image(style, "style image")
    style_image = imageio.resize_to_area(style_image, content_image.shape[0] * content_image.shape[1])
    minimum = min_image_side(config.layers_in_use())
    for what, array in (("content image", content_image), ("style image", style_image)):
        height, width = array.shape[:2]
        if min(height, width) < minimum:
            raise ImageError(
                f"the {what} is {width}x{height} pixels after scaling to --image_size {config.image_size}, "
                f"but layer {max(config.layers_in_use())} needs at least {minimum} pixels on each side; "
                f"raise --image_size or use shallower layers"
            )
    return content_image, style_image


def make_loss_fn(
    model: keras.Model, content_image: np.ndarray, style_image: np.ndarray, config: StyleConfig
) -> Callable[[tf.Tensor], Losses]:
    """The objective image → losses, with the content activations P_i and style Grams A_i fixed."""
    content_terms, style_terms = config.content_terms(), config.style_terms()
    content_targets = {}
    if content_terms:
        features = model(tf.constant(content_image[None]))
        content_targets = {name: tf.constant(features[name]) for name in content_terms}
    style_targets = {}
    if style_terms:
        features = model(tf.constant(style_image[None]))
        style_targets = {name: gram_matrix(features[name], config.normalization) for name in style_terms}

    def loss_fn(images: tf.Tensor) -> Losses:
        return combined_loss(
            model(images),
            content_targets,
            style_targets,
            content_terms,
            style_terms,
            a=config.content_weight,
            b=config.style_weight,
            tv_weight=config.tv_weight,
            images=images,
            normalization=config.normalization,
        )

    return loss_fn


def initial_image(init: str, content: np.ndarray, style: np.ndarray, seed: int = 0) -> np.ndarray:
    """Where the optimization starts: ``content`` (the paper), ``noise`` (Gatys' white noise, seeded),
    ``style`` (scaled to the content's size), or a path to an image (scaled likewise)."""
    shape = content.shape[:2]
    if init == "content":
        return content.copy()
    if init == "noise":
        return np.random.default_rng(seed).uniform(0.0, 255.0, content.shape).astype(np.float32)
    if init == "style":
        return imageio.resize(style, shape)
    if init in INITS:  # unreachable unless INITS grows
        raise ConfigError(f"init {init!r} is not implemented")
    try:
        return imageio.resize(imageio.load_image(init, "init image"), shape)
    except ImageError as err:
        raise ImageError(f"{err} (--init takes {', '.join(INITS)} or an image path)") from None


def pick_device(device: str | None) -> str:
    """``device`` if TensorFlow has it; by default the first GPU, else the CPU."""
    if device is None:
        gpus = tf.config.list_logical_devices("GPU")
        return gpus[0].name if gpus else "/device:CPU:0"
    wanted = tf.DeviceSpec.from_string(device)
    for logical in tf.config.list_logical_devices():
        spec = tf.DeviceSpec.from_string(logical.name)
        if spec.device_type == (wanted.device_type or "").upper() and spec.device_index == (wanted.device_index or 0):
            return logical.name
    known = ", ".join(d.name for d in tf.config.list_logical_devices())
    raise ConfigError(f"device {device!r} is not available; TensorFlow sees {known}")


class _Recorder:
    """Collects the loss history, times the run and talks to the callbacks."""

    def __init__(self, image: tf.Variable, iterations: int, callbacks: CallbackList):
        self.image, self.iterations, self.callbacks = image, iterations, callbacks
        self.rows: list[dict[str, float]] = []
        self.start = time.perf_counter()

    def record(self, losses: dict[str, np.ndarray]) -> bool:
        """Store one iteration's losses and notify the callbacks; True means stop."""
        row = {name: float(np.mean(value)) for name, value in losses.items()}
        row["seconds"] = time.perf_counter() - self.start
        self.rows.append(row)
        step = Step(len(self.rows), self.iterations, row, tf.convert_to_tensor(self.image), row["seconds"])
        return self.callbacks.step(step)

    def history(self) -> dict[str, np.ndarray]:
        names = self.rows[0].keys() if self.rows else ()
        return {name: np.array([row[name] for row in self.rows]) for name in names}


def _optimize(
    image: tf.Variable, loss_fn, config: StyleConfig, callbacks: CallbackList, device: str, info: RunInfo | None = None
) -> Result:
    initial = _to_floats(loss_fn(image))  # eager: one forward pass is not worth a trace
    recorder = _Recorder(image, config.iterations, callbacks)
    run = _lbfgs if config.optimizer == "lbfgs" else _gradient_descent
    # The compiled step is built on the first iteration after this, so a graph trace that a
    # callback starts in on_start (tfstyle.TensorBoard) records it.
    callbacks.start(config.iterations, info)

    def result() -> Result:
        final = _to_floats(loss_fn(image))
        return Result(
            image=image.numpy()[0] if image.shape[0] == 1 else image.numpy(),
            history=recorder.history(),
            initial_losses=initial,
            final_losses=final,
            iterations=len(recorder.rows),
            seconds=time.perf_counter() - recorder.start,
            device=device,
            config=config,
        )

    try:
        run(image, loss_fn, config, recorder)
    except _NonFinite as bad:
        image.assign(bad.last_good)
        raise NonFiniteLossError(
            f"the loss became {bad.value} at iteration {len(recorder.rows) + 1}; stopped and kept the last "
            "image with a finite loss (try a smaller --learning_rate or smaller weights)",
            result(),
        ) from None
    except KeyboardInterrupt:
        raise StyleInterrupted(result()) from None
    finally:
        callbacks.end()
    return result()


class _NonFinite(Exception):
    def __init__(self, value: float, last_good: np.ndarray):
        self.value, self.last_good = value, last_good


def _gradient_descent(image: tf.Variable, loss_fn, config: StyleConfig, recorder: _Recorder) -> None:
    """SGD (the paper's plain gradient descent) or Adam, one compiled GradientTape step per iteration."""
    learning_rate = config.effective_learning_rate
    if config.optimizer == "adam":
        optimizer = keras.optimizers.Adam(learning_rate)
    else:
        optimizer = keras.optimizers.SGD(learning_rate)
    last_good = tf.Variable(image, trainable=False, name="last_finite_image")

    @tf.function
    def step() -> Losses:
        with tf.GradientTape() as tape:
            losses = loss_fn(image)
            total = tf.reduce_sum(losses["total"])  # a sum keeps each image of a batch independent
        gradient = tape.gradient(total, image)
        if tf.math.is_finite(total):
            last_good.assign(image)
            optimizer.apply_gradients([(gradient, image)])
            image.assign(tf.clip_by_value(image, 0.0, 255.0))
        return losses

    for _ in range(config.iterations):
        losses = {name: value.numpy() for name, value in step().items()}
        total = float(np.sum(losses["total"]))
        if not np.isfinite(total):
            raise _NonFinite(total, last_good.numpy())
        if recorder.record(losses):
            return


def _lbfgs(image: tf.Variable, loss_fn, config: StyleConfig, recorder: _Recorder) -> None:
    """SciPy's L-BFGS-B on the pixels, bounded to [0, 255], fed by a compiled value-and-gradient."""
    shape = image.shape

    @tf.function
    def value_and_gradient() -> tuple[Losses, tf.Tensor]:
        with tf.GradientTape() as tape:
            losses = loss_fn(image)
            total = tf.reduce_sum(losses["total"])
        return losses, tape.gradient(total, image)

    accepted = image.numpy()
    evaluated: dict[str, np.ndarray] = {}

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        image.assign(x.reshape(shape).astype(np.float32))
        losses, gradient = value_and_gradient()
        evaluated.clear()
        evaluated.update({name: value.numpy() for name, value in losses.items()})
        total = float(np.sum(evaluated["total"]))
        if not np.isfinite(total):
            raise _NonFinite(total, accepted)
        return total, gradient.numpy().astype(np.float64).ravel()

    def callback(intermediate_result: scipy.optimize.OptimizeResult) -> None:
        nonlocal accepted
        # L-BFGS-B's last evaluation before this call is at the accepted point.
        accepted = intermediate_result.x.reshape(shape).astype(np.float32)
        image.assign(accepted)
        if recorder.record(dict(evaluated)):
            raise StopIteration

    scipy.optimize.minimize(
        fun,
        image.numpy().astype(np.float64).ravel(),
        jac=True,
        method="L-BFGS-B",
        bounds=scipy.optimize.Bounds(0.0, 255.0),
        callback=callback,
        # Run the iterations asked for: no early stop on small progress.
        options={"maxiter": config.iterations, "maxfun": 4 * config.iterations + 20, "ftol": 0.0, "gtol": 0.0},
    )
    image.assign(accepted)


def _source_name(source: ImageLike, fallback: str) -> str:
    """A file's stem for a path (or a PIL image read from a file); ``fallback`` for arrays."""
    if isinstance(source, (str, os.PathLike)):
        return os.path.splitext(os.path.basename(os.fspath(source)))[0] or fallback
    filename = getattr(source, "filename", None)  # PIL images opened from a file
    return os.path.splitext(os.path.basename(filename))[0] if isinstance(filename, str) and filename else fallback


def _to_floats(losses: Losses) -> dict[str, float]:
    return {name: float(np.mean(value.numpy())) for name, value in losses.items()}
