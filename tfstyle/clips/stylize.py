"""The frame loop: :func:`stylize_video` stylizes a clip frame by frame with the temporal
constraints of Ruder, Dosovitskiy & Brox (GCPR 2016), yielding the frames.

Frame 1 is optimized from ``config.init`` for ``first_frame_iterations``. Each later frame i starts
from the stylized frame i − 1 warped into it (disoccluded pixels from the content frame) and is
optimized for ``config.iterations`` on the whole-image objective plus γ · L_longterm over the
frames i − j, j in ``lookback`` (:mod:`tfstyle.clips.temporal`). With ``passes`` > 1 (Ruder et
al.'s multi-pass algorithm, section 3.4) backward and forward passes follow, each frame restarting
from x' = δ·c·ω + (1 − δ·c)·x (its last result x blended with its neighbour in the pass's direction
warped into it, ω, where the flow is reliable, c; δ = 1/2) and held to ω. The flows come from a
background :class:`~tfstyle.clips.flow.FlowWorker`, ahead of the optimization. Each stylized frame
is rounded to whole pixel values before it is used by the next, so a resume from saved frames
continues exactly as the run would have.

One compiled step serves every frame (:class:`FrameStep`): the frame's content activations P_i,
the warped earlier frames and their weights live in variables that each frame reassigns.

With a fast stylizer (``config.model``): without a style each frame is its picture alone (one pass
per frame, no flow, no temporal loss); with a style and ``init`` model its picture takes the
content frame's place as the start: frame 1 starts from it, and each later frame from the previous
stylized frame warped into it where the flow is reliable and from its own fast picture elsewhere.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from tfstyle.clips import io
from tfstyle.clips.config import LATER_LEARNING_RATE_FACTOR, PASS_BLEND, VideoConfig
from tfstyle.clips.flow import FlowCache, FlowWorker, warp
from tfstyle.clips.temporal import TemporalTargets, long_term_weights, with_temporal
from tfstyle.config import StyleConfig, preset
from tfstyle.devices import pick_device
from tfstyle.errors import ConfigError, TfstyleError
from tfstyle.fast.stylizer import FastStylizer, fast_stylizer_for
from tfstyle.inputs import images as imageio
from tfstyle.inputs.prepare import StyleLike, initial_image, prepare_images, style_list
from tfstyle.loop.callbacks import CallbackLike, CallbackList, RunInfo
from tfstyle.loop.descent import descent_step, state_variables
from tfstyle.loop.lifecycle import each_step, run_iterations
from tfstyle.loop.optimize import feature_model_for_run
from tfstyle.loop.updates import initial_state
from tfstyle.network import speed
from tfstyle.objective.targets import content_activations
from tfstyle.objective.whole import Targets, WholeImageObjective, loss_fn_of, targets

FrameSource = str | os.PathLike | Sequence[np.ndarray]


@dataclass
class FrameReport:
    """What :func:`stylize_video` tells ``on_frame`` after each frame: its index (0-based), the
    losses at the end, the iterations run, the seconds it took, the flow timing so far, and the
    pass (1-based; a frame is reported once per pass)."""

    index: int
    losses: dict[str, float]
    iterations: int
    seconds: float
    flow_seconds: float = 0.0  # spent computing flows in the background, so far
    flow_waited: float = 0.0  # of which the frame loop waited for, so far
    image: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 3), np.float32), repr=False)
    pass_number: int = 1


def frame_runs(frames: int, passes: int) -> int:
    """How many frame optimizations a clip of ``frames`` takes in ``passes`` passes (each later pass
    leaves its first frame as it is), so how many :class:`FrameReport` it makes."""
    return frames + (passes - 1) * max(0, frames - 1)


def fast_stylizer_for_clip(style: StyleLike | None, config: StyleConfig, video: VideoConfig) -> FastStylizer | None:
    """:func:`tfstyle.fast.stylizer.fast_stylizer_for` of a clip's run, where more ``passes`` also
    need a style (they are the optimization's)."""
    if style is None and config.model is not None and video.passes > 1:
        raise ConfigError("`passes` are the optimization's: the fast stylizer alone paints each frame once; give a `style` too")
    return fast_stylizer_for(style, config)


def stylize_video(
    frames: FrameSource,
    style: StyleLike | None,
    config: StyleConfig | None = None,
    video: VideoConfig | None = None,
    *,
    flow_cache: str | os.PathLike | None = None,
    done: Sequence[Sequence[np.ndarray]] = (),
    callbacks: Iterable[CallbackLike] = (),
    feature_model: keras.Model | None = None,
    on_frame: Callable[[FrameReport], None] | None = None,
) -> Iterator[np.ndarray]:
    """Stylize the clip ``frames`` (a video file, a folder of frames, a glob, or a list of
    ``[height, width, 3]`` arrays in [0, 255]) in the style of ``style``; a generator of the
    stylized frames, float32 ``[height, width, 3]`` of whole values in [0, 255]. Frames are scaled
    so the longer side is ``config.image_size`` (both sides even).

    ``config`` decides each frame, ``video`` (:class:`~tfstyle.clips.config.VideoConfig`) the
    temporal loss, the first frame's iterations, the later frames' step size, the flow and the
    passes. With one pass (the default) each frame is yielded as soon as it is done; with more, the
    frames are yielded only after the last pass. ``flow_cache`` is a folder for the flows (reused by
    a second run). ``done`` resumes a stopped run: ``done[p]`` are the frames pass p + 1 finished,
    in that pass's order (:func:`pass_order`), each as :class:`FrameReport` gave it; the run goes on
    from the first one missing, as the uninterrupted run would have, and with one pass yields only
    the frames after them. ``callbacks`` see every frame's optimization as a run; ``on_frame`` gets
    a :class:`FrameReport` after each frame of each pass.

    ``style`` None: each frame is the fast stylizer ``config.model``'s picture alone (no flow,
    no temporal loss, one pass); with a style and ``init`` model the frames start from its pictures
    (see the module's docstring).
    """
    config, video = config or preset("default"), video or VideoConfig()
    finished_frames = [[np.asarray(frame, np.float32) for frame in pass_frames] for pass_frames in done]
    fast = fast_stylizer_for_clip(style, config, video)
    _check(config, video, finished_frames, optimizing=style is not None)
    clip = io.read_clip(frames)[0] if isinstance(frames, (str, os.PathLike)) else [imageio.load_image(f, "frame") for f in frames]
    if not clip:
        raise ConfigError("the clip has no frames")
    size = io.even_size(clip[0].shape, config.image_size)
    stylized, finished, resume_pass = _resumed(finished_frames, len(clip), video.passes)
    made = {frame.shape[:2] for pass_frames in finished_frames for frame in pass_frames} - {size}
    if made:
        height, width = sorted(made)[0]
        raise ConfigError(
            f"the resumed frames are {width}x{height} but this run's are {size[1]}x{size[0]} (`image_size` "
            f"{config.image_size}): they were made with other settings; resume with those, or start over"
        )
    contents = [imageio.resize(frame, size) for frame in clip]
    if style is None:
        assert fast is not None, "fast_stylizer_for_clip: no style, a model"
        yield from _fast_frames(fast, contents, finished[0], on_frame)
        return
    sized = config.override(image_size=max(size))
    layers = list(feature_model.output) if feature_model is not None else sized.layers_in_use()
    _, style_image = prepare_images(contents[0], style, sized, layers)
    device = pick_device(config.device)
    model = feature_model_for_run(feature_model, config, device)
    count, lookback = len(contents), video.lookback
    first = finished[0]
    passes = [_pass_pairs(p, count, lookback, first)[finished[p - 1] if p > 1 else 0 :] for p in range(1, video.passes + 1)]
    # the pairs of the pass that starts (or goes on) and of the next one; a later pass's when the one before it starts
    ahead = [pair for p in (resume_pass, resume_pass + 1) if p <= video.passes for pair in passes[p - 1]]
    worker = FlowWorker(contents, ahead, video.flow, FlowCache(flow_cache, video.flow)) if count > 1 else None
    later_rate = video.later_learning_rate or LATER_LEARNING_RATE_FACTOR * config.effective_learning_rate
    try:
        step = FrameStep(model, contents, style_image, sized, len(lookback), device)

        def run(i: int, pass_number: int, start: np.ndarray, frame_config: StyleConfig, began: float) -> np.ndarray:
            frame, losses = step.optimize(i, start, frame_config, callbacks)
            stylized[i] = frame
            if on_frame is not None:
                on_frame(
                    FrameReport(
                        i, losses, frame_config.iterations, time.perf_counter() - began,
                        worker.computing if worker else 0.0, worker.waiting if worker else 0.0, frame, pass_number,
                    )
                )  # fmt: skip
            return frame

        for i in range(first, count):  # pass 1, forward
            began = time.perf_counter()
            if i == 0:
                start = fast(contents[0]) if fast is not None else (
                    initial_image(config.init, contents[0], style_image, config.seed, config.noise_blend)
                )  # fmt: skip
                step.temporal.assign([], [], 0.0)
                frame_config = sized.override(iterations=video.first_frame_iterations or 4 * config.iterations)
            else:
                assert worker is not None
                masks, warped = [], []
                for j in lookback:
                    if i - j >= 0:
                        backward, mask = worker.get(i, i - j)
                        masks.append(mask)
                        warped.append(warp(stylized[i - j], backward))
                previous, c = warped[0].numpy(), masks[0][..., None]
                fill = fast(contents[i]) if fast is not None else contents[i]  # where the flow is unreliable
                start = c * previous + (1 - c) * fill
                step.temporal.assign(warped, long_term_weights(masks), video.temporal_weight)
                frame_config = sized.override(learning_rate=later_rate)
            frame = run(i, 1, start, frame_config, began)
            if video.passes == 1:
                yield frame
                if i > max(lookback):
                    stylized[i - max(lookback) - 1] = np.empty(0, np.float32)  # no longer needed
        for pass_number in range(max(2, resume_pass), video.passes + 1 if count > 1 else 2):  # then backward, forward, ...
            assert worker is not None
            if pass_number > resume_pass and pass_number < video.passes:
                worker.prefetch(passes[pass_number])
            for i, neighbour in passes[pass_number - 1]:
                began = time.perf_counter()
                backward, c = worker.get(i, neighbour)
                omega = warp(stylized[neighbour], backward).numpy()
                start = PASS_BLEND * c[..., None] * omega + (1 - PASS_BLEND * c[..., None]) * stylized[i]
                step.temporal.assign([omega], [c], video.temporal_weight)
                run(i, pass_number, start, sized.override(learning_rate=later_rate), began)
        if video.passes > 1:
            yield from stylized
    finally:
        if worker is not None:
            worker.close()


def _fast_frames(
    fast: FastStylizer, contents: Sequence[np.ndarray], first: int, on_frame: Callable[[FrameReport], None] | None
) -> Iterator[np.ndarray]:
    """Each frame from ``first`` on through the fast stylizer alone, reported as it is done."""
    for i in range(first, len(contents)):
        began = time.perf_counter()
        frame = fast(contents[i])
        if on_frame is not None:
            on_frame(FrameReport(i, {}, 0, time.perf_counter() - began, image=frame))
        yield frame


def pass_order(pass_number: int, count: int) -> list[int]:
    """The frames pass ``pass_number`` optimizes, in order: the first every frame; then backward passes
    (even numbers) from the last frame but one down to the first, forward ones from the second up."""
    if pass_number == 1:
        return list(range(count))
    return [i for i, _ in _pass_pairs(pass_number, count, ())]


def _pass_pairs(pass_number: int, count: int, lookback: Sequence[int], first: int = 0) -> list[tuple[int, int]]:
    """The frame pairs ``(i, j)`` whose flow pass ``pass_number`` needs, in its order: pass 1 each
    frame from ``first`` on with the frames ``lookback`` before it; then backward passes (even
    numbers: each frame but the last with the next one) and forward ones (odd: each but the first
    with the one before)."""
    if pass_number == 1:
        return [(i, i - j) for i in range(max(first, 1), count) for j in lookback if i - j >= 0]
    if pass_number % 2 == 0:
        return [(i, i + 1) for i in range(count - 2, -1, -1)]
    return [(i, i - 1) for i in range(1, count)]


class FrameStep:
    """One compiled objective for every frame of a clip: the content activations P_i of the frame
    being optimized and its temporal targets (:attr:`temporal`) live in variables, reassigned per
    frame, so the step of VGG16 forward and backward is traced once, not once per frame."""

    def __init__(
        self,
        model: keras.Model,
        contents: Sequence[np.ndarray],
        style_image: np.ndarray | list[np.ndarray],
        config: StyleConfig,
        slots: int,
        device: str,
    ):
        self.model, self.contents, self.style_image, self.config, self.device = model, contents, style_image, config, device
        self.shown_style = style_image if isinstance(style_image, np.ndarray) else style_image[0]  # what callbacks see
        height, width = contents[0].shape[:2]
        precision, jit = speed.resolve_precision(config.precision, device), speed.resolve_jit(config.jit, device)
        with tf.device(device):
            fixed = targets(model, contents[0], style_image, config)
            self.content = {
                name: tf.Variable(value, trainable=False, name="content_target") for name, value in fixed.content.items()
            }
            self.blend = fixed.blend
            self.temporal = TemporalTargets(slots, height, width)
            loss_fn = loss_fn_of(model, Targets(dict(self.content), fixed.style, fixed.blend), config)
            self.goal = WholeImageObjective(with_temporal(loss_fn, self.temporal), precision, jit)
            self.image = tf.Variable(tf.zeros([1, height, width, 3]), name="stylized_frame")
            self.state = state_variables(self.image)
        self.descents: dict[tuple[str, float], Callable[[], dict[str, np.ndarray]]] = {}

    def descent(self, config: StyleConfig) -> Callable[[], dict[str, np.ndarray]]:
        """The update step of ``config``'s optimizer and learning rate, from a fresh state."""
        for variable, value in zip(self.state, initial_state(self.image)):
            variable.assign(value)
        key = (config.optimizer, config.effective_learning_rate)
        if key not in self.descents:
            self.descents[key] = descent_step(self.image, self.goal, self.state, config)
        return self.descents[key]

    def optimize(
        self, i: int, start: np.ndarray, config: StyleConfig, callbacks: Iterable[CallbackLike]
    ) -> tuple[np.ndarray, dict[str, float]]:
        """Frame ``i`` from ``start`` by the loop's SGD/Adam descent (``config.iterations`` at
        ``config``'s learning rate) on the objective with the temporal targets assigned: the frame,
        rounded to whole pixel values, and its losses."""
        with tf.device(self.device):
            if self.content:
                activations = content_activations(
                    self.model, self.contents[i], style_list(self.style_image), self.blend, list(self.content),
                    self.config.content_target,
                )  # fmt: skip
                for name, variable in self.content.items():
                    variable.assign(activations[name])
            self.image.assign(np.asarray(start, np.float32)[None])
            run_info = RunInfo(
                config=config, content=self.contents[i], style=self.shown_style, start=self.image.numpy(),
                content_name="frame", device=self.device,
            )  # fmt: skip
            advance = each_step(self.descent(config), config.iterations)
            run = run_iterations(advance, config.iterations, self.image, CallbackList(callbacks), run_info)
            if run.interrupted:
                raise KeyboardInterrupt
            if run.non_finite is not None:
                # A frame has no run of its own to return (NonFiniteLossError's result): the frames so far are kept.
                raise TfstyleError(
                    f"the loss became {run.non_finite.value} in a frame; try a smaller `learning_rate` or `temporal_weight`"
                )
            losses = {name: float(np.mean(value.numpy())) for name, value in self.goal(self.image).items()}
            return np.clip(np.rint(self.image.numpy()[0]), 0, 255).astype(np.float32), losses


def _check(config: StyleConfig, video: VideoConfig, done: Sequence[Sequence[np.ndarray]], optimizing: bool) -> None:
    if optimizing and config.optimizer == "lbfgs":  # the optimization's settings: the fast stylizer alone takes none
        raise ConfigError("video runs with the sgd or adam `optimizer`, not lbfgs")
    if optimizing and (config.tile_size or config.scales > 1 or config.preserve_colors == "luminance"):
        raise ConfigError("video does not take `tile_size`, `scales` or `preserve_colors` luminance; leave them out")
    if len(done) > video.passes:
        raise ConfigError(f"the resumed frames come from {len(done)} passes, more than `passes` {video.passes}")
    if any(np.ndim(frame) != 3 for finished in done for frame in finished):
        raise ConfigError("`done` holds a list of frames per pass, each frame [height, width, 3]")


def _resumed(done: Sequence[Sequence[np.ndarray]], count: int, passes: int) -> tuple[list[np.ndarray], list[int], int]:
    """From the frames each pass finished (``done``): every frame's latest result (empty where none),
    how many frames each pass finished, and the pass the run goes on in (``passes`` + 1: none)."""
    stylized = [np.empty(0, np.float32)] * count
    finished = [len(frames) for frames in done] + [0] * (passes - len(done))
    whole = [len(pass_order(p, count)) for p in range(1, passes + 1)]
    for pass_number, frames in enumerate(done, start=1):
        if len(frames) > whole[pass_number - 1] or (
            frames and pass_number > 1 and finished[pass_number - 2] < whole[pass_number - 2]
        ):
            raise ConfigError(f"the resumed frames do not fit a clip of {count} frames in {passes} passes")
        for i, frame in zip(pass_order(pass_number, count), frames):
            stylized[i] = frame
    resume_pass = next((p for p in range(1, passes + 1) if finished[p - 1] < whole[p - 1]), passes + 1)
    return stylized, finished, resume_pass
