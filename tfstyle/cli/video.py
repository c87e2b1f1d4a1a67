"""The command line for clips: ``python -m tfstyle.video --content CLIP --style PAINTING --output OUT``.

CLIP is a video file (mp4, webm, mov, gif, ...), a folder of frames or a glob; OUT a video file (the
clip's frame rate, or ``--fps``) or a folder of numbered frames. Ctrl-C keeps every finished frame;
``--resume`` continues from the first missing one. Only reads flags: it builds a
:class:`tfstyle.StyleConfig` and calls :func:`tfstyle.video.clip.stylize_clip`.
"""

from __future__ import annotations

import sys

from absl import flags

from tfstyle.cli.command import Command
from tfstyle.cli.common import fail, import_tensorflow_quietly, style_paths
from tfstyle.cli.flags import FIELDS, config_from_flags

import_tensorflow_quietly()

from tfstyle.errors import ConfigError, TfstyleError  # noqa: E402 - after the quiet import above
from tfstyle.loop.progress import Progress  # noqa: E402
from tfstyle.video.flow import METHODS  # noqa: E402
from tfstyle.video.stylize import DEFAULT_TEMPORAL_WEIGHT, FrameReport  # noqa: E402

FLAGS = flags.FlagValues()
COMMAND = Command(
    "python -m tfstyle.video",
    "--content=CLIP --style=PAINTING --output=OUT [flags]",
    "Stylizes a clip without flicker (Ruder et al. 2016): each frame starts from the previous one warped by optical "
    "flow and is held to it where the flow is reliable. CLIP is a video file, a folder of frames or a glob; OUT a "
    "video file or a folder of numbered frames. Ctrl-C keeps every finished frame; --resume continues.",
    FLAGS,
)

# fmt: off
COMMAND.own("inputs and output", flags.DEFINE_string, "content", None, "The clip: a video file (mp4, webm, mov, mkv, avi, "
            "gif, webp), a folder of frames (sorted by name) or a glob such as 'frames/*.png' (quote it).", "CLIP", required=True)
COMMAND.own("inputs and output", flags.DEFINE_string, "style", None, "Style image (a painting) whose style is transferred, "
            "or comma-separated images to blend (see --style_blend_weights).", "PATH[,PATH...]", required=True)
COMMAND.own("inputs and output", flags.DEFINE_string, "output", None, "Where the stylized clip goes: a video file (written "
            "when complete; its frames wait in OUT.frames/) or a folder of frame_00001.png, ... Flows are cached in "
            "OUT.flow/.", "OUT", required=True)
COMMAND.own("inputs and output", flags.DEFINE_float, "fps", None, "Frame rate of an output video (default: the clip's; "
            "24 for frames).", "FPS")
COMMAND.settings(FIELDS)
COMMAND.own("the loss", flags.DEFINE_float, "temporal_weight", DEFAULT_TEMPORAL_WEIGHT, "Weight of the temporal loss, which "
            "holds each frame to the earlier stylized frames warped into it where the flow is reliable (0: none; each "
            "frame still starts from the previous one).", "WEIGHT")
COMMAND.own("the optimizer", flags.DEFINE_integer, "first_frame_iterations", None, "Iterations of the first frame (default: 4 × "
            "--iterations); later frames take --iterations.", "N")
COMMAND.own("the optimizer", flags.DEFINE_float, "later_learning_rate", None, "Step size of the frames after the first, "
            "which start near a solution (default: a quarter of --learning_rate's).", "RATE")
COMMAND.own("the loss", flags.DEFINE_list, "lookback", ["1", "2", "4"], "Earlier frames the temporal loss compares with "
            "(Ruder et al.'s long-term loss; 1 alone: the short-term loss).", "J,...")
COMMAND.own("the loss", flags.DEFINE_enum, "flow", "dis", "Optical flow method: dis (OpenCV's DIS).", "|".join(METHODS),
            enum_values=list(METHODS))
COMMAND.own("large images and resuming", flags.DEFINE_bool, "resume", False, "Keep the frames a stopped run finished and go on from the first "
            "missing one.")
COMMAND.own("inputs and output", flags.DEFINE_string, "logdir", None, "TensorBoard folder: each frame's losses (the temporal loss "
            "too) and the stylized frames.", "FOLDER")
# fmt: on


def main(argv: list[str]) -> int:
    """Stylize what the parsed flags ask for; return the exit status."""
    if len(argv) > 1:
        return fail(f"unexpected argument(s): {' '.join(argv[1:])} (flags look like --content=clip.mp4)")
    progress: list[Progress] = []
    rated = [0]  # frames stylized in this run (a resume's are not)
    try:
        from tfstyle.video.io import need

        need("cv2")
        need("imageio_ffmpeg")
        from tfstyle.video.clip import stylize_clip

        config = config_from_flags(FLAGS)
        if FLAGS.later_learning_rate is not None and not FLAGS.later_learning_rate > 0:
            raise ConfigError(f"--later_learning_rate must be more than 0, got {FLAGS.later_learning_rate}")
        if FLAGS.fps is not None and not FLAGS.fps > 0:
            raise ConfigError(f"--fps must be more than 0, got {FLAGS.fps}")
        try:
            lookback = [int(j) for j in FLAGS.lookback]
        except ValueError:
            raise ConfigError(f"--lookback takes whole numbers, got {','.join(FLAGS.lookback)}") from None
        styles = style_paths(FLAGS.style)
        reporters = []
        if FLAGS.logdir:
            from tfstyle.video.tensorboard import FrameLog

            reporters.append(FrameLog(FLAGS.logdir))

        def on_start(total: int, resumed: int) -> None:
            progress.append(Progress(total, "frames", unit="frames", per="min"))
            progress[0].advance(resumed, "resumed" if resumed else "", rated=0)

        def on_frame(report: FrameReport) -> None:
            bar, rated[0] = progress[0], rated[0] + 1
            detail = f"frame {report.index + 1}: {report.seconds:.0f} s, temporal {report.losses.get('temporal', 0):.3g}"
            bar.advance(report.index + 1, detail, rated=rated[0])
            for reporter in reporters:
                reporter(report)

        summary = stylize_clip(
            FLAGS.content, styles if len(styles) > 1 else styles[0], FLAGS.output, config,
            temporal_weight=FLAGS.temporal_weight, first_frame_iterations=FLAGS.first_frame_iterations,
            later_learning_rate=FLAGS.later_learning_rate,
            lookback=lookback, flow=FLAGS.flow, fps=FLAGS.fps, resume=FLAGS.resume, on_start=on_start, on_frame=on_frame,
        )  # fmt: skip
    except KeyboardInterrupt:
        if progress:
            progress[0].close()
        print(f"\ninterrupted; finished frames are kept: add --resume to go on ({FLAGS.output})", file=sys.stderr)
        return 130
    except TfstyleError as err:
        if progress:
            progress[0].close()
        return fail(str(err))
    done = f"{summary.stylized} frames stylized" + (f", {summary.resumed} resumed" if summary.resumed else "")
    print(f"{done} ({progress[0].rate()}); written to {summary.output}")
    return 0


def cli(argv: list[str]) -> int:
    """The command line in-process (tests, embedding): its exit status instead of an exit."""
    return COMMAND.cli(main, argv)


def entry_point() -> None:
    COMMAND.entry_point(main)
