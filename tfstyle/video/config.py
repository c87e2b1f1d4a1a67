"""The video settings: one frozen dataclass beside :class:`tfstyle.StyleConfig` (which decides each
frame), validated on construction. Plain Python: the command line generates its flags from these
fields (:mod:`tfstyle.cli.flags`) without importing TensorFlow.

Notation (Ruder, Dosovitskiy & Brox, GCPR 2016): γ = ``temporal_weight`` weighs the temporal loss,
J = ``lookback`` the earlier frames it compares with, δ = :data:`PASS_BLEND` the multi-pass blend.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from tfstyle.config import setting
from tfstyle.errors import ConfigError

FLOW_METHODS = ("dis",)  # OpenCV's DIS optical flow
PASS_BLEND = 0.5  # δ of Ruder et al.'s multi-pass initialization (section 3.4)
LATER_LEARNING_RATE_FACTOR = 0.25  # later frames start near a solution: Adam's first steps (~lr per pixel) stay small


@dataclass(frozen=True)
class VideoConfig:
    """How a clip is held together over time; ``VideoConfig()`` holds the defaults (measured on
    Sintel, docs/video.md). Each frame's own settings are the :class:`~tfstyle.StyleConfig`'s."""

    temporal_weight: float = setting(
        3e3,
        "γ, the weight of the temporal loss, which holds each frame to the earlier stylized frames warped into it "
        "where the flow is reliable (0: none; each frame still starts from the previous one).",
        "the loss",
    )
    lookback: tuple[int, ...] = setting(
        (1, 2, 4),
        "The earlier frames (distances j) the temporal loss compares with: Ruder et al.'s long-term loss, each "
        "pixel counted once, from the closest frame where it is reliable (1 alone: the short-term loss).",
        "the loss",
    )
    flow: str = setting("dis", "Optical flow method: dis (OpenCV's DIS).", "the loss", choices=FLOW_METHODS)
    first_frame_iterations: int | None = setting(
        None, "Iterations of the first frame. Default: 4 × `iterations`; later frames take `iterations`.", "the optimizer"
    )
    later_learning_rate: float | None = setting(
        None,
        "Step size of the frames after the first, which start near a solution. Default: a quarter of `learning_rate`'s.",
        "the optimizer",
    )
    passes: int = setting(
        1,
        "Passes over the clip (Ruder et al.'s multi-pass algorithm): 1 is one forward pass that streams the frames; "
        "more passes then alternate backward and forward, each frame restarting from a blend of its last result "
        "and its neighbour warped into it and taking `iterations` more, and the frames come out after the last pass.",
        "the optimizer",
    )

    def __post_init__(self) -> None:
        weight = self.temporal_weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise ConfigError(f"`temporal_weight` must be a finite number, 0 or more, got {weight!r}")
        lookback = self.lookback.split(",") if isinstance(self.lookback, str) else self.lookback
        try:
            distances = tuple(sorted({_whole(j) for j in lookback}))
        except (TypeError, ValueError):
            raise ConfigError(f"`lookback` takes whole frame distances of 1 or more, got {self.lookback!r}") from None
        if not distances or distances[0] < 1:
            raise ConfigError(f"`lookback` takes whole frame distances of 1 or more, got {self.lookback!r}")
        object.__setattr__(self, "lookback", distances)
        if self.flow not in FLOW_METHODS:
            raise ConfigError(f"unknown `flow` method {self.flow!r}; choose one of: {', '.join(FLOW_METHODS)}")
        if self.first_frame_iterations is not None:
            _check_count("`first_frame_iterations`", self.first_frame_iterations)
        rate = self.later_learning_rate
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0
        ):
            raise ConfigError(f"`later_learning_rate` must be a finite number greater than 0, got {rate!r}")
        _check_count("`passes`", self.passes)

    def override(self, **changes: Any) -> VideoConfig:
        """A copy with ``changes`` applied."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown video setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)


def _whole(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(value)
    return int(value)


def _check_count(what: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{what} must be a positive whole number, got {value!r}")
