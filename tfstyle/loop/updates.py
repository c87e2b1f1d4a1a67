"""One update step of SGD or Adam, as pure functions ``(image, gradient, state) -> (image, state)``.

The eager loop (:mod:`tfstyle.loop.optimize`), its checkpoints and the SavedModel stylizer's
``tf.while_loop`` all take their steps here. :func:`step` wraps a rule with what every step does:
it moves only from an image whose loss is finite, keeps the pixels in [0, 255], and remembers the
last image with a finite loss.

Adam follows the *scale-free* gradient: each image's gradient divided by that image's gradient RMS
at its first step with a finite, nonzero one. Adam's steps do not depend on the loss's scale, but
its running mean of g² does not fit in float32 on the paper's plain sums at a large b (gradients of
~1e18 per pixel square past 3.4e38); divided by one constant per image, it is the same descent in
any loss's scale (ε then relative to a gradient of about 1), and the images of a batch stay
independent. The arithmetic is keras 3 Adam's, to the bit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf

# keras.optimizers.Adam's defaults.
ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7


class UpdateState(NamedTuple):
    """What an update rule carries from step to step (tensors; the loop keeps them in variables)."""

    steps: tf.Tensor  # int64 scalar: the updates taken so far
    m: tf.Tensor  # Adam's running mean of the (scale-free) gradient, the image's shape
    v: tf.Tensor  # Adam's running mean of its square
    scale: tf.Tensor  # [batch, 1, 1, 1]: each image's gradient RMS at its first step (0 until then)


class Outcome(NamedTuple):
    """The outcome of :func:`step`."""

    image: tf.Tensor
    state: UpdateState
    last_good: tf.Tensor  # the last image whose loss was finite
    ok: tf.Tensor  # bool scalar: the step was taken (a finite loss and finite new pixels)


Update = Callable[[tf.Tensor, tf.Tensor, UpdateState], "tuple[tf.Tensor, UpdateState]"]


def initial_state(image: tf.Tensor) -> UpdateState:
    """The state before the first step, for images ``[batch, height, width, 3]``."""
    zeros = tf.zeros_like(image)
    return UpdateState(tf.constant(0, tf.int64), zeros, zeros, tf.zeros_like(image[:, :1, :1, :1]))


def sgd(image: tf.Tensor, gradient: tf.Tensor, state: UpdateState, learning_rate: float) -> tuple[tf.Tensor, UpdateState]:
    """Plain gradient descent (the paper's): x ← x − lr·g."""
    return image - gradient * learning_rate, state._replace(steps=state.steps + 1)


def adam(image: tf.Tensor, gradient: tf.Tensor, state: UpdateState, learning_rate: float) -> tuple[tf.Tensor, UpdateState]:
    """Adam on the scale-free gradient g: m += (g − m)(1 − β1); v += (g² − v)(1 − β2);
    α = lr·√(1 − β2^t)/(1 − β1^t); x ← x − α·m/(√v + ε), with t the step (from 1)."""
    gradient, scale = scale_free_gradient(gradient, state.scale)
    t = tf.cast(state.steps + 1, image.dtype)
    alpha = learning_rate * tf.sqrt(1 - tf.pow(ADAM_BETA_2, t)) / (1 - tf.pow(ADAM_BETA_1, t))
    m = state.m + (gradient - state.m) * (1 - ADAM_BETA_1)
    v = state.v + (tf.square(gradient) - state.v) * (1 - ADAM_BETA_2)
    return image - m * alpha / (tf.sqrt(v) + ADAM_EPSILON), UpdateState(state.steps + 1, m, v, scale)


RULES: dict[str, Callable[..., tuple[tf.Tensor, UpdateState]]] = {"sgd": sgd, "adam": adam}


def rule(optimizer: str, learning_rate: float) -> Update:
    """The update ``(image, gradient, state) -> (image, state)`` of ``optimizer`` (sgd or adam)."""
    return functools.partial(RULES[optimizer], learning_rate=tf.constant(learning_rate, tf.float32))


def step(
    update: Update, image: tf.Tensor, gradient: tf.Tensor, total: tf.Tensor, state: UpdateState, last_good: tf.Tensor
) -> Outcome:
    """One guarded step from ``image``, whose summed loss is ``total``: ``update`` with the pixels
    clipped to [0, 255], taken only if ``total`` and the new pixels are finite (a NaN gradient can
    come with a finite loss, and VGG16's ReLU and max pooling would hide NaN pixels from the next
    one). ``last_good`` becomes ``image`` when its loss is finite; a loop stops once ``ok`` is False
    and answers ``last_good``."""
    image = tf.convert_to_tensor(image)
    finite = tf.math.is_finite(total)
    moved, moved_state = update(image, gradient, state)
    moved = tf.clip_by_value(moved, 0.0, 255.0)
    ok = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(moved)))
    return Outcome(
        image=tf.where(ok, moved, image),
        state=UpdateState(*(tf.where(ok, new, old) for new, old in zip(moved_state, state))),
        last_good=tf.where(finite, image, last_good),
        ok=ok,
    )


def scale_free_gradient(gradient: tf.Tensor, scale: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """``gradient`` ``[batch, ...]`` divided by each image's gradient RMS at its first step with a
    finite, nonzero one, and the scales ``[batch, 1, ...]`` to carry on (0 until that step)."""
    rms = root_mean_square(gradient)
    scale = tf.where(tf.equal(scale, 0.0) & (rms > 0) & tf.math.is_finite(rms), rms, scale)
    return gradient / tf.where(scale > 0, scale, 1.0), scale


def root_mean_square(gradient: tf.Tensor) -> tf.Tensor:
    """The RMS over each image of ``gradient`` ``[batch, ...]`` → ``[batch, 1, ...]``, computed on
    the gradient divided by its largest magnitude, so that gradients past 1.8e19 do not square to inf."""
    axes = list(range(1, len(gradient.shape)))
    largest = tf.reduce_max(tf.abs(gradient), axis=axes, keepdims=True)
    unit = tf.math.divide_no_nan(gradient, largest)
    return largest * tf.sqrt(tf.reduce_mean(tf.square(unit), axis=axes, keepdims=True))
