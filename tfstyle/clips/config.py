"""The video settings: one frozen dataclass beside :class:`tfstyle.StyleConfig` (which decides each
frame), validated on construction from its fields' metadata (:class:`tfstyle.settings.Settings`).
Plain Python: the command line generates its flags from these fields (:mod:`tfstyle.cli.flags`)
without importing TensorFlow.

Notation (Ruder, Dosovitskiy & Brox, GCPR 2016): γ = ``temporal_weight`` weighs the temporal loss,
J = ``lookback`` the earlier frames it compares with, δ = :data:`PASS_BLEND` the multi-pass blend.
"""

from __future__ import annotations

from dataclasses import dataclass

from tfstyle.errors import ConfigError
from tfstyle.settings import Settings, setting

FLOW_METHODS = ("dis",)  # OpenCV's DIS optical flow
PASS_BLEND = 0.5  # δ of Ruder et al.'s multi-pass initialization (section 3.4)
LATER_LEARNING_RATE_FACTOR = 0.25  # later frames start near a solution: Adam's first steps (~lr per pixel) stay small


@dataclass(frozen=True)
class VideoConfig(Settings):
    """How a clip is held together over time; ``VideoConfig()`` holds the defaults (measured on
    Sintel, docs/video.md). Each frame's own settings are the :class:`~tfstyle.StyleConfig`'s."""

    temporal_weight: float = setting(
        3e3,
        "γ, the weight of the temporal loss, which holds each frame to the earlier stylized frames warped into it "
        "where the flow is reliable (0: none; each frame still starts from the previous one).",
        "the loss",
        minimum=0,
    )
    lookback: tuple[int, ...] = setting(
        (1, 2, 4),
        "The earlier frames (distances j) the temporal loss compares with: Ruder et al.'s long-term loss, each "
        "pixel counted once, from the closest frame where it is reliable (1 alone: the short-term loss).",
        "the loss",
        minimum=1,
    )
    flow: str = setting("dis", "Optical flow method: dis (OpenCV's DIS).", "the loss", choices=FLOW_METHODS)
    first_frame_iterations: int | None = setting(
        None,
        "Iterations of the first frame. Default: 4 × `iterations`; later frames take `iterations`.",
        "the optimizer",
        minimum=1,
    )
    later_learning_rate: float | None = setting(
        None,
        "Step size of the frames after the first, which start near a solution. Default: a quarter of `learning_rate`'s.",
        "the optimizer",
        above=0,
    )
    passes: int = setting(
        1,
        "Passes over the clip (Ruder et al.'s multi-pass algorithm): 1 is one forward pass that streams the frames; "
        "more passes then alternate backward and forward, each frame restarting from a blend of its last result "
        "and its neighbour warped into it and taking `iterations` more, and the frames come out after the last pass.",
        "the optimizer",
        minimum=1,
    )

    def cross_check(self) -> None:
        """At least one `lookback` distance, kept sorted without repeats (each field's own rules come from its metadata)."""
        if not self.lookback:
            raise ConfigError("`lookback` needs at least one frame distance, such as 1")
        object.__setattr__(self, "lookback", tuple(sorted(set(self.lookback))))
