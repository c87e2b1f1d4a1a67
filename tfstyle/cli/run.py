"""The command line: ``python -m tfstyle.run --content photo.jpg --style painting.jpg``.

The only module that reads flags: it turns them into a :class:`tfstyle.StyleConfig` and calls
:func:`tfstyle.stylize`. Errors a user can cause print one line on stderr and exit with status 1;
Ctrl-C saves the current image and exits with status 130.
"""

from __future__ import annotations

import sys
from pathlib import Path

from absl import app, flags

from tfstyle.cli.common import (
    exit_status,
    import_tensorflow_quietly,
    parse_float,
    quiet_on_a_closed_pipe,
)
from tfstyle.cli.common import fail as _fail

import_tensorflow_quietly()

import tfstyle  # noqa: E402 - after the quiet import above
from tfstyle.config import preset  # noqa: E402
from tfstyle.errors import (  # noqa: E402
    ConfigError,
    ImageError,
    NonFiniteLossError,
    StyleInterrupted,
    TfstyleError,
)
from tfstyle.inputs.images import check_writable  # noqa: E402
from tfstyle.loop.checkpoint import Checkpointing, latest_step  # noqa: E402

# fmt: off
flags.DEFINE_string("content", None, "Content image (a photo) to stylize. Required.")
flags.DEFINE_string("style", None, "Style image (a painting) whose style is transferred, or comma-separated images to blend "
                    "(see --style_blend_weights). Required.")
flags.DEFINE_string("output", None, "Where to write the result (.png, .jpg, ...). Default: <content name>_stylized.png next to the content image.")
flags.DEFINE_enum("preset", "default", ["default", "paper", "gatys"],
                  "Settings to start from; the flags below override them. default: the paper's layers, tuned for a good image in few iterations; "
                  "paper: Yu & Chang as published (conv1_2,conv3_3,conv5_3, a=1, b=10, plain sums, gradient descent); "
                  "gatys: Gatys et al. (style conv1_1..conv5_1, content conv4_2, noise init, L-BFGS).")
flags.DEFINE_integer("image_size", None, "Longest side of the output in pixels (default 512). The style image is scaled to the same number of pixels.")
flags.DEFINE_integer("iterations", None, "Optimization iterations (default: the preset's).")
flags.DEFINE_list("content_layers", None, "Comma-separated VGG16 layers for the content loss, paper (conv3_3) or Keras (block3_conv3) names.")
flags.DEFINE_list("style_layers", None, "Comma-separated VGG16 layers for the style loss.")
flags.DEFINE_list("content_layer_weights", None, "Comma-separated w_i, one per content layer (default: equal, 1/n). A zero weight skips the layer.")
flags.DEFINE_list("style_layer_weights", None, "Comma-separated z_i, one per style layer (default: equal, 1/n). A zero weight skips the layer.")
flags.DEFINE_float("content_weight", None, "a: weight of the content loss in Total = a*CL + b*SL.")
flags.DEFINE_float("style_weight", None, "b: weight of the style loss in Total = a*CL + b*SL.")
flags.DEFINE_float("tv_weight", None, "Weight of the total-variation smoothness term (0 keeps the paper's loss).")
flags.DEFINE_string("init", None, "Starting image: content (the paper), noise (white noise, seeded), style, or a path to an image.")
flags.DEFINE_enum("optimizer", None, ["sgd", "adam", "lbfgs"], "sgd (the paper's plain gradient descent), adam, or lbfgs (L-BFGS-B).")
flags.DEFINE_float("learning_rate", None, "Step size for sgd and adam (default: one that works for each; lbfgs ignores it).")
# Speed (docs/performance.md): how fast the same objective is optimized.
flags.DEFINE_enum("precision", None, ["auto", "float32", "bfloat16", "float16"],
                  "Arithmetic of VGG16's layers; the losses and the image stay float32. float32; bfloat16 (about 4x faster on CPUs "
                  "with AVX512-BF16 or AMX); float16 (GPUs only); auto: the fastest measured for the device. Default: the preset's.")
flags.DEFINE_boolean("jit", None, "XLA-compile the optimization step (--nojit: do not). Default: per device, as measured (off on CPUs).")
flags.DEFINE_integer("scales", None, "Coarse-to-fine passes: optimize at image_size/2^(N-1) first, upsample, refine at each doubled size up "
                     "to --image_size. The iterations are split over the passes, each coarser pass getting twice the next finer one's. "
                     "Default: the preset's (1: one pass at full size).")
flags.DEFINE_integer("seed", None, "Random seed for the noise init (default 0).")
flags.DEFINE_string("weights", None, "VGG16 weights: a path to vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, or 'imagenet' "
                    "($TFSTYLE_VGG16_WEIGHTS if set, else keras' download). Default: imagenet.")
flags.DEFINE_integer("save_every", 0, "Also write the image every N iterations as <output>_<iteration>.<ext> (0: never).")
flags.DEFINE_integer("print_every", 50, "Print the losses every N iterations (0: only the progress bar on a terminal).")
flags.DEFINE_string("logdir", None, "Write TensorBoard logs to a new subdirectory of this folder: the losses every --print_every iterations "
                    "(every one if 0), the image at the start, every --save_every iterations and the end, the inputs, the config and the "
                    "graph. Watch with: tensorboard --logdir <folder>.")
# Creative controls (README "Creative controls").
flags.DEFINE_list("style_blend_weights", None, "With several --style images: comma-separated weights, one per style, normalized to sum "
                  "to 1 (default: equal). Each layer's style target is the blend of the styles' Gram matrices.")
flags.DEFINE_float("style_scale", None, "Size of the style image relative to the output (default 1: the same number of pixels; 0.5: "
                   "half the width and height, smaller brush strokes; 2: larger ones).")
flags.DEFINE_enum("preserve_colors", None, ["luminance", "histogram"], "Keep the content's colours. luminance: transfer the style on "
                  "the luminance only and keep the content's colour (Gatys et al. 2017); histogram: match the style image's colours "
                  "(mean and covariance) to the content's before the transfer.")
flags.DEFINE_string("content_mask", None, "Grayscale image with the content's aspect ratio: where the content loss applies (white: "
                    "kept as in the photo; black: free for the style). Default: everywhere.")
flags.DEFINE_list("style_masks", None, "Comma-separated grayscale images, one per --style, with the content's aspect ratio: where "
                  "each style applies (white inside, black outside).")
flags.DEFINE_enum("pooling", None, ["max", "avg"], "VGG16's pooling: max (as trained) or avg (average pooling, as Gatys et al. used).")
flags.DEFINE_float("noise_blend", None, "Start from (1-t)*init + t*white noise (seeded by --seed), t in [0, 1] (default 0).")
# Resuming and large images (README "Resuming and large images").
flags.DEFINE_integer("checkpoint_every", 0, "Save a checkpoint (the image, the optimizer's state and the step) every N iterations, "
                     "when the run ends and on Ctrl-C, in --checkpoint_dir (0: none, unless --resume).")
flags.DEFINE_bool("resume", False, "Continue from the checkpoint in --checkpoint_dir where it stopped (sgd and adam exactly; lbfgs from the "
                  "saved image with a fresh L-BFGS memory), saving as it goes; without a checkpoint, start from the beginning.")
flags.DEFINE_string("checkpoint_dir", None, "Folder of the checkpoints. Default: <output name>_checkpoint beside the output.")
flags.DEFINE_integer("tile", None, "Optimize in overlapping tiles of about this many pixels a side (a multiple of 16), feathered "
                     "across the overlaps, with the style statistics of the whole image: a large image in modest memory (0: no tiles).")
flags.DEFINE_integer("tile_overlap", None, "Overlap of the --tile tiles in pixels (default: a quarter of the tile).")
# fmt: on
flags.mark_flags_as_required(["content", "style"])

FLAGS = flags.FLAGS

# Flags that map one-to-one onto StyleConfig fields and override the preset when given.
_CONFIG_FLAGS = (
    "image_size", "iterations", "content_layers", "style_layers", "content_weight", "style_weight",
    "tv_weight", "init", "optimizer", "learning_rate", "seed", "weights",
    "precision", "jit", "scales",
)  # fmt: skip


def config_from_flags(values: flags.FlagValues = FLAGS):
    """The preset with every flag the user gave applied on top."""
    changes = {name: values[name].value for name in _CONFIG_FLAGS if values[name].present}
    for name in ("content_layer_weights", "style_layer_weights"):
        if values[name].present:
            changes[name] = tuple(parse_float(f"--{name}", item) for item in values[name].value)
    changes.update({name: values[name].value for name in _CONTROL_FLAGS if values[name].present})
    if values["style_blend_weights"].present:
        changes["style_blend_weights"] = tuple(
            parse_float("--style_blend_weights", item) for item in values["style_blend_weights"].value
        )
    if values["tile"].present:  # --tile 0: no tiles
        changes["tile_size"] = values.tile or None
    if values["tile_overlap"].present:
        changes["tile_overlap"] = values.tile_overlap
    return preset(values.preset).override(**changes)


# The creative controls that are StyleConfig fields (the masks are arguments of stylize).
_CONTROL_FLAGS = ("style_scale", "preserve_colors", "pooling", "noise_blend")


def style_paths(text: str) -> list[str]:
    """``--style``: one path, or comma-separated paths (a file whose name holds a comma is one path)."""
    if Path(text).exists():
        return [text]
    return [part.strip() for part in text.split(",") if part.strip()]


def default_output(content: str) -> Path:
    path = Path(content)
    return path.with_name(f"{path.stem}_stylized.png")


def checkpointing_from_flags(output: Path, values: flags.FlagValues = FLAGS):
    """``--checkpoint_every``, ``--resume`` and ``--checkpoint_dir`` as a :class:`tfstyle.Checkpointing`
    (None when neither of the first two is given); prints where a resumed run continues."""
    if values.checkpoint_every < 0:
        raise ConfigError(f"--checkpoint_every must be 0 or more, got {values.checkpoint_every}")
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
        for flag in ("save_every", "print_every"):
            if FLAGS[flag].value < 0:
                raise ConfigError(f"--{flag} must be 0 or more, got {FLAGS[flag].value}")
        styles = style_paths(FLAGS.style)
        inputs = [("content", FLAGS.content), *(("style", path) for path in styles)]
        for what, path in inputs:  # before the output check: the default output is beside the content
            if not Path(path).exists():
                raise ImageError(f"{what} image not found: {path}")
        check_writable(output)
        for what, path in inputs:
            if output.exists() and output.samefile(path):
                raise ImageError(f"--output {output} is the {what} image; choose another file")
        checkpoint = checkpointing_from_flags(output)
        callbacks = [tfstyle.ProgressBar(print_every=FLAGS.print_every)]
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
    print(
        f"wrote {output} ({width}x{height}): {result.iterations} iterations in {result.seconds:.1f} s "
        f"({result.iterations / max(result.seconds, 1e-9):.2f} it/s) on {result.device.split('device:')[-1]}; "
        f"content {result.final_losses['content']:.4g}, style {result.final_losses['style']:.4g}"
    )
    if result.stopped:
        print(f"note: stopped early: {result.stopped}")
    if board is not None and board.run_dir is not None:
        print(f"TensorBoard logs in {board.run_dir}; watch with: tensorboard --logdir {FLAGS.logdir}")
    return 0


def parse_flags(argv: list[str]) -> list[str]:
    """absl's parsing, with a flag error reported as one line instead of a usage dump."""
    if FLAGS.is_parsed():
        FLAGS.unparse_flags()
    try:
        return FLAGS(argv)
    except flags.Error as err:
        sys.exit(_fail(str(err)))
    except SystemExit as stop:  # --help/--helpfull print the usage, then absl exits 1: asking is no error
        sys.exit(0 if stop.code == 1 else stop.code)


def entry_point() -> None:
    quiet_on_a_closed_pipe(lambda: app.run(main, flags_parser=parse_flags))


def cli(argv: list[str]) -> int:
    """The command line in-process: parse ``argv`` (``argv[0]`` is the program name), run
    :func:`main` and return the exit status instead of exiting. For tests and embedding."""
    app.define_help_flags()  # --help, --helpfull as under app.run
    return exit_status(lambda: main(parse_flags(argv)))


if __name__ == "__main__":
    entry_point()
