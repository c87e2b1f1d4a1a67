"""Where a run computes: a TensorFlow device by its name (:func:`pick_device`, :func:`logical_device`)
and a run's devices in words (:func:`describe`). :mod:`tfstyle.scale.distribute` spreads a batch
over several."""

from __future__ import annotations

import tensorflow as tf

from tfstyle.errors import ConfigError


def pick_device(device: str | None) -> str:
    """``device`` if TensorFlow has it; by default the first GPU, else the CPU."""
    if device is None:
        gpus = tf.config.list_logical_devices("GPU")
        return gpus[0].name if gpus else "/device:CPU:0"
    return logical_device(device)


def logical_device(name: str) -> str:
    """TensorFlow's full name of the logical device ``name`` (``GPU:1``, ``/device:CPU:0``, ...);
    :class:`ConfigError` naming those it has when it has no such device."""
    name = name.strip()
    wanted = tf.DeviceSpec.from_string(name if name.startswith("/") else f"/device:{name}")
    for logical in tf.config.list_logical_devices():
        spec = tf.DeviceSpec.from_string(logical.name)
        if spec.device_type == (wanted.device_type or "").upper() and spec.device_index == (wanted.device_index or 0):
            return logical.name
    known = ", ".join(d.name.split("device:")[-1] for d in tf.config.list_logical_devices())
    raise ConfigError(f"device {name!r} is not available; TensorFlow sees {known}")


def describe(strategy: tf.distribute.Strategy | None, device: str = "") -> str:
    """``"2 replicas: CPU:0, CPU:1"``; ``device`` for none."""
    if strategy is None:
        return device.split("device:")[-1]
    local = ", ".join(name.split("device:")[-1] for name in strategy.extended.worker_devices)
    return f"{strategy.num_replicas_in_sync} replicas: {local}"
