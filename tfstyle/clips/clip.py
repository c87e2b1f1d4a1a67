"""A clip from file to file: :func:`stylize_clip` reads the clip, stylizes it with
:func:`~tfstyle.clips.stylize.stylize_video` and writes each frame as it is done, so Ctrl-C keeps
every finished frame and ``resume`` continues from the first missing one.

With one pass, frames go to the output folder (``frame_00001.png``, ...), or for a video output
to a work folder beside it (``OUT.frames/``), encoded into the video atomically at the end and
then removed. With more passes no frame is final before the last pass: each pass's frames go to
``OUT.passes/pass1/``, ... as they finish (so a resume goes on inside the pass that was
stopped), the last pass's results to the output as above, and ``OUT.passes/`` is removed at the
end. The flows are cached in ``OUT.flow/``, for a second run and a resume. Without a style, the
fast stylizer ``config.model`` paints each frame (one pass, no flows).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tfstyle.clips import io
from tfstyle.clips.config import VideoConfig
from tfstyle.clips.stylize import FrameReport, fast_stylizer_for_clip, frame_runs, pass_order, stylize_video
from tfstyle.config import StyleConfig, preset
from tfstyle.errors import ConfigError
from tfstyle.inputs import images as imageio
from tfstyle.inputs.prepare import StyleLike
from tfstyle.loop.callbacks import CallbackLike

SETTINGS_RECORD = ".tfstyle-settings.json"  # in the folder of a run's unfinished frames: what made them
UNCHECKED_SETTINGS = ("device",)  # where a run computes: a resume may go on elsewhere


@dataclass
class ClipSummary:
    """A finished clip: frame optimizations run now and kept from before (a resume; with more
    passes a frame counts once per pass), where it went, at what frame rate. ``complete``: a resume
    found the output already finished, and did nothing."""

    stylized: int
    resumed: int
    output: Path
    fps: float
    complete: bool = False


def work_folder(output: str | os.PathLike) -> Path:
    """Where the frames go: the output folder itself, or ``OUT.frames/`` beside a video file."""
    output = Path(output)
    return output.with_name(output.name + ".frames") if io.is_video_path(output) else output


def passes_folder(output: str | os.PathLike) -> Path:
    """Where a run of more than one pass keeps each pass's frames: ``OUT.passes/pass1/``, ..."""
    output = Path(output)
    return output.with_name(output.name + ".passes")


def finished_passes(folder: Path, count: int, passes: int) -> list[list[np.ndarray]]:
    """The frames each pass finished, in its order, as :func:`stylize_video` resumes from: every
    pass up to the first one unfinished."""
    done: list[list[np.ndarray]] = []
    for pass_number in range(1, passes + 1):
        order, frames = pass_order(pass_number, count), []
        for index in order:
            path = folder / f"pass{pass_number}" / io.frame_name(index)
            if not path.is_file():
                break
            frames.append(imageio.load_image(path, "frame"))
        done.append(frames)
        if len(frames) < len(order):
            break
    return done


def stylize_clip(
    content: str | os.PathLike,
    style: StyleLike | None,
    output: str | os.PathLike,
    config: StyleConfig | None = None,
    video: VideoConfig | None = None,
    *,
    fps: float | None = None,
    resume: bool = False,
    callbacks: Iterable[CallbackLike] = (),
    on_start: Callable[[int, int], None] | None = None,
    on_frame: Callable[[FrameReport], None] | None = None,
) -> ClipSummary:
    """Stylize the clip ``content`` (a video file, a folder of frames or a glob) into ``output`` (a
    video file, at the clip's frame rate or ``fps``, or a folder of numbered frames), each frame by
    ``config``, the clip by ``video``. With ``resume`` (one pass only), frames already in the work
    folder are kept and the run goes on from the first missing one. ``on_start(total, resumed)`` is
    told the frame counts before the first frame (frame optimizations, with more passes). ``style``
    None: each frame is the fast stylizer ``config.model``'s picture (see :func:`stylize_video`)."""
    config, video = config or preset("default"), video or VideoConfig()
    fast_stylizer_for_clip(style, config, video)  # a bad model (or neither a style nor one): before anything is written
    if fps is not None and not fps > 0:
        raise ConfigError(f"`fps` must be more than 0, got {fps}")
    output = io.check_output(output)
    folder, kept = work_folder(output), passes_folder(output)
    if resume and folder != output and output.is_file() and not folder.exists() and not kept.exists():
        return ClipSummary(0, 0, output, fps or io.video_fps(output), complete=True)  # written whole, work folder gone
    frames, clip_fps = io.read_clip(content)
    record = settings_record(config, video)
    unfinished = kept if video.passes > 1 else folder
    if resume:
        check_settings(unfinished, record)
    if resume and folder == output and not kept.exists() and io.finished_frames(folder, len(frames)) == len(frames):
        return ClipSummary(0, len(frames), output, fps or clip_fps, complete=True)
    folder.mkdir(parents=True, exist_ok=True)
    if video.passes == 1:
        resumed = io.finished_frames(folder, len(frames)) if resume else 0
        done = [[imageio.load_image(folder / io.frame_name(index), "frame") for index in range(resumed)]]
    else:
        if not resume and kept.exists():
            shutil.rmtree(kept)  # an earlier run's frames must not pass for this run's
        done = finished_passes(kept, len(frames), video.passes) if resume else []
        resumed = sum(map(len, done))

        def keep(report: FrameReport) -> None:  # each pass's frames as they finish, for a resume
            (kept / f"pass{report.pass_number}").mkdir(parents=True, exist_ok=True)
            imageio.save_image(report.image, kept / f"pass{report.pass_number}" / io.frame_name(report.index))
            if user_on_frame is not None:
                user_on_frame(report)

        user_on_frame, on_frame = on_frame, keep
    unfinished.mkdir(parents=True, exist_ok=True)
    (unfinished / SETTINGS_RECORD).write_text(json.dumps(record, indent=1) + "\n")
    if on_start is not None:
        on_start(len(frames), resumed)
    stylized = stylize_video(
        frames, style, config, video, flow_cache=output.with_name(output.name + ".flow"), done=done,
        callbacks=callbacks, on_frame=on_frame,
    )  # fmt: skip
    for index, frame in enumerate(stylized, start=len(done[0]) if video.passes == 1 else 0):
        imageio.save_image(frame, folder / io.frame_name(index))
    rate = fps or clip_fps
    if folder != output:
        io.write_video((imageio.load_image(folder / io.frame_name(i), "frame") for i in range(len(frames))), output, rate)
        shutil.rmtree(folder)
    if kept.exists():
        shutil.rmtree(kept)
    return ClipSummary(frame_runs(len(frames), video.passes) - resumed, resumed, output, rate)


def settings_record(config: StyleConfig, video: VideoConfig) -> dict[str, Any]:
    """The settings that make a clip's frames, as :data:`SETTINGS_RECORD` keeps them (JSON's types)."""
    fields = {**dataclasses.asdict(config), **dataclasses.asdict(video)}
    return json.loads(json.dumps({name: value for name, value in fields.items() if name not in UNCHECKED_SETTINGS}, default=str))


def check_settings(folder: Path, record: dict[str, Any]) -> None:
    """Refuse to resume the frames in ``folder`` if they were made with settings other than ``record``'s."""
    try:
        made = json.loads((folder / SETTINGS_RECORD).read_text())
    except (OSError, ValueError):
        return  # no record (frames of an earlier version): stylize_video still checks their size
    other = [f"`{name}` {_shown(made.get(name))} (now {_shown(now)})" for name, now in record.items() if made.get(name) != now]
    if other:
        raise ConfigError(
            f"the finished frames in {folder} were made with other settings: {', '.join(other)}; resume with those "
            "settings, or start over without resuming"
        )


def _shown(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def frames_of(folder: str | os.PathLike) -> list[np.ndarray]:
    """The numbered frames of an output folder, in order."""
    return [imageio.load_image(path, "frame") for path in sorted(Path(folder).glob("frame_*.png"))]
