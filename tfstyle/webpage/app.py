"""The ASGI app: the page (``static/``) and its HTTP API, on Starlette.

    GET  /                         the page
    GET  /api/settings             the controls and presets, from StyleConfig's metadata (controls.describe),
                                   and the instant styles (instant.InstantStyles.describe)
    POST /api/images?page=P        an image as the request body → {id, width, height, instant}
    POST /api/runs?page=P          {content, styles: [{image, weight}], settings: {preset, ...},
                                   instant: {model, start}} → the run (instant: optional)
    POST /api/fast?page=P          {content, model, image_size} → a finished run: the instant picture
    GET  /api/runs?page=P          the page's runs and the queue's length (what each event carries)
    GET  /api/runs/R?page=P        the run: state, place in the queue, iteration, losses, time left
    POST /api/runs/R/stop?page=P   stop it (a running one keeps its image so far)
    GET  /api/runs/R/preview?page=P   the latest intermediate image (JPEG)
    GET  /api/runs/R/instant.jpg?page=P  the instant picture it showed first (JPEG; runs with "instant")
    GET  /api/runs/R/result.png?page=P  the result (PNG)
    GET  /api/events?page=P        server-sent events: the page's runs whenever something changes

``P`` is a page's random id (32 hex digits, made by the page); a page sees only its own uploads and
runs, and while its event stream is open (or it made a request lately) it counts as there (runs.py).
Errors are ``{"error": message}`` with a 4xx status. Requests that change something must carry a
content type a cross-site form cannot send (an image type, JSON), so another site open in the same
browser cannot use the server; with ``hosts``, requests naming another host are refused (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from tfstyle.errors import TfstyleError
from tfstyle.fast.stylizer import shipped_models
from tfstyle.webpage import controls
from tfstyle.webpage.instant import InstantStyles, UnknownStyle
from tfstyle.webpage.runs import Run, Runs
from tfstyle.webpage.uploads import Limits, UploadError

STATIC = Path(__file__).parent / "static"
PAGE_ID = re.compile(r"[0-9a-f]{32}")
HEARTBEAT_SECONDS = 10.0  # an idle event stream sends a comment this often, which finds a dead connection
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Options:
    """How the server runs: ``fixed`` settings over every run's (weights, device), the upload
    ``limits``, the page's starting ``preset``, the ``grace`` a silent page gets before its runs
    are cancelled, the ``hosts`` the Host header may name (None: any), and the instant styles'
    ``models``, name → fast-stylizer folder (None: the shipped ones, ``shipped_models()``)."""

    fixed: dict[str, object] = field(default_factory=lambda: {"weights": "imagenet"})
    limits: Limits = Limits()
    preset: str = "default"
    grace: float = 10.0
    previews: int = 25
    hosts: Sequence[str] | None = None
    models: Mapping[str, Path] | None = None


class ApiError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def create_app(options: Options = Options()) -> Starlette:
    """The web app; its :class:`Runs` (``app.state.runs``) starts and stops with the app's lifespan."""
    instant = InstantStyles(shipped_models() if options.models is None else options.models)
    runs = Runs(options.fixed, options.limits, options.grace, options.previews, instant=instant)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runs.start()
        try:
            yield
        finally:
            await run_in_threadpool(runs.close)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={**PAGE_HEADERS, "Cache-Control": "no-store"})

    async def settings(request: Request) -> Response:
        described = controls.describe(options.preset)
        return JSONResponse(described | {"max_upload_bytes": options.limits.bytes, "instant_styles": instant.describe()})

    async def upload(request: Request) -> Response:
        page = _page(request, runs)
        _require_type(request, ("image/", "application/octet-stream"))
        data = await _body(request, options.limits)
        try:
            image = await run_in_threadpool(runs.add_upload, page, data)
        except UploadError as err:
            raise ApiError(str(err), err.status) from None
        learned = instant.learned(image.sha256)  # a painting an instant style learned: its picture comes first
        return JSONResponse({"id": image.id, "width": image.width, "height": image.height, "instant": learned}, status_code=201)

    async def submit(request: Request) -> Response:
        page = _page(request, runs)
        _require_type(request, ("application/json",))
        body = await _json(request)
        content = _field(body, "content", "the photo's id, from POST /api/images")
        styles = body.get("styles")
        if not isinstance(styles, list) or not all(isinstance(s, dict) for s in styles):
            raise ApiError("`styles` must be a list of {image, weight}")
        chosen = body.get("instant") or {}
        if not isinstance(chosen, dict) or not isinstance(chosen.get("start", False), bool):
            raise ApiError("the request's \"instant\" field must be {model, start}: an instant style's name, and true to start from its picture")
        with _user_errors():  # the instant picture, if any, takes up to a second: not in the event loop
            run = await run_in_threadpool(
                runs.submit,
                page,
                content,
                [_field(style, "image", "each painting's id, from POST /api/images") for style in styles],
                [style.get("weight", 1.0) for style in styles],
                body.get("settings", {}),
                str(body.get("kind", "image")),
                _field(chosen, "model", "an instant style's name, from GET /api/settings") if chosen else None,
                chosen.get("start", False),
            )
        return JSONResponse(runs.public(run), status_code=201)

    async def fast(request: Request) -> Response:
        page = _page(request, runs)
        _require_type(request, ("application/json",))
        body = await _json(request)
        content = _field(body, "content", "the photo's id, from POST /api/images")
        model = _field(body, "model", "an instant style's name, from GET /api/settings")
        with _user_errors():  # beside the queue, in a thread: it never waits for an optimization
            run = await run_in_threadpool(runs.instant_picture, page, content, model, body.get("image_size"))
        return JSONResponse(runs.public(run), status_code=201)

    async def view(request: Request) -> Response:
        return JSONResponse(runs.view(_page(request, runs)))

    async def status(request: Request) -> Response:
        return JSONResponse(runs.public(_run(request, runs)))

    async def stop(request: Request) -> Response:
        page = _page(request, runs)
        _require_type(request, ("application/json",))
        run = runs.stop(page, request.path_params["run"])
        if run is None:
            raise ApiError("no such run on this page", 404)
        return JSONResponse(runs.public(run))

    async def preview(request: Request) -> Response:
        image = _run(request, runs).preview
        if image is None:
            raise ApiError("no intermediate image yet", 404)
        return Response(image, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def first(request: Request) -> Response:
        image = _run(request, runs).first
        if image is None:
            raise ApiError("this run has no instant picture", 404)
        return Response(image, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def result(request: Request) -> Response:
        run = _run(request, runs)
        if run.result is None or not run.result.exists():
            raise ApiError("this run has no result (yet)", 404)
        name = f"tfstyle-{run.number}.png"
        return FileResponse(run.result, media_type="image/png", filename=name, headers={"Cache-Control": "no-store"})

    async def events(request: Request) -> Response:
        page = _page(request, runs)
        return StreamingResponse(
            _events(runs, page), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )

    async def api_error(request: Request, err: Exception) -> Response:
        status = err.status if isinstance(err, ApiError) else 400
        return JSONResponse({"error": controls.plain(str(err))}, status_code=status)

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/api/settings", settings),
            Route("/api/images", upload, methods=["POST"]),
            Route("/api/runs", submit, methods=["POST"]),
            Route("/api/fast", fast, methods=["POST"]),
            Route("/api/runs", view),
            Route("/api/runs/{run}", status),
            Route("/api/runs/{run}/stop", stop, methods=["POST"]),
            Route("/api/runs/{run}/preview", preview),
            Route("/api/runs/{run}/instant.jpg", first),
            Route("/api/runs/{run}/result.png", result),
            Route("/api/events", events),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers={ApiError: api_error},
        middleware=[Middleware(_OnlyHosts, hosts=options.hosts)] if options.hosts is not None else [],
        lifespan=lifespan,
    )
    app.state.runs = runs
    return app


async def _events(runs: Runs, page: str) -> AsyncIterator[str]:
    """The page's view whenever it changes (checked 5 times a second), and a comment when idle."""
    runs.attach(page)
    loop = asyncio.get_running_loop()
    try:
        yield "retry: 1000\n\n"  # reconnect after a second if the connection drops
        sent, beat = -1, loop.time()
        while not runs.closing:
            if runs.version != sent:
                sent = runs.version
                yield f"data: {json.dumps(runs.view(page))}\n\n"
                beat = loop.time()
            elif loop.time() - beat > HEARTBEAT_SECONDS:
                yield ": still here\n\n"
                beat = loop.time()
            await asyncio.sleep(0.2)
    finally:
        runs.detach(page)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """A user's error (:class:`TfstyleError`) as the API's: 404 for an unknown instant style, else
    the upload's own status, else 400."""
    try:
        yield
    except UnknownStyle as err:
        raise ApiError(str(err), 404) from None
    except TfstyleError as err:
        raise ApiError(str(err), getattr(err, "status", 400)) from None


def _page(request: Request, runs: Runs) -> str:
    """The request's page id (and the page marked as seen)."""
    page = request.query_params.get("page", "")
    if not PAGE_ID.fullmatch(page):
        raise ApiError("missing or malformed page id; reload the page")
    runs.touch(page)
    return page


def _run(request: Request, runs: Runs) -> Run:
    run = runs.find(_page(request, runs), request.path_params["run"])
    if run is None:
        raise ApiError("no such run on this page", 404)
    return run


def _require_type(request: Request, allowed: tuple[str, ...]) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not kind.startswith(allowed):
        raise ApiError(f"expected a request of type {' or '.join(allowed)}, got {kind or 'none'}", 415)


async def _body(request: Request, limits: Limits) -> bytes:
    """The request body, read up to the byte limit (a larger one is refused without reading it all)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.bytes:
        raise ApiError(str(limits.too_large(int(declared))), 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.bytes:
            raise ApiError(str(limits.too_large(size)), 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _json(request: Request) -> dict:
    try:
        body = json.loads(await _body(request, Limits(bytes=64 * 1024)))
    except ApiError as err:
        raise ApiError("the request is too large", err.status) from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError("the request is not valid JSON") from None
    except RecursionError:  # json's decoder recurses once per nested array or object
        raise ApiError("the request is nested too deeply to be a request of this page") from None
    if not isinstance(body, dict):
        raise ApiError("the request must be a JSON object")
    return body


def _field(body: dict, name: str, what: str) -> str:
    """The request's string field ``name`` (``what`` says what it holds), or an error saying it is missing."""
    value = body.get(name)
    if value is None or value == "":
        raise ApiError(f"the request has no \"{name}\" field ({what})")
    if not isinstance(value, str):
        raise ApiError(f"the request's \"{name}\" field must be a string ({what}), got {type(value).__name__}")
    return value


class _OnlyHosts:
    """Refuse requests whose Host header names another host than ``hosts`` (a DNS-rebinding guard)."""

    def __init__(self, app: ASGIApp, hosts: Sequence[str]):
        self.app, self.hosts = app, {host_name(host) for host in hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if host_name(host) not in self.hosts:
                response = JSONResponse({"error": f"unexpected Host header {host!r}"}, status_code=400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def host_name(host: str) -> str:
    """A host (or a Host header, with its port) as the guard compares it: lower case, without the
    port, brackets or a final dot, an address in its one short form (``[0:0::1]:80`` → ``::1``)."""
    name = host.strip().lower()
    if name.startswith("["):  # [IPv6]:port
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:  # name:port (more colons: a bare IPv6 address)
        name = name.partition(":")[0]
    name = name.rstrip(".")
    try:
        return ipaddress.ip_address(name).compressed
    except ValueError:
        return name
