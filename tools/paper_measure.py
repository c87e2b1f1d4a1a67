"""Measurements for tools/reproduce_paper.py: the fixed yardstick, isolated runs, the machine.

The yardstick is one ruler for every run, whatever loss the run optimized:

- style distance: the mean over ``YARDSTICK_STYLE_LAYERS`` of SL_i(x) / SL_i(content image), with
  SL_i the mean-normalized Gram distance to the painting. 1 = as far from the style as the photo,
  0 = the painting's Gram matrices; every layer counts equally whatever its scale.
- content distance: the mean over ``YARDSTICK_CONTENT_LAYERS`` of CL_i(x) / CL_i(painting), with
  CL_i the mean squared activation difference to the photo. 0 = the photo, 1 = as far from it as
  the painting (scaled to the photo's size).
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import resource
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Both layer sets' style layers (Gatys': conv1_1..conv5_1; the paper's: conv1_2, conv3_3, conv5_3),
# so neither run is measured only on the layers it optimized.
YARDSTICK_STYLE_LAYERS = (
    "block1_conv1", "block1_conv2", "block2_conv1", "block3_conv1",
    "block3_conv3", "block4_conv1", "block5_conv1", "block5_conv3",
)  # fmt: skip
YARDSTICK_CONTENT_LAYERS = ("block3_conv3", "block4_conv2")


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
    from tfstyle import images

    content = images.resize_longest_side(images.load_image(content_path, "content image"), size)
    style = images.resize_to_area(images.load_image(style_path, "style image"), content.shape[0] * content.shape[1])
    return Images(content_path, style_path, content, style)


class Yardstick:
    """Style and content distances of any image of the pair's size (module docstring)."""

    def __init__(self, pair: Images, weights: str = "imagenet"):
        import tfstyle

        self.model = tfstyle.build_feature_model(YARDSTICK_STYLE_LAYERS + YARDSTICK_CONTENT_LAYERS, weights)
        content_features = self._features(pair.content)
        style_features = self._features(pair.style)
        self.content_targets = {n: content_features[n] for n in YARDSTICK_CONTENT_LAYERS}
        self.style_grams = {n: tfstyle.gram_matrix(style_features[n]) for n in YARDSTICK_STYLE_LAYERS}
        self.style_scale = self._style_terms(content_features)[:, 0]
        painting = tfstyle.initial_image("style", pair.content, pair.style)  # the painting at the photo's size
        self.content_scale = self._content_terms(self._features(painting))[:, 0]

    def distances(self, image: np.ndarray) -> tuple[float, float]:
        """(style distance, content distance) of ``image`` ``[h, w, 3]`` in [0, 255]."""
        return self.batch_distances([image])[0]

    def batch_distances(self, images: Sequence[np.ndarray]) -> list[tuple[float, float]]:
        """:meth:`distances` of several images of the pair's size, in one pass through VGG16."""
        features = self._features(np.stack(images))
        style = np.mean(self._style_terms(features) / self.style_scale[:, None], axis=0)
        content = np.mean(self._content_terms(features) / self.content_scale[:, None], axis=0)
        return [(float(s), float(c)) for s, c in zip(style, content)]

    def _features(self, images: np.ndarray) -> dict:
        images = np.asarray(images, np.float32)
        return self.model(images if images.ndim == 4 else images[None])

    def _style_terms(self, features: dict) -> np.ndarray:
        """SL_i per layer and image: ``[layers, batch]``."""
        from tfstyle.losses import gram_matrix, style_loss

        return np.array([style_loss(gram_matrix(features[n]), self.style_grams[n]).numpy() for n in YARDSTICK_STYLE_LAYERS])

    def _content_terms(self, features: dict) -> np.ndarray:
        """CL_i per layer and image: ``[layers, batch]``."""
        from tfstyle.losses import content_loss

        return np.array([content_loss(features[n], self.content_targets[n]).numpy() for n in YARDSTICK_CONTENT_LAYERS])


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


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    import tensorflow as tf

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpus = tf.config.list_physical_devices("GPU")
    return {
        "CPU": _cpu_model(),
        "cores usable": f"{cpus} (of {os.cpu_count()} logical CPUs)",
        "memory": _memory_total(),
        "accelerator": ", ".join(g.name for g in gpus) or "none (CPU only)",
        "software": f"Python {platform.python_version()}, TensorFlow {tf.__version__}, NumPy {np.__version__}",
        "tfstyle commit": _git_commit(),
    }


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (the CPU may be shared)."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _git_commit() -> str:
    """The commit of the tfstyle that was imported (and whether its files differ from it)."""
    import tfstyle

    root = Path(tfstyle.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "tfstyle"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit} (with uncommitted changes in tfstyle/)" if dirty else commit
