"""The command line for clips: ``python -m tfstyle.video --content CLIP --style PAINTING --output OUT``.

CLIP is a video file (mp4, webm, mov, gif, ...), a folder of frames or a glob; OUT a video file (the
clip's frame rate, or ``--fps``) or a folder of numbered frames. Ctrl-C keeps every finished frame;
``--resume`` continues from the first missing one. With ``--model`` and no ``--style`` a fast
stylizer paints each frame; with both, video mode refines its pictures. Only reads flags: it builds a
:class:`tfstyle.StyleConfig` and a :class:`tfstyle.VideoConfig` and calls :func:`tfstyle.clips.clip.stylize_clip`.
"""

from __future__ import annotations

from pathlib import Path

from absl import flags

from tfstyle.cli.command import Command
from tfstyle.cli.common import check_not_replacing, fail, import_tensorflow_quietly, stopped, styles_or_model
from tfstyle.cli.flags import FIELDS, config_from_flags, settings_from_flags

import_tensorflow_quietly()

from tfstyle.clips.config import VideoConfig  # noqa: E402
from tfstyle.clips.stylize import FrameReport, frame_runs  # noqa: E402
from tfstyle.errors import TfstyleError  # noqa: E402 - after the quiet import above
from tfstyle.loop.callbacks import InterruptBetweenSteps  # noqa: E402
from tfstyle.loop.progress import Progress  # noqa: E402

FLAGS = flags.FlagValues()
COMMAND = Command(
    "python -m tfstyle.video",
    "--content=CLIP (--style=PAINTING | --model=NAME) --output=OUT [flags]",
    "Stylizes a clip without flicker (Ruder et al. 2016): each frame starts from the previous one warped by optical "
    "flow and is held to it where the flow is reliable. CLIP is a video file, a folder of frames or a glob; OUT a "
    "video file or a folder of numbered frames. Ctrl-C keeps every finished frame; --resume continues. With --model and "
    "no --style, a fast stylizer paints each frame (no temporal consistency); with both, each frame starts from its fast "
    "picture, the previous frame warped where the flow is reliable, and video mode refines it.",
    FLAGS,
)

# fmt: off
COMMAND.own("inputs and output", flags.DEFINE_string, "content", None, "The clip: a video file (mp4, webm, mov, mkv, avi, "
            "gif, webp), a folder of frames (sorted by name) or a glob such as 'frames/*.png' (quote it).", "CLIP", required=True)
COMMAND.style(or_model=True)
COMMAND.own("inputs and output", flags.DEFINE_string, "output", None, "Where the stylized clip goes: a video file (written "
            "when complete; its frames wait in OUT.frames/) or a folder of frame_00001.png, ... Flows are cached in "
            "OUT.flow/.", "OUT", required=True)
COMMAND.overwrite(one_output=True)
COMMAND.own("inputs and output", flags.DEFINE_float, "fps", None, "Frame rate of an output video (default: the clip's; "
            "24 for frames).", "FPS")
COMMAND.settings(FIELDS)
COMMAND.more_settings(VideoConfig)
COMMAND.own("large images and resuming", flags.DEFINE_bool, "resume", False, "Keep the frames a stopped run finished and go "
            "on from the first missing one (with more --passes, inside the pass that was stopped).")
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
        from tfstyle.clips.io import frame_name, need

        need("cv2")
        need("imageio_ffmpeg")
        output = Path(FLAGS.output)
        check_not_replacing(output / frame_name(0) if output.is_dir() else output, FLAGS.overwrite, FLAGS.resume)
        from tfstyle.clips.clip import stylize_clip

        styles, config = styles_or_model(FLAGS.style, config_from_flags(FLAGS), bool(FLAGS["init"].present))
        video = settings_from_flags(FLAGS, VideoConfig)
        reporters = []
        if FLAGS.logdir:
            from tfstyle.clips.tensorboard import FrameLog

            reporters.append(FrameLog(FLAGS.logdir))

        def on_start(total: int, resumed: int) -> None:
            progress.append(Progress(frame_runs(total, video.passes), "frames", unit="frames", per="min"))
            progress[0].advance(resumed, "resumed" if resumed else "", rated=0)

        def on_frame(report: FrameReport) -> None:
            bar, rated[0] = progress[0], rated[0] + 1
            where = f"pass {report.pass_number}, " if video.passes > 1 else ""
            detail = f"{where}frame {report.index + 1}: {report.seconds:.0f} s"
            if "temporal" in report.losses:  # a frame the fast stylizer alone painted has no losses
                detail += f", temporal {report.losses['temporal']:.3g}"
            bar.advance(progress[0].count + 1, detail, rated=rated[0])
            for reporter in reporters:
                reporter(report)

        summary = stylize_clip(
            FLAGS.content, (styles if len(styles) > 1 else styles[0]) if styles else None, FLAGS.output, config, video,
            fps=FLAGS.fps, resume=FLAGS.resume, on_start=on_start, on_frame=on_frame, callbacks=[InterruptBetweenSteps()],
        )  # fmt: skip
    except (KeyboardInterrupt, TfstyleError) as err:
        return stopped(err, progress, f"interrupted; finished frames are kept: add --resume to go on ({FLAGS.output})")
    if summary.complete:
        print(f"{summary.output} is already complete; nothing to resume (--overwrite makes it again)")
        return 0
    unit = "frames" if FLAGS.passes == 1 else f"frame optimizations ({FLAGS.passes} passes)"
    done = f"{summary.stylized} {unit} stylized" + (f", {summary.resumed} resumed" if summary.resumed else "")
    print(f"{done} ({progress[0].rate()}); written to {summary.output}")
    return 0


cli, entry_point = COMMAND.programs(main)
