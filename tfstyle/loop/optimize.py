"""``stylize``: images → feature targets → objective → update steps → image.

A run at one size (:class:`_Pass`) prepares the images, builds the objective
(:mod:`tfstyle.objective`) and the start image, then iterates under the callbacks
(:func:`tfstyle.loop.lifecycle.run_iterations`): SGD and Adam take one update step
(:mod:`tfstyle.loop.updates`) per iteration on the objective's gradient; L-BFGS is SciPy's
L-BFGS-B (:mod:`tfstyle.loop.lbfgs`). Coarse-to-fine (:mod:`tfstyle.loop.coarse_to_fine`) runs
passes at growing sizes.

A batch of content images is one ``[batch, height, width, 3]`` variable. The losses are per image
and the step follows their sum, so SGD and Adam (per-pixel updates) move every image exactly as a
run of its own would, to round-off. L-BFGS's line search is shared by everything it optimizes and
would couple the images, so it runs the images of a batch one after another.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from tfstyle.config import StyleConfig, preset
from tfstyle.controls import color
from tfstyle.controls import masks as maskio
from tfstyle.devices import describe, pick_device
from tfstyle.errors import (
    CheckpointError,
    ConfigError,
    MemoryLimitError,
    NonFiniteLossError,
    StyleInterrupted,
)
from tfstyle.fast.stylizer import FastStylizer
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
from tfstyle.loop.callbacks import CallbackLike, CallbackList, RunInfo
from tfstyle.loop.checkpoint import Checkpointing, RunCheckpoint, fingerprint
from tfstyle.loop.coarse_to_fine import coarse_to_fine
from tfstyle.loop.descent import descent_step, state_variables
from tfstyle.loop.lbfgs import lbfgs, lbfgs_one_by_one
from tfstyle.loop.lifecycle import Advance, each_step, run_iterations
from tfstyle.loop.record import Recorder, Result
from tfstyle.network import memory, speed
from tfstyle.network.features import feature_model_for
from tfstyle.objective.interface import Losses, Objective
from tfstyle.objective.sharded import ShardedObjective
from tfstyle.objective.whole import objective


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
    ``feature_model`` from :func:`feature_model_for_run` to reuse one across runs (one from
    :func:`tfstyle.build_feature_model` is converted to the run's form at every call).
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
    try:
        strategy = _check_run_options(config, strategy, checkpoint, content_mask, style_masks)
        contents, batched = content_list(content)
        styles = style_list(style)
        config.style_blend(len(styles))  # fail early on a count mismatch
        run = _Pass(
            contents, styles, batched, source_name(content, "content"), feature_model, pick_device(config.device),
            strategy, content_mask, style_masks, checkpoint,
        )  # fmt: skip
        if config.scales > 1:
            return coarse_to_fine(run, config, callbacks, start_image)
        return run(config, callbacks, start_image)
    except tf.errors.ResourceExhaustedError:  # one clear message: the largest size that fits, and a tile size
        raise _out_of_memory(content, config) from None


@dataclass
class _Pass:
    """A run at one size: ``stylize``'s inputs, read once, and (once built) its feature model.
    Called with a config, the callbacks and a start image (None: the config's init), it prepares
    the images at ``config.image_size`` and optimizes."""

    contents: list[ImageLike]
    styles: list[ImageLike]
    batched: bool
    content_name: str
    model: keras.Model | None
    device: str
    strategy: tf.distribute.Strategy | None
    content_mask: ImageLike | None
    style_masks: ImageLike | Sequence[ImageLike] | None
    checkpoint: Checkpointing | None
    _built: bool = False

    def __call__(self, config: StyleConfig, callbacks: Iterable[CallbackLike], start_image: ImageBatch | None) -> Result:
        layers = list(self.model.output) if self.model is not None else config.layers_in_use()
        content_images, style_images = prepare_batch(self.contents, self.styles, config, layers)
        content_mask, style_masks = maskio.prepare_masks(
            self.content_mask, self.style_masks, content_images.shape[1:3], len(self.styles)
        )
        in_color = content_images
        content_images, style_images = color.preserve_colors(config.preserve_colors, content_images, style_images)
        _check_memory(content_images, config, self.device, self.strategy)
        if not self._built:  # one feature model for every pass
            self.model, self._built = feature_model_for_run(self.model, config, self.device, self.strategy), True
        device, jit = self.device, speed.resolve_jit(config.jit, self.device)
        with tf.device(device):
            goal = objective(self.model, content_images, style_images, config, content_mask, style_masks, self.strategy, jit)
            if start_image is None and config.init == "model":  # the fast stylizer's picture, refined
                assert config.model is not None, "StyleConfig.cross_check: init model names a model"
                start = FastStylizer.load(config.model, config.precision).pictures(in_color)
            elif start_image is None:
                start = initial_image(config.init, content_images, style_images[0], config.seed, config.noise_blend)
            else:
                start = resized_start(start_image, content_images.shape)
            if config.preserve_colors == "luminance":
                start = color.luminance_image(start)
            image = tf.Variable(start, name="stylized_image")
            one_by_one = None
            if config.optimizer == "lbfgs" and len(content_images) > 1:
                one_by_one = [
                    objective(self.model, c, style_images, config, content_mask, style_masks, jit=jit)
                    for c in content_images
                ]
            info = RunInfo(
                config=config,
                content=content_images if self.batched else content_images[0],
                style=style_images[0],
                start=start,
                content_name=self.content_name,
                style_name="+".join(source_name(s, "style") for s in self.styles),
                device=device,
            )
            saves = _run_checkpoint(self.checkpoint, config, content_images, style_images, start, content_mask, style_masks)
            if isinstance(goal, ShardedObjective):
                device = describe(self.strategy)
            # Luminance-only transfer optimizes luminance; the callbacks and the result see the content's colours.
            view = None
            if config.preserve_colors == "luminance":

                def view(images: np.ndarray) -> np.ndarray:  # one image or the batch
                    return color.recombine_luminance(images, in_color.reshape(np.shape(images)))

            run = CallbackList(callbacks, view=view)
            try:
                result = _optimize(image, goal, config, run, device, info, self.batched, one_by_one, saves)
            except (NonFiniteLossError, StyleInterrupted) as err:
                if view is not None:
                    err.result = dataclasses.replace(err.result, image=view(err.result.image))
                raise
            return dataclasses.replace(result, image=view(result.image)) if view is not None else result


def feature_model_for_run(
    model: keras.Model | None, config: StyleConfig, device: str | None = None, strategy: tf.distribute.Strategy | None = None
) -> keras.Model:
    """The feature model a run of ``config`` computes with: ``model`` (default: one built for the
    config's layers, weights and pooling) in the run's precision and convolution form
    (:func:`speed.for_run`), on ``device`` (default: :func:`pick_device` of ``config.device``), its
    weights on every replica of ``strategy``. :func:`stylize` makes this from the model it is given
    at every call; pass it this one to reuse across runs of ``config`` without converting again."""
    device = pick_device(config.device) if device is None else device
    with tf.device(device), strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = model or feature_model_for(config)
        precision, jit = speed.resolve_precision(config.precision, device), speed.resolve_jit(config.jit, device)
        return speed.for_run(model, precision, device, jit, config.convolutions)


def run_model_key(config: StyleConfig) -> tuple:
    """What decides the model :func:`feature_model_for_run` builds for ``config`` (its layers,
    weights, pooling, precision, convolutions, XLA and device): runs whose keys are equal can share one."""
    seed = config.seed if config.weights == "random" else None
    return (config.layers_in_use(), config.weights, config.pooling, seed, config.precision, config.convolutions,
            config.jit, config.device)  # fmt: skip


def _optimize(
    image: tf.Variable,
    goal: Objective,
    config: StyleConfig,
    callbacks: CallbackList,
    device: str,
    info: RunInfo | None = None,
    batched: bool = False,
    one_by_one: list[Objective] | None = None,
    checkpoint: RunCheckpoint | None = None,
) -> Result:
    """Run the optimizer on ``image``; ``one_by_one`` holds each image's objective for a batch under
    L-BFGS; ``checkpoint`` saves the run (and restores it first when resuming)."""
    state = state_variables(image) if config.optimizer != "lbfgs" else None
    # The start image's losses: SGD's and Adam's first step computes them (its recorded row);
    # L-BFGS-B records its iterations' ends, so it takes a forward pass (eager: not worth a trace).
    initial = _to_floats(goal(image)) if state is None else None
    restored = checkpoint.restore(image, state) if checkpoint is not None else []
    iterations = config.iterations * len(one_by_one) if one_by_one else config.iterations
    advance: Advance
    if state is not None:
        advance = each_step(descent_step(image, goal, state, config), iterations)
    elif one_by_one:
        advance = functools.partial(lbfgs_one_by_one, one_by_one, image, config)
    else:

        def advance(recorder: Recorder) -> str | None:
            return lbfgs(image, goal, config, recorder, len(recorder.rows))  # after a resumed run's rows

    run = run_iterations(advance, iterations, image, callbacks, info, checkpoint=checkpoint, resumed=restored)

    def result(stopped: str | None = None) -> Result:
        final = _to_floats(goal(image))
        if initial is not None:
            start = initial
        elif run.rows:
            start = {name: value for name, value in run.rows[0].items() if name != "seconds"}
        else:
            start = final  # no step taken: ``image`` is still the start
        return Result(
            image=image.numpy() if batched else image.numpy()[0],
            history=run.history(start),
            initial_losses=start,
            final_losses=final,
            iterations=len(run.rows),
            seconds=run.seconds,
            device=device,
            config=config,
            stopped=stopped,
        )

    if run.non_finite is not None:
        bad = run.non_finite
        image.assign(bad.last_good)
        outcome = result()
        if np.isfinite(outcome.initial_losses["total"]):
            message = (
                f"the loss became {bad.value} at iteration {len(run.rows) + 1}; stopped and kept the last "
                "image with a finite loss (try a smaller `learning_rate` or smaller weights)"
            )
        else:
            message = f"the loss of the starting image is already {bad.value}; lower the weights (a, b, tv)"
        raise NonFiniteLossError(message, dataclasses.replace(outcome, stopped=message))
    if run.interrupted:
        raise StyleInterrupted(result())
    return result(run.stopped)


def _to_floats(losses: Losses) -> dict[str, float]:
    return {name: float(np.mean(value.numpy())) for name, value in losses.items()}


def _check_run_options(
    config: StyleConfig,
    strategy: tf.distribute.Strategy | None,
    checkpoint: Checkpointing | None,
    content_mask: ImageLike | None,
    style_masks: ImageLike | Sequence[ImageLike] | None,
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
    return None if config.optimizer == "lbfgs" else strategy  # L-BFGS-B runs on one device


def _run_checkpoint(
    checkpoint: Checkpointing | None,
    config: StyleConfig,
    content_images: np.ndarray,
    style_images: list[np.ndarray],
    start: np.ndarray,
    content_mask: np.ndarray | None,
    style_masks: np.ndarray | None,
) -> RunCheckpoint | None:
    """The run's saves, fingerprinted by its settings and images (None without ``checkpoint``)."""
    if checkpoint is None:
        return None
    arrays = {"content_image": content_images, "start_image": start, "content_mask": content_mask, "style_masks": style_masks}
    arrays.update({f"style_image_{index + 1}": style for index, style in enumerate(style_images)})
    return RunCheckpoint(checkpoint, fingerprint(config, arrays))


def _check_memory(
    content_images: np.ndarray, config: StyleConfig, device: str, strategy: tf.distribute.Strategy | None
) -> None:
    """Raise :class:`MemoryLimitError` before a run whose estimate exceeds the device's free memory."""
    batch = len(content_images)
    if strategy is not None and tf.DeviceSpec.from_string(device).device_type == "GPU":
        batch = -(-batch // strategy.num_replicas_in_sync)  # each GPU holds its shard
    elif config.optimizer == "lbfgs":
        batch = 1  # a batch runs image by image
    # float32 sizes whatever the precision: bfloat16 runs measured the same peak (docs/performance.md).
    layers, content_layers = config.layers_in_use(), list(config.content_terms())
    memory.check_fits(memory.Workload(content_images.shape[1:3], layers, batch, config.tile_size, content_layers), device)


def _out_of_memory(content: ContentLike, config: StyleConfig) -> Exception:
    """The :class:`MemoryLimitError` for a run that ran out of memory, sized from its inputs."""
    try:
        contents, _ = content_list(content)
        shape = imageio.scaled_size(imageio.load_image(contents[0], "content image").shape, config.image_size)
        device = pick_device(config.device)
    except Exception:  # noqa: BLE001 - the inputs were read before; any failure here gets the plain message
        return MemoryLimitError("out of memory; lower `image_size` or the batch, or use `tile_size` (overlapping tiles)")
    batch = 1 if config.optimizer == "lbfgs" else len(contents)
    return memory.out_of_memory_error(
        memory.Workload(shape, config.layers_in_use(), batch, config.tile_size, list(config.content_terms())), device
    )
