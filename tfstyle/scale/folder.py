"""Stylizing a folder: many content images, one style, an output folder; resumable, failure-isolated.

:func:`stylize_folder` takes the content images (:func:`find_images` lists a folder, a glob or a
list file), skips every image whose output exists (outputs are written atomically, so an existing
one is complete: a stopped run resumes where it stopped), groups the rest by their size after
scaling, and stylizes each group in batches of ``batch_size`` (one ``tf.Variable``, optionally
spread over devices by a ``tf.distribute`` strategy). Each image is read on its own first: one that
cannot be read fails alone. A batch whose optimization fails (a non-finite loss, too little memory,
an image too small for the layers) is run again image by image, so only the culprit fails. The
returned :class:`FolderSummary` counts the images done, skipped and failed, with the reasons.

Without a style, ``config.model``'s fast stylizer paints each image in one pass (no VGG16, no
batches); with a style and ``init`` model, the optimization starts from that picture.
"""

from __future__ import annotations

import collections
import glob as globlib
import hashlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, UnidentifiedImageError

from tfstyle.config import StyleConfig, preset
from tfstyle.devices import describe, pick_device
from tfstyle.errors import ConfigError, ImageError, TfstyleError
from tfstyle.fast.stylizer import FastStylizer, fast_stylizer_for
from tfstyle.inputs import images as imageio
from tfstyle.inputs.prepare import StyleLike, load_styles
from tfstyle.loop.optimize import feature_model_for_run, stylize
from tfstyle.loop.progress import Progress

DONE, SKIPPED, FAILED = "done", "skipped", "failed"
DEFAULT_BATCH_PER_DEVICE = 4
_ORIENTATION = 0x0112  # EXIF orientations 5-8 turn the image a quarter: width and height swap


def image_suffixes() -> set[str]:
    """File extensions of the images PIL can read (``.jpg``, ``.png``, ...)."""
    return {suffix for suffix, name in Image.registered_extensions().items() if name in Image.OPEN}


def find_images(
    content_dir: str | os.PathLike | None = None,
    pattern: str | None = None,
    list_file: str | os.PathLike | None = None,
) -> list[Path]:
    """The content images: the image files in ``content_dir`` (not its subfolders), or those matching
    the glob ``pattern`` (``**`` recurses), or the paths in ``list_file`` (one a line, relative to the
    file's folder; blank lines and ``#`` comments skipped). Exactly one of the three, else ConfigError."""
    given = [what for what, value in (("content_dir", content_dir), ("glob", pattern), ("list", list_file)) if value]
    if len(given) != 1:
        raise ConfigError("give exactly one of `content_dir`, `pattern` and `list_file`")
    suffixes = image_suffixes()
    if content_dir:
        folder = Path(content_dir)
        if not folder.is_dir():
            raise ImageError(f"content folder {folder} {'is not a folder' if folder.exists() else 'does not exist'}")
        found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
        if not found:
            raise ImageError(f"no images in {folder} (looked for {', '.join(sorted({'.jpg', '.png', '.tif', '.webp'}))}, ...)")
        return found
    if pattern:
        found = sorted(Path(p) for p in globlib.glob(os.path.expanduser(pattern), recursive=True) if Path(p).is_file())
        if not found:
            raise ImageError(f"no files match {pattern}")
        return found
    assert list_file is not None  # exactly one of the three was given
    listing = Path(list_file)
    try:
        lines = listing.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ImageError(f"list file {listing} not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ImageError(f"cannot read list file {listing}: {getattr(err, 'strerror', None) or err}") from None
    paths = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            path = Path(os.path.expanduser(line))
            paths.append(path if path.is_absolute() else listing.parent / path)
    if not paths:
        raise ImageError(f"list file {listing} names no images")
    return paths


def output_paths(sources: Sequence[Path], output_dir: str | os.PathLike, suffix: str = ".png") -> list[Path]:
    """Each source's output: ``<output_dir>/<stem><suffix>``; sources that share a stem get a short
    hash of their path as well (``photo_3fa2c1.png``), the same on every run."""
    folder = Path(output_dir)
    return [folder / name for name in output_names(sources, suffix)]


def output_names(sources: Sequence[str | os.PathLike], suffix: str = ".png") -> list[str]:
    """The file names of :func:`output_paths`: ``<stem><suffix>``, with ``_<hash>`` after the stem
    where sources share it. The hash is of the resolved path, or of the URL for a source such as
    ``gs://bucket/photo.jpg``."""
    stems = [Path(source).stem for source in sources]
    counts = collections.Counter(stems)
    names = []
    for source, stem in zip(sources, stems):
        if counts[stem] > 1:
            stem += "_" + hashlib.sha256(_identity(source).encode()).hexdigest()[:6]
        names.append(f"{stem}{suffix}")
    return names


def _identity(source: str | os.PathLike) -> str:
    text = os.fspath(source)
    return text if "://" in text else os.fspath(Path(text).resolve())


@dataclass
class ImageOutcome:
    """What became of one content image: ``status`` is done, skipped or failed (``message`` says why)."""

    source: Path
    output: Path
    status: str
    message: str = ""


@dataclass
class FolderSummary:
    """The outcome of every image, in input order, and the run's time and device(s)."""

    outcomes: list[ImageOutcome] = field(default_factory=list)
    seconds: float = 0.0
    device: str = ""
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)

    @property
    def done(self) -> int:
        return self.count(DONE)

    @property
    def skipped(self) -> int:
        return self.count(SKIPPED)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def images_per_minute(self) -> float:
        return 60.0 * self.done / self.seconds if self.seconds > 0 else 0.0


class FolderInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`stylize_folder`; ``summary`` has the images finished so far (their
    outputs are written; running the same command again resumes)."""

    def __init__(self, summary: FolderSummary):
        super().__init__("interrupted")
        self.summary = summary


class FolderProgress:
    """Progress over the images: on a terminal a bar with images per minute and the ETA
    (:class:`tfstyle.loop.progress.Progress`), elsewhere a line per image.

    :func:`stylize_folder` calls ``start(total, skipped)`` once, ``image(outcome)`` as each image is
    done or fails, and ``end(summary)``. Failures go to ``errors`` (default stderr).
    """

    def __init__(self, stream: TextIO | None = None, errors: TextIO | None = None):
        self._stream, self._errors = stream, errors
        self.total = self.finished = 0
        self._done = 0
        self._progress: Progress | None = None

    def start(self, total: int, skipped: int) -> None:
        self.total, self.finished, self._done = total, 0, 0
        self._progress = self._new(total)
        if skipped:
            self._progress.keep(f"skipping {skipped} image{'s' if skipped != 1 else ''} whose output exists")
        self._progress.advance(0)

    def image(self, outcome: ImageOutcome) -> None:
        self.finished += 1
        self._done += outcome.status == DONE
        progress = self._progress = self._progress or self._new(self.total)
        progress.advance(self.finished, rated=self._done)  # failures are quick: only done images make the rate
        if outcome.status == FAILED:
            progress.keep(f"failed: {outcome.source}: {outcome.message}", self._errors or sys.stderr)
        if not progress.live:
            where = f" -> {outcome.output}" if outcome.status == DONE else ""
            progress.keep(f"[{self.finished}/{self.total}] {outcome.status} {outcome.source}{where}  {progress.rate()}")

    def end(self, summary: FolderSummary) -> None:
        if self._progress is not None:
            self._progress.close()

    def _new(self, total: int) -> Progress:
        return Progress(total, "images", "images", per="min", stream=self._stream or sys.stdout)


def stylize_folder(
    sources: Sequence[str | os.PathLike],
    style: StyleLike | None,
    output_dir: str | os.PathLike,
    config: StyleConfig | None = None,
    *,
    batch_size: int | None = None,
    strategy: tf.distribute.Strategy | None = None,
    suffix: str = ".png",
    overwrite: bool = False,
    progress: FolderProgress | None = None,
    feature_model: keras.Model | None = None,
) -> FolderSummary:
    """Stylize every image of ``sources`` with ``style`` and ``config`` into ``output_dir`` (created
    if missing) as ``<stem><suffix>``; see the module's docstring. ``style`` None: the fast
    stylizer ``config.model`` paints each image at ``config.image_size``. ``batch_size`` images
    run per step (default: 4 per device of ``strategy``); ``overwrite`` redoes images whose output
    exists. Raises what makes every image fail (an unreadable style, a bad model, bad settings, an
    unwritable folder); a :class:`FolderInterrupted` on Ctrl-C.
    """
    config = config or preset("default")
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    batch_size = batch_size or DEFAULT_BATCH_PER_DEVICE * replicas
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch size must be a positive whole number, got {batch_size!r}")
    if config.tile_size:
        strategy, batch_size = None, 1  # tiles are for one large image at a time, on one device
    paths = [Path(source) for source in sources]
    outputs = output_paths(paths, output_dir, suffix)
    fast = fast_stylizer_for(style, config)
    styles = load_styles(style) if style is not None else None
    folder = Path(output_dir)
    prepare_output_folder(folder, suffix)
    device = pick_device(config.device)
    spread = styles is not None and config.optimizer != "lbfgs"  # the fast stylizer and lbfgs run on one device
    summary = FolderSummary(device=describe(strategy if spread else None, device))
    outcomes: dict[int, ImageOutcome] = {}
    todo, blocked = [], []
    for index, (source, output) in enumerate(zip(paths, outputs)):
        if output.is_dir():  # only a file is a finished output; a folder in the way fails its image
            blocked.append(index)
        elif output.exists() and not overwrite:
            outcomes[index] = ImageOutcome(source, output, SKIPPED, "output exists")
        else:
            todo.append(index)
    progress = progress or _QuietProgress()
    progress.start(len(todo) + len(blocked), len(outcomes))
    t0 = time.perf_counter()

    def finish(index: int, status: str, message: str = "") -> None:
        outcomes[index] = ImageOutcome(paths[index], outputs[index], status, message)
        progress.image(outcomes[index])

    try:
        for index in blocked:
            finish(index, FAILED, f"output {outputs[index]} is a directory, not an image file; move it or choose another folder")
        if styles is None:
            assert fast is not None, "fast_stylizer_for: no style, a model"
            for index in todo:
                _run_fast(index, paths, outputs, fast, config.image_size, finish)
            todo = []
        groups, unreadable = _group_by_size(paths, todo, config.image_size)
        for index, message in unreadable:
            finish(index, FAILED, message)
        if groups:  # one feature model for every batch, on every replica, in the form the runs compute
            assert styles is not None
            model = feature_model_for_run(feature_model, config, device, strategy)
            for indices in groups:
                for start in range(0, len(indices), batch_size):
                    _run_batch(indices[start : start + batch_size], paths, outputs, styles, config, model, strategy, finish)
    except KeyboardInterrupt:
        summary.interrupted = True
        _fill(summary, outcomes, t0)
        progress.end(summary)
        raise FolderInterrupted(summary) from None
    _fill(summary, outcomes, t0)
    progress.end(summary)
    return summary


def _run_fast(
    index: int, sources: Sequence[Path], outputs: Sequence[Path], fast: FastStylizer, size: int, finish: Callable[..., None]
) -> None:
    """One image through the fast stylizer at ``size``; an unreadable or too small image fails alone."""
    try:
        image = fast(sources[index], image_size=size)
    except TfstyleError as err:
        finish(index, FAILED, str(err))
    else:
        _write(image, index, outputs, finish)


def _run_batch(
    indices: Sequence[int],
    sources: Sequence[Path],
    outputs: Sequence[Path],
    styles: list[np.ndarray],
    config: StyleConfig,
    model: keras.Model,
    strategy: tf.distribute.Strategy | None,
    finish: Callable[..., None],
) -> None:
    """Read each image of the batch on its own, stylize those that read, retry one by one on failure."""
    images, ready = [], []
    for index in indices:
        try:
            image = imageio.load_image(sources[index], "content image")
            images.append(imageio.resize_longest_side(image, config.image_size))
            ready.append(index)
        except ImageError as err:
            finish(index, FAILED, str(err))
    by_shape: dict[tuple[int, ...], list[int]] = {}  # the header's size may have misled the grouping
    for position, image in enumerate(images):
        by_shape.setdefault(image.shape, []).append(position)
    for positions in by_shape.values():
        batch = [images[p] for p in positions]
        members = [ready[p] for p in positions]
        try:
            result = stylize(batch, styles, config, feature_model=model, strategy=strategy)
        except TfstyleError as err:
            if len(batch) == 1:
                finish(members[0], FAILED, str(err))
                continue
            for image, index in zip(batch, members):  # one by one: only the culprit fails
                try:
                    one = stylize([image], styles, config, feature_model=model, strategy=strategy)
                except TfstyleError as one_err:
                    finish(index, FAILED, str(one_err))
                else:
                    _write(one.image[0], index, outputs, finish)
            continue
        for image, index in zip(result.image, members):
            _write(image, index, outputs, finish)


def _write(image: np.ndarray, index: int, outputs: Sequence[Path], finish: Callable[..., None]) -> None:
    try:
        imageio.save_image(image, outputs[index])
    except ImageError as err:
        finish(index, FAILED, str(err))
    else:
        finish(index, DONE)


def _group_by_size(sources: Sequence[Path], todo: Sequence[int], size: int) -> tuple[list[list[int]], list[tuple[int, str]]]:
    """The images to do, grouped by their size after scaling (from the file headers); and those
    whose header cannot be read, with the reason."""
    groups: dict[tuple[int, int], list[int]] = {}
    unreadable = []
    for index in todo:
        try:
            height, width = _header_size(sources[index])
        except ImageError as err:
            unreadable.append((index, str(err)))
            continue
        groups.setdefault(imageio.scaled_size((height, width), size), []).append(index)
    return list(groups.values()), unreadable


def _header_size(path: Path) -> tuple[int, int]:
    """(height, width) as the image will be read (EXIF orientation applied), from its header only."""
    imageio.check_image_file(path, "content image")
    try:
        with Image.open(path) as pil:
            width, height = pil.size
            orientation = pil.getexif().get(_ORIENTATION, 1)
    except UnidentifiedImageError:
        raise ImageError(f"content image {path} is not an image (PIL cannot identify its format)") from None
    except Exception as err:  # noqa: BLE001 - PIL raises many types for a bad file; it fails alone
        raise ImageError(f"content image {path} is corrupt or truncated ({err})") from None
    return (width, height) if orientation in (5, 6, 7, 8) else (height, width)


def prepare_output_folder(folder: Path, suffix: str) -> None:
    """Create the output ``folder`` (if missing) and check that ``suffix`` files can be written in it."""
    if folder.exists() and not folder.is_dir():
        raise ImageError(f"output folder {folder} is a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ImageError(f"cannot create the output folder {folder}: {err.strerror or err}") from None
    imageio.check_writable(folder / f"probe{suffix}")  # the extension and the folder's permissions


def _fill(summary: FolderSummary, outcomes: dict[int, ImageOutcome], t0: float) -> None:
    summary.outcomes = [outcomes[i] for i in sorted(outcomes)]
    summary.seconds = time.perf_counter() - t0


class _QuietProgress(FolderProgress):
    def start(self, total: int, skipped: int) -> None:
        pass

    def image(self, outcome: ImageOutcome) -> None:
        pass

    def end(self, summary: FolderSummary) -> None:
        pass
