"""Clips in and out: a video file (mp4, webm, mov, mkv, avi; gif and webp), a folder of frames or a
glob, read as RGB frames with their frame rate; written as a video (atomically) or numbered frames."""

from __future__ import annotations

import glob
import importlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image, ImageSequence

from tfstyle.errors import ConfigError, ImageError, first_line
from tfstyle.inputs import images as imageio

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".avi", ".m4v")
ANIMATED_SUFFIXES = (".gif", ".webp")
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_FPS = 24.0
INSTALL = "pip install 'tfstyle[video]'"


def need(module: str) -> ModuleType:
    """Import ``module`` of the ``video`` extra, or say in one line how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"video needs OpenCV, imageio and imageio-ffmpeg: {INSTALL}") from None


def is_video_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a video file (by its extension) rather than a folder of frames."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES + ANIMATED_SUFFIXES


def frame_paths(source: str | os.PathLike) -> list[Path]:
    """The frames of a folder (its image files, sorted by name) or a glob, sorted."""
    text = os.fspath(source)
    if Path(text).is_dir():
        paths = sorted(p for p in Path(text).iterdir() if p.suffix.lower() in FRAME_SUFFIXES and p.is_file())
    elif glob.has_magic(text):
        paths = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).suffix.lower() in FRAME_SUFFIXES)
    else:
        raise ImageError(f"clip not found: {text}")
    if not paths:
        raise ImageError(f"the clip {text} has no frames")
    return paths


def read_clip(source: str | os.PathLike) -> tuple[list[np.ndarray], float]:
    """The frames of ``source`` (float32 ``[height, width, 3]`` in [0, 255], all one size) and its
    frame rate (folders: 24). One-line :class:`ImageError` for a missing, unreadable or empty clip
    and for frames of different sizes."""
    path = Path(source)
    if is_video_path(path) and not path.is_file():
        raise ImageError(f"clip not found: {path}")
    if path.is_file() and path.suffix.lower() in ANIMATED_SUFFIXES:
        frames, fps = _read_animated(path)
    elif path.is_file():
        frames, fps = _read_video(path)
    else:
        frames = [imageio.load_image(p, "frame") for p in frame_paths(source)]
        fps = DEFAULT_FPS
    if not frames:
        raise ImageError(f"the clip {path} has no frames")
    sizes = {frame.shape[:2] for frame in frames}
    if len(sizes) > 1:
        raise ImageError(
            f"the frames of {path} differ in size ({', '.join(f'{w}x{h}' for h, w in sorted(sizes))}); resize them to one size"
        )
    return frames, fps


def _read_video(path: Path) -> tuple[list[np.ndarray], float]:
    iio = need("imageio.v2")
    need("imageio_ffmpeg")
    try:
        with iio.get_reader(str(path), "ffmpeg") as reader:
            fps = float(reader.get_meta_data().get("fps") or DEFAULT_FPS)
            frames = [np.asarray(frame, np.float32)[..., :3] for frame in reader]
    except Exception as err:  # noqa: BLE001 - ffmpeg's many failures: one line
        raise ImageError(f"cannot read the video {path} (unknown codec or not a video): {first_line(err)}") from None
    return frames, fps


def _read_animated(path: Path) -> tuple[list[np.ndarray], float]:
    try:
        with Image.open(path) as image:
            frames, durations = [], []
            for frame in ImageSequence.Iterator(image):
                frames.append(np.asarray(frame.convert("RGB"), np.float32))
                durations.append(frame.info.get("duration") or 0)
    except (OSError, ValueError) as err:
        raise ImageError(f"cannot read the animation {path}: {first_line(err)}") from None
    mean = float(np.mean(durations)) if durations else 0.0
    return frames, 1000.0 / mean if mean > 0 else DEFAULT_FPS


def frame_name(index: int) -> str:
    """The file name of frame ``index`` (0-based) in an output folder: ``frame_00001.png``."""
    return f"frame_{index + 1:05d}.png"


def finished_frames(folder: str | os.PathLike, count: int) -> int:
    """How many frames of ``count`` the folder holds from the first on (where a resume starts)."""
    done = 0
    while done < count and (Path(folder) / frame_name(done)).is_file():
        done += 1
    return done


def write_video(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float) -> Path:
    """Encode ``frames`` into the video ``path`` at ``fps``, atomically: a temporary file beside it,
    renamed when complete (nothing half-written remains on failure or Ctrl-C)."""
    path = check_output(path)
    suffix = path.suffix.lower()
    handle, temporary = imageio.create_beside(path, path.suffix)  # the umask's mode, as images have
    os.close(handle)
    try:
        uint8 = [_uint8(frame) for frame in frames]
        if suffix in ANIMATED_SUFFIXES:
            pictures = [Image.fromarray(frame) for frame in uint8]
            pictures[0].save(temporary, save_all=True, append_images=pictures[1:], duration=round(1000 / fps), loop=0)
        else:
            iio = need("imageio.v2")
            need("imageio_ffmpeg")
            codec = {".webm": "libvpx-vp9"}.get(suffix)
            options = {"codec": codec} if codec else {}
            with iio.get_writer(temporary, "ffmpeg", fps=fps, macro_block_size=1, quality=8, **options) as writer:
                for frame in uint8:
                    writer.append_data(frame)
        os.replace(temporary, path)
    except BaseException as err:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(err, (ImageError, ConfigError, KeyboardInterrupt)):
            raise
        raise ImageError(f"cannot write the video {path}: {first_line(err)}") from None
    return path


def check_output(path: str | os.PathLike) -> Path:
    """Fail early, before any work, if a clip cannot be written at ``path`` (a video file or a folder)."""
    path = Path(path)
    if path.suffix and not path.is_dir() and path.suffix.lower() not in VIDEO_SUFFIXES + ANIMATED_SUFFIXES:
        known = ", ".join(VIDEO_SUFFIXES + ANIMATED_SUFFIXES)
        raise ImageError(f"unknown video format {path.suffix!r} for {path}; use {known} or a folder")
    parent = imageio.check_parent(path)
    target = path if path.exists() else parent
    if not os.access(target, os.W_OK):
        raise ImageError(f"output {target} is not writable")
    return path


def video_fps(path: str | os.PathLike) -> float:
    """The frame rate of a video file (gif and webp: from their frame durations)."""
    path = Path(path)
    if path.suffix.lower() in ANIMATED_SUFFIXES:
        return _read_animated(path)[1]
    iio = need("imageio.v2")
    with iio.get_reader(str(path), "ffmpeg") as reader:
        return float(reader.get_meta_data()["fps"])


def even_size(shape: Sequence[int], longest: int) -> tuple[int, int]:
    """``(height, width)`` of a frame ``shape`` scaled so its longer side is about ``longest``, each
    side even (what video codecs' 4:2:0 colour needs)."""
    return imageio.scaled_size(shape, longest, multiple=2)


def _uint8(frame: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(frame, np.float32)), 0, 255).astype(np.uint8)
