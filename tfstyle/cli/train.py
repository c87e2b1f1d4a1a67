"""The command line that trains a fast stylizer:
``python -m tfstyle.train --style PAINTING --photos FOLDER_OR_GLOB --output saved_models/NAME``.

The loss is a preset's (``--preset`` and its settings flags, as for a still); the training's own
settings are :class:`tfstyle.TrainConfig`'s fields, generated into flags like every other command's.
Checkpoints go beside the output (``NAME.training/``, with TensorBoard's logs); Ctrl-C keeps the last
one and ``--resume`` continues. Only reads flags: it calls :func:`tfstyle.training.loop.train`.
"""

from __future__ import annotations

from pathlib import Path

from absl import flags

from tfstyle.cli.command import Command
from tfstyle.cli.common import check_not_replacing, fail, import_tensorflow_quietly, stopped, style_paths
from tfstyle.cli.flags import config_from_flags, settings_from_flags

import_tensorflow_quietly()

from tfstyle.errors import ImageError, TfstyleError  # noqa: E402 - after the quiet import above
from tfstyle.loop.progress import Progress  # noqa: E402
from tfstyle.training.config import TrainConfig  # noqa: E402
from tfstyle.training.loop import StepReport, checkpoint_dir, train  # noqa: E402
from tfstyle.training.photos import find_photos  # noqa: E402

# The still's settings that shape the loss (and the seed, device and speed); the optimizer's
# (init, optimizer, learning rate, iterations) and the per-image controls have no meaning here.
LOSS_FIELDS = (
    "content_layers", "style_layers", "content_layer_weights", "style_layer_weights", "content_weight", "style_weight",
    "tv_weight", "content_target", "normalization", "image_size", "style_scale", "pooling", "seed", "weights", "device",
    "precision", "convolutions",
)  # fmt: skip

FLAGS = flags.FlagValues()
COMMAND = Command(
    "python -m tfstyle.train",
    "--style=PAINTING --photos=FOLDER|GLOB --output=saved_models/NAME [flags]",
    "Trains a fast stylizer for one painting: a feed-forward network (Johnson et al. 2016) that stylizes a photo in "
    "one pass, trained on random crops of your photos with tfstyle's own loss. Writes a SavedModel to --output and "
    "a LiteRT model beside it (NAME.tflite). Ctrl-C keeps the last checkpoint; --resume continues.",
    FLAGS,
)

# fmt: off
COMMAND.style()
COMMAND.own("inputs and output", flags.DEFINE_string, "photos", None, "The photos to train on: a folder (its image files) or "
            "a glob such as 'photos/*.jpg' (quote it). Unreadable files are skipped and counted.", "FOLDER|GLOB", required=True)
COMMAND.own("inputs and output", flags.DEFINE_string, "output", None, "The SavedModel folder to write (NAME.tflite goes beside "
            "it, checkpoints and TensorBoard logs in NAME.training/).", "FOLDER", required=True)
COMMAND.overwrite(one_output=True)
COMMAND.settings(LOSS_FIELDS, preset_help=" (the loss the network is trained on)")
COMMAND.more_settings(TrainConfig)
COMMAND.own("large images and resuming", flags.DEFINE_bool, "resume", False, "Continue from the last checkpoint in "
            "NAME.training/ (the same settings; --steps may grow).")
COMMAND.own("large images and resuming", flags.DEFINE_integer, "checkpoint_every", 50, "Save a checkpoint every N steps "
            "(0: only at the end and on Ctrl-C).", "N", minimum=0)
COMMAND.own("inputs and output", flags.DEFINE_integer, "preview_every", 100, "Stylize the held-out photos into TensorBoard "
            "every N steps (0: never).", "N", minimum=0)
COMMAND.own("inputs and output", flags.DEFINE_string, "logdir", None, "TensorBoard folder (default: NAME.training/logs).", "FOLDER")
# fmt: on


def main(argv: list[str]) -> int:
    """Train what the parsed flags ask for; return the exit status."""
    if len(argv) > 1:
        return fail(f"unexpected argument(s): {' '.join(argv[1:])} (flags look like --photos=photos/)")
    progress: list[Progress] = []
    try:
        styles = style_paths(FLAGS.style)
        if len(styles) != 1:
            raise ImageError(f"a fast stylizer learns one painting; --style names {len(styles)}")
        if not Path(styles[0]).is_file():
            raise ImageError(f"style image not found: {styles[0]}")
        output = Path(FLAGS.output)
        check_not_replacing(output, FLAGS.overwrite, FLAGS.resume)
        loss, config = config_from_flags(FLAGS), settings_from_flags(FLAGS, TrainConfig)
        photos = find_photos(FLAGS.photos)
        skipped = f"; skipped {len(photos.skipped)} unreadable: " + ", ".join(Path(p).name for p, _ in photos.skipped) if photos.skipped else ""
        print(f"training on {len(photos.paths) - config.holdout} photos ({config.holdout} held out){skipped}")
        print(f"checkpoints and TensorBoard logs: {checkpoint_dir(output)}")
        bar = Progress(config.steps, "steps", unit="steps")
        progress.append(bar)

        def report(step: StepReport) -> None:
            losses = "  ".join(f"{name} {value:.3g}" for name, value in step.losses.items() if value or name == "total")
            bar.advance(step.step, losses, seconds=step.seconds, rated=step.taken)  # a resumed run's rate is its own
            if FLAGS.checkpoint_every and step.step % FLAGS.checkpoint_every == 0:  # a line that stays, in logs too
                bar.keep(f"step {step.step}/{config.steps}: {losses}  ({bar.rate()}, {bar.eta() or 'done'}; checkpoint saved)")

        path = train(
            styles[0], photos, output, config, loss, resume=FLAGS.resume, checkpoint_every=FLAGS.checkpoint_every,
            preview_every=FLAGS.preview_every, logdir=FLAGS.logdir, report=report,
        )  # fmt: skip
    except (KeyboardInterrupt, TfstyleError) as err:
        kept = f"the last checkpoint is kept: add --resume to go on ({checkpoint_dir(FLAGS.output)})"
        return stopped(err, progress, f"interrupted; {kept}")
    done = f"trained {config.steps} steps ({progress[0].rate()})" if progress[0].rated else f"the checkpoint holds {config.steps} steps"
    print(f"{done}; written to {path} and {path.name}.tflite beside it")
    return 0


cli, entry_point = COMMAND.programs(main)
