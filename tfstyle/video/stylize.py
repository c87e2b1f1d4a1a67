"""The frame loop: :func:`stylize_video` stylizes a clip frame by frame with the temporal
constraints of Ruder, Dosovitskiy & Brox (GCPR 2016), yielding each frame as it is done.

Frame 1 is optimized from ``config.init`` for ``first_frame_iterations``. Each later frame i starts
from the stylized frame i − 1 warped into it (disoccluded pixels from the content frame) and is
optimized for ``config.iterations`` on the whole-image objective plus temporal_weight ·
L_longterm over the frames i − j, j in ``lookback`` (:mod:`tfstyle.video.temporal`). The flows
come from a background :class:`~tfstyle.video.flow.FlowWorker`, ahead of the optimization. Each
stylized frame is rounded to whole pixel values before it is used by the next, so a resume from
saved frames continues exactly as the run would have.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from tfstyle.config import StyleConfig, preset
from tfstyle.errors import ConfigError, TfstyleError
from tfstyle.inputs import images as imageio
from tfstyle.inputs.prepare import StyleLike, initial_image, prepare_images
from tfstyle.loop.callbacks import CallbackLike, CallbackList, RunInfo
from tfstyle.loop.descent import descend, state_variables
from tfstyle.loop.optimize import feature_model_for_run, pick_device
from tfstyle.loop.record import NonFinite, Recorder
from tfstyle.network import speed
from tfstyle.objective.interface import LossFn
from tfstyle.objective.whole import WholeImageObjective, make_loss_fn
from tfstyle.video import io
from tfstyle.video.flow import FlowCache, FlowWorker, warp
from tfstyle.video.temporal import long_term_weights, with_temporal

DEFAULT_TEMPORAL_WEIGHT = 1e4  # measured on Sintel at the default preset (docs/video.md)
DEFAULT_LOOKBACK = (1, 2, 4)
LATER_LEARNING_RATE_FACTOR = 0.25  # later frames start near a solution: Adam's first steps (~lr per pixel) stay small
FrameSource = str | os.PathLike | Sequence[np.ndarray]


@dataclass
class FrameReport:
    """What :func:`stylize_video` tells ``on_frame`` after each frame: its index (0-based), the
    losses at the end, the iterations run, the seconds it took, and the flow timing so far."""

    index: int
    losses: dict[str, float]
    iterations: int
    seconds: float
    flow_seconds: float = 0.0  # spent computing flows in the background, so far
    flow_waited: float = 0.0  # of which the frame loop waited for, so far
    image: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 3), np.float32), repr=False)


def stylize_video(
    frames: FrameSource,
    style: StyleLike,
    config: StyleConfig | None = None,
    *,
    temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT,
    first_frame_iterations: int | None = None,
    later_learning_rate: float | None = None,
    lookback: Sequence[int] = DEFAULT_LOOKBACK,
    flow: str = "dis",
    flow_cache: str | os.PathLike | None = None,
    done: Sequence[np.ndarray] = (),
    callbacks: Iterable[CallbackLike] = (),
    feature_model: keras.Model | None = None,
    on_frame: Callable[[FrameReport], None] | None = None,
) -> Iterator[np.ndarray]:
    """Stylize the clip ``frames`` (a video file, a folder of frames, a glob, or a list of
    ``[height, width, 3]`` arrays in [0, 255]) in the style of ``style``; a generator of the
    stylized frames, float32 ``[height, width, 3]`` of whole values in [0, 255], each as soon as it
    is done. Frames are scaled so the longer side is ``config.image_size`` (both sides even).

    ``temporal_weight`` weighs the temporal loss (0: each frame on its own, started from the previous
    one warped); ``lookback`` the earlier frames it compares with ((1,): the short-term loss);
    ``first_frame_iterations`` (default 4 × ``config.iterations``) the first frame's iterations;
    ``later_learning_rate`` (default a quarter of the config's) the step size of the later frames.
    ``flow_cache`` is a folder for the flows (reused by a second run). ``done`` are frames already
    stylized (a resume): the generator yields the frames after them. ``callbacks`` see every
    frame's optimization as a run; ``on_frame`` gets a :class:`FrameReport` after each frame.
    """
    config = config or preset("default")
    _check(config, temporal_weight, lookback, first_frame_iterations)
    clip = io.read_clip(frames)[0] if isinstance(frames, (str, os.PathLike)) else [imageio.load_image(f, "frame") for f in frames]
    if not clip:
        raise ConfigError("the clip has no frames")
    size = io.even_size(clip[0].shape, config.image_size)
    contents = [imageio.resize(frame, size) for frame in clip]
    sized = config.override(image_size=max(size))
    layers = list(feature_model.output) if feature_model is not None else sized.layers_in_use()
    _, style_image = prepare_images(contents[0], style, sized, layers)
    shown_style = style_image if isinstance(style_image, np.ndarray) else style_image[0]  # what callbacks see
    device = pick_device(config.device)
    precision, jit = speed.resolve_precision(config.precision, device), speed.resolve_jit(config.jit, device)
    model = feature_model_for_run(feature_model, config, device)
    stylized = [np.asarray(frame, np.float32) for frame in done]
    first = len(stylized)
    lookback = sorted(set(int(j) for j in lookback))
    pairs = [(i, i - j) for i in range(max(first, 1), len(contents)) for j in lookback if i - j >= 0]
    worker = FlowWorker(contents, pairs, flow, FlowCache(flow_cache, flow)) if pairs else None
    try:
        for i in range(first, len(contents)):
            start_time = time.perf_counter()
            goal_fn = make_loss_fn(model, contents[i], style_image, sized)
            if i == 0 or worker is None:
                start = initial_image(config.init, contents[i], style_image, config.seed, config.noise_blend)
                iterations = first_frame_iterations or 4 * config.iterations
                goal_fn = with_temporal(goal_fn, [], [], 0.0)
            else:
                flows, masks, warped = [], [], []
                for j in lookback:
                    if i - j >= 0:
                        backward, mask = worker.get(i, i - j)
                        flows.append(backward)
                        masks.append(mask)
                        warped.append(warp(stylized[i - j][None], backward[None]))
                previous, c = warped[0].numpy()[0], masks[0][..., None]
                start = c * previous + (1 - c) * contents[i]
                iterations = config.iterations
                weights = [w[None] for w in long_term_weights(masks)]
                goal_fn = with_temporal(goal_fn, warped, weights, temporal_weight)
            frame_config = sized.override(iterations=iterations)
            if i > 0:
                rate = later_learning_rate or LATER_LEARNING_RATE_FACTOR * config.effective_learning_rate
                frame_config = frame_config.override(learning_rate=rate)
            image, losses = _optimize(
                goal_fn, start, frame_config, precision, jit, device, callbacks, contents[i], shown_style
            )
            frame = np.clip(np.rint(image), 0, 255).astype(np.float32)
            stylized.append(frame)
            if on_frame is not None:
                on_frame(
                    FrameReport(
                        i, losses, iterations, time.perf_counter() - start_time,
                        worker.computing if worker else 0.0, worker.waiting if worker else 0.0, frame,
                    )
                )  # fmt: skip
            yield frame
            if len(stylized) > max(lookback) + 1:
                stylized[len(stylized) - max(lookback) - 2] = np.empty(0, np.float32)  # no longer needed
    finally:
        if worker is not None:
            worker.close()


def _optimize(
    goal_fn: LossFn,
    start: np.ndarray,
    config: StyleConfig,
    precision: str,
    jit: bool,
    device: str,
    callbacks: Iterable[CallbackLike],
    content: np.ndarray,
    style: np.ndarray,
) -> tuple[np.ndarray, dict[str, float]]:
    """One frame: the loop's SGD/Adam descent on the objective from ``start``; the image and its losses."""
    with tf.device(device):
        goal = WholeImageObjective(goal_fn, precision, jit)
        image = tf.Variable(np.asarray(start, np.float32)[None], name="stylized_frame")
        run = CallbackList(callbacks)
        run_info = RunInfo(config=config, content=content, style=style, start=image.numpy(), content_name="frame", device=device)
        recorder = Recorder(image, config.iterations, run)
        run.start(config.iterations, run_info)
        try:
            descend(image, goal, state_variables(image), config, recorder)
        except NonFinite as bad:
            # A frame has no run of its own to return (NonFiniteLossError's result): the frames so far are kept.
            raise TfstyleError(
                f"the loss became {bad.value} in a frame; try a smaller `learning_rate` or `temporal_weight`"
            ) from None
        finally:
            run.end()
        losses = {name: float(np.mean(value.numpy())) for name, value in goal(image).items()}
        return image.numpy()[0], losses


def _check(config: StyleConfig, temporal_weight: float, lookback: Sequence[int], first_frame_iterations: int | None) -> None:
    if config.optimizer == "lbfgs":
        raise ConfigError("video runs with the sgd or adam `optimizer`, not lbfgs")
    if config.tile_size or config.scales > 1 or config.preserve_colors == "luminance":
        raise ConfigError("video does not take `tile_size`, `scales` or `preserve_colors` luminance; leave them out")
    if not temporal_weight >= 0:
        raise ConfigError(f"temporal_weight must be 0 or more, got {temporal_weight}")
    if not lookback or any(int(j) < 1 for j in lookback):
        raise ConfigError(f"lookback takes frame distances of 1 or more, got {list(lookback)}")
    if first_frame_iterations is not None and first_frame_iterations < 1:
        raise ConfigError(f"first_frame_iterations must be 1 or more, got {first_frame_iterations}")
