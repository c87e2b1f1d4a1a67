"""Resumable runs: the image, the update's state and the step in a ``tf.train.Checkpoint``.

``stylize(..., checkpoint=Checkpointing("run.ckpt", every=50))`` saves the run every 50
iterations, when it ends, and on Ctrl-C (sgd and adam); ``Checkpointing(..., resume=True)``
continues from the latest save in the folder, if there is one. For sgd and adam the image and the
update's state (:class:`tfstyle.loop.updates.UpdateState`: Adam's moments, the gradient scales and
the step count) are restored, so a resumed run ends with the image of an uninterrupted one. SciPy's L-BFGS-B keeps its curvature memory inside SciPy,
where it cannot be saved: a resumed ``lbfgs`` run restarts L-BFGS-B from the saved image with an
empty memory, close to an uninterrupted run but not the same.

A checkpoint carries a fingerprint of its run (every setting except the iteration count and the
device, and the scaled images); resuming another run is a :class:`CheckpointError`. The iteration
count may grow: resuming a finished run with more iterations continues it. Saves are atomic: the
folder's ``checkpoint`` file names the latest complete save, so a crash mid-save leaves the
previous one in force.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from tfstyle.config import StyleConfig
from tfstyle.errors import CheckpointError, first_line
from tfstyle.loop.updates import UpdateState

FORMAT_VERSION = 2  # 2: the update state of tfstyle.loop.updates, not a keras optimizer
_PREFIX = "ckpt"
# Settings that may differ between a run and its resumption.
_FREE_SETTINGS = ("iterations", "device")


@dataclass(frozen=True)
class Checkpointing:
    """Where and how often a run saves itself: every ``every`` iterations (0: only when it ends or is
    interrupted) into the folder ``directory``; ``resume`` continues from the latest save there."""

    directory: str | os.PathLike
    every: int = 0
    resume: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 0:
            raise CheckpointError(f"checkpoint every must be 0 or a positive whole number, got {self.every!r}")
        path = Path(self.directory)
        if path.exists() and not path.is_dir():
            raise CheckpointError(f"checkpoint folder {path} is a file; give a folder")


def latest_step(directory: str | os.PathLike) -> int | None:
    """The iteration of the latest save in ``directory``, or None if there is none."""
    path = tf.train.latest_checkpoint(os.fspath(directory)) if Path(directory).is_dir() else None
    return None if path is None else int(_read_meta(path)["step"])


def fingerprint(config: StyleConfig, arrays: Mapping[str, np.ndarray | None]) -> dict[str, str]:
    """What identifies a run: every setting of ``config`` except the iteration count and the device,
    and a hash of each of ``arrays`` (the scaled content batch, the style images, masks)."""
    settings = {
        name: repr(value) for name, value in dataclasses.asdict(config).items() if name not in _FREE_SETTINGS
    }
    for name, array in arrays.items():
        if array is not None:
            data = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
            digest = hashlib.sha256(repr(data.shape).encode() + data.tobytes()).hexdigest()[:16]
            settings[name] = f"{'x'.join(map(str, data.shape))}:{digest}"
    return settings


class RunCheckpoint:
    """One run's saves: its image variable (and update state) under its :func:`fingerprint`."""

    def __init__(self, options: Checkpointing, run_fingerprint: dict[str, str]):
        self.options = options
        self.fingerprint = run_fingerprint
        self.directory = os.fspath(options.directory)
        self.initial: dict[str, float] | None = None  # the losses at the run's start (restored on resume)
        self.resumed_from = 0
        self._image: tf.Variable | None = None
        self._state: UpdateState | None = None
        self._saved_step: int | None = None
        # What writes the saves: the manager, and the variables of the step and the record (made on the first save).
        self._writer: tuple[tf.train.CheckpointManager, tf.Variable, tf.Variable] | None = None

    def restore(self, image: tf.Variable, state: UpdateState | None = None) -> list[dict[str, float]]:
        """Track ``image`` and the update's ``state`` (variables; None for lbfgs); when resuming
        from a save, restore them and return the history so far."""
        self._image, self._state = image, state
        if not self.options.resume or not Path(self.directory).is_dir():
            return []
        path = tf.train.latest_checkpoint(self.directory)
        if path is None:
            return []
        meta = _read_meta(path)
        self._check_fingerprint(meta.get("fingerprint", {}))
        try:
            tf.train.Checkpoint(**self._objects()).read(path).expect_partial().assert_existing_objects_matched()
        except (tf.errors.OpError, AssertionError, ValueError) as err:
            raise CheckpointError(f"could not restore the run from {path}: {first_line(err)}") from None
        self._saved_step = int(meta["step"])
        self.initial = {name: float(value) for name, value in meta["initial"].items()}
        self.resumed_from = int(meta["step"])
        return [{name: float(value) for name, value in row.items()} for row in meta["history"]]

    def _objects(self) -> dict[str, tf.Variable | tf.train.Checkpoint]:
        objects = {"image": self._image}
        if self._state is not None:
            objects["update"] = tf.train.Checkpoint(**self._state._asdict())
        return objects

    def after_step(self, history: list[dict[str, float]]) -> None:
        """Called after each recorded iteration: save when the step is a multiple of ``every``."""
        step = len(history)
        if self.options.every and step % self.options.every == 0:
            self.save(history)

    def finish(self, history: list[dict[str, float]]) -> None:
        """The run ended (or stopped): save its last state unless that is saved already."""
        if self._image is not None and len(history) != self._saved_step:
            self.save(history)

    def interrupted(self, history: list[dict[str, float]]) -> None:
        """Ctrl-C: save if the variables are those of the last recorded step (sgd and adam; an
        interrupted L-BFGS-B may hold a line-search point, so its last periodic save stands)."""
        if self._state is not None and int(self._state.steps.numpy()) == len(history):
            self.finish(history)

    def save(self, history: list[dict[str, float]]) -> str:
        """Write the image, the update's state, the step and the history; returns the save's path."""
        step = len(history)
        meta = {
            "version": FORMAT_VERSION,
            "step": step,
            "fingerprint": self.fingerprint,
            "initial": self.initial or {},
            "history": history,
        }
        manager, step_variable, meta_variable = self._writer or self._start_writing()
        step_variable.assign(step)
        meta_variable.assign(json.dumps(meta))
        try:
            path = manager.save(checkpoint_number=step)
        except (tf.errors.OpError, OSError) as err:
            raise CheckpointError(f"could not write a checkpoint to {self.directory}: {first_line(err)}") from None
        self._saved_step = step
        return path

    def _start_writing(self) -> tuple[tf.train.CheckpointManager, tf.Variable, tf.Variable]:
        """The checkpoint folder, created, and what writes into it (see ``_writer``)."""
        with tf.device("/device:CPU:0"):
            step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            meta = tf.Variable("", dtype=tf.string, trainable=False, name="meta")
        objects = {**self._objects(), "step": step, "meta": meta}
        try:
            Path(self.directory).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise CheckpointError(f"could not create the checkpoint folder {self.directory}: {err.strerror or err}") from None
        manager = tf.train.CheckpointManager(tf.train.Checkpoint(**objects), self.directory, max_to_keep=1, checkpoint_name=_PREFIX)
        self._writer = (manager, step, meta)
        return self._writer

    def _check_fingerprint(self, saved: Mapping[str, str]) -> None:
        differ = []
        for name in sorted(set(saved) | set(self.fingerprint)):
            old, new = saved.get(name), self.fingerprint.get(name)
            if old == new:
                continue
            if old is None or new is None or ":" in (old or new):  # an image (or a setting one side lacks)
                differ.append(name.replace("_", " "))
            else:
                differ.append(f"{name} {old} → {new}")
        if differ:
            shown = "; ".join(differ[:4]) + ("; ..." if len(differ) > 4 else "")
            raise CheckpointError(
                f"the checkpoint in {self.directory} is of another run ({shown}); resume with the same images and "
                "settings (only the iterations may change), or use another checkpoint folder"
            )


def _read_meta(path: str) -> dict[str, Any]:
    try:
        reader = tf.train.load_checkpoint(path)
        text = reader.get_tensor("meta/.ATTRIBUTES/VARIABLE_VALUE")
        meta = json.loads(text.decode() if isinstance(text, bytes) else text)
    except (tf.errors.OpError, ValueError, KeyError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not a tfstyle checkpoint or is damaged ({first_line(err)})") from None
    if meta.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} was written by another tfstyle version (format {meta.get('version')})")
    return meta
