"""Helpers shared by the command-line modules (``tfstyle.run``, ``tfstyle.export``, ``tfstyle.batch``, ``tfstyle.beam``, ``tfstyle.video``, ``tfstyle.train``); no flags here."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tfstyle.errors import ConfigError, TfstyleError

if TYPE_CHECKING:
    from tfstyle.config import StyleConfig
    from tfstyle.loop.progress import Progress


def use_onednn() -> None:
    """Have TensorFlow, when it is imported, run its CPU operations with oneDNN on x86, as the command
    lines do (unless TF_ENABLE_ONEDNN_OPTS says otherwise)."""
    # TensorFlow turns oneDNN on by itself only on CPUs with AVX512-VNNI, AVX-VNNI or AMX; on an AVX2
    # AMD EPYC (Zen 3) a 256 px pass took 539-659 ms with it, 744 without (tools/bench/results/run_j.md, run
    # J). Only the environment can say this, before TensorFlow is imported: library users set it themselves.
    if platform.machine().lower() in ("x86_64", "amd64"):
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow as the command lines run it: with oneDNN's CPU kernels on x86
    (:func:`use_onednn`), and its C++ start-up logs (oneDNN, CUDA probing), which go to stderr on
    import and device discovery whatever TF_CPP_MIN_LOG_LEVEL says, hidden unless the import fails.
    Also shows the library's warnings as one line each."""
    use_onednn()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.showwarning = _one_line_warning
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_logical_devices()
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.buffer.write(log.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _one_line_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: TextIO | None = None, line: str | None = None
) -> None:
    """``warnings.showwarning`` for the command lines: ``tfstyle: warning: <message>``, one line."""
    print(f"tfstyle: warning: {message}", file=sys.stderr)


def fail(message: str) -> int:
    """Print ``tfstyle: error: <message>`` on stderr, the settings (and library arguments) it names
    in backticks written as their flags (``image_size`` → ``--image_size``, :func:`flag_text`);
    return the exit status 1."""
    from tfstyle.cli.flags import flag_text

    print(f"tfstyle: error: {flag_text(message)}", file=sys.stderr)
    return 1


def stopped(err: KeyboardInterrupt | TfstyleError, bars: Iterable[Progress], interrupted: str) -> int:
    """The exit status of a command that ``err`` stopped, its progress ``bars`` cleared first: Ctrl-C
    prints the command's ``interrupted`` line (what is kept, how to go on) and gives 130; a
    :class:`~tfstyle.TfstyleError` is one line (:func:`fail`)."""
    for bar in bars:
        bar.close()
    if isinstance(err, KeyboardInterrupt):
        print(f"\n{interrupted}", file=sys.stderr)
        return 130
    return fail(str(err))


def style_paths(text: str) -> list[str]:
    """``--style``: one path, or comma-separated paths (a file whose name holds a comma is one path)."""
    if Path(text).exists():
        return [text]
    return [part.strip() for part in text.split(",") if part.strip()]


def styles_or_model(text: str | None, config: StyleConfig, init_given: bool) -> tuple[list[str], StyleConfig]:
    """``--style``'s paths (none without it) and the config a command runs with: ``--model`` alone
    gives the fast stylizer's picture; with ``--style`` too, the optimization refines it (``init``
    model) unless ``--init`` was given (``init_given``). Neither is one line."""
    styles = style_paths(text) if text else []
    if not styles and config.model is None:
        raise ConfigError("give a --style (a painting), or a --model for a fast stylizer's picture")
    if styles and config.model is not None and not init_given:
        config = config.override(init="model")  # the optimization refines the fast picture
    return styles, config


def check_not_replacing(existing: Path, overwrite: bool, resume: bool) -> None:
    """Refuse, before any work, to write over ``existing`` (what a command's ``--output`` would
    replace) unless ``--overwrite`` says so, or ``--resume`` continues the run that wrote it."""
    if existing.exists() and not (overwrite or resume):
        raise ConfigError(f"{existing} exists; --overwrite replaces it, or choose another --output")


def exit_status(run: Callable[[], int]) -> int:
    """Call ``run()`` and return its exit status, also when it exits through ``SystemExit``."""
    try:
        return run()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1


def quiet_on_a_closed_pipe(entry: Callable[[], object]) -> None:
    """Run a command's ``entry`` point; if whoever reads its output stops early (``| head``), exit
    with status 1 and no BrokenPipeError traceback, as Unix tools do."""
    try:
        try:
            entry()
        finally:
            sys.stdout.flush()  # here, not at interpreter exit, where a failure could not be caught
    except BrokenPipeError:
        # Python flushes stdout once more on its way out: let that flush go to /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
