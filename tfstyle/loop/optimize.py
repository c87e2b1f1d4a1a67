"""The optimization: a ``tf.Variable`` image moved down the total loss by SGD, Adam or L-BFGS.

``stylize`` is the whole pipeline: images → feature targets → the compiled loss step → image.
SGD and Adam run one ``tf.function``-compiled ``GradientTape`` step per iteration; L-BFGS is
SciPy's L-BFGS-B driven by a compiled value-and-gradient function, with the pixel range as bounds.

A batch of content images is one ``[batch, height, width, 3]`` variable. The losses are per image
and the step follows their sum, so SGD and Adam (per-pixel updates) move every image exactly as a
run of its own would, to round-off. L-BFGS's line search is shared by everything it optimizes and
would couple the images, so it runs the images of a batch one after another.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
import scipy.optimize
import tensorflow as tf

from tfstyle.config import StyleConfig, preset
from tfstyle.controls import color
from tfstyle.controls import masks as maskio
from tfstyle.errors import (
    CheckpointError,
    ConfigError,
    MemoryLimitError,
    NonFiniteLossError,
    StyleInterrupted,
)
from tfstyle.inputs import images as imageio
from tfstyle.inputs.images import ImageLike
from tfstyle.inputs.prepare import (
    ContentLike,
    ImageBatch,
    StyleLike,
    content_list,
    initial_image,
    prepare_batch,
    resized_start,
    source_name,
    style_list,
)
from tfstyle.loop.callbacks import (
    CALLBACK_STOP,
    Callback,
    CallbackLike,
    CallbackList,
    RunInfo,
    Step,
)
from tfstyle.loop.checkpoint import Checkpointing, RunCheckpoint, fingerprint
from tfstyle.loop.coarse_to_fine import coarse_to_fine
from tfstyle.network import memory, speed
from tfstyle.network.features import build_feature_model
from tfstyle.objective.whole import Losses, objective
from tfstyle.scale.distribute import ShardedLoss, describe


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
    stopped: str | None = None  # why the run ended before its iterations, if it did

    def to_pil(self):
        """The image as a PIL RGB image."""
        return imageio.to_pil(self.image)

    def save(self, path) -> None:
        """Write the image atomically (PNG, JPEG, ... by the file's extension)."""
        imageio.save_image(self.image, path)


def _memory_errors(function):
    """``function`` (stylize) with TensorFlow's ResourceExhaustedError turned into a
    :class:`MemoryLimitError` that names the largest size that fits and a tile size."""

    @functools.wraps(function)
    def wrapper(content, style, config=None, *args, **kwargs):
        try:
            return function(content, style, config, *args, **kwargs)
        except tf.errors.ResourceExhaustedError:
            raise _out_of_memory(content, config or preset("default")) from None

    return wrapper


@_memory_errors
def stylize(
    content: ContentLike,
    style: StyleLike,
    config: StyleConfig | None = None,
    callbacks: Iterable[CallbackLike] = (),
    feature_model: keras.Model | None = None,
    *,
    content_mask: ImageLike | None = None,
    style_masks: ImageLike | Sequence[ImageLike] | None = None,
    start_image: ImageBatch | None = None,
    strategy: tf.distribute.Strategy | None = None,
    checkpoint: Checkpointing | None = None,
) -> Result:
    """Paint ``content`` in the style of ``style``; the paper's algorithm with ``config``'s settings.

    Images are paths, PIL images, arrays or tensors with pixels in [0, 255]. The content is scaled
    so its longer side is ``config.image_size``; the style to the same number of pixels. Pass a
    ``feature_model`` from :func:`tfstyle.build_feature_model` to reuse one across runs.
    Raises :class:`NonFiniteLossError` (with the last finite image) if the loss blows up, and
    :class:`StyleInterrupted` (a ``KeyboardInterrupt`` with the current image) on Ctrl-C.

    ``content`` may be a batch: a list or tuple of images, a ``[batch, height, width, channels]``
    array or tensor, or a finite ``tf.data.Dataset`` of images (``[height, width, channels]``
    tensors, batches of them, or file paths), read to its end. The images are stylized together
    with one style and ``config``, each as it would be alone (to round-off); ``Result.image`` is then
    ``[batch, height, width, 3]`` in their order, and the losses in the history, the results and
    the callbacks' steps are means over the batch. All images must come out the same size after
    scaling (the same aspect ratio), else :class:`ImageError`. With ``lbfgs`` the images run one
    after another: the iterations are counted through them all (``batch * iterations`` in all),
    each step's losses are the current image's, and callbacks see the whole batch. For a dataset
    too large for one batch, call ``stylize`` on each of ``dataset.batch(n)``'s elements.

    Creative controls (README "Creative controls"): ``style`` may be a list of style images,
    blended by ``config.style_blend_weights``; ``style_masks`` (one grayscale mask per style, the
    content's aspect ratio, white inside) confine each style to its region, and ``content_mask``
    confines the content loss; ``config.style_scale``, ``preserve_colors``, ``pooling`` and
    ``noise_blend`` do the rest. With ``preserve_colors="luminance"`` the optimization runs on
    luminance images (the losses are theirs) and the callbacks' and the result's images carry the
    content's colours. A ``feature_model`` passed in keeps its own pooling.

    Speed (docs/performance.md): ``config.precision`` and ``jit`` change how fast a step runs, not
    what it computes (to round-off); ``config.scales`` > 1 runs coarse-to-fine (:mod:`tfstyle.loop.coarse_to_fine`).
    ``start_image`` (``[height, width, 3]`` or a batch, pixels in [0, 255], resized to the output
    size) replaces ``config.init`` as the image the optimization starts from.

    Large images and long runs (README "Resuming and large images"): ``config.tile_size`` optimizes
    the image in overlapping, feathered tiles (:mod:`tfstyle.objective.tiled`); a run that would not fit in
    memory raises :class:`MemoryLimitError` before it starts. ``checkpoint`` (a
    :class:`tfstyle.Checkpointing`) saves the run as it goes and resumes it (:mod:`tfstyle.loop.checkpoint`).
    ``strategy`` (a ``tf.distribute`` strategy) spreads a batch over its replicas for sgd and adam
    (:mod:`tfstyle.scale.distribute`); L-BFGS runs on one device.
    """
    config = config or preset("default")
    strategy = _check_run_options(config, strategy, checkpoint, content_mask, style_masks)
    device = pick_device(config.device)
    if config.scales > 1:  # one feature model for every pass
        model = _feature_model(feature_model, config, device, strategy)

        def run_pass(one: StyleConfig, pass_callbacks: list[Callback], start: ImageBatch | None) -> Result:
            return stylize(
                content, style, one, pass_callbacks, model,
                content_mask=content_mask, style_masks=style_masks, start_image=start, strategy=strategy,
            )  # fmt: skip

        return coarse_to_fine(run_pass, config, callbacks, start_image)
    contents, batched = content_list(content)
    styles = style_list(style)
    config.style_blend(len(styles))  # fail early on a count mismatch
    layers = list(feature_model.output) if feature_model is not None else config.layers_in_use()
    content_images, style_images = prepare_batch(contents, styles, config, layers)
    content_mask, style_masks = maskio.prepare_masks(content_mask, style_masks, content_images.shape[1:3], len(styles))
    in_color = content_images
    content_images, style_images = color.preserve_colors(config.preserve_colors, content_images, style_images)
    _check_memory(content_images, config, device, strategy)
    model = _feature_model(feature_model, config, device, strategy)
    with tf.device(device):
        loss_fn = objective(model, content_images, style_images, config, content_mask, style_masks, strategy)
        start = np.stack([
            initial_image(config.init, c, style_images[0], config.seed, config.noise_blend) for c in content_images
        ])
        if start_image is not None:
            start = resized_start(start_image, content_images.shape)
        if config.preserve_colors == "luminance":
            start = color.luminance_image(start)
        image = tf.Variable(start, name="stylized_image")
        one_by_one = None
        if config.optimizer == "lbfgs" and len(content_images) > 1:
            one_by_one = [objective(model, c, style_images, config, content_mask, style_masks) for c in content_images]
        info = RunInfo(
            config=config,
            content=content_images if batched else content_images[0],
            style=style_images[0],
            start=start,
            content_name=source_name(content, "content"),
            style_name="+".join(source_name(s, "style") for s in styles),
            device=device,
        )
        saves = _run_checkpoint(checkpoint, config, content_images, style_images, start, content_mask, style_masks)
        if isinstance(loss_fn, ShardedLoss):
            device = describe(strategy)
        # Luminance-only transfer optimizes luminance; the callbacks and the result see the content's colours.
        view = None
        if config.preserve_colors == "luminance":

            def view(images: np.ndarray) -> np.ndarray:  # one image or the batch
                return color.recombine_luminance(images, in_color.reshape(np.shape(images)))

        run = CallbackList(callbacks, view=view)
        try:
            result = _optimize(image, loss_fn, config, run, device, info, batched, one_by_one, saves)
        except (NonFiniteLossError, StyleInterrupted) as err:
            if view is not None:
                err.result = dataclasses.replace(err.result, image=view(err.result.image))
            raise
        return dataclasses.replace(result, image=view(result.image)) if view is not None else result


def _feature_model(
    model: keras.Model | None, config: StyleConfig, device: str, strategy: tf.distribute.Strategy | None
) -> keras.Model:
    """The run's feature model on ``device`` as :func:`speed.for_run` makes it: ``model``, or one
    built for ``config`` (with its weights on every replica of ``strategy``)."""
    with tf.device(device), strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = model or build_feature_model(config.layers_in_use(), config.weights, config.seed, pooling=config.pooling)
        resolved = speed.for_device(config, device)
        return speed.for_run(model, resolved.precision, device, resolved.jit)


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
        self.checkpoint: RunCheckpoint | None = None

    def resume(self, rows: list[dict[str, float]], checkpoint: RunCheckpoint) -> None:
        """Continue a run whose first iterations are ``rows`` (restored), saving to ``checkpoint``."""
        self.rows, self.checkpoint = list(rows), checkpoint
        if rows:
            self.start -= rows[-1]["seconds"]

    def record(self, losses: dict[str, np.ndarray]) -> bool:
        """Store one iteration's losses and notify the callbacks; True means stop."""
        row = {name: float(np.mean(value)) for name, value in losses.items()}
        row["seconds"] = time.perf_counter() - self.start
        self.rows.append(row)
        if self.checkpoint is not None:
            self.checkpoint.after_step(self.rows)
        step = Step(len(self.rows), self.iterations, row, tf.convert_to_tensor(self.image), row["seconds"])
        return self.callbacks.step(step)

    def history(self, names: Iterable[str]) -> dict[str, np.ndarray]:
        """Each loss name (and ``seconds``) → its values, one per iteration (empty if none ran)."""
        return {name: np.array([row[name] for row in self.rows]) for name in [*names, "seconds"]}


def _optimize(
    image: tf.Variable,
    loss_fn,
    config: StyleConfig,
    callbacks: CallbackList,
    device: str,
    info: RunInfo | None = None,
    batched: bool = False,
    one_by_one: list | None = None,
    checkpoint: RunCheckpoint | None = None,
) -> Result:
    """Run the optimizer on ``image``; ``one_by_one`` holds each image's loss for a batch under L-BFGS;
    ``checkpoint`` saves the run (and restores it first when resuming)."""
    initial = _to_floats(loss_fn(image))  # eager: one forward pass is not worth a trace
    restored = checkpoint.restore_image(image) if checkpoint is not None else []
    iterations = config.iterations
    if config.optimizer != "lbfgs":
        run = _gradient_descent
    elif one_by_one:
        run, iterations = functools.partial(_lbfgs_one_by_one, one_by_one), config.iterations * len(one_by_one)
    else:
        run = _lbfgs
    recorder = _Recorder(image, iterations, callbacks)
    if checkpoint is not None:
        recorder.resume(restored, checkpoint)
    # The compiled step is built on the first iteration after this, so a graph trace that a
    # callback starts in on_start (tfstyle.TensorBoard) records it.
    callbacks.start(iterations, info)

    def result(stopped: str | None = None) -> Result:
        final = _to_floats(loss_fn(image))
        return Result(
            image=image.numpy() if batched else image.numpy()[0],
            history=recorder.history(initial),
            initial_losses=initial,
            final_losses=final,
            iterations=len(recorder.rows),
            seconds=time.perf_counter() - recorder.start,
            device=device,
            config=config,
            stopped=stopped,
        )

    try:
        stopped = run(image, loss_fn, config, recorder)
    except _NonFinite as bad:
        image.assign(bad.last_good)
        if np.isfinite(initial["total"]):
            message = (
                f"the loss became {bad.value} at iteration {len(recorder.rows) + 1}; stopped and kept the last "
                "image with a finite loss (try a smaller `learning_rate` or smaller weights)"
            )
        else:
            message = f"the loss of the starting image is already {bad.value}; lower the weights (a, b, tv)"
        raise NonFiniteLossError(message, result(message)) from None
    except KeyboardInterrupt:
        if checkpoint is not None:
            checkpoint.interrupted(recorder.rows)
        raise StyleInterrupted(result()) from None
    finally:
        callbacks.end()
    if checkpoint is not None:
        checkpoint.finish(recorder.rows)
    return result(stopped)


class _NonFinite(Exception):
    def __init__(self, value: float, last_good: np.ndarray):
        self.value, self.last_good = value, last_good


class ScaleFreeAdam(keras.optimizers.Adam):
    """Adam on each image's gradient divided by that image's gradient RMS at the first step.

    Adam's steps do not depend on the scale of the loss, but its running mean of g² does not fit in
    float32 on the paper's plain sums at a large b: gradients of ~1e18 per pixel square past 3.4e38
    and the update turns to NaN. Dividing an image's gradients by one constant is the same descent
    in any loss's scale (``epsilon`` now relative to a gradient of about 1). The constants, one per
    image of the batch (the variable's first axis), keep the images of a batch independent and are
    part of the optimizer's state, so checkpoints keep them.
    """

    def build(self, var_list) -> None:
        if self.built:
            return
        super().build(var_list)
        self.gradient_scales = [
            self.add_variable(shape=(v.shape[0],) + (1,) * (len(v.shape) - 1), initializer="zeros", name="gradient_scale")
            for v in var_list
        ]

    def update_step(self, gradient, variable, learning_rate) -> None:
        scales = self.gradient_scales[self._get_variable_index(variable)]
        gradient, scale = scale_free_gradient(gradient, scales)
        scales.assign(scale)
        super().update_step(gradient, variable, learning_rate)


def scale_free_gradient(gradient: tf.Tensor, scale: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """``gradient`` ``[batch, ...]`` divided by each image's gradient RMS at its first step with a
    finite, nonzero one, and the scales ``[batch, 1, ...]`` to carry on (0 until that step).
    The arithmetic of :class:`ScaleFreeAdam` and of the SavedModel stylizer's in-graph Adam."""
    rms = _root_mean_square(gradient)
    scale = tf.where(tf.equal(scale, 0.0) & (rms > 0) & tf.math.is_finite(rms), rms, scale)
    return gradient / tf.where(scale > 0, scale, 1.0), scale


def _root_mean_square(gradient: tf.Tensor) -> tf.Tensor:
    """The RMS over each image of ``gradient`` ``[batch, ...]`` → ``[batch, 1, ...]``, computed on
    the gradient divided by its largest magnitude, so that gradients past 1.8e19 do not square to inf."""
    axes = list(range(1, len(gradient.shape)))
    largest = tf.reduce_max(tf.abs(gradient), axis=axes, keepdims=True)
    unit = tf.math.divide_no_nan(gradient, largest)
    return largest * tf.sqrt(tf.reduce_mean(tf.square(unit), axis=axes, keepdims=True))


def _gradient_descent(image: tf.Variable, loss_fn, config: StyleConfig, recorder: _Recorder) -> str | None:
    """SGD (the paper's plain gradient descent) or Adam, one compiled GradientTape step per iteration.

    Returns why it stopped early, or None (as every runner here)."""
    learning_rate = config.effective_learning_rate
    if config.optimizer == "adam":
        optimizer = ScaleFreeAdam(learning_rate)
    else:
        optimizer = keras.optimizers.SGD(learning_rate)
    last_good = tf.Variable(image, trainable=False, name="last_finite_image")
    if recorder.checkpoint is not None:  # its state is saved (and restored) with the image
        optimizer.build([image])
        recorder.checkpoint.track_optimizer(optimizer)

    @tf.function(jit_compile=speed.resolve_jit(config.jit, image.device))
    def step() -> Losses:
        with tf.GradientTape() as tape:
            losses = loss_fn(image)
            total = tf.reduce_sum(losses["total"])  # a sum keeps each image of a batch independent
        gradient = speed.gradient(tape, total, image, config.precision)
        if tf.math.is_finite(total):
            last_good.assign(image)
            optimizer.apply_gradients([(gradient, image)])
            image.assign(tf.clip_by_value(image, 0.0, 255.0))
        return losses

    if hasattr(loss_fn, "value_and_gradient"):  # tiled, or spread over devices: it brings its gradient
        step = _own_gradient_step(image, loss_fn, optimizer, last_good)
    for _ in range(len(recorder.rows), config.iterations):
        losses = {name: value.numpy() for name, value in step().items()}
        total = float(np.sum(losses["total"]))
        if not np.isfinite(total):
            raise _NonFinite(total, last_good.numpy())
        # A finite loss can still leave NaN pixels (an infinite gradient), and VGG16's ReLU and max
        # pooling hide NaN inputs from the next loss.
        if not bool(tf.reduce_all(tf.math.is_finite(image))):
            raise _NonFinite(float("nan"), last_good.numpy())
        if recorder.record(losses):
            return CALLBACK_STOP
    return None


def _lbfgs(image: tf.Variable, loss_fn, config: StyleConfig, recorder: _Recorder, done: int | None = None) -> str | None:
    """SciPy's L-BFGS-B on the pixels, bounded to [0, 255], fed by a compiled value-and-gradient;
    ``done`` iterations (default: those recorded, when resuming) are not run again."""
    shape = image.shape
    done = len(recorder.rows) if done is None else done
    remaining = config.iterations - done
    if remaining <= 0:
        return None

    @tf.function(jit_compile=speed.resolve_jit(config.jit, image.device))
    def value_and_gradient() -> tuple[Losses, tf.Tensor]:
        with tf.GradientTape() as tape:
            losses = loss_fn(image)
            total = tf.reduce_sum(losses["total"])
        return losses, speed.gradient(tape, total, image, config.precision)

    if hasattr(loss_fn, "value_and_gradient"):  # tiled: it brings its gradient
        value_and_gradient = functools.partial(loss_fn.value_and_gradient, image)
    accepted = image.numpy()
    evaluated: dict[str, np.ndarray] = {}
    asked_to_stop = False

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
        nonlocal accepted, asked_to_stop
        # L-BFGS-B's last evaluation before this call is at the accepted point.
        accepted = intermediate_result.x.reshape(shape).astype(np.float32)
        image.assign(accepted)
        if recorder.record(dict(evaluated)):
            asked_to_stop = True
            raise StopIteration

    outcome = scipy.optimize.minimize(
        fun,
        image.numpy().astype(np.float64).ravel(),
        jac=True,
        method="L-BFGS-B",
        bounds=scipy.optimize.Bounds(0.0, 255.0),
        callback=callback,
        # Run the iterations asked for: no early stop on small progress.
        options={"maxiter": remaining, "maxfun": 4 * remaining + 20, "ftol": 0.0, "gtol": 0.0},
    )
    image.assign(accepted)
    if asked_to_stop:
        return CALLBACK_STOP
    if outcome.nit < remaining:
        return f"L-BFGS-B stopped after {done + outcome.nit} of {config.iterations} iterations: {outcome.message}"
    return None


def _lbfgs_one_by_one(
    loss_fns: list, image: tf.Variable, _loss_fn, config: StyleConfig, recorder: _Recorder
) -> str | None:
    """L-BFGS on a batch, image after image (``loss_fns[i]`` is image i's loss), each exactly as alone.

    The batch variable gets each image's accepted iterates, so callbacks see the whole batch.
    """
    reasons = []
    done = len(recorder.rows)  # when resuming: the images before done // iterations are finished
    for index, one_loss_fn in enumerate(loss_fns):
        finished = min(max(done - index * config.iterations, 0), config.iterations)
        if finished == config.iterations:
            continue
        one = tf.Variable(image[index : index + 1], name="stylized_image")
        one_recorder = _ImageRecorder(recorder, image, index, one)
        try:
            reason = _lbfgs(one, one_loss_fn, config, one_recorder, finished)
        except _NonFinite as bad:
            image[index].assign(bad.last_good[0])
            raise _NonFinite(bad.value, image.numpy()) from None
        image[index].assign(one[0])
        if one_recorder.stopped:
            return CALLBACK_STOP
        if reason:
            reasons.append(f"image {index + 1}: {reason}")
    return "; ".join(reasons) or None


class _ImageRecorder:
    """Passes one image's L-BFGS iterations to the batch's recorder, with that image in the batch."""

    def __init__(self, recorder: _Recorder, batch: tf.Variable, index: int, image: tf.Variable):
        self.recorder, self.batch, self.index, self.image = recorder, batch, index, image
        self.stopped = False

    def record(self, losses: dict[str, np.ndarray]) -> bool:
        self.batch[self.index].assign(self.image[0])
        self.stopped = self.recorder.record(losses)
        return self.stopped


def _to_floats(losses: Losses) -> dict[str, float]:
    return {name: float(np.mean(value.numpy())) for name, value in losses.items()}


# --- Coarse-to-fine (config.scales > 1) and start images -----------------------------------------


# --- Checkpoints, tiles and devices (README "Resuming and large images", "Stylizing a folder") ----


def _check_run_options(
    config: StyleConfig,
    strategy: tf.distribute.Strategy | None,
    checkpoint: Checkpointing | None,
    content_mask,
    style_masks,
) -> tf.distribute.Strategy | None:
    """Refuse what does not combine; the strategy to use (None where the run stays on one device)."""
    if checkpoint is not None and not isinstance(checkpoint, Checkpointing):
        raise CheckpointError(f"checkpoint must be a tfstyle.Checkpointing, got {type(checkpoint).__name__}")
    if config.tile_size and (content_mask is not None or style_masks is not None):
        raise ConfigError("masks do not work with tiles; leave out the tile size or the masks")
    if config.tile_size and strategy is not None:
        raise ConfigError("a tiled run works on one device; leave out the tile size or the strategy")
    if (config.tile_size or strategy is not None) and config.precision == "float16":
        raise ConfigError("precision float16 does not work with tiles or several devices; use bfloat16 or float32")
    if checkpoint is not None and config.scales > 1:
        raise CheckpointError("checkpoints work with one scale only; leave out the scales or the checkpoint")
    if checkpoint is not None and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        raise CheckpointError("checkpoints do not work across several workers; leave out the checkpoint")
    return None if config.optimizer == "lbfgs" else strategy  # L-BFGS-B runs on one device


def _own_gradient_step(image: tf.Variable, loss_fn, optimizer, last_good: tf.Variable) -> Callable[[], Losses]:
    """The SGD/Adam step for a loss that computes its own gradient (tiled, or spread over devices):
    the same update as the compiled step, applied to the gradient it returns."""

    @tf.function
    def apply(gradient: tf.Tensor, total: tf.Tensor) -> None:
        if tf.math.is_finite(total):
            last_good.assign(image)
            optimizer.apply_gradients([(gradient, image)])
            image.assign(tf.clip_by_value(image, 0.0, 255.0))

    def step() -> Losses:
        losses, gradient = loss_fn.value_and_gradient(image)
        apply(gradient, tf.reduce_sum(losses["total"]))
        return losses

    return step


def _run_checkpoint(
    checkpoint: Checkpointing | None, config: StyleConfig, content_images, style_images, start, content_mask, style_masks
) -> RunCheckpoint | None:
    """The run's saves, fingerprinted by its settings and images (None without ``checkpoint``)."""
    if checkpoint is None:
        return None
    styles = style_images if isinstance(style_images, (list, tuple)) else [style_images]
    arrays = {"content_image": content_images, "start_image": start, "content_mask": content_mask, "style_masks": style_masks}
    arrays.update({f"style_image_{index + 1}": style for index, style in enumerate(styles)})
    return RunCheckpoint(checkpoint, fingerprint(config, arrays))


def _check_memory(content_images: np.ndarray, config: StyleConfig, device: str, strategy) -> None:
    """Raise :class:`MemoryLimitError` before a run whose estimate exceeds the device's free memory."""
    batch = len(content_images)
    if strategy is not None and tf.DeviceSpec.from_string(device).device_type == "GPU":
        batch = -(-batch // strategy.num_replicas_in_sync)  # each GPU holds its shard
    elif config.optimizer == "lbfgs":
        batch = 1  # a batch runs image by image
    # float32 sizes whatever the precision: bfloat16 runs measured the same peak (docs/performance.md).
    memory.check_fits(
        content_images.shape[1:3], config.layers_in_use(), batch, config.tile_size, list(config.content_terms()), device
    )


def _out_of_memory(content: ContentLike, config: StyleConfig) -> Exception:
    """The :class:`MemoryLimitError` for a run that ran out of memory, sized from its inputs."""
    try:
        contents, _ = content_list(content)
        height, width = imageio.load_image(contents[0], "content image").shape[:2]
        scale = config.image_size / max(height, width)
        shape = (max(1, round(height * scale)), max(1, round(width * scale)))
        device = pick_device(config.device)
    except Exception:  # noqa: BLE001 - the inputs were read before; any failure here gets the plain message
        return MemoryLimitError("out of memory; lower `image_size` or the batch, or use `tile_size` (overlapping tiles)")
    batch = 1 if config.optimizer == "lbfgs" else len(contents)
    return memory.out_of_memory_error(
        shape, config.layers_in_use(), batch, config.tile_size, list(config.content_terms()), device
    )
