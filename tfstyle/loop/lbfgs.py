"""L-BFGS: SciPy's L-BFGS-B on the pixels, bounded to [0, 255], fed by an objective's
``value_and_gradient``.

L-BFGS-B's line search is shared by everything it optimizes and would couple the images of a
batch, so :func:`lbfgs_one_by_one` runs them one after another, each exactly as alone.

SciPy's L-BFGS-B calls BLAS between the objective's evaluations, and OpenBLAS's threads, left
spinning after it, took the cores from TensorFlow's next evaluation (tools/bench/results/run_g.md): the
BLAS runs on one thread while L-BFGS-B runs (process-wide, as BLAS's thread count is; restored
when it returns).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import tensorflow as tf

from tfstyle.config import StyleConfig
from tfstyle.loop.callbacks import CALLBACK_STOP
from tfstyle.loop.record import NonFinite, Recorder
from tfstyle.objective.interface import Objective


class Records(Protocol):
    """Where L-BFGS reports each iteration: a :class:`Recorder`, or one image's share of a batch's."""

    def record(self, losses: dict[str, np.ndarray]) -> bool: ...


def lbfgs(image: tf.Variable, objective: Objective, config: StyleConfig, recorder: Records, done: int = 0) -> str | None:
    """``config.iterations`` of L-BFGS-B on ``image``, less the ``done`` ones (when resuming).
    Returns why it stopped early, or None."""
    # Imported here: scipy.optimize takes 0.13 s to import, which every other run would pay.
    import scipy.optimize
    from threadpoolctl import threadpool_limits

    shape = image.shape
    remaining = config.iterations - done
    if remaining <= 0:
        return None
    accepted = image.numpy()
    evaluated: dict[str, np.ndarray] = {}
    asked_to_stop = False

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        image.assign(x.reshape(shape).astype(np.float32))
        losses, gradient = objective.value_and_gradient(image)
        evaluated.clear()
        evaluated.update({name: value.numpy() for name, value in losses.items()})
        total = float(np.sum(evaluated["total"]))
        if not np.isfinite(total):
            raise NonFinite(total, accepted)
        return total, gradient.numpy().astype(np.float64).ravel()

    def callback(intermediate_result: scipy.optimize.OptimizeResult) -> None:
        nonlocal accepted, asked_to_stop
        # L-BFGS-B's last evaluation before this call is at the accepted point.
        accepted = intermediate_result.x.reshape(shape).astype(np.float32)
        image.assign(accepted)
        if recorder.record(dict(evaluated)):
            asked_to_stop = True
            raise StopIteration

    with threadpool_limits(limits=1, user_api="blas"):
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


def lbfgs_one_by_one(
    objectives: list[Objective], image: tf.Variable, config: StyleConfig, recorder: Recorder
) -> str | None:
    """L-BFGS on a batch, image after image (``objectives[i]`` is image i's), each exactly as alone;
    ``config.iterations`` each, counted through them all.

    The batch variable gets each image's accepted iterates, so callbacks see the whole batch.
    """
    reasons = []
    done = len(recorder.rows)  # when resuming: the images before done // iterations are finished
    for index, objective in enumerate(objectives):
        finished = min(max(done - index * config.iterations, 0), config.iterations)
        if finished == config.iterations:
            continue
        one = tf.Variable(image[index : index + 1], name="stylized_image")
        one_recorder = _ImageRecorder(recorder, image, index, one)
        try:
            reason = lbfgs(one, objective, config, one_recorder, finished)
        except NonFinite as bad:
            image[index].assign(bad.last_good[0])
            raise NonFinite(bad.value, image.numpy()) from None
        image[index].assign(one[0])
        if one_recorder.stopped:
            return CALLBACK_STOP
        if reason:
            reasons.append(f"image {index + 1}: {reason}")
    return "; ".join(reasons) or None


class _ImageRecorder:
    """Passes one image's L-BFGS iterations to the batch's recorder, with that image in the batch."""

    def __init__(self, recorder: Recorder, batch: tf.Variable, index: int, image: tf.Variable):
        self.recorder, self.batch, self.index, self.image = recorder, batch, index, image
        self.stopped = False

    def record(self, losses: dict[str, np.ndarray]) -> bool:
        self.batch[self.index].assign(self.image[0])
        self.stopped = self.recorder.record(losses)
        return self.stopped
