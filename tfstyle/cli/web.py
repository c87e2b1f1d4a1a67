"""The command line of the web page: ``python -m tfstyle.web`` (or ``tfstyle-web``) serves tfstyle's
page on ``http://127.0.0.1:8000`` and prints the address; Ctrl-C stops it.

Its own flags say where to listen (``--host``, ``--port``) and how large an upload may be
(``--max_upload_mb``, ``--max_pixels``); the settings flags ``--weights``, ``--device`` and
``--precision`` apply to every run, and ``--preset`` is the one the page starts with. Listening on
another address than the loopback prints a warning saying what that exposes. Needs the ``web``
extra (Starlette, uvicorn): without it, one line says ``pip install 'tfstyle[web]'``.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys

from absl import flags

from tfstyle.cli.command import Command
from tfstyle.cli.common import fail, import_tensorflow_quietly
from tfstyle.cli.flags import config_from_flags

FLAGS = flags.FlagValues()
COMMAND = Command(
    "python -m tfstyle.web",
    "[--port=N] [--host=ADDRESS] [flags]",
    "Serves tfstyle's web page, where a person drops a photo and paintings, picks the settings and watches the "
    "picture form, and prints its address. One run at a time; the others wait in a queue. Ctrl-C stops the server "
    "and deletes the uploads.",
    FLAGS,
)

# fmt: off
COMMAND.own("inputs and output", flags.DEFINE_string, "host", "127.0.0.1", "Address to listen on. The default serves this computer "
            "only. 0.0.0.0 (every network interface) lets anyone who can reach the port upload images and use this "
            "machine's CPU or GPU, with no password.", "ADDRESS")
COMMAND.own("inputs and output", flags.DEFINE_integer, "port", 8000, "Port to listen on (0: any free port).", "N",
            minimum=0, maximum=65535)
COMMAND.own("inputs and output", flags.DEFINE_float, "max_upload_mb", 20.0, "Largest image file the page may upload, in megabytes.", "MB",
            above=0)
COMMAND.own("inputs and output", flags.DEFINE_integer, "max_pixels", 50_000_000, "Largest image the page may upload, in pixels "
            "(width × height); larger ones, and decompression bombs, are refused with a message.", "N", minimum=1)
COMMAND.settings(["weights", "device", "precision"], preset_help=" (here: the preset the page starts with)")
# fmt: on

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this computer only (``localhost``, ``127.0.0.1``, ``::1``, ...)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def page_hosts(host: str) -> tuple[str, ...] | None:
    """The names a request's Host header may give for a server listening on ``host`` (a guard against
    DNS rebinding): on the loopback its usual names and ``host`` itself (``127.0.0.2``, ``[::1]``, ...);
    None, any, on other addresses."""
    return (*LOOPBACK_NAMES, host) if is_loopback(host) else None


def exposure_warning(host: str, port: int) -> str | None:
    """What listening on ``host`` exposes, for a warning (None for the loopback: nothing)."""
    if is_loopback(host):
        return None
    return (
        f"warning: listening on {host}: anyone who can reach port {port} on this machine's network addresses can open "
        "the page, upload images and use this machine's CPU or GPU; there is no password. Use it on a network you "
        "trust, or leave --host at 127.0.0.1."
    )


def url(host: str, port: int) -> str:
    """The address to open for a server listening on ``host``: the loopback for every interface."""
    host = host.strip("[]")
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port`` (``port`` 0: a free one). Raises ``OSError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def main(argv: list[str]) -> int:
    """Serve the page until Ctrl-C; return the exit status."""
    if len(argv) > 1:
        return fail(f"unexpected argument(s): {' '.join(argv[1:])} (flags look like --port=8000)")
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as err:
        return fail(f"the web page needs {err.name or 'the web extra'}: pip install 'tfstyle[web]'")
    from tfstyle.errors import TfstyleError

    try:
        config = config_from_flags(FLAGS)
        import_tensorflow_quietly()
        from tfstyle.network.features import resolve_weights

        resolve_weights(config.weights)  # a missing weights file: one line now, not at the first run
    except TfstyleError as err:
        return fail(str(err))
    from PIL import Image

    from tfstyle.webpage.app import Options, create_app
    from tfstyle.webpage.uploads import MEGABYTE, Limits

    fixed: dict[str, object] = {"weights": config.weights, "device": config.device}
    if FLAGS["precision"].present:
        fixed["precision"] = config.precision
    # Pillow's decompression-bomb guard stays on, at no less than what the server takes.
    Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, FLAGS.max_pixels)
    try:
        sock = listen(FLAGS.host, FLAGS.port)
    except OSError as err:
        hint = "; another program uses it: pick another with --port" if err.errno == errno.EADDRINUSE else ""
        return fail(f"cannot listen on {FLAGS.host} port {FLAGS.port}: {err.strerror or err}{hint}")
    app = create_app(Options(
        fixed=fixed,
        limits=Limits(bytes=int(FLAGS.max_upload_mb * MEGABYTE), pixels=FLAGS.max_pixels),
        preset=FLAGS.preset,
        hosts=page_hosts(FLAGS.host),
    ))  # fmt: skip
    port = sock.getsockname()[1]
    print(f"tfstyle's web page: {url(FLAGS.host, port)}  (open it in a browser; Ctrl-C stops the server)", flush=True)
    warning = exposure_warning(FLAGS.host, port)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2, lifespan="on"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down gracefully on Ctrl-C, then raises it again
        pass
    finally:
        app.state.runs.close(timeout=5)  # the lifespan did it, unless it was cut short: the uploads go
        sock.close()
    print("stopped; the uploads and results are deleted")
    return 0


def cli(argv: list[str]) -> int:
    """The command line in-process (tests, embedding): its exit status instead of an exit."""
    return COMMAND.cli(main, argv)


def entry_point() -> None:
    COMMAND.entry_point(main)

