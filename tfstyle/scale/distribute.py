"""A batch spread over several devices, or machines, with ``tf.distribute``.

``stylize(images, style, config, strategy=...)`` with a ``tf.distribute.MirroredStrategy`` (the
GPUs of one machine, or logical devices) or a ``MultiWorkerMirroredStrategy`` (several machines,
from ``TF_CONFIG``) splits the batch into one shard per replica: replica r takes images
r·k … r·k + k − 1 (k = ⌈batch / replicas⌉; the last shard is padded with the last image, whose copy
is dropped). Each step, every replica computes its shard's losses and their gradient with targets
it computed once, and the shards' gradients are gathered into the batch's gradient. The image
batch is one ``tf.Variable`` moved by the usual update step, on every worker alike. The images are
independent, so the result is the single-device run's to round-off.

SGD and Adam are spread (the objective: :class:`tfstyle.objective.sharded.ShardedObjective`); L-BFGS
runs on one device (its line search would couple the images, so a batch runs image by image anyway).
:func:`strategy_for` picks the strategy a command line wants; this module holds the strategies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import tensorflow as tf

from tfstyle.errors import ConfigError


def strategy_for(devices: str | Sequence[str] = "auto") -> tf.distribute.Strategy | None:
    """The strategy to spread a batch with, or None for one device.

    ``TF_CONFIG`` naming more than one task gives a ``MultiWorkerMirroredStrategy`` (one process per
    machine, each with the same arguments). Otherwise ``devices`` picks: ``"auto"`` every GPU, or
    every logical CPU where there is no GPU (one, unless split with
    ``tf.config.set_logical_device_configuration``); ``"one"`` the first device alone; or a list of
    devices (``["GPU:0", "GPU:1"]``, or one comma-separated string). More than one device gives a
    ``MirroredStrategy`` over them.
    """
    cluster = cluster_strategy()
    if cluster is not None:
        return cluster
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


def cluster_strategy() -> tf.distribute.MultiWorkerMirroredStrategy | None:
    """A ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names more than one task, else None.

    TensorFlow sets up the collective ops it needs only before it starts its devices: call this
    at the program's start (before anything lists devices or runs an op), else ConfigError."""
    if _cluster_size() < 2:
        return None
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as err:
        raise ConfigError(
            f"TF_CONFIG names {_cluster_size()} workers, but TensorFlow had started before the "
            f"MultiWorkerMirroredStrategy was made ({err}); make it first thing (tfstyle.scale.distribute.cluster_strategy())"
        ) from None


def describe(strategy: tf.distribute.Strategy | None, device: str = "") -> str:
    """``"2 replicas: CPU:0, CPU:1"`` (``"2 workers x ..."`` for several machines); ``device`` for none."""
    if strategy is None:
        return device.split("device:")[-1]
    local = ", ".join(name.split("device:")[-1] for name in strategy.extended.worker_devices)
    workers = _cluster_size()
    where = f"{workers} workers x {local}" if workers > 1 else local
    return f"{strategy.num_replicas_in_sync} replicas: {where}"


def is_chief() -> bool:
    """Whether this process should write the outputs: always, except on the non-chief workers of a
    ``TF_CONFIG`` cluster (the chief, else worker 0, writes)."""
    config = _tf_config()
    task = config.get("task", {})
    cluster = config.get("cluster", {})
    if not cluster or _cluster_size() < 2:
        return True
    if "chief" in cluster:
        return task.get("type") == "chief"
    return task.get("type", "worker") == "worker" and int(task.get("index", 0)) == 0


def _logical_device(name: str) -> str:
    wanted = tf.DeviceSpec.from_string(name.strip() if name.strip().startswith("/") else f"/device:{name.strip()}")
    for logical in tf.config.list_logical_devices():
        spec = tf.DeviceSpec.from_string(logical.name)
        if spec.device_type == (wanted.device_type or "").upper() and spec.device_index == (wanted.device_index or 0):
            return logical.name
    known = ", ".join(d.name.split("device:")[-1] for d in tf.config.list_logical_devices())
    raise ConfigError(f"device {name.strip()!r} is not available; TensorFlow sees {known}")


def _tf_config() -> dict:
    text = os.environ.get("TF_CONFIG", "")
    if not text.strip():
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"TF_CONFIG is not valid JSON ({err})") from None
    if not isinstance(config, dict):
        raise ConfigError("TF_CONFIG must be a JSON object with 'cluster' and 'task'")
    return config


def _cluster_size() -> int:
    cluster = _tf_config().get("cluster", {})
    return sum(len(tasks) for role, tasks in cluster.items() if role in ("chief", "worker"))
