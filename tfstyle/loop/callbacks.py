"""Callbacks: code that watches a run. They get a :class:`Step` after each iteration.

A callback is a :class:`Callback` (``on_start``/``on_step``/``on_end``, called every ``every``
iterations) or any plain callable ``fn(step)``, which is called after every iteration. Returning
``True`` from ``on_step`` (or the callable) stops the run early; the image so far is the result.
Before the start, ``set_run`` hands a :class:`Callback` the run's :class:`RunInfo` (config, images).
"""

from __future__ import annotations

import dataclasses
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np
import tensorflow as tf

from tfstyle.inputs.images import check_writable, save_image
from tfstyle.loop.progress import Progress, rate

if TYPE_CHECKING:
    from tfstyle.config import StyleConfig


@dataclass(frozen=True)
class Step:
    """What a callback sees after an iteration.

    ``losses`` are the values computed in that iteration (mean over a batch): ``total``,
    ``content``, ``style``, ``tv`` and ``content/<layer>``, ``style/<layer>``. ``image`` is the
    current image ``[batch, height, width, 3]`` in [0, 255].
    """

    iteration: int
    iterations: int
    losses: Mapping[str, float]
    image: tf.Tensor
    seconds: float


@dataclass(frozen=True)
class RunInfo:
    """What a run works on, given once to :meth:`Callback.set_run` before it starts.

    ``content`` and ``style`` are the inputs as scaled for the run (``[height, width, 3]`` in
    [0, 255]); ``start`` is the image the optimization starts from (``[batch, height, width, 3]``);
    ``content_name``/``style_name`` are the inputs' file stems (``content``/``style`` for arrays).
    """

    config: StyleConfig
    content: np.ndarray
    style: np.ndarray
    start: np.ndarray
    content_name: str = "content"
    style_name: str = "style"
    device: str = ""


class Callback:
    """Base class: override what you need. ``every`` sets how often ``on_step`` runs."""

    every: int = 1

    def set_run(self, run: RunInfo) -> None:
        """Called once before :meth:`on_start` with what the run works on (if the caller knows)."""

    def on_start(self, iterations: int) -> None:
        """Called once before the first iteration."""

    def on_step(self, step: Step) -> bool | None:
        """Called after every ``every``-th iteration (and the last). Return True to stop."""

    def on_end(self, step: Step | None) -> None:
        """Called once when the run ends, however it ends, with its last step (None if none ran)."""


CallbackLike = Callback | Callable[[Step], bool | None]
CALLBACK_STOP = "a callback asked to stop"  # Result.stopped of a run that a callback stopped


class CallbackList:
    """Runs a list of callbacks, honouring each one's ``every``; what the optimizer talks to.

    ``view`` (optional) maps the image a callback sees, ``[batch, height, width, 3]`` numpy in and
    out: luminance-only transfer shows the optimized luminance in the content's colours. It runs
    at most once per step, and only when a callback is due.
    """

    def __init__(self, callbacks: Iterable[CallbackLike] = (), view: Callable[[np.ndarray], np.ndarray] | None = None):
        self._callbacks = [c if isinstance(c, Callback) else _FunctionCallback(c) for c in callbacks]
        self._view = view
        self._viewed: tuple[Step, Step] | None = None  # (a step, as the callbacks see it)
        self.last: Step | None = None

    def start(self, iterations: int, run: RunInfo | None = None) -> None:
        for callback in self._callbacks:
            if run is not None:
                callback.set_run(run)
            callback.on_start(iterations)

    def step(self, step: Step) -> bool:
        """Notify every callback that is due; True if any asked to stop."""
        self.last = step
        stop = False
        for callback in self._callbacks:
            every = max(1, int(callback.every))
            if step.iteration % every == 0 or step.iteration == step.iterations:
                stop = bool(callback.on_step(self._seen(step))) or stop
        return stop

    def end(self) -> None:
        last = self._seen(self.last) if self.last is not None else None
        for callback in self._callbacks:
            callback.on_end(last)

    def _seen(self, step: Step) -> Step:
        """``step`` with its image through ``view`` (computed once per step)."""
        if self._view is None:
            return step
        if self._viewed is None or self._viewed[0] is not step:
            image = tf.convert_to_tensor(self._view(step.image.numpy()))
            self._viewed = (step, dataclasses.replace(step, image=image))
        return self._viewed[1]


class _FunctionCallback(Callback):
    def __init__(self, fn: Callable[[Step], bool | None]):
        self._fn = fn

    def on_step(self, step: Step) -> bool | None:
        return self._fn(step)


class ProgressBar(Callback):
    """A progress bar with iterations per second, the ETA and the losses; log lines when not on a terminal.

    On a terminal the bar (:class:`tfstyle.loop.progress.Progress`) redraws every iteration;
    ``print_every`` > 0 also keeps a line every N iterations. Elsewhere (a log file, CI) only those
    lines are written.
    """

    def __init__(self, print_every: int = 0, stream: TextIO | None = None):
        self.print_every = print_every
        self._stream = stream
        self._progress: Progress | None = None

    def on_start(self, iterations: int) -> None:
        self._progress = Progress(iterations, stream=self._stream or sys.stdout)

    def on_step(self, step: Step) -> None:
        progress = self._progress = self._progress or Progress(step.iterations, stream=self._stream or sys.stdout)
        progress.advance(step.iteration, _losses(step), seconds=step.seconds)
        if self.print_every and (step.iteration % self.print_every == 0 or step.iteration == step.iterations):
            progress.keep(format_step(step))

    def on_end(self, step: Step | None) -> None:
        if self._progress is not None:
            self._progress.close()  # a stopped run leaves no half-drawn bar


def format_step(step: Step) -> str:
    """``iteration  12/100  total 1234  content 345.6  style 888.9  2.31 it/s``."""
    width = len(str(step.iterations))
    return f"iteration {step.iteration:>{width}}/{step.iterations}  {_losses(step)}  {rate(step.iteration, step.seconds)}"


def _losses(step: Step) -> str:
    losses = "  ".join(f"{k} {step.losses[k]:.4g}" for k in ("total", "content", "style"))
    if step.losses.get("tv"):
        losses += f"  tv {step.losses['tv']:.4g}"
    return losses


class SaveEvery(Callback):
    """Writes the image every ``every`` iterations as ``<stem>_<iteration><suffix>`` beside ``path``."""

    def __init__(self, path: str | Path, every: int):
        self.path = check_writable(path)
        self.every = every
        self.saved: list[Path] = []

    def on_step(self, step: Step) -> None:
        width = len(str(step.iterations))
        target = self.path.with_name(f"{self.path.stem}_{step.iteration:0{width}d}{self.path.suffix}")
        images = step.image.numpy()
        for index, image in enumerate(images):
            name = target if len(images) == 1 else target.with_name(f"{target.stem}_{index}{target.suffix}")
            self.saved.append(save_image(image, name))


class InterruptBetweenSteps(Callback):
    """Ctrl-C (SIGINT) ends the run between two iterations: the ``KeyboardInterrupt`` is raised
    from :meth:`on_step`, where :func:`tfstyle.stylize` turns it into a ``StyleInterrupted`` with
    the image so far, not wherever the signal lands (inside TensorFlow it can surface as another
    error, with no image). A second Ctrl-C before then interrupts at once. The handler is in place
    from :meth:`on_start` to :meth:`on_end`, and only in the main thread (Python's signals' rule)."""

    def __init__(self) -> None:
        self._previous: object = None
        self._installed = False
        self._pending = False

    def on_start(self, iterations: int) -> None:
        if not self._installed and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._defer)
            self._installed, self._pending = True, False

    def _defer(self, signum: int, frame: object) -> None:
        if self._pending:  # the second Ctrl-C: now
            raise KeyboardInterrupt
        self._pending = True

    def on_step(self, step: Step) -> None:
        if self._pending:
            self._pending = False
            raise KeyboardInterrupt

    def on_end(self, step: Step | None) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]
            self._installed = False
