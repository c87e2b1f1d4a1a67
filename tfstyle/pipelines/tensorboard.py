"""TensorBoard logging: a :class:`TensorBoard` callback that writes one run to one subdirectory.

    result = tfstyle.stylize("photo.jpg", "painting.jpg", callbacks=[tfstyle.TensorBoard("runs")])

then ``tensorboard --logdir runs``. Each run gets a new subdirectory of ``logdir`` named
``<YYYYmmdd-HHMMSS>_<content>_<style>_<optimizer>_<size>px``, so runs sit side by side. Logged:

- scalars every ``scalar_every`` iterations and at the last: ``loss/total``, ``loss/content``,
  ``loss/style``, ``loss/tv``, ``content_loss/<layer>`` and ``style_loss/<layer>`` (each layer's
  unweighted CL_i / SL_i) and ``steps_per_second`` (since the previous point);
- images: ``stylized`` at step 0 (the starting image), every ``image_every`` iterations and at the
  last; ``input/content`` and ``input/style`` (as scaled for the run) once, at step 0;
- ``config``: the run's settings as a text table, once;
- ``optimization_step``: the traced graph of the compiled step (Graphs tab), from the first iteration.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfstyle.errors import ConfigError
from tfstyle.loop.callbacks import Callback, RunInfo, Step

_LOSS_TAGS = {"total": "loss/total", "content": "loss/content", "style": "loss/style", "tv": "loss/tv"}


class TensorBoard(Callback):
    """Writes losses, images, the config and the step's graph for TensorBoard under ``logdir``.

    ``scalar_every``: log the losses every N iterations (and the last). ``image_every``: log the
    image every N iterations (0: only the start and the last). ``run_name`` replaces the automatic
    subdirectory name. ``graph=False`` skips tracing the optimization step. After a run started,
    ``run_dir`` is its subdirectory; one instance reused for several runs makes one per run.
    """

    every = 1  # sees every iteration; its own schedules pick what to write

    def __init__(
        self,
        logdir: str | os.PathLike,
        scalar_every: int = 1,
        image_every: int = 0,
        run_name: str | None = None,
        graph: bool = True,
    ):
        if int(scalar_every) < 1:
            raise ConfigError(f"scalar_every must be 1 or more, got {scalar_every}")
        if int(image_every) < 0:
            raise ConfigError(f"image_every must be 0 or more, got {image_every}")
        self.logdir = _check_logdir(Path(logdir))
        self.scalar_every, self.image_every = int(scalar_every), int(image_every)
        self.run_name, self.graph = run_name, graph
        self.run_dir: Path | None = None
        self._run: RunInfo | None = None
        self._writer: tf.summary.SummaryWriter | None = None  # a run's, from on_start to on_end
        self._tracing = False
        self._last_scalar: tuple[int, float] = (0, 0.0)  # (iteration, seconds) of the previous point
        self._last_image = -1

    def set_run(self, run: RunInfo) -> None:
        self._run = run

    def on_start(self, iterations: int) -> None:
        self.run_dir = _make_unique_dir(self.logdir, self.run_name or run_name(self._run))
        writer = self._writer = tf.summary.create_file_writer(str(self.run_dir))
        self._last_scalar, self._last_image = (0, 0.0), -1
        run = self._run
        with writer.as_default(step=0):
            if run is not None:
                tf.summary.text("config", config_markdown(run, iterations), description="The run's settings.")
                self._image("input/content", run.content, "The content image, as scaled for the run.")
                self._image("input/style", run.style, "The style image, as scaled for the run.")
                self._image("stylized", run.start, _IMAGE_DESCRIPTION)
                self._last_image = 0
        writer.flush()
        if self.graph:
            # The compiled step is built on its first call, after on_start; trace_on records its graph.
            tf.summary.trace_on(graph=True, profiler=False)
            self._tracing = True
        self._run = None  # the next run hands its own

    def on_step(self, step: Step) -> None:
        if self._tracing:
            self._export_graph()
        last = step.iteration == step.iterations
        if step.iteration % self.scalar_every == 0 or last:
            self._write_scalars(step)
        if (self.image_every and step.iteration % self.image_every == 0) or last:
            self._write_image(step)

    def on_end(self, step: Step | None) -> None:
        if self._tracing:  # no iteration ran
            tf.summary.trace_off()
            self._tracing = False
        if self._writer is None:
            return
        if step is not None:  # a run stopped early: its last point and image
            if self._last_scalar[0] != step.iteration:
                self._write_scalars(step)
            if self._last_image != step.iteration:
                self._write_image(step)
        self._writer.close()
        self._writer = None

    @property
    def _open_writer(self) -> tf.summary.SummaryWriter:
        if self._writer is None:
            raise RuntimeError("TensorBoard writes during a run only, from on_start to on_end")
        return self._writer

    def _writing(self, step: int) -> AbstractContextManager[object]:
        return self._open_writer.as_default(step=step)

    def _export_graph(self) -> None:
        self._tracing = False
        with self._writing(step=0):
            tf.summary.trace_export("optimization_step", step=0)

    @staticmethod
    def _image(tag: str, images: np.ndarray | tf.Tensor, description: str) -> None:
        """One image or a batch (all of it), as uint8."""
        array = uint8_images(images)
        tf.summary.image(tag, array, max_outputs=len(array), description=description)

    def _write_scalars(self, step: Step) -> None:
        with self._writing(step=step.iteration):
            for name, value in step.losses.items():
                tag = _LOSS_TAGS.get(name) or _layer_tag(name)
                if tag:
                    tf.summary.scalar(tag, value)
            previous_iteration, previous_seconds = self._last_scalar
            elapsed = step.seconds - previous_seconds
            if elapsed > 0:
                tf.summary.scalar("steps_per_second", (step.iteration - previous_iteration) / elapsed)
        self._last_scalar = (step.iteration, step.seconds)
        self._open_writer.flush()

    def _write_image(self, step: Step) -> None:
        with self._writing(step=step.iteration):
            self._image("stylized", step.image, _IMAGE_DESCRIPTION)
        self._last_image = step.iteration
        self._open_writer.flush()


_IMAGE_DESCRIPTION = "The image being optimized; step 0 is where it starts."


def run_name(run: RunInfo | None, now: float | None = None) -> str:
    """``20240131-142501_tubingen_starry_night_lbfgs_512px``: sortable by time, says what ran."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    if run is None:
        return stamp
    parts = (stamp, _safe(run.content_name), _safe(run.style_name), run.config.optimizer, f"{run.config.image_size}px")
    return "_".join(parts)


def config_markdown(run: RunInfo, iterations: int) -> str:
    """The run as a Markdown table: inputs, device, then every :class:`StyleConfig` field."""
    (ch, cw), (sh, sw) = run.content.shape[-3:-1], run.style.shape[-3:-1]
    rows = [
        ("content", f"{run.content_name} ({cw}x{ch})"),
        ("style", f"{run.style_name} ({sw}x{sh})"),
        ("device", run.device or "?"),
    ]
    for field in dataclasses.fields(run.config):
        value = getattr(run.config, field.name)
        rows.append((field.name, ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)))
    rows.append(("effective learning rate", str(run.config.effective_learning_rate)))
    cells = "\n".join(f"| {name} | `{value.replace('|', '/')}` |" for name, value in rows)
    return f"| setting | value |\n|---|---|\n{cells}"


def _layer_tag(name: str) -> str | None:
    kind, _, layer = name.partition("/")
    return f"{kind}_loss/{layer}" if kind in ("content", "style") and layer else None


def uint8_images(images: np.ndarray | tf.Tensor) -> np.ndarray:
    """An image or a batch in [0, 255] as the uint8 batch ``tf.summary.image`` takes (rounded, clipped)."""
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[None]
    return np.clip(np.rint(array), 0, 255).astype(np.uint8)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:40] or "image"


def _check_logdir(logdir: Path) -> Path:
    """Fail before any work if runs cannot be written under ``logdir`` (which may not exist yet)."""
    existing = logdir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"logdir {logdir}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"logdir {logdir}: {existing} is not writable")
    return logdir


def _make_unique_dir(parent: Path, name: str) -> Path:
    """``parent/name``, or ``name-2``, ``name-3``... if taken; created here so no two runs share one."""
    parent.mkdir(parents=True, exist_ok=True)
    for index in range(1, 10_000):
        path = parent / (name if index == 1 else f"{name}-{index}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise ConfigError(f"logdir {parent}: too many runs named {name}")
