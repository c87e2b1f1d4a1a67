"""A batch spread over one machine's devices with ``tf.distribute``.

``stylize(images, style, config, strategy=...)`` with a ``tf.distribute.MirroredStrategy`` (the
GPUs of one machine, or logical devices) splits the batch into one shard per replica: replica r
takes images r·k … r·k + k − 1 (k = ⌈batch / replicas⌉; the last shard is padded with the last
image, whose copy is dropped). Each step, every replica computes its shard's losses and their
gradient with targets it computed once, and the shards' gradients are gathered into the batch's
gradient. The image batch is one ``tf.Variable`` updated by the usual optimizer. The images are
independent, so the result is the single-device run's to round-off.

SGD and Adam are spread; L-BFGS runs on one device (its line search would couple the images, so
a batch runs image by image anyway). :func:`strategy_for` picks the strategy a command line wants.
Several machines are for the Beam pipeline (:mod:`tfstyle.scale.beam`), each stylizing its own images.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from tfstyle.errors import ConfigError

Losses = dict[str, tf.Tensor]
LossFn = Callable[[tf.Tensor], Losses]


def strategy_for(devices: str | Sequence[str] = "auto") -> tf.distribute.Strategy | None:
    """The strategy to spread a batch with, or None for one device.

    ``devices`` picks: ``"auto"`` every GPU, or every logical CPU where there is no GPU (one, unless
    split with ``tf.config.set_logical_device_configuration``); ``"one"`` the first device alone; or
    a list of devices (``["GPU:0", "GPU:1"]``, or one comma-separated string). More than one device
    gives a ``MirroredStrategy`` over them.
    """
    if isinstance(devices, str):
        devices = devices.strip()
        if devices == "one":
            return None
        if devices == "auto":
            chosen = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
            names = [device.name for device in chosen]
            return tf.distribute.MirroredStrategy(devices=names) if len(names) > 1 else None
        devices = [name for name in devices.split(",") if name.strip()]
    names = [_logical_device(name) for name in devices]
    if len(set(names)) != len(names):
        raise ConfigError(f"devices are listed twice: {', '.join(devices)}")
    if len(names) < 2:
        return None
    return tf.distribute.MirroredStrategy(devices=names)


def describe(strategy: tf.distribute.Strategy | None, device: str = "") -> str:
    """``"2 replicas: CPU:0, CPU:1"``; ``device`` for none."""
    if strategy is None:
        return device.split("device:")[-1]
    local = ", ".join(name.split("device:")[-1] for name in strategy.extended.worker_devices)
    return f"{strategy.num_replicas_in_sync} replicas: {local}"


class ShardedLoss:
    """The loss of a batch of content images, each replica of ``strategy`` computing its shard's.

    ``make_loss(content_shard)`` builds a shard's loss function (as ``objective.make_loss_fn`` does):
    it is called once per replica, on that replica's device, so the targets are computed there
    once. Called on a batch ``[batch, height, width, 3]`` it returns the losses (``[batch]`` each);
    :meth:`value_and_gradient` also returns the gradient of their sum with respect to the batch.
    """

    def __init__(self, strategy: tf.distribute.Strategy, make_loss: Callable[[np.ndarray], LossFn], content_images):
        self.strategy = strategy
        self._make_loss = make_loss
        self._content = np.asarray(content_images, dtype=np.float32)
        self.batch = len(self._content)
        self.replicas = strategy.num_replicas_in_sync
        self.shard = -(-self.batch // self.replicas)
        self._loss_fns: dict[int, LossFn] = {}
        self._lock = threading.Lock()  # MirroredStrategy traces the replicas in threads
        self._forward = tf.function(self._run)
        self._backward = tf.function(lambda images: self._run(images, gradient=True))

    def __call__(self, images) -> Losses:
        return self._forward(tf.convert_to_tensor(images))

    def value_and_gradient(self, images) -> tuple[Losses, tf.Tensor]:
        """The losses and d(Σ total)/d(images), from every replica's shard."""
        return self._backward(tf.convert_to_tensor(images))

    def shard_indices(self, replica: int) -> list[int]:
        """The images replica ``replica`` works on (the last one repeated to pad the last shard)."""
        return [min(replica * self.shard + i, self.batch - 1) for i in range(self.shard)]

    def _run(self, images: tf.Tensor, gradient: bool = False):
        def replica_step(images: tf.Tensor):
            replica = _replica_id()
            loss_fn = self._loss_for(replica)
            shard = tf.gather(images, self.shard_indices(replica))
            with tf.GradientTape() as tape:
                tape.watch(shard)
                losses = loss_fn(shard)
                total = tf.reduce_sum(losses["total"])
            return (losses, tape.gradient(total, shard)) if gradient else (losses, None)

        losses, grads = self.strategy.run(replica_step, args=(images,))
        losses = {name: self._gather(value) for name, value in losses.items()}
        return (losses, self._gather(grads)) if gradient else losses

    def _gather(self, value) -> tf.Tensor:
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


def _logical_device(name: str) -> str:
    wanted = tf.DeviceSpec.from_string(name.strip() if name.strip().startswith("/") else f"/device:{name.strip()}")
    for logical in tf.config.list_logical_devices():
        spec = tf.DeviceSpec.from_string(logical.name)
        if spec.device_type == (wanted.device_type or "").upper() and spec.device_index == (wanted.device_index or 0):
            return logical.name
    known = ", ".join(d.name.split("device:")[-1] for d in tf.config.list_logical_devices())
    raise ConfigError(f"device {name.strip()!r} is not available; TensorFlow sees {known}")
