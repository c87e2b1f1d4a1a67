"""The command line: ``python -m tfstyle.run --content photo.jpg --style painting.jpg``.

Reads its flags (the settings flags are generated from :class:`tfstyle.StyleConfig`'s fields by
:mod:`tfstyle.cli.flags`), turns them into a config and calls :func:`tfstyle.stylize`. Errors a
user can cause print one line on stderr and exit with status 1; Ctrl-C saves the current image
and exits with status 130.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from absl import app, flags

from tfstyle.cli.command import Command
from tfstyle.cli.common import (
    check_not_replacing,
    exit_status,
    import_tensorflow_quietly,
    quiet_on_a_closed_pipe,
    styles_or_model,
)
from tfstyle.cli.common import fail as _fail
from tfstyle.cli.flags import config_from_flags

import_tensorflow_quietly()

import tfstyle  # noqa: E402 - after the quiet import above
from tfstyle.errors import (  # noqa: E402
    ConfigError,
    ImageError,
    NonFiniteLossError,
    StyleInterrupted,
    TfstyleError,
)
from tfstyle.inputs.images import check_writable, save_image  # noqa: E402
from tfstyle.loop.callbacks import InterruptBetweenSteps  # noqa: E402
from tfstyle.loop.checkpoint import Checkpointing, latest_step  # noqa: E402

FLAGS = flags.FLAGS
COMMAND = Command(
    "python -m tfstyle.run",
    "--content=PHOTO (--style=PAINTING | --model=NAME) [--output=FILE] [flags]",
    "Paints the photo in the style of the painting and writes the result. The settings start from the --preset; "
    "the flags given override it. With --model and no --style, a fast stylizer paints it in one pass; with both, "
    "the optimization refines the fast picture. Ctrl-C saves the image as it is; a bad input is one line and exit status 1.",
    FLAGS,
)

# fmt: off
COMMAND.own("inputs and output", flags.DEFINE_string, "content", None, "Content image (a photo) to stylize.", "PATH", required=True)
COMMAND.style(or_model=True)
COMMAND.own("inputs and output", flags.DEFINE_string, "output", None, "Where to write the result (.png, .jpg, ...). "
            "Default: <content name>_stylized.png next to the content image.", "FILE")
COMMAND.overwrite(one_output=True)
COMMAND.settings()
COMMAND.own("inputs and output", flags.DEFINE_integer, "save_every", 0, "Also write the image every N iterations as "
            "<output>_<iteration>.<ext> (0: never).", "N", minimum=0)
COMMAND.own("inputs and output", flags.DEFINE_integer, "print_every", 50, "Print the losses every N iterations "
            "(0: only the progress bar on a terminal).", "N", minimum=0)
COMMAND.own("inputs and output", flags.DEFINE_string, "logdir", None, "Write TensorBoard logs to a new subdirectory of this "
            "folder: the losses every --print_every iterations (every one if 0), the image at the start, every --save_every "
            "iterations and the end, the inputs, the config and the graph. Watch with: tensorboard --logdir <folder>.", "FOLDER")
COMMAND.own("creative controls", flags.DEFINE_string, "content_mask", None, "Grayscale image with the content's aspect ratio: "
            "where the content loss applies (white: kept as in the photo; black: free for the style). Default: everywhere.", "PATH")
COMMAND.own("creative controls", flags.DEFINE_list, "style_masks", None, "Comma-separated grayscale images, one per --style, "
            "with the content's aspect ratio: where each style applies (white inside, black outside).", "PATH,...")
COMMAND.own("large images and resuming", flags.DEFINE_integer, "checkpoint_every", 0, "Save a checkpoint (the image, the "
            "optimizer's state and the step) every N iterations, when the run ends and on Ctrl-C, in --checkpoint_dir "
            "(0: none, unless --resume).", "N", minimum=0)
COMMAND.own("large images and resuming", flags.DEFINE_bool, "resume", False, "Continue from the checkpoint in --checkpoint_dir "
            "where it stopped (sgd and adam exactly; lbfgs from the saved image with a fresh L-BFGS memory), saving as it goes; "
            "without a checkpoint, start from the beginning.")
COMMAND.own("large images and resuming", flags.DEFINE_string, "checkpoint_dir", None, "Folder of the checkpoints. "
            "Default: <output name>_checkpoint beside the output.", "FOLDER")
# fmt: on


def default_output(content: str) -> Path:
    path = Path(content)
    return path.with_name(f"{path.stem}_stylized.png")


def checkpointing_from_flags(output: Path, values: flags.FlagValues = FLAGS) -> Checkpointing | None:
    """``--checkpoint_every``, ``--resume`` and ``--checkpoint_dir`` as a :class:`tfstyle.Checkpointing`
    (None when neither of the first two is given); prints where a resumed run continues."""
    if not values.checkpoint_every and not values.resume:
        if values["checkpoint_dir"].present:
            raise ConfigError("--checkpoint_dir needs --checkpoint_every or --resume")
        return None
    directory = Path(values.checkpoint_dir) if values.checkpoint_dir else output.with_name(f"{output.stem}_checkpoint")
    if values.resume:
        step = latest_step(directory)
        print(f"resuming from iteration {step} (checkpoint in {directory})" if step is not None
              else f"no checkpoint in {directory} yet; starting from the beginning")  # fmt: skip
    return Checkpointing(directory, every=values.checkpoint_every, resume=values.resume)


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        return _fail(f"unexpected argument(s): {' '.join(argv[1:])} (flags look like --content=photo.jpg)")
    output = Path(FLAGS.output) if FLAGS.output else default_output(FLAGS.content)
    try:
        config = config_from_flags()
        styles, config = styles_or_model(FLAGS.style, config, init_given=bool(FLAGS["init"].present))
        inputs = [("content", FLAGS.content), *(("style", path) for path in styles)]
        for what, path in inputs:  # before the output check: the default output is beside the content
            if not Path(path).exists():
                raise ImageError(f"{what} image not found: {path}")
        check_writable(output)
        for what, path in inputs:
            if output.exists() and output.samefile(path):
                raise ImageError(f"--output {output} is the {what} image; choose another file")
        check_not_replacing(output, FLAGS.overwrite, FLAGS.resume)
        if not styles:
            return _fast(FLAGS.content, output, config)
        checkpoint = checkpointing_from_flags(output)
        callbacks: list[tfstyle.Callback] = [tfstyle.ProgressBar(print_every=FLAGS.print_every), InterruptBetweenSteps()]
        if FLAGS.save_every:
            callbacks.append(tfstyle.SaveEvery(output, FLAGS.save_every))
        board = None
        if FLAGS.logdir:
            board = tfstyle.TensorBoard(FLAGS.logdir, scalar_every=FLAGS.print_every or 1, image_every=FLAGS.save_every)
            callbacks.append(board)
        result = tfstyle.stylize(
            FLAGS.content, styles if len(styles) > 1 else styles[0], config, callbacks=callbacks,
            content_mask=FLAGS.content_mask, style_masks=FLAGS.style_masks, checkpoint=checkpoint,
        )
        result.save(output)
    except StyleInterrupted as stop:
        stop.result.save(output)
        print(f"\ninterrupted after {stop.result.iterations} iterations; saved the current image to {output}", file=sys.stderr)
        if checkpoint is not None:
            print(f"the checkpoint is in {checkpoint.directory}; the same command with --resume continues", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # before the first iteration (loading images, building the model)
        print(f"\ninterrupted before the run finished; {output} was not written", file=sys.stderr)
        return 130
    except NonFiniteLossError as err:
        if not err.result.iterations:
            return _fail(f"{err}; {output} was not written")
        err.result.save(output)
        return _fail(f"{err}; saved it to {output}")
    except TfstyleError as err:
        return _fail(str(err))
    height, width = result.image.shape[:2]
    iterations = f"{result.iterations} iteration" if result.iterations == 1 else f"{result.iterations} iterations"
    print(
        f"wrote {output} ({width}x{height}): {iterations} in {result.seconds:.1f} s "
        f"({result.iterations / max(result.seconds, 1e-9):.2f} it/s) on {result.device.split('device:')[-1]}; "
        f"content {result.final_losses['content']:.4g}, style {result.final_losses['style']:.4g}"
    )
    if result.stopped:
        print(f"note: stopped early: {result.stopped}")
    if board is not None and board.run_dir is not None:
        print(f"TensorBoard logs in {board.run_dir}; watch with: tensorboard --logdir {FLAGS.logdir}")
    return 0


def _fast(content: str, output: Path, config: tfstyle.StyleConfig) -> int:
    """The fast stylizer ``config.model``'s picture of ``content`` at ``config.image_size``, written to ``output``."""
    assert config.model is not None, "the fast path needs a model"
    stylizer = tfstyle.FastStylizer.load(config.model, config.precision)
    start = time.perf_counter()
    image = stylizer(content, image_size=config.image_size)
    seconds = time.perf_counter() - start
    save_image(image, output)
    height, width = image.shape[:2]
    print(f"wrote {output} ({width}x{height}) with the fast stylizer {stylizer.name} ({stylizer.precision}) in {seconds:.2f} s")
    return 0


def parse_flags(argv: list[str]) -> list[str]:
    """absl's parsing, with ``--help`` answered and a flag error reported as one line."""
    return COMMAND.parse(argv)


def entry_point() -> None:
    quiet_on_a_closed_pipe(lambda: app.run(main, flags_parser=parse_flags))


def cli(argv: list[str]) -> int:
    """The command line in-process: parse ``argv`` (``argv[0]`` is the program name), run
    :func:`main` and return the exit status instead of exiting. For tests and embedding."""
    app.define_help_flags()  # --help, --helpfull as under app.run
    return exit_status(lambda: main(parse_flags(argv)))

