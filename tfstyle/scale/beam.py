"""A whole collection on Apache Beam: many machines, each stylizing its own share of the images.

:class:`StyleModelHandler` is a ``ModelHandler`` for Beam's ``RunInference``: ``load_model`` builds
the VGG16 feature model once per worker process and reads the style image(s); ``run_inference``
stylizes each image of a batch alone, with the handler's :class:`tfstyle.StyleConfig`, exactly as
``tfstyle.run`` would, and returns ``PredictionResult``\\ s whose ``inference`` is the image
(float32 ``[height, width, 3]`` in [0, 255]). Examples are paths (any filesystem Beam knows),
a file's bytes, or images. Wrap it in a ``KeyedModelHandler`` to carry file names along.
:class:`FastModelHandler` does the same with a fast stylizer (``config.model``), loaded once per
worker process: one pass per image, no VGG16.

:class:`StylizeFiles` is the whole job as a ``PTransform``: it matches a file pattern, names each
output as ``tfstyle.batch`` does (:func:`tfstyle.scale.folder.output_names`), skips an image
whose output exists, stylizes the rest, writes each result atomically (a temporary name, then a
rename) and returns the failures, ``(path, reason)``. :func:`run_pipeline` runs it in a pipeline,
writes the failures to ``<output_dir>/_failed-<time>-*.txt`` and returns the counts; without a
style, with the fast stylizer. Paths are Beam's: local, ``gs://``, ``s3://``, ``hdfs://``, ... for
the inputs, the outputs, the style and the weights (a remote weights file is copied to a local
temporary file once per worker); a fast stylizer is a shipped model's name or a local folder.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import apache_beam as beam
import keras
import numpy as np
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import Metrics, MetricsFilter
from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, PredictionResult, RunInference
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from PIL import Image

from tfstyle.config import StyleConfig, preset
from tfstyle.errors import ConfigError, ImageError, TfstyleError, WeightsError, first_line
from tfstyle.fast.stylizer import FastStylizer, fast_stylizer_for
from tfstyle.inputs import images as imageio
from tfstyle.inputs.prepare import load_styles
from tfstyle.loop.optimize import feature_model_for_run, stylize
from tfstyle.network.features import resolve_weights
from tfstyle.scale.folder import output_names, prepare_output_folder

# The counters stylized, skipped and failed; the distributions stylize_msec and stylize_cpu_msec (the
# process's CPU time while an image was stylized, all threads: with one image at a time, that image's)
NAMESPACE = "tfstyle"
STYLIZED, SKIPPED, FAILED = "stylized", "skipped", "failed"
LOCAL_RUNNER = "FnApiRunner"  # what DirectRunner runs this pipeline on, without trying to fetch Prism first
ImageInput = str | bytes | imageio.ImageLike  # a path (any Beam filesystem), a file's bytes, or an image


def is_remote(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a URL of a filesystem Beam reads (``gs://...``), not a local path."""
    return FileSystems.get_scheme(os.fspath(path)) is not None


def absolute(pattern: str) -> str:
    """A local path or pattern made absolute (Beam matches a bare ``photo*.jpg`` to nothing); a URL as it is."""
    return pattern if is_remote(pattern) else os.path.abspath(os.path.expanduser(pattern))


def read_bytes(path: str, what: str = "image") -> bytes:
    """The contents of ``path`` on any filesystem Beam knows; ImageError when it cannot be read."""
    if not is_remote(path):
        try:
            return Path(path).read_bytes()
        except FileNotFoundError:
            raise ImageError(f"{what} not found: {path}") from None
        except IsADirectoryError:
            raise ImageError(f"{what} {path} is a directory, not an image file") from None
        except OSError as err:
            raise ImageError(f"cannot read {what} {path}: {err.strerror or err}") from None
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            return handle.read()
    except Exception as err:  # noqa: BLE001 - each filesystem raises its own kinds; the image fails alone
        raise ImageError(f"cannot read {what} {path}: {first_line(err)}") from None


def read_image(source: ImageInput, what: str = "image") -> np.ndarray:
    """``source`` as float32 RGB ``[height, width, 3]`` in [0, 255]: a path (local or remote), an
    image file's bytes, or anything :func:`tfstyle.load_image` takes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return imageio.decode_image(bytes(source), what)
    if isinstance(source, str) and is_remote(source):
        return imageio.decode_image(read_bytes(source, what), what, source)
    return imageio.load_image(source, what)


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` (any Beam filesystem) under a temporary name in the same folder,
    then rename it: ``path`` is either what it was or complete."""
    folder, name = FileSystems.split(path)
    temporary = FileSystems.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with FileSystems.create(temporary, mime_type=_mime_type(name), compression_type=CompressionTypes.UNCOMPRESSED) as f:
            f.write(data)
        FileSystems.rename([temporary], [path])
    except BaseException:
        try:
            FileSystems.delete([temporary])
        except Exception:  # noqa: BLE001 - it may not have been created; the first error is the one to tell
            pass
        raise


_COPY_LOCK = threading.Lock()


def local_weights(weights: str) -> str:
    """``weights`` where keras can read it: a remote weights file (``gs://.../vgg16.h5``) copied to
    a local temporary file, once per machine; names (``imagenet``, ``random``) and local paths as given."""
    if not is_remote(weights):
        return weights
    target = Path(tempfile.gettempdir()) / f"tfstyle-{hashlib.sha256(weights.encode()).hexdigest()[:12]}-{Path(weights).name}"
    with _COPY_LOCK:
        if target.is_file():
            return str(target)
        partial = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            with FileSystems.open(weights, compression_type=CompressionTypes.UNCOMPRESSED) as source, open(partial, "wb") as copy:
                shutil.copyfileobj(source, copy, 16 << 20)
            os.replace(partial, target)
        except Exception as err:  # noqa: BLE001 - any filesystem's error gets the same message
            partial.unlink(missing_ok=True)
            raise WeightsError(f"could not copy the VGG16 weights from {weights}: {first_line(err)}") from None
    return str(target)


@dataclass(frozen=True)
class StyleModel:
    """What :meth:`StyleModelHandler.load_model` gives each worker: the feature model and the style
    images (one, or several to blend)."""

    features: keras.Model
    style: list[np.ndarray]


M = TypeVar("M")


class _ImageHandler(ModelHandler[ImageInput, PredictionResult, M]):
    """What the handlers share: one example (an image) at a time, the settings of ``config`` and no
    ``inference_args``, the examples' bytes, and the metrics' namespace."""

    def __init__(self, config: StyleConfig):
        super().__init__(min_batch_size=1, max_batch_size=1)  # each image runs alone
        self.config = config

    def validate_inference_args(self, inference_args: dict[str, Any] | None) -> None:
        if inference_args:
            raise ConfigError(f"{type(self).__name__} takes no inference_args (its settings are the StyleConfig): {inference_args}")

    def get_num_bytes(self, batch: Sequence[ImageInput]) -> int:
        return sum(len(e) if isinstance(e, (bytes, str)) else int(np.asarray(e).nbytes) for e in batch)

    def get_metrics_namespace(self) -> str:
        return "tfstyle_RunInference"


class StyleModelHandler(_ImageHandler[StyleModel]):
    """Stylizes each image with ``style`` and ``config`` (default: the ``default`` preset) in
    ``RunInference``, one image at a time, as ``tfstyle.run`` would.

    ``style`` is a path (local or remote), an image, or a list of them to blend. Examples are
    paths, image files' bytes or images; each ``PredictionResult.inference`` is the stylized image,
    float32 ``[height, width, 3]`` in [0, 255]. An image that cannot be stylized raises (a
    :class:`tfstyle.TfstyleError` for a bad image or a non-finite loss): use
    ``RunInference(...).with_exception_handling()`` to collect those instead of failing.
    """

    def __init__(self, style: ImageInput | Sequence[ImageInput], config: StyleConfig | None = None):
        super().__init__(config or preset("default"))  # each image runs alone: batches buy nothing
        self.style = list(style) if isinstance(style, (list, tuple)) else style

    def load_model(self) -> StyleModel:
        """The VGG16 feature model of the config's layers (its weights copied here first if remote),
        on the config's device in the form its runs compute (converted once, not per image), and
        the style image(s)."""
        local = self.config.override(weights=local_weights(self.config.weights))
        return StyleModel(feature_model_for_run(None, local), load_styles(self.style, read_image))

    def run_inference(
        self, batch: Sequence[ImageInput], model: StyleModel, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        """Each example of ``batch`` stylized alone; raises at the first that cannot be."""
        return [
            _timed(example, lambda content: stylize(content, model.style, self.config, feature_model=model.features).image)
            for example in batch
        ]


class FastModelHandler(_ImageHandler[FastStylizer]):
    """Paints each image with the fast stylizer ``config.model`` (a shipped model's name or a local
    SavedModel folder) at ``config.image_size`` in ``RunInference``, one pass per image, as
    ``tfstyle.run --model`` would; the same examples and results as :class:`StyleModelHandler`."""

    def __init__(self, config: StyleConfig):
        if config.model is None:
            raise ConfigError("FastModelHandler needs a `model` (a fast stylizer)")
        super().__init__(config)  # the network takes one image of any size at a time

    def load_model(self) -> FastStylizer:
        """The fast stylizer, loaded once per worker process."""
        assert self.config.model is not None, "checked in __init__"
        return FastStylizer.load(self.config.model, self.config.precision)

    def run_inference(
        self, batch: Sequence[ImageInput], model: FastStylizer, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        """Each example of ``batch`` through the network; raises at the first that cannot be."""
        return [_timed(example, lambda content: model(content, image_size=self.config.image_size)) for example in batch]


def _timed(example: ImageInput, paint: Callable[[np.ndarray], np.ndarray]) -> PredictionResult:
    """``example`` read and painted by ``paint``, its wall and CPU time in the ``stylize_msec`` and
    ``stylize_cpu_msec`` distributions."""
    start, cpu = time.perf_counter(), time.process_time()
    image = paint(read_image(example, "content image"))
    Metrics.distribution(NAMESPACE, "stylize_msec").update(int(1000 * (time.perf_counter() - start)))
    Metrics.distribution(NAMESPACE, "stylize_cpu_msec").update(int(1000 * (time.process_time() - cpu)))
    return PredictionResult(example, image)


class StylizeFiles(beam.PTransform):
    """Every file matching ``pattern`` stylized into ``output_dir`` as ``<stem><suffix>`` (a short
    hash of the path added where names repeat), skipping those whose output exists unless
    ``overwrite``; ``style`` None: painted by the fast stylizer ``config.model``. Applied to a
    pipeline; gives the failures, ``(path, one-line reason)``.
    Counts the images stylized, skipped and failed in Beam metrics (namespace ``tfstyle``)."""

    def __init__(
        self,
        pattern: str,
        style: ImageInput | Sequence[ImageInput] | None,
        output_dir: str,
        config: StyleConfig | None = None,
        *,
        suffix: str = ".png",
        overwrite: bool = False,
    ):
        super().__init__()
        self.pattern, self.output_dir, self.suffix, self.overwrite = absolute(pattern), output_dir, suffix, overwrite
        self.style, self.config = style, config or preset("default")
        handler = FastModelHandler(self.config) if style is None else StyleModelHandler(style, self.config)
        self.handler: KeyedModelHandler = KeyedModelHandler(handler)

    def expand(self, pipeline: beam.pvalue.PBegin) -> beam.PCollection:
        sources = (
            pipeline
            | "Match" >> fileio.MatchFiles(self.pattern, fileio.EmptyMatchTreatment.ALLOW)
            | "Paths" >> beam.Map(lambda found: found.path)
        )
        named = (
            sources
            | "Key by name" >> beam.Map(lambda path: (Path(path).stem, path))
            | "Group by name" >> beam.GroupByKey()
            | "Name outputs" >> beam.FlatMap(_outputs, self.output_dir, self.suffix)
            | "Skip done" >> beam.ParDo(_SkipDone(self.overwrite)).with_outputs(FAILED, main="todo")
        )
        stylized, dead = (
            named.todo
            | "Key" >> beam.Map(lambda paths: (paths, paths[0]))
            | "Stylize" >> RunInference(self.handler).with_exception_handling()
        )
        written = stylized | "Write" >> beam.ParDo(_Write(self.suffix)).with_outputs(FAILED, main="written")
        not_stylized = dead.failed_inferences | "Reasons" >> beam.FlatMap(_failed_batch)
        failures = (named[FAILED], not_stylized, written[FAILED]) | "Failures" >> beam.Flatten()
        return failures | "Count failures" >> beam.Map(_count_failure)


def _outputs(named: tuple[str, Iterable[str]], output_dir: str, suffix: str) -> Iterator[tuple[str, str]]:
    """(source, output) for the sources that share a stem; the names :func:`output_names` gives."""
    sources = sorted(named[1])
    for source, name in zip(sources, output_names(sources, suffix)):
        yield source, FileSystems.join(output_dir, name)


class _SkipDone(beam.DoFn):
    def __init__(self, overwrite: bool):
        self.overwrite = overwrite
        self.skipped = Metrics.counter(NAMESPACE, SKIPPED)

    def process(self, paths: tuple[str, str]) -> Iterator[Any]:
        source, output = paths
        if not is_remote(output) and os.path.isdir(output):  # only a file is a finished output
            reason = f"output {output} is a directory, not an image file; move it or choose another folder"
            yield beam.pvalue.TaggedOutput(FAILED, (source, reason))
        elif not self.overwrite and FileSystems.exists(output):
            self.skipped.inc()
        else:
            yield paths


class _Write(beam.DoFn):
    def __init__(self, suffix: str):
        self.suffix = suffix
        self.stylized = Metrics.counter(NAMESPACE, STYLIZED)

    def process(self, keyed: tuple[tuple[str, str], PredictionResult]) -> Iterator[Any]:
        (source, output), result = keyed
        try:
            write_atomically(output, imageio.encode_image(result.inference, self.suffix))
        except Exception as err:  # noqa: BLE001 - an unwritable output fails its image alone
            yield beam.pvalue.TaggedOutput(FAILED, (source, f"could not write {output}: {first_line(err)}"))
        else:
            self.stylized.inc()
            yield output


def _failed_batch(failure: tuple[list, tuple]) -> Iterator[tuple[str, str]]:
    """RunInference's dead letter, ``(batch, (type, repr, traceback))``, as ``(source, reason)``."""
    batch, (kind, text, trace) = failure
    for (source, _output), _example in batch:
        yield source, failure_reason(kind, text, trace)


def failure_reason(kind: type, text: str, trace: Sequence[str] = ()) -> str:
    """One line saying why: a :class:`tfstyle.TfstyleError`'s message, else ``Type: message``."""
    qualified = kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else f"{kind.__module__}.{kind.__qualname__}"
    last = trace[-1] if trace else ""
    message = last[len(qualified) + 2 :] if last.startswith(qualified + ": ") else text
    if not issubclass(kind, TfstyleError):
        message = f"{kind.__name__}: {message}"
    return " ".join(message.split())


_FAILED_COUNTER = Metrics.counter(NAMESPACE, FAILED)


def _count_failure(failure: tuple[str, str]) -> tuple[str, str]:
    _FAILED_COUNTER.inc()
    return failure


@dataclass(frozen=True)
class BeamSummary:
    """What a pipeline did: images stylized, skipped (their output existed) and failed (listed, a
    path and a reason a line, in the files ``failures`` matches), its wall time, and the mean time
    to stylize one image on a worker, and the CPU time it took there."""

    stylized: int
    skipped: int
    failed: int
    failures: str
    seconds: float
    seconds_per_image: float
    cpu_seconds_per_image: float


def run_pipeline(files: StylizeFiles, options: PipelineOptions | Sequence[str] | None = None) -> BeamSummary:
    """Run the job ``files`` in a Beam pipeline with ``options`` (a ``PipelineOptions`` or
    command-line arguments such as ``["--runner=DataflowRunner", "--project=..."]``; without a
    runner, here on Beam's local runner) and wait for it. The failures go to
    ``<output_dir>/_failed-<time>-*.txt``. Checks the inputs first: raises what would make every
    image fail (no file matches, an unreadable style, a bad model, missing weights, an output folder
    that is a file), and :class:`tfstyle.TfstyleError` if the pipeline itself fails.
    """
    if not isinstance(options, PipelineOptions):
        options = PipelineOptions(list(options or []))
    standard = options.view_as(StandardOptions)
    standard.runner = standard.runner or LOCAL_RUNNER
    FileSystems.set_options(options)  # hdfs:// and s3:// take their settings from the options
    check_inputs(files)
    failures = FileSystems.join(files.output_dir, f"_failed-{time.strftime('%Y%m%d-%H%M%S')}")
    start = time.perf_counter()
    pipeline = beam.Pipeline(options=options)
    (
        pipeline
        | "Stylize files" >> files
        | "Failure lines" >> beam.MapTuple(lambda source, reason: f"{source}\t{reason}")
        | "Write failures" >> beam.io.WriteToText(failures, file_name_suffix=".txt", skip_if_empty=True)
    )
    try:
        result = pipeline.run()
        result.wait_until_finish()
    except Exception as err:  # noqa: BLE001 - a runner's failure, whatever its kind, is one message
        raise TfstyleError(f"the Beam pipeline failed: {first_line(err)}") from err
    counts = {name: _counter(result, name) for name in (STYLIZED, SKIPPED, FAILED)}
    if not counts[FAILED]:  # a runner that reports no metrics still must not hide a failure
        counts[FAILED] = len(failure_lines(f"{failures}-*.txt"))
    return BeamSummary(**counts, failures=f"{failures}-*.txt", seconds=time.perf_counter() - start,
                       seconds_per_image=_mean(result, "stylize_msec") / 1000,
                       cpu_seconds_per_image=_mean(result, "stylize_cpu_msec") / 1000)  # fmt: skip


def check_inputs(files: StylizeFiles) -> None:
    """Fail before the pipeline starts for what would fail every image of ``files``."""
    pattern, style, output_dir, config, suffix = files.pattern, files.style, files.output_dir, files.config, files.suffix
    if config.model is not None and is_remote(config.model):
        raise ConfigError(f"a fast stylizer is a shipped model's name or a local folder, not {config.model}: "
                          "put the model in the workers' image (docs/many-machines.md)")  # fmt: skip
    fast_stylizer_for(style, config)  # a bad model, or neither a style nor a model
    if Image.registered_extensions().get(suffix.lower()) not in Image.SAVE:
        raise ConfigError(f"{suffix!r} is no image extension PIL can write (use .png or .jpg)")
    try:
        found = FileSystems.match([absolute(pattern)], limits=[1])[0].metadata_list
    except Exception as err:  # noqa: BLE001 - a missing filesystem (gs:// without apache-beam[gcp]), a bad bucket
        raise ImageError(f"cannot list {pattern}: {first_line(err)}") from None
    if not found:
        raise ImageError(f"no files match {pattern}")
    if style is not None:  # the optimization's inputs; the fast stylizer alone needs neither
        load_styles(style, read_image)
        if is_remote(config.weights):
            if not FileSystems.exists(config.weights):
                raise WeightsError(f"VGG16 weights file not found: {config.weights}")
        else:
            resolve_weights(config.weights)
    if not is_remote(output_dir):
        prepare_output_folder(Path(output_dir), suffix)


def unknown_options(args: Sequence[str]) -> list[str]:
    """The arguments of ``args`` that no Beam pipeline option takes (a misspelt flag, a stray word)."""
    parsers: list[Any] = []
    PipelineOptions([]).get_all_options(add_extra_args_fn=parsers.append)  # the parser of every option Beam knows
    return list(parsers[0].parse_known_args(list(args))[1])


def failure_lines(pattern: str, limit: int | None = None) -> list[str]:
    """The failures listed in the files ``pattern`` matches, ``path: reason`` each (the first ``limit``)."""
    lines: list[str] = []
    for found in FileSystems.match([pattern])[0].metadata_list:
        text = read_bytes(found.path, "list of failures").decode("utf-8")
        lines += [line.replace("\t", ": ", 1) for line in text.splitlines() if line]
    return lines[:limit]


def _counter(result: beam.runners.runner.PipelineResult, name: str) -> int:
    found = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE).with_name(name))["counters"]
    return int(sum(_value(counter) or 0 for counter in found))


def _mean(result: beam.runners.runner.PipelineResult, name: str) -> float:
    found = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE).with_name(name))["distributions"]
    values = [value for value in map(_value, found) if value is not None and value.count]
    count = sum(value.count for value in values)
    return sum(value.sum for value in values) / count if count else 0.0


def _value(metric: Any) -> Any:
    """The committed value where the runner has it, else the attempted one (portable runners)."""
    try:
        committed = metric.committed
    except Exception:  # noqa: BLE001 - some runners raise instead of returning None
        committed = None
    return committed if committed is not None else metric.attempted


def _mime_type(name: str) -> str:
    image_format = Image.registered_extensions().get(Path(name).suffix.lower(), "")
    return Image.MIME.get(image_format, "application/octet-stream")
