"""Errors a user can cause. The CLI prints their message on one line and exits non-zero."""

from __future__ import annotations

from typing import Any

# The errors that carry a run's result or a memory estimate hold them as ``Any``: errors sit below
# every module, and importing tfstyle.loop.record.Result or tfstyle.network.memory.Estimate here,
# even for the type checker only, would tie the bottom of the package to its middle.
Result = Any  # a tfstyle.Result
Estimate = Any  # a tfstyle.network.memory.Estimate


def first_line(err: BaseException) -> str:
    """The first line of ``err``'s message (its type's name where it has none): how a foreign
    error (TensorFlow's, ffmpeg's, a filesystem's) enters a one-line message."""
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


class TfstyleError(Exception):
    """Base class of every error whose message is meant for the user, not a traceback."""


class ConfigError(TfstyleError, ValueError):
    """A setting is out of range or names something that does not exist."""


class ImageError(TfstyleError):
    """An input image is missing, unreadable, or too small; or an output cannot be written."""


class WeightsError(TfstyleError):
    """The VGG16 weights cannot be found, downloaded or read."""


class NonFiniteLossError(TfstyleError):
    """The loss became NaN or infinite. ``result`` holds the last image whose loss was finite."""

    def __init__(self, message: str, result: Result):
        super().__init__(message)
        self.result = result


class StyleInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run. ``result`` holds the image as it was when the run was interrupted."""

    def __init__(self, result: Result) -> None:
        super().__init__("interrupted")
        self.result = result


class ExportError(TfstyleError):
    """A SavedModel export cannot be written where it was asked to go."""


class MemoryLimitError(TfstyleError):
    """A run does not fit in the device's memory; the message names the largest size that fits and
    a tile size that does. ``estimate`` holds the numbers (a :class:`tfstyle.network.memory.Estimate`)."""

    def __init__(self, message: str, estimate: Estimate | None = None):
        super().__init__(message)
        self.estimate = estimate


class CheckpointError(TfstyleError):
    """A checkpoint cannot be written or read, or belongs to another run."""


class ModelError(TfstyleError):
    """A fast stylizer model cannot be found or loaded, or a folder is not one."""
