"""What a run leaves: the :class:`Result`, and the :class:`Recorder` that keeps the loss history,
times the run and tells the callbacks (and the checkpoint) of each iteration
(:func:`tfstyle.loop.lifecycle.run_iterations` makes one per run)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf
from PIL import Image

from tfstyle.config import StyleConfig
from tfstyle.inputs import images as imageio
from tfstyle.loop.callbacks import CallbackList, Step
from tfstyle.loop.checkpoint import RunCheckpoint


@dataclass
class Result:
    """A finished run. ``image`` is float32 ``[height, width, 3]`` in [0, 255] (``[batch, ...]`` for
    a batch); ``history`` maps each loss name to its value at every iteration run."""

    image: np.ndarray
    history: dict[str, np.ndarray]
    initial_losses: dict[str, float]
    final_losses: dict[str, float]
    iterations: int
    seconds: float
    device: str
    config: StyleConfig = field(repr=False)
    stopped: str | None = None  # why the run ended before its iterations, if it did

    def to_pil(self) -> Image.Image:
        """The image as a PIL RGB image."""
        return imageio.to_pil(self.image)

    def save(self, path: str | os.PathLike) -> None:
        """Write the image atomically (PNG, JPEG, ... by the file's extension)."""
        imageio.save_image(self.image, path)


class NonFinite(Exception):
    """Raised inside the loop when the loss (or a step's pixels) stopped being finite: ``value`` is
    the loss, ``last_good`` the last image with a finite one."""

    def __init__(self, value: float, last_good: np.ndarray):
        super().__init__(value)
        self.value, self.last_good = value, last_good


class Recorder:
    """Collects the loss history, times the run and talks to the callbacks."""

    def __init__(self, image: tf.Variable, iterations: int, callbacks: CallbackList):
        self.image, self.iterations, self.callbacks = image, iterations, callbacks
        self.rows: list[dict[str, float]] = []
        self.start = time.perf_counter()
        self.checkpoint: RunCheckpoint | None = None

    def resume(self, rows: list[dict[str, float]], checkpoint: RunCheckpoint) -> None:
        """Continue a run whose first iterations are ``rows`` (restored), saving to ``checkpoint``."""
        self.rows, self.checkpoint = list(rows), checkpoint
        if rows:
            self.start -= rows[-1]["seconds"]

    def record(self, losses: dict[str, np.ndarray]) -> bool:
        """Store one iteration's losses and notify the callbacks; True means stop."""
        row = {name: float(np.mean(value)) for name, value in losses.items()}
        row["seconds"] = time.perf_counter() - self.start
        self.rows.append(row)
        if self.checkpoint is not None:
            self.checkpoint.after_step(self.rows)
        step = Step(len(self.rows), self.iterations, row, tf.convert_to_tensor(self.image), row["seconds"])
        return self.callbacks.step(step)
