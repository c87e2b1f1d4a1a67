"""TensorBoard for a training run: the losses every step, the held-out photos as the network
stylizes them every ``preview_every`` steps (``tensorboard --logdir <output>.training``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfstyle.pipelines.tensorboard import uint8_images

SCALAR_EVERY = 10


class TrainingBoard:
    """Writes a training run's losses and previews under ``logdir``."""

    def __init__(self, logdir: Path, previews: dict[str, np.ndarray]):
        """``previews``: the held-out photos by name, at the size they are stylized."""
        self.writer = tf.summary.create_file_writer(str(logdir))
        self.previews = previews
        with self.writer.as_default(step=0):
            for name, image in previews.items():
                tf.summary.image(f"photo/{name}", uint8_images(image), description="A held-out photo, as the network sees it.")

    def losses(self, step: int, losses: dict[str, float]) -> None:
        """The batch's mean losses at ``step``: written at the first step and every :data:`SCALAR_EVERY`."""
        if step % SCALAR_EVERY and step != 1:
            return
        with self.writer.as_default(step=step):
            for name, value in losses.items():
                tf.summary.scalar(f"loss/{name}", value)

    def stylized(self, step: int, stylize: Callable[[np.ndarray], np.ndarray]) -> None:
        """The held-out photos through ``stylize`` (the network as it is at ``step``)."""
        with self.writer.as_default(step=step):
            for name, image in self.previews.items():
                tf.summary.image(f"stylized/{name}", uint8_images(stylize(image)), description="The held-out photo stylized by the network.")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
