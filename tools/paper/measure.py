"""Measurements for ``python -m tools.paper``: the image pairs, isolated runs and their timing.

Distances are measured with the project's one yardstick (tools/yardstick.py).
"""

from __future__ import annotations

import multiprocessing
import resource
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Images:
    """A content/style pair as every run sees it: paths, and the arrays scaled as ``stylize`` scales them."""

    content_path: Path
    style_path: Path
    content: np.ndarray  # [h, w, 3] in [0, 255], longer side = the run's image size
    style: np.ndarray  # the painting scaled to the content's pixel count

    @property
    def name(self) -> str:
        return f"{self.content_path.stem} × {self.style_path.stem}"


def load_pair(content_path: Path, style_path: Path, size: int) -> Images:
    """Scale the pair as ``tfstyle.stylize`` does (longer side ``size``; the style to the same area)."""
    from tfstyle.inputs import images

    content = images.resize_longest_side(images.load_image(content_path, "content image"), size)
    style = images.resize_to_area(images.load_image(style_path, "style image"), content.shape[0] * content.shape[1])
    return Images(content_path, style_path, content, style)


@dataclass
class IsolatedRun:
    """A run in a fresh process: its result and that process's peak memory (MiB)."""

    image: np.ndarray
    history: dict[str, np.ndarray]
    seconds: float
    rss_after_import_mib: float  # peak RSS once TensorFlow and tfstyle are imported, before the run
    rss_peak_mib: float  # peak RSS of the whole process


def isolated_run(content: Path, style: Path, config, logdir: Path, run_name: str) -> IsolatedRun:
    """``tfstyle.stylize`` in a new spawned process, so its peak memory is its own."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_child_run, (str(content), str(style), config, str(logdir), run_name))


def _child_run(content: str, style: str, config, logdir: str, run_name: str) -> IsolatedRun:
    import tensorflow  # noqa: F401 - part of the baseline

    import tfstyle

    after_import = _peak_rss_mib()
    board = tfstyle.TensorBoard(logdir, run_name=run_name, graph=False)
    result = tfstyle.stylize(content, style, config, callbacks=[board])
    return IsolatedRun(result.image, result.history, result.seconds, after_import, _peak_rss_mib())


def _peak_rss_mib() -> float:
    """This process's peak resident set: VmHWM, which starts afresh at exec.

    ``ru_maxrss`` does not: a spawned child inherits its forking parent's high-water mark.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def seconds_per_iteration(history: dict[str, np.ndarray]) -> float:
    """Median wall time of one iteration, leaving out the first (it includes tracing the step)."""
    seconds = np.asarray(history["seconds"])
    return float(np.median(np.diff(seconds))) if len(seconds) > 1 else float("nan")


def steady_seconds(history: dict[str, np.ndarray]) -> np.ndarray:
    """Seconds at each iteration with the first iteration's one-off cost (tracing the compiled step,
    slower still in a process's first run) replaced by a median iteration, so that runs compare."""
    seconds = np.asarray(history["seconds"], float)
    if len(seconds) < 2:
        return seconds
    return seconds - seconds[0] + seconds_per_iteration(history)


def first_reaching(initial: float, totals: np.ndarray, target: float) -> int | None:
    """The first iteration whose total loss is ≤ ``target`` (0: already at the start), or None."""
    if initial <= target:
        return 0
    hits = np.flatnonzero(np.asarray(totals) <= target)
    return int(hits[0]) + 1 if hits.size else None
