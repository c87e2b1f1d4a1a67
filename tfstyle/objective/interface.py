"""What every objective is, whole-image, tiled or sharded: images → losses, and their gradient.

The loop (:mod:`tfstyle.loop.optimize`, :mod:`tfstyle.loop.lbfgs`) sees only this interface.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import tensorflow as tf

from tfstyle.network import speed

Losses = dict[str, tf.Tensor]  # each ``[batch]``: total, content, style, tv, content/<layer>, style/<layer>
LossFn = Callable[[tf.Tensor], Losses]


class Objective(Protocol):
    """Called on images ``[batch, height, width, 3]``, the losses; :meth:`value_and_gradient` adds
    d(Σ total)/d(images) (a sum, so each image of a batch follows its own loss)."""

    def __call__(self, images: tf.Tensor) -> Losses: ...

    def value_and_gradient(self, images: tf.Tensor) -> tuple[Losses, tf.Tensor]: ...


def differentiate(loss_fn: LossFn, images: tf.Tensor, precision: str = "float32") -> tuple[Losses, tf.Tensor]:
    """``loss_fn(images)`` and d(Σ total)/d(images) by one backward pass (:func:`speed.gradient`:
    loss-scaled under float16). ``images`` may be a tensor or a ``tf.Variable``."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        losses = loss_fn(images)
        total = tf.reduce_sum(losses["total"])
    return losses, speed.gradient(tape, total, images, precision)
