"""TensorBoard for a clip: after each frame, its losses (``frame/total``, ``frame/content``,
``frame/style``, ``frame/temporal``), its seconds and the stylized frame, at step = frame number;
a later pass's under ``pass2/``, ``pass3/``, ..."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfstyle.clips.stylize import FrameReport


class FrameLog:
    """An ``on_frame`` for :func:`tfstyle.clips.stylize.stylize_video` that writes to ``logdir``."""

    def __init__(self, logdir: str | os.PathLike):
        Path(logdir).mkdir(parents=True, exist_ok=True)
        self.writer = tf.summary.create_file_writer(str(logdir))

    def __call__(self, report: FrameReport) -> None:
        where = f"pass{report.pass_number}/" if report.pass_number > 1 else ""
        with self.writer.as_default(step=report.index + 1):
            for name in ("total", "content", "style", "tv", "temporal"):
                if name in report.losses:
                    tf.summary.scalar(f"{where}frame/{name}", report.losses[name])
            tf.summary.scalar(f"{where}frame/seconds", report.seconds)
            if report.image.size:
                tf.summary.image(f"{where}stylized", np.clip(report.image, 0, 255).astype(np.uint8)[None])
        self.writer.flush()
