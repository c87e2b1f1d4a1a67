"""The temporal losses of Ruder, Dosovitskiy & Brox, "Artistic style transfer for videos" (GCPR 2016),
as pure functions, and the objective that adds them to a whole-image objective's total.

Notation (the paper's): x^(i) is the stylized frame i being optimized, ω_{i−j}^{i} the stylized
frame i − j warped into frame i by the optical flow (:func:`tfstyle.clips.flow.warp`), c^(i−j,i)
the per-pixel reliability of that flow in [0, 1] (:func:`tfstyle.clips.flow.reliability`), and D
= height × width × channels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from tfstyle.objective.interface import Losses, LossFn


def short_term_loss(x: tf.Tensor, warped: tf.Tensor, reliability: tf.Tensor) -> tf.Tensor:
    """L_temporal(x, ω, c) = (1/D) · Σ_k c_k · (x_k − ω_k)², per image ``[batch]``.

    ``x`` and ``warped`` (ω) are ``[batch, height, width, 3]``, ``reliability`` (c) ``[batch,
    height, width]`` or ``[height, width]`` (the same weight for each colour channel)."""
    x = tf.cast(x, tf.float32)
    weights = tf.cast(reliability, tf.float32)
    if weights.shape.rank == 2:
        weights = weights[None]
    squared = tf.square(x - tf.cast(warped, tf.float32)) * weights[..., None]
    return tf.reduce_mean(squared, axis=[1, 2, 3])


def long_term_weights(reliabilities: Sequence[np.ndarray]) -> list[np.ndarray]:
    """c_long^(i−j,i) = max(c^(i−j,i) − Σ_{k∈J, k<j} c^(i−k,i), 0) for the frames J of
    ``reliabilities`` (closest first): each pixel counts once, from the closest frame where it is
    reliable."""
    weights: list[np.ndarray] = []
    if not reliabilities:
        return weights
    seen = np.zeros_like(reliabilities[0], np.float32)
    for c in reliabilities:
        weights.append(np.maximum(np.asarray(c, np.float32) - seen, 0.0))
        seen = seen + c
    return weights


def long_term_loss(x: tf.Tensor, warped: Sequence[tf.Tensor], weights: Sequence[tf.Tensor]) -> tf.Tensor:
    """L_longterm = Σ_{j∈J} L_temporal(x, ω_{i−j}^{i}, c_long^(i−j,i)), per image ``[batch]``; with
    J = {1} it is the short-term loss."""
    return tf.add_n([short_term_loss(x, w, c) for w, c in zip(warped, weights)])


class TemporalTargets:
    """What the temporal loss of the frame being optimized compares with, in variables that each
    frame reassigns (:meth:`assign`), so one traced step serves every frame: ω_{i−j} ``warped``
    ``[slots, 1, height, width, 3]``, their weights c ``[slots, 1, height, width]`` (0 in a slot
    with no frame), and γ ``weight``."""

    def __init__(self, slots: int, height: int, width: int):
        self.slots = slots
        self.warped = tf.Variable(tf.zeros([slots, 1, height, width, 3]), trainable=False, name="warped_frames")
        self.weights = tf.Variable(tf.zeros([slots, 1, height, width]), trainable=False, name="temporal_weights")
        self.weight = tf.Variable(0.0, trainable=False, name="temporal_weight")

    def assign(self, warped: Sequence[tf.Tensor | np.ndarray], weights: Sequence[np.ndarray], weight: float) -> None:
        """This frame's ω_{i−j} (each ``[height, width, 3]`` or ``[1, height, width, 3]``), their
        weights (``[height, width]`` or with the batch axis) and γ; the slots left over weigh 0."""
        if len(warped) != len(weights) or len(warped) > self.slots:
            raise ValueError(f"{len(warped)} warped frames and {len(weights)} weights for {self.slots} slots")
        shape = self.warped.shape[1:]
        frames = [tf.reshape(tf.cast(w, tf.float32), shape) for w in warped]
        masks = [tf.reshape(tf.cast(c, tf.float32), self.weights.shape[1:]) for c in weights]
        for _ in range(self.slots - len(frames)):
            frames.append(tf.zeros(shape))
            masks.append(tf.zeros(self.weights.shape[1:]))
        self.warped.assign(tf.stack(frames))
        self.weights.assign(tf.stack(masks))
        self.weight.assign(float(weight))


def with_temporal(loss_fn: LossFn, targets: TemporalTargets) -> LossFn:
    """``loss_fn`` (a whole-image objective's images → losses) with ``temporal`` added: L_longterm
    over the ``targets``' warped frames and weights, and total += γ · it; the targets are read at each call."""

    def temporal_loss_fn(images: tf.Tensor) -> Losses:
        losses = dict(loss_fn(images))
        warped, weights = tf.unstack(targets.warped), tf.unstack(targets.weights)
        temporal = tf.cast(long_term_loss(images, warped, weights), losses["total"].dtype)
        losses["temporal"] = temporal
        losses["total"] = losses["total"] + tf.cast(targets.weight, temporal.dtype) * temporal
        return losses

    return temporal_loss_fn
