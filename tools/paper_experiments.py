"""The paper's experiments for tools/reproduce_paper.py: each runs tfstyle and returns a report section.

Every run goes through the library (``tfstyle.stylize`` with a config from a preset), logs to
TensorBoard, and is measured by the same :class:`yardstick.Yardstick`. The section functions
write their figures and say in words what the numbers show; the wording follows the numbers.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import paper_figures as figures
import paper_measure as measure
from paper_report import Section, fmt, markdown_table, num, ratio
from yardstick import Yardstick

import tfstyle
from tfstyle.network.vgg16 import VGG16_CONV_LAYERS, layer

GRID_CONTENT_WEIGHTS = (1.0, 1e10, 1e12)  # a
GRID_STYLE_WEIGHTS = (1.0, 10.0, 100.0, 1000.0)  # b
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
        """Steady-state seconds to the end of ``iteration`` (:func:`paper_measure.steady_seconds`)."""
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
    board = tfstyle.TensorBoard(ctx.logdir / experiment, run_name=_safe(label), graph=False)
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


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_")


def _inputs(pair: measure.Images) -> list[tuple[str, np.ndarray]]:
    return [(f"content: {pair.content_path.name}", pair.content), (f"style: {pair.style_path.name}", pair.style)]


def _iterations(run: Run) -> np.ndarray:
    return np.arange(1, len(run.totals) + 1)


# --- Figure 9 ------------------------------------------------------------------------------------


def figure9(ctx: Context) -> tuple[Section, list[Run]]:
    """The paper preset on every pair: images after the snapshots' iterations and the loss curves."""
    snaps = ctx.plan.snapshots
    config = ctx.config(iterations=snaps[-1])
    runs = [stylize(ctx, pair, "fig9", pair.name, config, snapshots=(1, *snaps)) for pair in ctx.pairs]
    section = Section("Figure 9: the paper's setting over the iterations")
    section.text(
        f"`preset('paper')`: content and style layers conv1_2, conv3_3, conv5_3 (equal weights), a = 1, "
        f"b = 10, the paper's plain sums, the content loss against the style image's activations (as printed: "
        f"`content_target=\"style\"`), plain gradient descent with learning rate "
        f"{num(config.effective_learning_rate)}, starting from the content image; {snaps[-1]} iterations at "
        f"{ctx.plan.size} px."
    )
    rows = [[*_inputs(run.pair), *[(f"iteration {k}", run.snapshots[k]) for k in snaps]] for run in runs]
    path = figures.image_grid(rows, ctx.out / "fig9_iterations.png", "Figure 9: paper preset (a=1, b=10, GD)")
    section.figure(path, "Figure 9: content, style and the image after each iteration count")
    plots = [_loss_plot(run, config, f"{run.pair.name}") for run in runs]
    path = figures.curves(plots, ctx.out / "fig9_loss.png", "Figure 9: losses over the iterations (paper preset)")
    section.figure(path, "Figure 9: total, content and style loss over the iterations")
    table = []
    for run in runs:
        for k in (0, *snaps):
            style_d, content_d = run.distances[k]
            cl, sl = _weighted_terms(run, config, k)
            table.append([run.pair.name, k, run.total_at(k), cl, sl, style_d, content_d])
    section.table(
        ["images", "iteration", "total", "a·CL", "b·SL", "yardstick style ↓", "yardstick content ↓"], table
    )
    section.text(_figure9_findings(runs, config))
    return section, runs


def _weighted_terms(run: Run, config, iteration: int) -> tuple[float, float]:
    """(a·CL, b·SL) computed in ``iteration`` (0: the start)."""
    history, initial = run.result.history, run.result.initial_losses
    cl = initial["content"] if iteration == 0 else float(history["content"][iteration - 1])
    sl = initial["style"] if iteration == 0 else float(history["style"][iteration - 1])
    return config.content_weight * cl, config.style_weight * sl


def _loss_plot(run: Run, config, title: str) -> figures.Plot:
    history, x = run.result.history, _iterations(run)
    return figures.Plot(
        title=title,
        xlabel="iteration",
        ylabel="loss (plain sums)",
        series=[
            figures.Series("total", x, history["total"]),
            figures.Series("b·SL (style)", x, config.style_weight * history["style"]),
            figures.Series("a·CL (content)", x, config.content_weight * history["content"]),
        ],
    )


def content_share(run: Run, config) -> float:
    """The largest a·CL / total over the run's iterations: how much the content term ever counts."""
    history = run.result.history
    return float(np.max(config.content_weight * history["content"] / history["total"]))


def _figure9_findings(runs: list[Run], config) -> str:
    lines = []
    for run in runs:
        first, last = run.total_at(0), run.total_at(len(run.totals))
        step = float(np.mean(np.abs(run.snapshots[1] - run.snapshots[0])))
        (s0, _), (s1, c1) = run.distances[0], run.distances[-1]
        lines.append(
            f"- {run.pair.name}: the total fell {ratio(first, last)} (from {fmt(first)} to {fmt(last)}) in "
            f"{len(run.totals)} iterations; the first step moved pixels by {step:.2g} grey levels on average; "
            f"the yardstick style distance went from {s0:.3g} to {s1:.3g} and the content distance from 0 to "
            f"{c1:.3g}. The content term a·CL was at most {content_share(run, config):.1e} of the total."
        )
    return "Measured:\n\n" + "\n".join(lines) + "\n\n" + _figure9_claims(runs, config) + (
        "\n\nWith the paper's plain sums a Gram entry sums over all positions, so SL grows with the square "
        "of the pixel count and is many orders of magnitude above CL: at a = 1, b = 10 the content term "
        "does not steer the optimization at all. What keeps the photo recognizable is only the start "
        "from the content image and the small number of gradient steps."
    )


def _figure9_claims(runs: list[Run], config) -> str:
    """The text's three statements about Figure 9, each against the measures of every pair."""
    import paper_readings as readings

    snaps = sorted(k for k in runs[0].snapshots if k > 0)[1:]  # the paper's 30, 100, 200
    steady = [run.pair.name for run in runs if readings.steady(list(run.totals))]
    closer = [run.pair.name for run in runs
              if all(run.distances[a][0] > run.distances[b][0] for a, b in zip(snaps, snaps[1:]))]  # fmt: skip
    share = max(content_share(run, config) for run in runs)
    return (
        "The text: *\"As we can see in the plot (Figure 9), the loss goes down steadily. With more iterations, "
        "the content image tends to be more similar to the style image below in terms of the style. Since we set "
        "a=1, b=10, with the ratio a/b=0.1, the content loss still affects significantly.\"* Measured on each pair:\n\n"
        f"- *the loss goes down steadily* (falling in ≥ 90 % of the steps, lower at the end): "
        f"{_held(steady, runs)};\n"
        f"- *more similar in terms of the style with more iterations* (yardstick style distance lower at each of "
        f"{', '.join(str(k) for k in snaps)} iterations): {_held(closer, runs)};\n"
        f"- *the content loss still affects significantly*: "
        + ("contradicted: " if share < 1e-3 else "")
        + f"a·CL was at most {share:.1e} of the total on any pair; at a = 1, b = 10 the ratio that matters is not "
        "b/a but b·SL against a·CL, and the plain sums make SL many orders of magnitude larger (below)."
    )


def _held(names: list[str], runs: list[Run]) -> str:
    """``held on every pair``, ``held on none``, or which pairs it held on."""
    if len(names) == len(runs):
        return f"held on every pair ({len(runs)})"
    if not names:
        return "held on none"
    return f"held on {len(names)} of {len(runs)} ({', '.join(names)})"


# --- Figure 10 -----------------------------------------------------------------------------------


def figure10(ctx: Context, base: Run) -> tuple[Section, Run]:
    """b = 10 (Figure 9's run) against b = 1000, same learning rate."""
    snaps = ctx.plan.snapshots
    config = ctx.config(iterations=snaps[-1], style_weight=1000.0)
    heavy = stylize(ctx, base.pair, "fig10", "b=1000", config, snapshots=(1, *snaps))
    runs = {10.0: base, 1000.0: heavy}
    section = Section("Figure 10: style weight b = 10 against b = 1000")
    section.text(
        f"The paper preset as in Figure 9 with b = 10 and with b = 1000, nothing else changed (the same "
        f"learning rate, {num(config.effective_learning_rate)}), on {base.pair.name}."
    )
    rows = [[*_inputs(base.pair), *[(f"b={num(b)}, iteration {k}", run.snapshots[k]) for k in snaps]] for b, run in runs.items()]
    path = figures.image_grid(rows, ctx.out / "fig10_style_weight.png", "Figure 10: b = 10 (top) and b = 1000 (bottom)")
    section.figure(path, "Figure 10: b = 10 and b = 1000 after each iteration count")
    plot = figures.Plot(
        "total loss", "iteration", "loss (plain sums)",
        [figures.Series(f"b={num(b)}", _iterations(run), run.totals) for b, run in runs.items()],
    )
    path = figures.curves([plot], ctx.out / "fig10_loss.png", "Figure 10: total loss, b = 10 and b = 1000")
    section.figure(path, "Figure 10: total loss over the iterations for b = 10 and b = 1000")
    table = []
    for b, run in runs.items():
        step = float(np.mean(np.abs(run.snapshots[1] - run.snapshots[0])))
        clipped = float(np.mean((run.result.image <= 0.5) | (run.result.image >= 254.5)))
        style_d, content_d = run.distances[-1]
        table.append([f"{num(b)}", run.total_at(0), run.total_at(len(run.totals)), step, clipped, style_d, content_d])
    section.table(
        ["b", "total at start", "total at the end", "mean |Δpixel| of step 1", "pixels at 0 or 255",
         "yardstick style ↓", "yardstick content ↓"],
        table,
    )
    section.text(_figure10_findings(runs))
    return section, heavy


def _figure10_findings(runs: dict[float, Run]) -> str:
    light, heavy = runs[10.0], runs[1000.0]
    rose = heavy.total_at(len(heavy.totals)) > heavy.total_at(0)
    outcome = (
        "the loss rose instead of falling: the step is too long for this learning rate and gradient descent "
        "overshoots"
        if rose
        else "the loss fell"
    )
    return (
        f"With b = 1000 every gradient is ~100× larger (the content term is negligible, Figure 9), so at the "
        f"same learning rate each step is ~100× longer; {outcome}. Under plain sums b = 1000 at learning rate "
        f"η is the same descent as b = 10 at 100·η, so the two figures differ in step length, not in the "
        f"balance of content and style. Style distance at the end: {light.distances[-1][0]:.3g} (b = 10) "
        f"against {heavy.distances[-1][0]:.3g} (b = 1000); content distance {light.distances[-1][1]:.3g} "
        f"against {heavy.distances[-1][1]:.3g}. With Adam, whose steps do not depend on the loss's scale, "
        "b = 10 and b = 1000 give the same picture (Figure 11, row a = 1): at a = 1 the content term is too "
        "small for b to shift the balance.\n\n"
        "The text: *\"when b is larger, which means more contribution of style loss, the output image becomes more "
        "stylized to the extent that the shape of local area of the content image is distorted. But the global shape "
        "is kept, since we can still figure out for sure that it is the house.\"* Measured: b = 1000 is "
        f"{'more' if heavy.distances[-1][0] < light.distances[-1][0] else 'not more'} stylized than b = 10 (style "
        f"distance {heavy.distances[-1][0]:.3g} against {light.distances[-1][0]:.3g}) and "
        + ("keeps" if heavy.distances[-1][1] < 1.0 else "does not keep")
        + f" the global shape by the yardstick (content distance {heavy.distances[-1][1]:.3g}; 1 = as far from "
        "the photo as the painting); the pictures above show how much of the house is left."
    )


# --- Figure 11 -----------------------------------------------------------------------------------


def figure11(ctx: Context) -> tuple[Section, dict[tuple[float, float], Run]]:
    """A grid over a and b on the paper's loss, optimized with Adam (only b/a matters to it)."""
    pair = ctx.pairs[0]
    runs: dict[tuple[float, float], Run] = {}
    for a in GRID_CONTENT_WEIGHTS:
        for b in GRID_STYLE_WEIGHTS:
            config = ctx.config(
                iterations=ctx.plan.grid_iterations, content_weight=a, style_weight=b,
                optimizer="adam", learning_rate=ADAM_LEARNING_RATE,
            )
            runs[a, b] = stylize(ctx, pair, "fig11", f"a={num(a)}_b={num(b)}", config)
    section = Section("Figure 11: the trade-off between a and b")
    section.text(
        f"The paper's loss (layers conv1_2, conv3_3, conv5_3, plain sums, the content loss against the style "
        f"image as printed, content init) for every a in "
        f"{', '.join(f'{num(a)}' for a in GRID_CONTENT_WEIGHTS)} and b in "
        f"{', '.join(f'{num(b)}' for b in GRID_STYLE_WEIGHTS)}, {ctx.plan.grid_iterations} iterations each "
        f"(the paper's b = 10 and 1000, and b = 1 and 100 between and beside them). "
        f"Optimizer: Adam (learning rate {num(ADAM_LEARNING_RATE)}), not the paper's gradient descent: Adam's "
        "step does not depend on the scale of the loss, so every cell moves pixels at the same pace and "
        "the picture shows the balance b/a alone. With gradient descent at one learning rate the cells would "
        "differ mainly in step length (Figure 10: b = 1000 already overshoots). Since only b/a matters, "
        "a = 1 is only the paper's setting; the large values of a are where the content term starts to "
        "count against the plain-sum style term."
    )
    rows: list[list] = [[*_inputs(pair)] + [None] * (len(GRID_STYLE_WEIGHTS) - 2)]
    for a in GRID_CONTENT_WEIGHTS:
        rows.append([(_cell_label(a, b, runs[a, b]), runs[a, b].result.image) for b in GRID_STYLE_WEIGHTS])
    path = figures.image_grid(rows, ctx.out / "fig11_grid.png", "Figure 11: a (rows) against b (columns), Adam")
    section.figure(path, "Figure 11: results over a grid of a and b")
    table = []
    for (a, b), run in runs.items():
        history = run.result.history
        table.append([f"{num(a)}", f"{num(b)}", b / a, run.result.iterations, a * history["content"][-1],
                      b * history["style"][-1], *run.distances[-1]])  # fmt: skip
    section.table(
        ["a", "b", "b/a", "iterations run", "a·CL (last)", "b·SL (last)", "yardstick style ↓", "yardstick content ↓"],
        table,
    )
    section.text(_figure11_findings(runs))
    _content_of_the_style(ctx, runs, section)
    return section, runs


def _content_of_the_style(ctx: Context, runs: dict[tuple[float, float], Run], section: Section) -> None:
    """Figure 11's claim measured: as a grows, the result's content moves towards the style image's."""
    b = 10.0
    sweeps = {ctx.pairs[0].name: {a: runs[a, b] for a in GRID_CONTENT_WEIGHTS}}
    for pair in ctx.pairs[1:2]:  # a second pair, the same sweep over a at b = 10
        sweeps[pair.name] = {
            a: stylize(ctx, pair, "fig11", f"{pair.name}_a={num(a)}_b={num(b)}", ctx.config(
                iterations=ctx.plan.grid_iterations, content_weight=a, style_weight=b,
                optimizer="adam", learning_rate=ADAM_LEARNING_RATE))
            for a in GRID_CONTENT_WEIGHTS
        }  # fmt: skip
    rows, plots, images = [], [], []
    for name, sweep in sweeps.items():
        pair = next(run.pair for run in sweep.values())
        to_style = ctx.yardstick(pair).content_distance_to_style([run.result.image for run in sweep.values()])
        to_photo = [run.distances[-1][1] for run in sweep.values()]
        for (a, run), ds, dp in zip(sweep.items(), to_style, to_photo):
            rows.append([name, num(a), num(b), ds, dp, run.distances[-1][0]])
        xs = list(sweep)
        plots.append(figures.Plot(name, "a (b = 10)", "content distance", [
            figures.Series("to the style image", xs, to_style), figures.Series("to the photo", xs, to_photo)],
            log_y=False))  # fmt: skip
        images.append([*_inputs(pair), *[(f"a={num(a)}", run.result.image) for a, run in sweep.items()]])
        sweeps[name] = dict(zip(xs, zip(to_style, to_photo)))  # type: ignore[arg-type]
    for plot in plots:  # a spans 1 to 1e12
        for series in plot.series:
            series.x = [float(np.log10(x)) for x in series.x]
        plot.xlabel = "log10 a (b = 10)"
    path = figures.curves(plots, ctx.out / "fig11_content_target.png",
                          "Figure 11's claim: content distance to the style image and to the photo against a")  # fmt: skip
    grid_path = figures.image_grid(images, ctx.out / "fig11_content_target_images.png", "Figure 11: larger a, b = 10")
    table = markdown_table(["images", "a", "b", "content distance to the style image ↓", "content distance to the photo ↓",
                            "yardstick style ↓"], rows)  # fmt: skip
    findings = []
    for name, values in sweeps.items():
        first, last = values[GRID_CONTENT_WEIGHTS[0]], values[GRID_CONTENT_WEIGHTS[-1]]
        moved = last[0] < first[0]
        findings.append(
            f"{name}: from a = {num(GRID_CONTENT_WEIGHTS[0])} to a = {num(GRID_CONTENT_WEIGHTS[-1])} the content "
            f"distance to the style image went {first[0]:.3g} → {last[0]:.3g} and to the photo {first[1]:.3g} → "
            f"{last[1]:.3g}: the content {'moved towards' if moved else 'did not move towards'} the style image's"
        )
    section.text(
        "**Figure 11's claim, measured.** The text: *\"if we use larger a, more contribution of content loss, "
        "the content image will try to match the content of style image [...] the output image in the middle "
        "top has a shaow of the content of the style image\"* (Figure 11). Under the printed loss the content "
        "target is the style image, so a larger a should pull the result's content features towards the "
        "style image's. Content distance to the style image: the yardstick's content distance measured to the "
        "painting (at the photo's size) instead of the photo; 0 = the painting's content, 1 = as far from it "
        "as the photo."
    )
    section.parts.append(table)
    section.figure(path, "Figure 11's claim: content distances against a")
    section.figure(grid_path, "Figure 11: results for larger a")
    section.text("; ".join(findings) + ".")


def _cell_label(a: float, b: float, run: Run) -> str:
    stopped = f" (stopped at {run.result.iterations})" if run.result.stopped else ""
    return f"a={num(a)}, b={num(b)}{stopped}"


def _figure11_findings(runs: dict[tuple[float, float], Run]) -> str:
    finished = {key: run for key, run in runs.items() if not run.result.stopped}
    which = "the grid" if len(finished) == len(runs) else "the runs that finished"
    by_ratio = sorted(finished.items(), key=lambda item: item[0][1] / item[0][0])
    lines = []
    if by_ratio:
        (low, most_content), (high, most_style) = by_ratio[0], by_ratio[-1]
        lines.append(
            f"Over {which}, from the smallest b/a ({num(low[1] / low[0])}) to the largest "
            f"({num(high[1] / high[0])}) the style distance goes from {most_content.distances[-1][0]:.3g} to "
            f"{most_style.distances[-1][0]:.3g} and the content distance from {most_content.distances[-1][1]:.3g} "
            f"to {most_style.distances[-1][1]:.3g}."
        )
    paper_row = [(b, run.distances[-1][0]) for (a, b), run in finished.items() if a == GRID_CONTENT_WEIGHTS[0]]
    if paper_row:
        lines.append(
            f"In the paper's row (a = 1) b = {', '.join(num(b) for b, _ in paper_row)} "
            f"give style distances {', '.join(f'{style:.3g}' for _, style in paper_row)}: "
            "the content term is too small there for b to trade anything off."
        )
    if by_ratio:
        lines.append(
            "The text: *\"If using smaller a relatively, say smaller a/b, then the style loss has more influence. So "
            "it is clear in the right top image, that the style is transferred.\"* Measured: the style distance at "
            f"the largest b/a is {'below' if most_style.distances[-1][0] < most_content.distances[-1][0] else 'not below'} "
            "the one at the smallest"
            + (
                "." if most_style.distances[-1][0] < most_content.distances[-1][0]
                else ": under the printed loss the content target is the style image too, so a larger a also pulls "
                "towards the painting (its content), and a smaller a/b does not make the result more stylized."
            )
        )  # fmt: skip
    stopped = {b: run.result.iterations for (a, b), run in runs.items() if run.result.stopped}
    if stopped:
        after = ", ".join(f"b = {num(b)} after {k} iteration{'' if k == 1 else 's'}" for b, k in sorted(stopped.items()))
        lines.append(
            f"Some runs stopped early ({after}, in some row): their loss or pixels stopped being finite, and "
            "tfstyle keeps the last image whose loss was finite (NonFiniteLossError), which these cells show."
        )
    return " ".join(lines)


def _photo_style_share(photo: Run, paintings: list[Run]) -> str:
    """Whether a photograph as the style transferred less of its style than every painting did."""
    share = photo.distances[-1][0] / photo.distances[0][0]
    others = [run.distances[-1][0] / run.distances[0][0] for run in paintings]
    if share > max(others):
        return "less of the style transferred than on any painting pair"
    return "no less of the style transferred than on some painting pair"


# --- Claim 1: fewer layers -----------------------------------------------------------------------


def claim_layers(ctx: Context) -> tuple[Section, str]:
    """The paper's three layers against Gatys' six, each run in a fresh process."""
    pair = ctx.pairs[0]
    common = dict(iterations=ctx.plan.layers_iterations, optimizer="adam", learning_rate=ADAM_LEARNING_RATE,
                  init="content", normalization="mean")  # fmt: skip
    configs = {
        "paper layers": ctx.config("default", **common),
        "Gatys layers": ctx.config("gatys", **common),
    }
    runs = {label: _isolated(ctx, label, config) for label, config in configs.items()}
    # The CPU is shared: the load can change between two runs. Timing runs in the opposite order,
    # and the fastest of each configuration's medians, keep a load change from deciding the comparison.
    # Memory is compared run by run too: a fresh run's high-water mark moves by tens of MiB between
    # runs of one configuration, and a longer run's is higher.
    every = {label: [run] for label, run in runs.items()}
    for label in reversed(configs) if ctx.plan.layers_timing_iterations else ():
        short = configs[label].override(iterations=ctx.plan.layers_timing_iterations)
        every[label].append(_isolated(ctx, f"{label} (timing)", short))
    timings = {label: [measure.seconds_per_iteration(run.history) for run in done] for label, done in every.items()}
    peaks = {label: [run.rss_peak_mib for run in done] for label, done in every.items()}
    growths = {label: [run.rss_peak_mib - run.rss_after_import_mib for run in done] for label, done in every.items()}
    yardstick = ctx.yardstick(pair)
    rows, measured = [], {}
    for label, config in configs.items():
        run = runs[label]
        layers = config.layers_in_use()
        deepest = max(VGG16_CONV_LAYERS.index(n) for n in layers) + 1
        style_d, content_d = yardstick.distances(run.image)
        measured[label] = dict(
            seconds=min(timings[label]), peaks=peaks[label], growths=growths[label], style=style_d, content=content_d,
        )  # fmt: skip
        rows.append([
            label, _layer_list(config), len(layers), f"{deepest} of 13", measured[label]["seconds"],
            " / ".join(f"{t:.3g}" for t in timings[label]), " / ".join(f"{p:.0f}" for p in peaks[label]),
            " / ".join(f"{g:.0f}" for g in growths[label]), style_d, content_d,
        ])  # fmt: skip
    section = Section("Claim 1: fewer layers")
    timing_runs = (
        f", then each again for {ctx.plan.layers_timing_iterations} iterations in the opposite order"
        if ctx.plan.layers_timing_iterations
        else ""
    )
    section.text(
        "The paper: *\"to cut down the number of convolutional layers used and simplify the model, but with "
        "ideally close performance\"* (Abstract); *\"Is there any way we can skip some layers to release the "
        "stress of computation?\"* (Introduction); *\"instead of using all convolutional layers to compute the "
        "loss, we just use some layers like conv5\"* (Figure 7). It reports no time or memory, so both are "
        "measured here."
    )
    section.text(
        f"The paper's layer set (style conv1_2, conv3_3, conv5_3 with tfstyle's default weights z = "
        f"{', '.join(f'{num(z)}' for z in configs['paper layers'].style_layer_weights)}, content conv3_3, "
        f"b = {num(configs['paper layers'].style_weight)}: `preset('default')`) against Gatys et al.'s (style "
        f"conv1_1 … conv5_1, equal weights, content conv4_2, b = {num(configs['Gatys layers'].style_weight)}: "
        f"`preset('gatys')`), both with everything else equal: mean normalization, Adam (learning rate "
        f"{num(ADAM_LEARNING_RATE)}), content init, {ctx.plan.layers_iterations} iterations, {ctx.plan.size} px, "
        f"{pair.name}. Each ran alone in a fresh process (`multiprocessing`, spawn){timing_runs}: time per "
        "iteration is the median over a run's iterations (the first, which traces the step, left out), the "
        "lowest of the runs' medians (all are listed); peak memory is each run's peak resident set (`VmHWM` "
        "in /proc/self/status; `ru_maxrss` would include the parent's, inherited through fork), the growth is "
        "over its value right after importing TensorFlow and tfstyle, compared run by run (runs of the same "
        "length; all are listed). "
        "Both results are measured with the same yardstick (top of the report)."
    )
    section.table(
        ["layers", "loss layers", "count", "VGG16 conv layers run", "s / iteration", "runs' medians",
         "runs' peak RSS (MiB)", "runs' RSS growth (MiB)", "yardstick style ↓", "yardstick content ↓"],
        rows,
    )
    panels = [*_inputs(pair), *[(f"{label}, {ctx.plan.layers_iterations} it.", runs[label].image) for label in configs]]
    path = figures.image_row(panels, ctx.out / "claim1_layers.png", "Claim 1: the paper's 3 layers against Gatys' 6")
    section.figure(path, "Claim 1: content, style and the results of both layer sets")
    path = figures.bars(
        {
            "seconds / iteration": {k: v["seconds"] for k, v in measured.items()},
            "peak RSS (MiB), first run": {k: v["peaks"][0] for k, v in measured.items()},
            "yardstick style ↓": {k: v["style"] for k, v in measured.items()},
            "yardstick content ↓": {k: v["content"] for k, v in measured.items()},
        },
        ctx.out / "claim1_measures.png",
        "Claim 1: time, memory and distances",
    )
    section.figure(path, "Claim 1: time per iteration, peak memory and the yardstick distances")
    rounds = [p / g for p, g in zip(timings["paper layers"], timings["Gatys layers"])]
    verdict = _claim1_verdict(measured["paper layers"], measured["Gatys layers"], rounds)
    section.text(verdict)
    return section, verdict


def _isolated(ctx: Context, label: str, config) -> measure.IsolatedRun:
    print(f"[claim1_layers] {label}: a fresh process, {config.iterations} iterations", flush=True)
    pair = ctx.pairs[0]
    return measure.isolated_run(pair.content_path, pair.style_path, config, ctx.logdir / "claim1_layers", _safe(label))


def _layer_list(config) -> str:
    style = ", ".join(_paper_name(n) for n in config.style_terms())
    content = ", ".join(_paper_name(n) for n in config.content_terms())
    return f"style {style}; content {content}"


def _paper_name(name: str) -> str:
    """``block3_conv3`` → ``conv3_3``."""
    return layer(name).paper_name


def _claim1_verdict(paper: dict, gatys: dict, rounds: list[float]) -> str:
    """``rounds``: the paper's time per iteration over Gatys', one ratio per pair of runs; the
    memory growths (``growths``, MiB) are paired the same way."""
    speed = paper["seconds"] / gatys["seconds"]
    memory = [p / g if g > 0 else float("nan") for p, g in zip(paper["growths"], gatys["growths"])]
    # Fresh runs of one configuration differ by tens of MiB: a saving must show in every pair.
    saves_memory = all(ratio < 0.9 for ratio in memory)
    if speed < 0.75 and saves_memory:
        verdict = "supported"
    elif speed < 0.9 or saves_memory:
        verdict = "partly supported: a modest saving"
    else:
        verdict = "not supported"
    return (
        f"**Verdict on claim 1 — {verdict}.** The paper's layers took {speed:.2f}× Gatys' time per iteration "
        f"(run by run: {', '.join(f'{r:.2f}×' for r in rounds)}; {_timing_noise(rounds)}), and "
        f"their runs' memory grew {' and '.join(f'{r:.2f}×' for r in memory)} as much over the TensorFlow import "
        f"({_mib(paper['growths'])} against {_mib(gatys['growths'])} MiB; peak resident set {_mib(paper['peaks'])} "
        f"against {_mib(gatys['peaks'])} MiB; fresh runs of one configuration differ by tens of MiB). "
        "Fewer loss layers save only the Gram matrices (and their gradients) of the dropped layers, while most "
        "of the time goes into VGG16's forward and backward passes, which the paper's deepest layer makes "
        "longer: conv5_3 needs all 13 conv layers, Gatys' conv5_1 needs 11. The two settings land at different "
        f"points of the trade-off: the paper's set reached style distance {paper['style']:.3g} and content "
        f"distance {paper['content']:.3g}, Gatys' {gatys['style']:.3g} and {gatys['content']:.3g} (each with "
        "its own weights), so 'the same quality' is not one number; see the images."
    )


def _mib(values: list[float]) -> str:
    return " and ".join(f"{v:.0f}" for v in values)


def _timing_noise(rounds: list[float]) -> str:
    """How far the timing rounds agree: the shared CPU's load can change between two runs."""
    if len(rounds) > 1 and max(rounds) > 1.2 * min(rounds):
        return ("the rounds disagree by more than 20 %: the shared CPU's load changed between runs, so the lowest "
                "median of each set is compared and the time ratio is uncertain")  # fmt: skip
    return "this shared CPU is good to about ±10 %"


# --- Claim 2: start from the content image -------------------------------------------------------

INITS = ("content", "noise", "style")


def claim_init(ctx: Context, paper_content_run: Run) -> tuple[Section, str]:
    """Content against white-noise and style init, under the paper's loss and tfstyle's default one."""
    pair = paper_content_run.pair
    n, m = ctx.plan.init_iterations, ctx.plan.balanced_iterations
    losses: dict[str, dict[str, Run]] = {"the paper's loss": {"content": _truncated(paper_content_run, n)}}
    for init in INITS[1:]:
        losses["the paper's loss"][init] = stylize(ctx, pair, "claim2_init_paper", init, ctx.config(iterations=n, init=init), (n,))
    losses["the default loss"] = {
        init: stylize(ctx, pair, "claim2_init_default", init, ctx.config("default", iterations=m, init=init), (m,))
        for init in INITS
    }
    section = Section("Claim 2: starting from the content image")
    section.text(
        "The paper: *\"the original paper starts the gradient descent on a white noise image in order to make "
        "unbiased results. [...] if we start updating from one of the input images, will it run faster to "
        "achieve the goal as we already have the content or style to start from?\"* (Introduction); its model "
        "*\"takes two inputs and update from the content image\"* (Figure 7). It reports no comparison with "
        "white noise, so it is measured here."
    )
    section.text(
        f"Content init against white noise (seeded, uniform in [0, 255], Gatys et al.'s start) and, as a third "
        f"start, the style image scaled to the photo's size; on {pair.name} at {ctx.plan.size} px, under two "
        f"losses: the paper's (`preset('paper')`, gradient descent, {n} iterations) and tfstyle's default, where "
        f"content and style both count (`preset('default')`, Adam, {m} iterations). \"Iterations to X\" is the "
        "first iteration whose total loss is at or below X (0: it starts below; –: not within the run). "
        + STEADY_SECONDS
    )
    findings = []
    for title, runs in losses.items():
        section.text(f"**Under {title}:**")
        section.table(
            ["init", "total at start", "total at the end", "iterations to content init's final loss", "seconds",
             "iterations to noise init's final loss", "seconds", "yardstick style ↓", "yardstick content ↓"],
            _init_rows(runs),
        )  # fmt: skip
        findings.append(_init_finding(title, runs))
    grid = [list(_inputs(pair))]
    for init in INITS:
        grid.append([(f"{init} init: start", losses["the paper's loss"][init].snapshots[0]),
                     (f"paper's loss, {n} it.", losses["the paper's loss"][init].snapshots[n]),
                     (f"default loss, {m} it.", losses["the default loss"][init].snapshots[m])])  # fmt: skip
    path = figures.image_grid(grid, ctx.out / "claim2_init.png", "Claim 2: where the optimization starts")
    section.figure(path, "Claim 2: start images and results of the three inits under both losses")
    for title, runs in losses.items():
        target = ("content init's final loss", runs["content"].total_at(len(runs["content"].totals)))
        plots = [
            figures.Plot(f"total against {axis}", axis, "total loss",
                         [figures.Series(f"{init} init", _axis(run, axis), run.totals) for init, run in runs.items()],
                         hline=target)
            for axis in ("iteration", "seconds")
        ]  # fmt: skip
        name = "claim2_curves_paper.png" if "paper" in title else "claim2_curves_default.png"
        path = figures.curves(plots, ctx.out / name, f"Claim 2: the three starts under {title}")
        section.figure(path, f"Claim 2: total loss against iterations and seconds under {title}")
    verdict = _claim2_verdict(findings)
    section.text(verdict)
    return section, verdict


def _count(iterations: int) -> str:
    """``after 0 iterations``, ``after 1 iteration``, ``after 20 iterations``."""
    return f"after {iterations} iteration{'' if iterations == 1 else 's'}"


def _truncated(run: Run, iterations: int) -> Run:
    """``run`` as if it had stopped after ``iterations`` (gradient descent has no schedule, so it is exact)."""
    history = {name: values[:iterations] for name, values in run.result.history.items()}
    result = tfstyle.Result(
        image=run.snapshots[iterations], history=history, initial_losses=run.result.initial_losses,
        final_losses={}, iterations=iterations, seconds=float(history["seconds"][-1]),
        device=run.result.device, config=run.result.config,
    )  # fmt: skip
    distances = {k: v for k, v in run.distances.items() if 0 <= k <= iterations}
    distances[-1] = run.distances[iterations]
    return Run(run.label, run.pair, result, {k: v for k, v in run.snapshots.items() if k <= iterations}, distances)


def _axis(run: Run, axis: str) -> np.ndarray:
    return _iterations(run) if axis == "iteration" else measure.steady_seconds(run.result.history)


def _final(run: Run) -> float:
    return run.total_at(len(run.totals))


def _reach(run: Run, target: float) -> tuple[int | None, float | None]:
    """(iterations, seconds) for ``run`` to get its total loss to ``target``."""
    hit = measure.first_reaching(run.total_at(0), run.totals, target)
    return hit, None if hit is None else run.seconds_at(hit)


def _init_rows(runs: dict[str, Run]) -> list[list]:
    content_final, noise_final = _final(runs["content"]), _final(runs["noise"])
    return [
        [init, run.total_at(0), _final(run), *_reach(run, content_final), *_reach(run, noise_final), *run.distances[-1]]
        for init, run in runs.items()
    ]


@dataclass
class InitFinding:
    """Content init against noise init under one loss."""

    loss: str
    iterations: int  # the runs' length
    content_to_noise_final: int | None  # iterations the content init needed for the noise init's final loss
    noise_to_content_final: int | None  # and the other way round
    noise_final: float  # noise init's final total loss
    final_ratio: float  # noise init's final loss / the content init's
    style_to_content_final: int | None  # iterations the style init needed for the content init's final loss
    content_distances: dict[str, float]


def _init_finding(title: str, runs: dict[str, Run]) -> InitFinding:
    return InitFinding(
        loss=title,
        iterations=len(runs["content"].totals),
        content_to_noise_final=_reach(runs["content"], _final(runs["noise"]))[0],
        noise_to_content_final=_reach(runs["noise"], _final(runs["content"]))[0],
        noise_final=_final(runs["noise"]),
        final_ratio=_final(runs["noise"]) / _final(runs["content"]),
        style_to_content_final=_reach(runs["style"], _final(runs["content"]))[0],
        content_distances={init: run.distances[-1][1] for init, run in runs.items()},
    )


def _claim2_verdict(findings: list[InitFinding]) -> str:
    parts, faster_everywhere = [], True
    for f in findings:
        reached = f.content_to_noise_final
        faster_everywhere &= reached is not None and reached < f.iterations and f.final_ratio > 1
        if reached == 0:
            content = "was below that from the start"
        elif reached is None:
            content = "did not get there"
        else:
            content = f"got there {_count(reached)} ({f.iterations / reached:.2g}× fewer)"
        noise = (
            "did not reach the content init's final loss"
            if f.noise_to_content_final is None
            else f"reached the content init's final loss {_count(f.noise_to_content_final)}"
        )
        parts.append(
            f"Under {f.loss} white noise ended at {fmt(f.noise_final)} after {f.iterations} iterations; the content "
            f"init {content}, and white noise {noise} (it ended {f.final_ratio:.3g}× higher)"
        )
    style_wins = [f"{_count(f.style_to_content_final)} under {f.loss}" for f in findings
                  if f.style_to_content_final is not None and f.style_to_content_final < f.iterations]  # fmt: skip
    style_distances = " and ".join(f"{f.content_distances['style']:.3g}" for f in findings)
    style = (
        f" The painting as the start reached the content init's final loss sooner still ({', '.join(style_wins)}), "
        "its style term being low from the start; but the result is the painting, not the photo: its content "
        f"distance at the end was {style_distances}."
        if style_wins
        else ""
    )
    paper = findings[0].content_distances
    return (
        f"**Verdict on claim 2 — {'supported' if faster_everywhere else 'not supported'}: against white noise, "
        f"the content init {'gets to a given loss faster' if faster_everywhere else 'is not faster everywhere'}.** "
        f"{'. '.join(parts)}.{style} Under the paper's own loss the content term does not count (Figure 9), so the "
        "start decides what survives of the photo: after the run the content distance was "
        f"{paper['content']:.3g} from the content init against {paper['noise']:.3g} from noise."
    )


# --- Optimizers ----------------------------------------------------------------------------------


def optimizers(ctx: Context, gd_run: Run) -> tuple[Section, str]:
    """Plain gradient descent (Figure 9's run), Adam and L-BFGS on the paper's loss."""
    pair, n = gd_run.pair, ctx.plan.optimizer_iterations
    runs = {"gradient descent": gd_run}
    runs["Adam"] = stylize(ctx, pair, "optimizers", "adam",
                           ctx.config(iterations=n, optimizer="adam", learning_rate=ADAM_LEARNING_RATE), (n,))
    runs["L-BFGS"] = stylize(ctx, pair, "optimizers", "lbfgs", ctx.config(iterations=n, optimizer="lbfgs"), (n,))
    learning_rates = {"gradient descent": f"{num(gd_run.result.config.effective_learning_rate)}",
                      "Adam": f"{num(ADAM_LEARNING_RATE)}", "L-BFGS": "line search"}  # fmt: skip
    section = Section("Optimizers: gradient descent, Adam and L-BFGS")
    section.text(
        "The paper uses plain gradient descent (*\"Running gradient descent under 30,100,200 iterations\"*, "
        "Figure 9) and names no other optimizer; Adam and L-BFGS are tfstyle's additions, compared here."
    )
    section.text(
        f"The same problem for all three: the paper's loss (`preset('paper')`: conv1_2, conv3_3, conv5_3, "
        f"a = 1, b = 10, plain sums, content init) on {pair.name} at {ctx.plan.size} px. Gradient descent is "
        f"Figure 9's run ({len(gd_run.totals)} iterations); Adam and L-BFGS ran {n}. An L-BFGS iteration is "
        "one accepted step of SciPy's L-BFGS-B and may evaluate the loss and gradient more than once, which "
        "the seconds include. " + STEADY_SECONDS + " Gradient descent and Adam do the same work per iteration "
        "(one forward and backward pass); a difference in their seconds per iteration is the shared CPU's "
        "load at the time (their runs were minutes apart), so compare iterations first."
    )
    target = gd_run.total_at(min(n, len(gd_run.totals)))
    rows = []
    for name, run in runs.items():
        k = min(n, len(run.totals))
        hit = measure.first_reaching(run.total_at(0), run.totals, target)
        style_d, content_d = _distances_at(run, k)
        rows.append([
            name, learning_rates[name], run.total_at(k), measure.seconds_per_iteration(run.result.history),
            hit, None if hit is None else run.seconds_at(hit), style_d, content_d,
        ])  # fmt: skip
    section.table(
        ["optimizer", "learning rate", f"total at iteration {n}", "s / iteration",
         f"iterations to GD's loss at {n}", "seconds to it", "yardstick style ↓", "yardstick content ↓"],
        rows,
    )
    plots = [
        figures.Plot(f"total against {axis}", axis, "total loss (plain sums)",
                     [figures.Series(name, _axis(run, axis), run.totals) for name, run in runs.items()])
        for axis in ("iteration", "seconds")
    ]  # fmt: skip
    path = figures.curves(plots, ctx.out / "optimizers_curves.png", "Optimizers on the paper's loss")
    section.figure(path, "Optimizers: total loss against iterations and against seconds")
    panels = [*_inputs(pair), *[(f"{name}, {n} it.", run.snapshots[n]) for name, run in runs.items()]]
    path = figures.image_row(panels, ctx.out / "optimizers_images.png", f"Optimizers: the image after {n} iterations")
    section.figure(path, "Optimizers: content, style and each optimizer's image")
    verdict = _optimizer_verdict(runs, n, target)
    section.text(verdict)
    return section, verdict


def _optimizer_verdict(runs: dict[str, Run], n: int, target: float) -> str:
    finals = {name: run.total_at(min(n, len(run.totals))) for name, run in runs.items()}
    best = min(finals, key=finals.get)
    gd = finals["gradient descent"]
    others = []
    for name, value in finals.items():
        if name == "gradient descent":
            continue
        hit = measure.first_reaching(runs[name].total_at(0), runs[name].totals, target)
        when = "did not reach it" if hit is None else f"reached it {_count(hit)}"
        others.append(f"{name} ended {ratio(gd, value)} lower ({fmt(value)}) and {when}")
    content = {name: _distances_at(run, n)[1] for name, run in runs.items()}
    return (
        f"**Optimizers — {best} did best.** Gradient descent's total after {n} iterations was {fmt(gd)}; "
        f"{'; '.join(others)}. The paper's plain gradient descent needs a learning rate tuned to the loss's "
        "scale (and so to the image size and b); Adam and L-BFGS do not. Further down the paper's loss is not "
        "a better picture, though: that loss is the style term alone (Figure 9), so the optimizers that descend "
        "further keep less of the photo (content distance "
        + ", ".join(f"{name} {d:.3g}" for name, d in content.items())
        + ")."
    )


def _distances_at(run: Run, iteration: int) -> tuple[float, float]:
    """The yardstick at ``iteration`` if it was a snapshot, else of the final image."""
    return run.distances.get(iteration, run.distances[-1])


# --- What the paper left unsaid ------------------------------------------------------------------


def unsaid(ctx: Context, paper_run: Run, readings_verdict: str = "") -> Section:
    """What the text says and what it leaves unsaid, with the magnitudes measured in Figure 9's run."""
    config = paper_run.result.config
    initial = paper_run.result.initial_losses
    lr = config.effective_learning_rate
    step = float(np.mean(np.abs(paper_run.snapshots[1] - paper_run.snapshots[0])))
    per_layer = ", ".join(
        f"{_paper_name(name)} {fmt(initial[f'style/{name}'])}" for name in config.style_terms()
    )
    largest_cl = float(np.max(paper_run.result.history["content"]))
    section = Section("What the paper says, and what it leaves unsaid")
    section.text(
        f"""\
- **The content loss compares with the style image.** Section III: *"Denote A as the content image and B
  as the style image. [...] CL_i = Σ(A_i − B_i)"*; Figure 5: *"the loss measures the difference between
  the content of content image A and the content of style image B"*; Figure 7: the model *"takes two
  inputs and update from the content image"*: the image optimized is A itself, started from the photo,
  and there is no third image holding the photo's content. Gatys et al. compare with the photo; the
  paper, as printed, with the style image. `preset('paper')` follows the text (`content_target="style"`:
  B stretched to the photo's height and width so the activations align); `default` and `gatys` keep
  the photo. Figure 11's discussion depends on it (measured there).
- **No squares, no normalization.** Section III prints plain sums of differences, CL_i = Σ(A_i − B_i)
  (*"Here Σ means the sum of all difference of correspoding values"*) and SL_i = Σ(G_i(A) − G_i(B)), with
  G_i(A)(p,q) = Σ(M_p·M_q). Without squares they are not distances (a sum of signed differences can go
  below zero without bound), so tfstyle reads them as squared differences, as in Gatys et al.; the
  unsquared reading is run below at the printed learning rate. Without normalization the terms have
  wildly different sizes: in Figure 9's run ({paper_run.pair.name}, {ctx.plan.size} px) the style loss SL
  started at {fmt(initial['style'])} while the content loss CL never exceeded {fmt(largest_cl)}. A Gram
  entry sums over the M positions, so SL grows like M² and CL like M: a and b mean different things at
  every image size, and at a = 1, b = 10 the content term is irrelevant (Figure 9).
- **Layer weights.** Section III names w_i and z_i (*"where w_i is the weighting factor"*) and sets the
  skipped layers' to zero (*"when we skip some layers i, the corresponding weight w_i and z_i are set to
  zero"*), but gives no values for the others. With equal weights the unnormalized VGG16 layers differ by
  orders of magnitude; the style losses at the start were {per_layer}, so conv5_3 contributes nothing
  to the paper's style term.
- **Learning rate.** The text prints it: *"with learning rate=0.00001"* (Figure 9; *"learning rate
  a=0.00001"* in Figure 10, *"learning rate = 0.00001"* in Figure 11). An earlier version of this report
  said the text gives no usable value; it does. Whether it reproduces
  the figures depends on how the pixels are scaled and whether the sums are squared, which the text does
  not say: the section *The printed learning rate* runs every reading. {readings_verdict} The `paper`
  preset's gradient descent uses {num(lr)}: here its first step moved pixels by {step:.2g} grey levels on
  average, a gradient of ~{step / lr:.1e} per pixel. Under gradient descent any fixed value only makes
  sense at one b (b = 1000 at η is b = 10 at 100·η, Figure 10), and for plain sums also at one image
  size; with Adam or L-BFGS, whose steps do not scale with the loss, the question goes away.
- **Other settings.** The image size (the Introduction mentions only the original implementation's
  *"input image size of 224*224*3"*), how the style image is scaled, the VGG16 weights and preprocessing,
  max or average pooling and the pixel range are not stated (the white noise is Gatys'; the paper starts
  from the content image). Here: {ctx.plan.size} px, the style scaled to the photo's pixel count, Keras'
  ImageNet VGG16 (caffe preprocessing, max pooling), images clipped to [0, 255] after every step."""
    )
    return section


# --- The paper's conclusions and drawbacks, as claims ---------------------------------------------


def conclusions(ctx: Context, fig9_runs: list[Run], heavy: Run, grid: dict[tuple[float, float], Run]) -> Section:
    """Conclusion 2 (artistic transfer), drawback 1 (not smooth, especially style-heavy; do more
    iterations help?) and drawback 2 (photorealistic transfer), each with a measure."""
    import paper_readings as readings

    snaps = ctx.plan.snapshots
    photo_pair = ctx.photo_pair
    photo = stylize(ctx, photo_pair, "conclusions", photo_pair.name, ctx.config(iterations=snaps[-1]), snapshots=snaps)
    section = Section("The paper's conclusions and drawbacks, measured")
    section.text(
        "The Conclusion states: *\"1.we can still transfer the style by computing the loss over half of the "
        "convolutional layers. 2.the algorithm works well on artistic style transfer\"*, and two drawbacks: "
        "*\"1.The image generated is not smooth. This happens especially when we use use high a/b, the style "
        "loss will have a great effect on the total loss [...] So probaly more iterations should be run to see "
        "if it helps\"* and *\"2.It is still subject to the input images. As said before, the algorithm for "
        "photorealistic style transfer works poorly.\"* (The text writes a/b but describes the style term "
        "dominating, i.e. a large b/a; that is how it is measured here.) Conclusion 1 is Claim 1 below."
    )
    tv = readings.total_variation
    rows = []
    for run in [*fig9_runs, heavy, photo]:
        b = run.result.config.style_weight
        rows.append([run.pair.name, num(b), tv(run.pair.content), tv(run.pair.style),
                     *[tv(run.snapshots[k]) for k in snaps], *run.distances[-1]])  # fmt: skip
    section.table(["images", "b", "TV photo", "TV style image", *[f"TV at {k}" for k in snaps],
                   "yardstick style ↓", "yardstick content ↓"], rows)  # fmt: skip
    grid_rows = [[num(a), num(b), num(b / a), tv(run.result.image), *run.distances[-1]] for (a, b), run in grid.items()]
    section.text("Total variation (TV: the mean absolute difference of neighbouring pixels, grey levels) of Figure "
                 "11's grid (Adam), against b/a:")  # fmt: skip
    section.table(["a", "b", "b/a", "TV of the result", "yardstick style ↓", "yardstick content ↓"], grid_rows)
    path = figures.image_grid(
        [[*_inputs(photo_pair), *[(f"iteration {k}", photo.snapshots[k]) for k in snaps]]],
        ctx.out / "drawback2_photo_style.png", "Drawback 2: a photograph as the style image (paper preset)",
    )
    section.figure(path, "Drawback 2: a photograph as the style image, paper preset")
    section.text(_conclusion_findings(fig9_runs, heavy, photo, grid, snaps))
    return section


def _conclusion_findings(fig9_runs: list[Run], heavy: Run, photo: Run, grid, snaps) -> str:
    import paper_readings as readings

    tv = readings.total_variation
    art = [f"{run.pair.name}: style {run.distances[0][0]:.3g} → {run.distances[-1][0]:.3g}, content "
           f"{run.distances[-1][1]:.3g}" for run in fig9_runs]  # fmt: skip
    smooth = [f"{run.pair.name}: TV {' → '.join(f'{tv(run.snapshots[k]):.3g}' for k in snaps)} (photo {tv(run.pair.content):.3g})"
              for run in fig9_runs]  # fmt: skip
    by_ratio = sorted(grid.items(), key=lambda item: item[0][1] / item[0][0])
    low, high = by_ratio[0], by_ratio[-1]
    return (
        f"- **Conclusion 2, artistic transfer**: on every painting pair the yardstick style distance fell over "
        f"Figure 9's run ({'; '.join(art)}).\n"
        f"- **Drawback 1, not smooth**: over the iterations at b = 10 the TV went {'; '.join(smooth)}; at b = 1000 "
        f"(Figure 10) {' → '.join(f'{tv(heavy.snapshots[k]):.3g}' for k in snaps)}. More iterations "
        f"{'raise' if tv(fig9_runs[0].snapshots[snaps[-1]]) > tv(fig9_runs[0].snapshots[snaps[0]]) else 'lower'} "
        f"the TV on the first pair, so under gradient descent they do "
        f"{'not ' if tv(fig9_runs[0].snapshots[snaps[-1]]) > tv(fig9_runs[0].snapshots[snaps[0]]) else ''}help "
        f"smoothness. Against b: under gradient descent b = 1000 ended at TV {tv(heavy.snapshots[snaps[-1]]):.3g} "
        f"against {tv(fig9_runs[0].snapshots[snaps[-1]]):.3g} at b = 10, but there b = 1000 is a 100× longer step "
        f"(Figure 10). Over Figure 11's grid (Adam: the same step length in every cell, only the balance changes) "
        f"the TV was {tv(low[1].result.image):.3g} at the smallest b/a ({num(low[0][1] / low[0][0])}) and "
        f"{tv(high[1].result.image):.3g} at the largest ({num(high[0][1] / high[0][0])}): the style-heavier balance "
        f"{'is' if tv(high[1].result.image) > tv(low[1].result.image) else 'is not'} the rougher one there.\n"
        f"- **Drawback 2, photorealistic transfer**: with {photo.pair.style_path.stem} as the style of "
        f"{photo.pair.content_path.stem} the style distance went {photo.distances[0][0]:.3g} → "
        f"{photo.distances[-1][0]:.3g}, to {photo.distances[-1][0] / photo.distances[0][0]:.2g} of its start "
        f"(the painting pairs: {', '.join(f'{r.distances[-1][0] / r.distances[0][0]:.2g}' for r in fig9_runs)}: "
        f"{_photo_style_share(photo, fig9_runs)}; content {photo.distances[-1][1]:.3g}), and the TV to "
        f"{tv(photo.snapshots[snaps[-1]]):.3g} against the style photo's {tv(photo.pair.style):.3g}: see the picture for "
        "whether the result still looks like a photograph; the yardstick measures statistics, not realism."
    )
