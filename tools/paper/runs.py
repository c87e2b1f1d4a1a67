"""The runs behind ``python -m tools.paper``'s report: the plan (image size, iteration counts), what
every experiment shares (:class:`Context`), and one run through the library, logged to TensorBoard and
measured on the yardstick (:func:`stylize`). The experiments are in ``experiments.py`` (the
paper's figures, conclusions and what it leaves unsaid) and ``claims.py`` (its two claims and
the optimizers).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import tfstyle
from tools.paper import measure
from tools.yardstick import Yardstick

STEADY_SECONDS = (
    "Seconds are wall time to the end of an iteration, with the first iteration's one-off cost (tracing "
    "the compiled step) replaced by a median iteration, so that runs early and late in the process compare."
)
# The TensorBoard folders under <out>/tensorboard, one per experiment, and the figures'.
LOG_FOLDERS = ("fig9", "fig10", "fig11", "conclusions", "claim1_layers", "claim2_init_paper", "claim2_init_default", "optimizers",
               "figures")  # fmt: skip
ADAM_LEARNING_RATE = 8.0  # tfstyle's Adam default; Adam's step does not depend on the loss's scale


@dataclass(frozen=True)
class Plan:
    """Image size and iteration counts of a reproduction (the full one, or ``--quick``)."""

    size: int
    snapshots: tuple[int, int, int]  # Figures 9 and 10: the paper's 30, 100, 200; the last is the run's length
    grid_iterations: int  # Figure 11, each cell
    layers_iterations: int  # claim 1, each layer set
    layers_timing_iterations: int  # claim 1, each layer set's second (timing) run; 0: none
    balanced_iterations: int  # claim 2 under tfstyle's default (balanced) loss
    readings_size: int  # the printed learning rate under each reading: 10 runs of snapshots[-1] iterations

    @property
    def init_iterations(self) -> int:
        """Claim 2 under the paper's loss: the middle snapshot, so Figure 9's run is the content init's."""
        return self.snapshots[1]

    @property
    def optimizer_iterations(self) -> int:
        """Adam and L-BFGS, compared with Figure 9's gradient descent at its middle snapshot."""
        return self.snapshots[1]


FULL = Plan(size=256, snapshots=(30, 100, 200), grid_iterations=30, layers_iterations=60, layers_timing_iterations=20,
            balanced_iterations=50, readings_size=256)  # fmt: skip
QUICK = Plan(size=64, snapshots=(2, 4, 6), grid_iterations=2, layers_iterations=3, layers_timing_iterations=0,
             balanced_iterations=3, readings_size=48)  # fmt: skip


@dataclass
class Context:
    """What every experiment shares: the plan, where to write, the images and one feature model."""

    plan: Plan
    out: Path
    logdir: Path
    weights: str
    pairs: list[measure.Images]  # the first pair runs every experiment; the others Figure 9 too
    model: object  # the paper's layers (conv1_2, conv3_3, conv5_3), reused by every in-process run
    yardsticks: dict[str, Yardstick]
    photo_pair: measure.Images | None = None  # a photograph as the style image (drawback 2)

    def yardstick(self, pair: measure.Images) -> Yardstick:
        key = pair.name
        if key not in self.yardsticks:
            self.yardsticks[key] = Yardstick(pair.content, pair.style, self.weights)
        return self.yardsticks[key]

    def config(self, name: str = "paper", **changes) -> tfstyle.StyleConfig:
        """A preset at the plan's image size with these weights and changes, in float32: the same
        arithmetic for every run and on every machine (``precision="auto"`` would pick per CPU)."""
        return tfstyle.preset(name).override(image_size=self.plan.size, weights=self.weights, precision="float32", **changes)


@dataclass
class Run:
    """One finished run and its yardstick distances (of the final image and of each snapshot)."""

    label: str
    pair: measure.Images
    result: tfstyle.Result
    snapshots: dict[int, np.ndarray]
    distances: dict[int, tuple[float, float]]  # iteration → (style, content); -1 is the final image

    @property
    def totals(self) -> np.ndarray:
        return self.result.history["total"]

    def total_at(self, iteration: int) -> float:
        """The total loss computed in ``iteration`` (0: the start)."""
        return self.result.initial_losses["total"] if iteration == 0 else float(self.totals[iteration - 1])

    def seconds_at(self, iteration: int) -> float:
        """Steady-state seconds to the end of ``iteration`` (:func:`measure.steady_seconds`)."""
        return 0.0 if iteration == 0 else float(measure.steady_seconds(self.result.history)[iteration - 1])


class Snapshots(tfstyle.Callback):
    """Keeps the image after the given iterations (and the start, as iteration 0)."""

    def __init__(self, iterations: Sequence[int]):
        self.at = set(iterations)
        self.images: dict[int, np.ndarray] = {}

    def set_run(self, run: tfstyle.RunInfo) -> None:
        self.images[0] = np.array(run.start[0])

    def on_step(self, step: tfstyle.Step) -> None:
        if step.iteration in self.at:
            self.images[step.iteration] = step.image.numpy()[0].copy()


def stylize(
    ctx: Context, pair: measure.Images, experiment: str, label: str, config, snapshots: Sequence[int] = ()
) -> Run:
    """One in-process run on ``pair``, logged to ``<logdir>/<experiment>/<label>``, and measured."""
    grab = Snapshots(snapshots)
    board = tfstyle.TensorBoard(ctx.logdir / experiment, run_name=safe_name(label), graph=False)
    started = time.perf_counter()
    try:
        result = tfstyle.stylize(
            str(pair.content_path), str(pair.style_path), config, callbacks=[grab, board], feature_model=ctx.model
        )
    except tfstyle.NonFiniteLossError as err:  # the run stopped; its result is the last finite image
        result = dataclasses.replace(err.result, stopped=str(err))
    yardstick = ctx.yardstick(pair)
    keys = [*grab.images, -1]
    distances = dict(zip(keys, yardstick.batch_distances([*grab.images.values(), result.image])))
    print(
        f"[{experiment}] {label}: {config.optimizer}, {result.iterations} iterations, {result.seconds:.1f} s "
        f"({time.perf_counter() - started:.1f} s with the yardstick){'; stopped: ' + result.stopped if result.stopped else ''}",
        flush=True,
    )
    return Run(label, pair, result, grab.images, distances)


def safe_name(text: str) -> str:
    """``text`` as a file or folder name: runs of other characters become one ``_``."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_")


def input_panels(pair: measure.Images) -> list[tuple[str, np.ndarray]]:
    """A figure's first two panels: the content and the style image, each labelled with its file."""
    return [(f"content: {pair.content_path.name}", pair.content), (f"style: {pair.style_path.name}", pair.style)]


def iteration_numbers(run: Run) -> np.ndarray:
    """1, 2, … for each iteration the run recorded: the x axis of its loss curves."""
    return np.arange(1, len(run.totals) + 1)
