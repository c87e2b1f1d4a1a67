"""Training the transform network on tfstyle's own objective (Johnson et al.'s perceptual losses).

For a batch of photo crops x, the network gives ŷ = f(x) and the loss is the still image's
objective with the photo as the content: Total = a·Σ w_i·CL_i(ŷ, x) + b·Σ z_i·SL_i(ŷ, style)
+ tv·TV(ŷ), computed by :func:`tfstyle.objective.whole.loss_fn_of` on the same feature model, one
value per crop, averaged over the batch. Adam on the network's weights. The photo stream is a pure
function of the seed and the step (:func:`tfstyle.training.photos.crops`), so a run resumed from a
checkpoint takes the steps an uninterrupted one would have.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfstyle.config import StyleConfig
from tfstyle.errors import CheckpointError, NonFiniteLossError
from tfstyle.fast import stylizer
from tfstyle.fast.network import stylize_any_size, transform_network
from tfstyle.inputs import images as imageio
from tfstyle.loop.optimize import feature_model_for_run
from tfstyle.network.features import check_image_size
from tfstyle.objective.losses import gram_matrix
from tfstyle.objective.targets import content_activations
from tfstyle.objective.whole import Targets, loss_fn_of
from tfstyle.training.board import TrainingBoard
from tfstyle.training.config import TrainConfig
from tfstyle.training.photos import Photos, crops, hold_out

REFERENCE_ASPECT = 0.75  # the style's scale is a still's of a 4:3 photo at `image_size`
SETTINGS_FILE = "settings.json"


@dataclass(frozen=True)
class StepReport:
    """A training step done: its number (from 1), the batch's mean losses, the seconds since the run
    (re)started and the steps taken in them (fewer than ``step`` after a resume)."""

    step: int
    losses: dict[str, float]
    seconds: float
    taken: int


class Training:
    """The network, its optimizer and step counter (what a checkpoint holds), the fixed style
    targets A_i, and the compiled training step. ``loss`` gives the objective and the seed; its
    ``image_size`` and ``style_scale`` scale the style as for a still of that size."""

    def __init__(self, style_image: np.ndarray, photos: Photos, config: TrainConfig, loss: StyleConfig):
        self.config, self.loss, self.photos = config, loss, photos
        self.features = feature_model_for_run(None, loss)
        area = loss.image_size**2 * REFERENCE_ASPECT * loss.style_scale**2
        style = imageio.resize_to_area(style_image, area)
        check_image_size(style.shape, loss.layers_in_use(), "style image", "raise `image_size` or `style_scale`")
        check_image_size((config.crop_size,) * 2, loss.layers_in_use(), "crop", "raise `crop_size`")
        self.style = tf.constant(style[None])
        self.style_targets = self._style_targets()
        self.network = transform_network(config.network_width, loss.seed)
        self.optimizer = keras.optimizers.Adam(config.step_size)
        self.optimizer.build(self.network.trainable_variables)  # its moments exist before a checkpoint restores them
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self._train_step = tf.function(self._step, autograph=False)

    def _style_targets(self) -> dict[str, tf.Tensor]:
        """A_i of the style image; under the paper's plain sums, rescaled to a crop's pixel count."""
        features = self.features(self.style)
        ratio = self.config.crop_size**2 / (self.style.shape[1] * self.style.shape[2])
        scale = ratio if self.loss.normalization == "paper" else 1.0
        return {
            name: tf.stop_gradient(gram_matrix(features[name], self.loss.normalization)) * tf.cast(scale, features[name].dtype)
            for name in self.loss.style_terms()
        }

    def losses(self, photos: tf.Tensor, stylized: tf.Tensor) -> dict[str, tf.Tensor]:
        """The objective of ``stylized`` as the stylization of ``photos``, one value per image."""
        content = content_activations(
            self.features, photos, [self.style], (1.0,), list(self.loss.content_terms()), self.loss.content_target
        )
        return loss_fn_of(self.features, Targets(content, self.style_targets, (1.0,)), self.loss)(stylized)

    def _step(self, photos: tf.Tensor) -> dict[str, tf.Tensor]:
        """One Adam update, taken only if the loss and every gradient are finite."""
        with tf.GradientTape() as tape:
            losses = self.losses(photos, self.network(photos, training=True))
            total = tf.reduce_mean(losses["total"])
        variables = self.network.trainable_variables
        gradients = tape.gradient(total, variables)
        finite = tf.reduce_all([tf.math.is_finite(total), *[tf.reduce_all(tf.math.is_finite(g)) for g in gradients]])
        taken = tf.cond(finite, lambda: self._apply(gradients, variables), lambda: tf.constant(False))
        self.step.assign_add(tf.cast(taken, tf.int64))
        means = {name: tf.reduce_mean(value) for name, value in losses.items() if "/" not in name}
        return {**means, "taken": tf.cast(taken, tf.float32)}

    def _apply(self, gradients: list[tf.Tensor], variables: list[tf.Variable]) -> tf.Tensor:
        self.optimizer.apply_gradients(zip(gradients, variables))
        return tf.constant(True)

    def batches(self) -> tf.data.Dataset:
        """The crops from the current step on."""
        c = self.config
        start = int(self.step.numpy())
        return crops(self.photos.paths, c.crop_size, self.loss.image_size, c.scale_jitter, c.batch, self.loss.seed, start)

    def run(self, report: Callable[[StepReport], None] | None = None) -> None:
        """Train up to ``config.steps``, calling ``report`` after every step."""
        start, first = time.perf_counter(), int(self.step.numpy())
        if first >= self.config.steps:
            return
        for photos in self.batches():
            values = {k: float(v) for k, v in self._train_step(photos).items()}
            step = int(self.step.numpy())
            if not values.pop("taken"):
                raise NonFiniteLossError(f"the loss or its gradient became NaN or infinite at training step {step + 1}", None)
            if report:
                report(StepReport(step, values, time.perf_counter() - start, step - first))
            if step >= self.config.steps:
                return

    def stylize(self, image: np.ndarray) -> np.ndarray:
        """One image ``[height, width, 3]`` through the network as it is now (any size)."""
        pixels = stylize_any_size(self.network, tf.constant(image[None], tf.float32))
        return np.clip(pixels[0].numpy(), 0.0, 255.0)

    def checkpoint(self) -> tf.train.Checkpoint:
        return tf.train.Checkpoint(network=self.network, optimizer=self.optimizer, step=self.step)


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_settings(style: str | os.PathLike, photos: Photos, config: TrainConfig, loss: StyleConfig) -> dict[str, Any]:
    """What decides a training run but its step count: recorded beside its checkpoints and in its
    export (``TrainConfig.from_dict`` and ``StyleConfig.from_dict`` read the settings back)."""
    training = config.to_dict()
    training.pop("steps")
    return {"training": training, "loss": loss.to_dict(), "style_sha256": file_sha256(style),
            "photos": [os.path.basename(p) for p in photos.paths]}  # fmt: skip


def checkpoint_dir(output: str | os.PathLike) -> Path:
    """Where a training run toward ``output`` keeps its checkpoints and logs: ``<output>.training`` beside it."""
    path = Path(os.path.abspath(output))
    return path.with_name(path.name + ".training")


def check_resumable(directory: Path, settings: dict[str, Any]) -> None:
    """Refuse to resume checkpoints made with other settings, naming those that differ."""
    path = directory / SETTINGS_FILE
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise CheckpointError(f"{directory} has checkpoints but no readable {SETTINGS_FILE}; train again without `resume`") from None
    saved_flat, flat = _flatten(saved), _flatten(settings)
    differ = sorted(k for k in saved_flat.keys() | flat.keys() if saved_flat.get(k) != flat.get(k))
    if differ:
        raise CheckpointError(
            f"the checkpoints in {directory} were made with other settings ({', '.join(differ)}); "
            "train with those, or into another `output`"
        )


def _flatten(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"training": {"batch": 4}}`` → ``{"training.batch": 4}``."""
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def train(
    style: str | os.PathLike,
    photos: Photos,
    output: str | os.PathLike,
    config: TrainConfig | None = None,
    loss: StyleConfig | None = None,
    *,
    resume: bool = False,
    checkpoint_every: int = 50,
    preview_every: int = 100,
    logdir: str | os.PathLike | None = None,
    report: Callable[[StepReport], None] | None = None,
) -> Path:
    """Train a fast stylizer for the painting ``style`` on ``photos`` (:func:`find_photos`) and
    export it to ``output`` (a SavedModel folder, and ``output.tflite`` beside it); return its path.

    ``loss`` (default: the ``default`` preset) is the objective and the seed, ``config`` the
    training. The run checkpoints into :func:`checkpoint_dir` every ``checkpoint_every`` steps (0:
    only at the end), at the end and on Ctrl-C (``KeyboardInterrupt`` is re-raised after the save);
    ``resume`` continues from its latest checkpoint, which must come from the same settings (the step
    count may grow). TensorBoard logs go to ``logdir`` (default: ``logs`` in the checkpoint folder),
    the held-out photos stylized every ``preview_every`` steps (0: never); ``report`` sees every step.
    """
    config, loss = config or TrainConfig(), loss or StyleConfig()
    stylizer.check_output(output)
    trained_on, held_out = hold_out(photos, config.holdout, loss.seed)
    training = Training(imageio.load_image(style, "style image"), trained_on, config, loss)
    settings = run_settings(style, trained_on, config, loss)
    directory = checkpoint_dir(output)
    manager = tf.train.CheckpointManager(training.checkpoint(), str(directory), max_to_keep=2)
    if manager.latest_checkpoint:
        if not resume:
            raise CheckpointError(
                f"{directory} holds the checkpoints of an earlier run; `resume` continues it, or remove the folder"
            )
        check_resumable(directory, settings)
        training.checkpoint().restore(manager.latest_checkpoint).assert_existing_objects_matched()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    previews = {Path(p).stem: imageio.resize_longest_side(imageio.load_image(p), loss.image_size) for p in held_out}
    board = TrainingBoard(Path(logdir) if logdir else directory / "logs", previews)

    def after(step: StepReport) -> None:
        board.losses(step.step, step.losses)
        if preview_every and step.step % preview_every == 0:
            board.stylized(step.step, training.stylize)
        if checkpoint_every and step.step % checkpoint_every == 0:
            manager.save(checkpoint_number=step.step)
        if report:
            report(step)

    try:
        training.run(after)
    except KeyboardInterrupt:
        manager.save(checkpoint_number=int(training.step.numpy()))
        raise
    finally:
        board.close()
    steps = int(training.step.numpy())
    if not (manager.latest_checkpoint or "").endswith(f"-{steps}"):
        manager.save(checkpoint_number=steps)
    info = {"settings": settings, "steps": steps, "held_out": [os.path.basename(p) for p in held_out]}
    return stylizer.export(training.network, output, info)
