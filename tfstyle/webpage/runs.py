"""The runs: a queue and its one worker thread, so one run at a time uses the device and the others
wait their turn, in order. Each run calls :func:`tfstyle.stylize` with a callback that publishes
its progress (iteration, losses, time left, a preview image every few iterations) and stops it
when asked. A feature model is built once per (layers, weights, pooling) and reused.

Instant styles (:mod:`tfstyle.webpage.instant`) run beside the queue, in the request's thread: an
instant picture alone becomes a finished run of kind ``fast`` at once; a run whose painting an
instant style learned (or that names one) has that style's picture to show first from the moment
it is queued, and, when asked, starts its optimization from it.

Pages own their uploads and runs. A page is alive while it holds its event stream open, or made a
request in the last ``grace`` seconds; when it goes (closed, reloaded, its network gone), its
waiting runs are cancelled, its running one stopped, and its files deleted. Everything here is
guarded by one lock; the worker is the only thread that optimizes (an instant picture, one pass
through a small network, is made in the request's thread, never holding the lock).
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfstyle.config import StyleConfig
from tfstyle.errors import ConfigError, NonFiniteLossError, TfstyleError
from tfstyle.inputs.images import save_image, to_pil
from tfstyle.loop.callbacks import Callback, Step
from tfstyle.loop.optimize import Result, feature_model_for_run, run_model_key, stylize
from tfstyle.webpage import controls
from tfstyle.webpage.instant import InstantStyles, painting
from tfstyle.webpage.uploads import Limits, PrivateFolder, UploadError, check_image

log = logging.getLogger("tfstyle.web")

FINISHED = ("done", "stopped", "failed", "cancelled")  # a run's states after "queued" and "running"
MAX_UPLOADS_PER_PAGE = 50
MAX_WAITING_PER_PAGE = 10
LOSSES = ("total", "content", "style")


@dataclass(frozen=True)
class Upload:
    """An uploaded image, checked, stored in the private folder under a name of our own."""

    id: str
    path: Path
    width: int
    height: int
    sha256: str  # of the file's bytes: which instant style, if any, learned this painting


@dataclass(eq=False)
class Run:
    """A run and what the page sees of it. ``kind`` names its job in :data:`JOBS`, or is ``fast``: an
    instant picture, finished when it is made. ``model``: the instant style whose picture (``first``)
    it shows before its own (a ``fast`` run's: the style of its result); ``start``: that picture
    again, when the optimization starts from it."""

    id: str
    number: int  # 1, 2, ... on its page
    page: str
    preset: str
    config: StyleConfig
    content: Path
    styles: tuple[Path, ...]
    kind: str = "image"
    state: str = "queued"
    iteration: int = 0
    iterations: int = 0
    losses: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    preview: bytes | None = None  # the latest preview, JPEG
    previews: int = 0  # how many previews so far: the page fetches the preview again when it grows
    result: Path | None = None  # the PNG, once the run has ended with an image
    size: tuple[int, int] | None = None  # the result's (width, height)
    message: str = ""
    model: str | None = None
    first: bytes | None = None  # the model's picture, JPEG, shown before the optimization's previews
    from_model: bool = False  # the optimization starts from the model's picture (else from the photo)
    start: np.ndarray | None = None  # that picture, uint8 [h, w, 3] (whole grey levels), until the run starts
    abandoned: bool = False  # its page went away
    stop: threading.Event = field(default_factory=threading.Event)

    def public(self, position: int | None) -> dict:
        """The run as the page sees it; ``position``: 1 for the next to run, 2, ... (None: not waiting)."""
        left = (self.iterations - self.iteration) * self.seconds / self.iteration if self.iteration else None
        return {
            "id": self.id,
            "number": self.number,
            "kind": self.kind,
            "state": self.state,
            "stopping": self.state == "running" and self.stop.is_set(),  # asked to stop; it ends after this iteration
            "position": position,
            "iteration": self.iteration,
            "iterations": self.iterations or self.config.iterations,
            "losses": self.losses,
            "seconds": round(self.seconds, 2),
            "seconds_left": None if left is None or self.state != "running" else round(left, 1),
            "previews": self.previews,
            "result": self.result is not None,
            "width": self.size[0] if self.size else None,
            "height": self.size[1] if self.size else None,
            "message": self.message,
            "instant": None if self.model is None else {
                "model": self.model, "label": painting(self.model).label, "start": self.from_model,
            },
            "settings": {"preset": self.preset, **{c.name: getattr(self.config, c.name) for c in controls.CONTROLS}},
        }


@dataclass(eq=False)
class Page:
    """An open page: its uploads and runs, and whether it is still there."""

    id: str
    seen: float  # when it last made a request or closed its event stream (the clock's seconds)
    streams: int = 0  # its open event streams
    uploads: dict[str, Upload] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)


Job = Callable[[Run, Callback, keras.Model], Result]


def stylize_image(run: Run, callback: Callback, model: keras.Model) -> Result:
    """The image job: :func:`tfstyle.stylize` on the run's photo and paintings (from its instant
    picture, when it asked to start from it)."""
    styles = [str(path) for path in run.styles]
    start = None if run.start is None else run.start.astype(np.float32)
    run.start = None  # the picture is the optimization's now; a long queue does not keep it twice
    return stylize(str(run.content), styles if len(styles) > 1 else styles[0], run.config, [callback], model, start_image=start)


# The jobs a run can be, by its ``kind``. The hook for a video job: when tfstyle has a video command,
# its function goes here (taking the run, the publishing callback and the feature model), the
# page's submit sends that kind, and the worker, the queue, progress and stopping stay as they are.
JOBS: dict[str, Job] = {"image": stylize_image}


class Runs:
    """The queue, the worker and the pages. ``fixed``: the server's settings, applied over every
    run's (``weights``, ``device``); ``grace``: how long a page may go silent before it counts as gone;
    ``previews``: about how many preview images a run publishes; ``instant``: the instant styles."""

    def __init__(
        self,
        fixed: Mapping[str, object] | None = None,
        limits: Limits | None = None,
        grace: float = 10.0,
        previews: int = 25,
        clock: Callable[[], float] = time.monotonic,
        instant: InstantStyles | None = None,
    ):
        self.instant = instant if instant is not None else InstantStyles({})
        self.fixed = dict(fixed if fixed is not None else {"weights": "imagenet"})
        self.limits = limits or Limits()
        self.grace = grace
        self.previews = previews
        self._clock = clock
        self._lock = threading.Condition()
        self._decoding = threading.Semaphore(2)
        self._pages: dict[str, Page] = {}
        self._queue: list[Run] = []
        self._current: Run | None = None
        self._models: dict[tuple, keras.Model] = {}
        self._closing = False
        self._thread: threading.Thread | None = None
        self.folder: PrivateFolder | None = None
        self.version = 0  # grows with every change a page could see

    # --- the server's life ----------------------------------------------------------------------

    def start(self) -> None:
        """Make the private folder and start the worker."""
        self.folder = PrivateFolder()
        self._thread = threading.Thread(target=self._work, name="tfstyle-web-worker", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Cancel the waiting runs, stop the running one, wait for the worker, and delete the folder."""
        with self._lock:
            self._closing = True
            for run in self._queue:
                run.state, run.message = "cancelled", "the server stopped"
            self._queue.clear()
            if self._current is not None:
                self._current.stop.set()
            self._changed()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self.folder is not None:
            self.folder.remove_all()

    @property
    def closing(self) -> bool:
        return self._closing

    # --- pages ----------------------------------------------------------------------------------

    def _page(self, page_id: str) -> Page:
        """The page ``page_id``, made on its first request, and marked as seen now (lock held)."""
        page = self._pages.get(page_id)
        if page is None:
            page = self._pages[page_id] = Page(page_id, self._clock())
        page.seen = self._clock()
        return page

    def attach(self, page_id: str) -> None:
        """The page opened an event stream: it is alive until the stream closes (and ``grace`` after)."""
        with self._lock:
            self._page(page_id).streams += 1

    def detach(self, page_id: str) -> None:
        with self._lock:
            page = self._pages.get(page_id)
            if page is not None:
                page.streams -= 1
                page.seen = self._clock()

    def touch(self, page_id: str) -> None:
        """A request from the page: it is alive."""
        with self._lock:
            self._page(page_id)

    # --- uploads and runs -----------------------------------------------------------------------

    def add_upload(self, page_id: str, data: bytes) -> Upload:
        """Check ``data`` (:func:`check_image`) and keep it for the page; raises :class:`UploadError`."""
        with self._lock:
            if len(self._page(page_id).uploads) >= MAX_UPLOADS_PER_PAGE:
                raise UploadError(f"this page has {MAX_UPLOADS_PER_PAGE} images already; reload it to start afresh")
        with self._decoding:  # outside the lock: decoding takes a while, and a few at once bound the memory
            width, height = check_image(data, self.limits)
        assert self.folder is not None, "start() first"
        upload = Upload(secrets.token_hex(16), self.folder.write(data), width, height, hashlib.sha256(data).hexdigest())
        with self._lock:
            self._page(page_id).uploads[upload.id] = upload
        return upload

    def submit(
        self,
        page_id: str,
        content: str,
        styles: Sequence[str],
        blend: Sequence[float],
        settings: Mapping[str, object],
        kind: str = "image",
        model: str | None = None,
        from_model: bool = False,
    ) -> Run:
        """Queue a ``kind`` run (:data:`JOBS`) of the page's uploads ``content`` and ``styles`` (ids) with
        ``settings`` (see :func:`controls.read`); raises :class:`ConfigError`, :class:`UploadError` or
        :class:`tfstyle.errors.ModelError`.

        Its first preview is the instant picture of ``model`` (an instant style's name), or, when
        ``model`` is None, of the style that learned its one painting (if one did); ``from_model``:
        the optimization starts from that picture (which needs ``model``), else from the photo.
        Making the picture takes the calling thread well under a second (a model's first use: a
        second or two more)."""
        if kind not in JOBS:
            raise ConfigError(f"unknown kind of run {kind!r}; this server runs: {', '.join(JOBS)}")
        if not styles:
            raise ConfigError("add at least one painting")
        if len(blend) != len(styles):
            raise ConfigError(f"{len(blend)} weights given for {len(styles)} paintings")
        if from_model and model is None:
            raise ConfigError("choose an instant style to start from")
        config = controls.read(settings, blend, self.fixed)
        with self._lock:
            photo, *paintings = self._admit(self._page(page_id), (content, *styles))
        asked = model is not None
        if asked:
            model = self.instant.check(model)
        elif len(paintings) == 1:
            model = self.instant.learned(paintings[0].sha256)
        first = None
        if model is not None:
            try:
                first = np.round(self.instant.picture(model, photo.path, config.image_size)).astype(np.uint8)
            except TfstyleError as err:
                if asked:
                    raise  # its message; only a preview the page did not ask for is left out quietly
                log.warning("no instant preview from %s: %s", model, err)
                model = None
        with self._lock:
            page = self._page(page_id)
            self._admit(page, (content, *styles))
            run = Run(
                id=secrets.token_hex(16),
                number=len(page.runs) + 1,
                page=page_id,
                preset=str(settings.get("preset", "default")),
                config=config,
                content=photo.path,
                styles=tuple(upload.path for upload in paintings),
                kind=kind,
                model=model,
                from_model=from_model,
                first=None if first is None else jpeg(first),
                start=first if from_model else None,
            )
            page.runs.append(run)
            self._queue.append(run)
            self._changed()
            self._lock.notify_all()
        return run

    def instant_picture(self, page_id: str, content: str, model: str, image_size: object = None) -> Run:
        """The page's upload ``content`` in the instant style ``model``, its longer side ``image_size``
        (the page's "Output size" rules; None: the default preset's), made at once in the calling
        thread, beside the queue: a finished run of kind ``fast`` with the picture as its result.
        Raises :class:`tfstyle.errors.ModelError` (an unknown style: :class:`UnknownStyle`),
        :class:`ConfigError` or :class:`UploadError`, and then keeps nothing."""
        model = self.instant.check(model)
        config = controls.read({} if image_size is None else {"image_size": image_size}, [1.0], self.fixed)
        with self._lock:
            (photo,) = self._admit(self._page(page_id), (content,), queued=False)
        self.instant.stylizer(model)  # its first use loads it: not part of the picture's time
        started = time.perf_counter()
        image = self.instant.picture(model, photo.path, config.image_size)
        seconds = time.perf_counter() - started
        assert self.folder is not None, "start() first"
        path = save_image(image, self.folder.new_path(".png"))
        with self._lock:
            page = self._pages.get(page_id)
            if page is None or self._closing:  # it went away meanwhile
                self._delete(path)
                raise UploadError("the page was closed")
            run = Run(
                id=secrets.token_hex(16),
                number=len(page.runs) + 1,
                page=page_id,
                preset="default",
                config=config,
                content=photo.path,
                styles=(),
                kind="fast",
                state="done",
                seconds=seconds,
                result=path,
                size=(int(image.shape[1]), int(image.shape[0])),
                model=model,
            )
            page.runs.append(run)
            self._changed()
        return run

    def find(self, page_id: str, run_id: str) -> Run | None:
        """The page's run ``run_id`` (None if the page has no such run)."""
        with self._lock:
            return next((run for run in self._page(page_id).runs if run.id == run_id), None)

    def stop(self, page_id: str, run_id: str) -> Run | None:
        """Stop the run: a waiting one is cancelled; a running one stops after its current iteration
        and keeps the image it has."""
        with self._lock:
            run = next((run for run in self._page(page_id).runs if run.id == run_id), None)
            if run is None:
                return None
            if run.state == "queued":
                self._queue.remove(run)
                run.state, run.message = "cancelled", "before it started"
            run.stop.set()
            self._changed()
            return run

    def view(self, page_id: str) -> dict:
        """What the page shows: its runs (with their places in the queue) and the queue's length."""
        with self._lock:
            positions = {run.id: place for place, run in enumerate(self._queue, start=1)}
            page = self._page(page_id)
            return {
                "runs": [run.public(positions.get(run.id)) for run in page.runs],
                "waiting": len(self._queue),
                "busy": self._current is not None,
            }

    def public(self, run: Run) -> dict:
        with self._lock:
            position = self._queue.index(run) + 1 if run in self._queue else None
            return run.public(position)

    # --- inside (lock held) ---------------------------------------------------------------------

    def _changed(self) -> None:
        self.version += 1

    def _admit(self, page: Page, images: Sequence[str], queued: bool = True) -> list[Upload]:
        """The page's uploads ``images``, if a run of them may start (``queued``: it waits in the
        queue); else the error that says why not."""
        if self._closing:
            raise ConfigError("the server is stopping")
        missing = [image for image in images if image not in page.uploads]
        if missing:
            raise UploadError("an image of this run is no longer on the server; add it again")
        if queued and sum(run.state == "queued" for run in page.runs) >= MAX_WAITING_PER_PAGE:
            raise ConfigError(f"{MAX_WAITING_PER_PAGE} runs of this page are waiting already; wait for them or stop some")
        return [page.uploads[image] for image in images]

    def _reap(self) -> None:
        """Forget the pages gone for longer than ``grace``: cancel their runs, delete their files."""
        now = self._clock()
        for page in [p for p in self._pages.values() if p.streams <= 0 and now - p.seen > self.grace]:
            del self._pages[page.id]
            for run in page.runs:
                if run.state == "queued":
                    self._queue.remove(run)
                    run.state, run.message = "cancelled", "its page was closed"
                elif run.state == "running":
                    run.abandoned = True
                    run.stop.set()
                self._delete(run.result)
            for upload in page.uploads.values():
                self._delete(upload.path)
            self._changed()

    def _delete(self, path: Path | None) -> None:
        if self.folder is not None:
            self.folder.remove(path)

    # --- the worker -----------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._lock:
                while True:
                    self._reap()
                    if self._closing:
                        return
                    if self._queue:
                        break
                    self._lock.wait(0.5)
                run = self._current = self._queue.pop(0)
                run.state = "running"
                self._changed()
            try:
                self._execute(run)
            finally:
                with self._lock:
                    self._current = None
                    self._changed()

    def _execute(self, run: Run) -> None:
        """Run the job; record how it ended, its image saved as PNG in the private folder."""
        result, message, failed = None, "", False
        try:
            result = JOBS[run.kind](run, _Publisher(self, run), self.feature_model(run.config))
        except NonFiniteLossError as err:
            result = err.result if err.result.iterations else None
            message, failed = controls.plain(str(err)) + (" (the last finite image is kept)" if result else ""), True
        except TfstyleError as err:
            message, failed = controls.plain(str(err)), True
        except Exception as err:  # noqa: BLE001 - the server goes on; the log has the traceback
            log.exception("run %s failed", run.id)
            message, failed = f"the run failed: {type(err).__name__}: {err}", True
        path = size = None
        if result is not None and not run.abandoned and not self._closing:
            assert self.folder is not None
            try:
                path = save_image(result.image, self.folder.new_path(".png"))
                size = (int(result.image.shape[1]), int(result.image.shape[0]))
            except TfstyleError as err:
                message, failed = controls.plain(str(err)), True
        with self._lock:
            run.result, run.size = path, size
            if run.abandoned:
                run.state, run.message = "cancelled", "its page was closed"
                self._delete(path)
                run.result = None
            elif failed:
                run.state, run.message = "failed", message
            elif run.stop.is_set() or (result is not None and result.stopped):
                run.state = "stopped"
                run.message = f"after {run.iteration} of {run.iterations} iterations"
            else:
                run.state = "done"
            self._changed()

    def feature_model(self, config: StyleConfig) -> keras.Model:
        """The feature model for ``config`` in the form its runs compute: built once per
        :func:`run_model_key` and kept."""
        key = run_model_key(config)
        if key not in self._models:
            self._models[key] = feature_model_for_run(None, config)
        return self._models[key]


class _Publisher(Callback):
    """The callback of a run: its progress to the page, a preview every few iterations, and a stop when asked."""

    def __init__(self, runs: Runs, run: Run):
        self._runs, self._run = runs, run
        self.every = 1
        self._preview_every = 1

    def on_start(self, iterations: int) -> None:
        self._preview_every = max(1, iterations // max(1, self._runs.previews))
        with self._runs._lock:
            self._run.iterations = iterations
            self._runs._changed()

    def on_step(self, step: Step) -> bool:
        preview = None
        if step.iteration % self._preview_every == 0 and step.iteration < step.iterations:
            preview = jpeg(step.image)
        with self._runs._lock:
            run = self._run
            run.iteration, run.iterations, run.seconds = step.iteration, step.iterations, step.seconds
            run.losses = {name: float(step.losses[name]) for name in LOSSES if name in step.losses}
            if preview is not None:
                run.preview, run.previews = preview, run.previews + 1
            self._runs._reap()
            self._runs._changed()
        return run.stop.is_set()


def jpeg(image: np.ndarray | tf.Tensor) -> bytes:
    """An image (``[h, w, 3]`` or ``[1, h, w, 3]`` in [0, 255]) as JPEG bytes, for previews."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
