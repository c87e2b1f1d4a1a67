"""A clip from file to file: :func:`stylize_clip` reads the clip, stylizes it with
:func:`~tfstyle.video.stylize.stylize_video` and writes each frame as it is done, so Ctrl-C keeps
every finished frame and ``resume`` continues from the first missing one (with one pass: with more,
the frames come after the last pass, and a resume is refused).

Frames go to the output folder (``frame_00001.png``, ...), or for a video output to a work folder
beside it (``OUT.frames/``), encoded into the video atomically at the end and then removed. The
flows are cached in ``OUT.flow/``, for a second run and a resume.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfstyle.config import StyleConfig, preset
from tfstyle.errors import ConfigError
from tfstyle.inputs import images as imageio
from tfstyle.inputs.prepare import StyleLike
from tfstyle.loop.callbacks import CallbackLike
from tfstyle.video import io
from tfstyle.video.config import VideoConfig
from tfstyle.video.stylize import RESUME_PASSES, FrameReport, stylize_video


@dataclass
class ClipSummary:
    """A finished clip: frames stylized now, frames kept from before (a resume), where it went."""

    stylized: int
    resumed: int
    output: Path
    fps: float


def work_folder(output: str | os.PathLike) -> Path:
    """Where the frames go: the output folder itself, or ``OUT.frames/`` beside a video file."""
    output = Path(output)
    return output.with_name(output.name + ".frames") if io.is_video_path(output) else output


def stylize_clip(
    content: str | os.PathLike,
    style: StyleLike,
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
    told the frame counts before the first frame."""
    config, video = config or preset("default"), video or VideoConfig()
    if resume and video.passes > 1:
        raise ConfigError(RESUME_PASSES)
    if fps is not None and not fps > 0:
        raise ConfigError(f"`fps` must be more than 0, got {fps}")
    output = io.check_output(output)
    frames, clip_fps = io.read_clip(content)
    folder = work_folder(output)
    folder.mkdir(parents=True, exist_ok=True)
    resumed = io.finished_frames(folder, len(frames)) if resume else 0
    done = [imageio.load_image(folder / io.frame_name(index), "frame") for index in range(resumed)]
    if on_start is not None:
        on_start(len(frames), resumed)
    stylized = stylize_video(
        frames, style, config, video, flow_cache=output.with_name(output.name + ".flow"), done=done,
        callbacks=callbacks, on_frame=on_frame,
    )  # fmt: skip
    for index, frame in enumerate(stylized, start=resumed):
        imageio.save_image(frame, folder / io.frame_name(index))
    rate = fps or clip_fps
    if folder != output:
        io.write_video((imageio.load_image(folder / io.frame_name(i), "frame") for i in range(len(frames))), output, rate)
        shutil.rmtree(folder)
    return ClipSummary(len(frames) - resumed, resumed, output, rate)


def frames_of(folder: str | os.PathLike) -> list[np.ndarray]:
    """The numbered frames of an output folder, in order."""
    return [imageio.load_image(path, "frame") for path in sorted(Path(folder).glob("frame_*.png"))]
