"""The objective of a batch spread over a ``tf.distribute`` strategy's replicas, one shard of
images each, their losses and gradients gathered into the batch's (the strategies, and how a run
is spread: :mod:`tfstyle.scale.distribute`)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tfstyle.errors import ConfigError
from tfstyle.objective.interface import Losses, LossFn, differentiate


class ShardedObjective:
    """The objective of a batch of content images, each replica of ``strategy`` computing its shard's.

    ``make_loss(content_shard)`` builds a shard's loss function (as :func:`tfstyle.objective.whole.make_loss_fn` does):
    it is called once per replica, on that replica's device, so the targets are computed there
    once. Called on a batch ``[batch, height, width, 3]`` it returns the losses (``[batch]`` each);
    :meth:`value_and_gradient` also returns the gradient of their sum with respect to the batch.
    """

    def __init__(
        self, strategy: tf.distribute.Strategy, make_loss: Callable[[np.ndarray], LossFn], content_images: np.ndarray
    ):
        self.strategy = strategy
        self._make_loss = make_loss
        self._content = np.asarray(content_images, dtype=np.float32)
        self.batch = len(self._content)
        self.replicas = strategy.num_replicas_in_sync
        self.shard = -(-self.batch // self.replicas)
        self._loss_fns: dict[int, LossFn] = {}
        self._lock = threading.Lock()  # MirroredStrategy traces the replicas in threads
        self._forward = tf.function(self._run, autograph=False)
        self._backward = tf.function(lambda images: self._run(images, gradient=True), autograph=False)

    def __call__(self, images: tf.Tensor) -> Losses:
        return self._forward(tf.convert_to_tensor(images))

    def value_and_gradient(self, images: tf.Tensor) -> tuple[Losses, tf.Tensor]:
        """The losses and d(Σ total)/d(images), from every replica's shard."""
        return self._backward(tf.convert_to_tensor(images))

    def shard_indices(self, replica: int) -> list[int]:
        """The images replica ``replica`` works on (the last one repeated to pad the last shard)."""
        return [min(replica * self.shard + i, self.batch - 1) for i in range(self.shard)]

    def _run(self, images: tf.Tensor, gradient: bool = False) -> Losses | tuple[Losses, tf.Tensor]:
        def replica_step(images: tf.Tensor) -> tuple[Losses, tf.Tensor | None]:
            replica = _replica_id()
            loss_fn = self._loss_for(replica)
            shard = tf.gather(images, self.shard_indices(replica))
            return differentiate(loss_fn, shard) if gradient else (loss_fn(shard), None)

        losses, grads = self.strategy.run(replica_step, args=(images,))
        losses = {name: self._gather(value) for name, value in losses.items()}
        return (losses, self._gather(grads)) if gradient else losses

    def _gather(self, value: tf.Tensor) -> tf.Tensor:
        return self.strategy.gather(value, axis=0)[: self.batch]

    def _loss_for(self, replica: int) -> LossFn:
        with self._lock:
            if replica not in self._loss_fns:
                with tf.init_scope():  # eagerly, once, on this replica's device: the targets are constants
                    self._loss_fns[replica] = self._make_loss(self._content[self.shard_indices(replica)])
            return self._loss_fns[replica]


def _replica_id() -> int:
    replica = tf.get_static_value(tf.distribute.get_replica_context().replica_id_in_sync_group)
    if replica is None:
        raise ConfigError("this distribution strategy does not tell its replicas apart when tracing; use MirroredStrategy")
    return int(replica)
