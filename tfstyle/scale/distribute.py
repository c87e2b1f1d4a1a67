"""A batch spread over the devices of one machine with ``tf.distribute``.

``stylize(images, style, config, strategy=...)`` with a ``tf.distribute.MirroredStrategy`` (the
GPUs of one machine, or logical devices) splits the batch into one shard per replica: replica r
takes images r·k … r·k + k − 1 (k = ⌈batch / replicas⌉; the last shard is padded with the last
image, whose copy is dropped). Each step, every replica computes its shard's losses and their
gradient with targets it computed once, and the shards' gradients are gathered into the batch's
gradient. The image batch is one ``tf.Variable`` moved by the usual update step. The images are
independent, so the result is the single-device run's to round-off.

SGD and Adam are spread (the objective: :class:`tfstyle.objective.sharded.ShardedObjective`); L-BFGS
runs on one device (its line search would couple the images, so a batch runs image by image anyway).
:func:`strategy_for` picks the strategy a command line wants; this module holds the strategies
(:func:`tfstyle.devices.describe` says them in words).
Several machines are for the Beam pipeline (:mod:`tfstyle.scale.beam`), each stylizing its own images.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from tfstyle.devices import logical_device
from tfstyle.errors import ConfigError


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
    names = [logical_device(name) for name in devices]
    if len(set(names)) != len(names):
        raise ConfigError(f"devices are listed twice: {', '.join(devices)}")
    if len(names) < 2:
        return None
    return tf.distribute.MirroredStrategy(devices=names)
