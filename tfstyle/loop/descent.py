"""SGD and Adam: one guarded update step (:func:`tfstyle.loop.updates.step`) per iteration on an
objective's gradient, the update's state kept in variables (which the checkpoints save)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tfstyle.config import StyleConfig
from tfstyle.loop import updates
from tfstyle.loop.record import NonFinite
from tfstyle.objective.interface import Objective


def state_variables(image: tf.Variable) -> updates.UpdateState:
    """:func:`tfstyle.loop.updates.initial_state` of ``image``, each field a variable."""
    start = updates.initial_state(image)._asdict()
    return updates.UpdateState(*(tf.Variable(value, trainable=False, name=name) for name, value in start.items()))


def descent_step(
    image: tf.Variable, goal: Objective, state: updates.UpdateState, config: StyleConfig
) -> Callable[[], dict[str, np.ndarray]]:
    """One iteration of SGD (the paper's plain gradient descent) or Adam on ``image`` at
    ``config``'s learning rate, ``state`` carried between the steps: a callable for
    :func:`tfstyle.loop.lifecycle.each_step` that returns the iteration's losses and raises
    :class:`NonFinite` (with the last image whose loss was finite) when the loss or the pixels stop
    being finite."""
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

    def step() -> dict[str, np.ndarray]:
        losses, gradient = goal.value_and_gradient(image)
        ok = apply(gradient, tf.reduce_sum(losses["total"]))
        values = {name: value.numpy() for name, value in losses.items()}
        if not bool(ok):  # a non-finite loss, or NaN pixels from a finite one (an infinite gradient)
            total = float(np.sum(values["total"]))
            raise NonFinite(total if not np.isfinite(total) else float("nan"), last_good.numpy())
        return values

    return step
