"""SGD and Adam: one guarded update step (:func:`tfstyle.loop.updates.step`) per iteration on an
objective's gradient, the update's state kept in variables (which the checkpoints save)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfstyle.config import StyleConfig
from tfstyle.loop import updates
from tfstyle.loop.callbacks import CALLBACK_STOP
from tfstyle.loop.record import NonFinite, Recorder
from tfstyle.objective.interface import Objective


def state_variables(image: tf.Variable) -> updates.UpdateState:
    """:func:`tfstyle.loop.updates.initial_state` of ``image``, each field a variable."""
    start = updates.initial_state(image)._asdict()
    return updates.UpdateState(*(tf.Variable(value, trainable=False, name=name) for name, value in start.items()))


def descend(
    image: tf.Variable, goal: Objective, state: updates.UpdateState, config: StyleConfig, recorder: Recorder
) -> str | None:
    """``config.iterations`` of SGD (the paper's plain gradient descent) or Adam on ``image`` (less
    those recorded, when resuming), ``state`` carried between the steps. Returns why it stopped
    early, or None."""
    update = updates.rule(config.optimizer, config.effective_learning_rate)
    last_good = tf.Variable(image, trainable=False, name="last_finite_image")

    @tf.function(autograph=False)
    def apply(gradient: tf.Tensor, total: tf.Tensor) -> tf.Tensor:
        now = updates.UpdateState(*map(tf.convert_to_tensor, state))
        taken = updates.step(update, image, gradient, total, now, last_good)
        image.assign(taken.image)
        last_good.assign(taken.last_good)
        for variable, value in zip(state, taken.state):
            variable.assign(value)
        return taken.ok

    for _ in range(len(recorder.rows), config.iterations):
        losses, gradient = goal.value_and_gradient(image)
        ok = apply(gradient, tf.reduce_sum(losses["total"]))
        losses = {name: value.numpy() for name, value in losses.items()}
        if not bool(ok):  # a non-finite loss, or NaN pixels from a finite one (an infinite gradient)
            total = float(np.sum(losses["total"]))
            raise NonFinite(total if not np.isfinite(total) else float("nan"), last_good.numpy())
        if recorder.record(losses):
            return CALLBACK_STOP
    return None
