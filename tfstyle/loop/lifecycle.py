"""A run's lifecycle, for every loop that iterates under callbacks: the still image
(:func:`tfstyle.stylize`), each frame of a clip (:mod:`tfstyle.clips.stylize`), and a training loop.

:func:`run_iterations` takes the iterations (``advance``: a step callable wrapped by
:func:`each_step`, or a driver such as SciPy's L-BFGS-B) and does the rest, in this order: the
:class:`Recorder` (loss history, timing, the checkpoint's saves), the callbacks' start (with the
run's :class:`RunInfo`), the iterations, the callbacks' end however the run ends, and the
checkpoint's last save. It turns the two ways a run breaks off, a non-finite loss (:class:`NonFinite`,
raised by the step) and Ctrl-C, into fields of the :class:`Finished` it returns, so that each
caller says it in its own words (:func:`tfstyle.stylize` raises ``NonFiniteLossError`` or
``StyleInterrupted`` with its image; a clip, one line for the frame).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from tfstyle.loop.callbacks import CALLBACK_STOP, CallbackList, RunInfo
from tfstyle.loop.checkpoint import RunCheckpoint
from tfstyle.loop.record import NonFinite, Recorder

StepLosses = Mapping[str, "np.ndarray | tf.Tensor | float"]  # one iteration's losses; ``total`` among them
Advance = Callable[[Recorder], "str | None"]
"""Runs the iterations not yet in ``recorder.rows``, calling ``recorder.record(losses)`` after each
(True: a callback asked to stop); returns why it stopped early, or None; raises :class:`NonFinite`
when the loss stops being finite."""


@dataclass
class Finished:
    """How a run ended. ``rows`` are its iterations' losses (means over a batch) and ``seconds``
    since it began, resumed ones first; ``stopped`` says why it ended before its iterations (a
    callback, or the driver's reason); ``non_finite`` holds the :class:`NonFinite` that broke it
    off (its ``last_good`` state is the caller's to restore), ``interrupted`` is True after Ctrl-C.
    Whoever calls :func:`run_iterations` must look at the last two: a Ctrl-C is not raised again."""

    rows: list[dict[str, float]]
    began: float  # time.perf_counter() at the start (earlier by a resumed run's seconds)
    stopped: str | None = None
    non_finite: NonFinite | None = None
    interrupted: bool = False
    ended: float = field(default_factory=time.perf_counter)

    @property
    def seconds(self) -> float:
        """From the start (a resumed run's earlier part included) to the end of the iterations."""
        return self.ended - self.began

    def history(self, names: Iterable[str]) -> dict[str, np.ndarray]:
        """Each loss name (and ``seconds``) → its values, one per iteration (empty if none ran)."""
        return {name: np.array([row[name] for row in self.rows]) for name in [*names, "seconds"]}


def run_iterations(
    advance: Advance,
    iterations: int,
    watched: tf.Variable,
    callbacks: CallbackList,
    info: RunInfo | None = None,
    *,
    checkpoint: RunCheckpoint | None = None,
    resumed: Sequence[dict[str, float]] = (),
) -> Finished:
    """Run ``iterations`` iterations by ``advance`` under ``callbacks``; never raises for a
    non-finite loss or Ctrl-C (see :class:`Finished`).

    ``watched`` is what the callbacks' :class:`~tfstyle.loop.callbacks.Step` shows as its image
    (the image being optimized; a training run's sample output). ``info`` goes to the callbacks'
    ``set_run`` before their ``on_start``. With ``checkpoint``, ``resumed`` are the rows a restored
    run had recorded (the iterations go on after them), each iteration is saved as it ends, a Ctrl-C
    saves the run, and a run that ends saves its last state.
    """
    recorder = Recorder(watched, iterations, callbacks)
    if checkpoint is not None:
        recorder.resume(list(resumed), checkpoint)
    # A compiled step is built on its first iteration, after this, so a graph trace that a callback
    # starts in on_start (tfstyle.TensorBoard) records it.
    callbacks.start(iterations, info)
    try:
        stopped = advance(recorder)
    except NonFinite as bad:
        return Finished(recorder.rows, recorder.start, non_finite=bad)
    except KeyboardInterrupt:
        if checkpoint is not None:
            checkpoint.interrupted(recorder.rows)
        return Finished(recorder.rows, recorder.start, interrupted=True)
    finally:
        callbacks.end()
    if checkpoint is not None:
        checkpoint.finish(recorder.rows)
    return Finished(recorder.rows, recorder.start, stopped)


def each_step(step: Callable[[], StepLosses], iterations: int) -> Advance:
    """``advance`` for a step callable: ``step()`` runs one iteration and returns its losses (it
    raises :class:`NonFinite` itself, as it alone knows the last good state), called until
    ``iterations`` are recorded or a callback asks to stop."""

    def advance(recorder: Recorder) -> str | None:
        for _ in range(len(recorder.rows), iterations):
            if recorder.record({name: np.asarray(value) for name, value in step().items()}):
                return CALLBACK_STOP
        return None

    return advance
