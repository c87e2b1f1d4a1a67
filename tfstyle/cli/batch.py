"""The command line for folders: ``python -m tfstyle.batch --content_dir photos --style painting.jpg --output_dir out``.

Stylizes every image of a folder (``--content_dir``), a glob (``--content_glob``) or a list file
(``--content_list``) into ``--output_dir`` as ``<name>.png``, several images per step. Resumable:
an image whose output exists is skipped, so the same command continues a stopped run. An image
that fails is reported and the others go on; the summary counts the images done, skipped and
failed, and the exit status is 1 if any failed. With ``--model`` and no ``--style`` a fast stylizer
paints each image in one pass; with both, the optimization refines its picture (``--init model``). With several GPUs (or ``--devices``) the batch is
spread with ``tf.distribute.MirroredStrategy``; several machines are ``tfstyle.beam``'s. Only reads
flags: it builds a :class:`tfstyle.StyleConfig` and calls :func:`tfstyle.scale.folder.stylize_folder`.

The flags live in their own ``FlagValues`` (``tfstyle.run`` and ``tfstyle.export`` may share a
process with this one). The settings flags are generated from the config's fields, as
``tfstyle.run``'s are (:mod:`tfstyle.cli.flags`), so both take the same.
"""

from __future__ import annotations

import sys
from pathlib import Path

from absl import flags

from tfstyle.cli.command import Command
from tfstyle.cli.common import fail, import_tensorflow_quietly, stopped, styles_or_model
from tfstyle.cli.flags import FIELDS, config_from_flags

import_tensorflow_quietly()

from tfstyle.errors import ImageError, TfstyleError  # noqa: E402 - after the quiet import above
from tfstyle.scale.distribute import strategy_for  # noqa: E402
from tfstyle.scale.folder import (  # noqa: E402
    FolderInterrupted,
    FolderProgress,
    FolderSummary,
    find_images,
    stylize_folder,
)

FLAGS = flags.FlagValues()
COMMAND = Command(
    "python -m tfstyle.batch",
    "(--content_dir=FOLDER | --content_glob=GLOB | --content_list=FILE) (--style=PAINTING | --model=NAME) --output_dir=FOLDER [flags]",
    "Stylizes every image of a folder, a glob or a list file into --output_dir, several images per step and "
    "over every GPU. An image whose output exists is skipped, so the same command continues a stopped run; an "
    "image that fails is reported and the others go on (exit status 1 if any failed). With --model and no --style, a fast "
    "stylizer paints each image in one pass; with both, the optimization refines the fast picture.",
    FLAGS,
)

# fmt: off
COMMAND.own("inputs and output", flags.DEFINE_string, "content_dir", None, "Folder of content images (the image files in "
            "it, not in its subfolders).", "FOLDER")
COMMAND.own("inputs and output", flags.DEFINE_string, "content_glob", None, "Glob of content images, e.g. 'photos/**/*.jpg' "
            "(quote it; ** recurses).", "GLOB")
COMMAND.own("inputs and output", flags.DEFINE_string, "content_list", None, "File listing content images, one path a line "
            "(relative to the file's folder; # starts a comment).", "FILE")
COMMAND.style(or_model=True)
COMMAND.own("inputs and output", flags.DEFINE_string, "output_dir", None, "Folder for the results, <name>.<format> each "
            "(created if missing).", "FOLDER", required=True)
COMMAND.results_format()
COMMAND.settings(name for name in FIELDS if name != "device")  # --devices decides where
COMMAND.own("speed", flags.DEFINE_integer, "batch_size", None, "Images optimized together per step, split over the devices "
            "(default: 4 per device). Images whose size after scaling differs run in different batches.", "N", minimum=1)
COMMAND.own("speed", flags.DEFINE_string, "devices", "auto", "Where to run: auto (every GPU, else the CPU), one (the first "
            "device), or a comma-separated list such as GPU:0,GPU:1. Several devices spread each batch with "
            "MirroredStrategy (several machines: python -m tfstyle.beam). lbfgs runs on one device.", "auto|one|DEVICE,...")
COMMAND.overwrite(one_output=False)
# fmt: on


def main(argv: list[str]) -> int:
    """Stylize what the parsed flags ask for; return the exit status."""
    if len(argv) > 1:
        return fail(f"unexpected argument(s): {' '.join(argv[1:])} (flags look like --content_dir=photos)")
    try:
        styles, config = styles_or_model(FLAGS.style, config_from_flags(FLAGS), bool(FLAGS["init"].present))
        sources = find_images(FLAGS.content_dir, FLAGS.content_glob, FLAGS.content_list)
        for path in styles:
            if not Path(path).exists():
                raise ImageError(f"style image not found: {path}")
        strategy = None if config.tile_size else strategy_for(FLAGS.devices)
        summary = stylize_folder(
            sources,
            (styles if len(styles) > 1 else styles[0]) if styles else None,
            FLAGS.output_dir,
            config,
            batch_size=FLAGS.batch_size,
            strategy=strategy,
            suffix=f".{FLAGS.format}",
            overwrite=FLAGS.overwrite,
            progress=FolderProgress(),
        )
    except FolderInterrupted as stop:
        print(f"\ninterrupted: {_counts(stop.summary)}; run the same command again to go on", file=sys.stderr)
        return 130
    except (KeyboardInterrupt, TfstyleError) as err:
        return stopped(err, (), "interrupted before any image was done")
    print(
        f"{_counts(summary)} in {summary.seconds / 60:.1f} min "
        f"({summary.images_per_minute:.1f} images/min on {summary.device}); results in {FLAGS.output_dir}"
    )
    if summary.failed:
        return fail(f"{summary.failed} image{'s' if summary.failed != 1 else ''} failed (listed above)")
    return 0


def _counts(summary: FolderSummary) -> str:
    return f"{summary.done} done, {summary.skipped} skipped, {summary.failed} failed"


cli, entry_point = COMMAND.programs(main)

