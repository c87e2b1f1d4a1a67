"""The paper's experiments for ``python -m tools.paper``, each returning a report section: Figures 9,
10 and 11, its conclusions and drawbacks, and what its text leaves unsaid.

Every run goes through the library (:func:`runs.stylize`) and is measured by the same
:class:`yardstick.Yardstick`. The section functions write their figures and say in words what the
numbers show; the wording follows the numbers. The claims and the optimizers are in ``claims.py``.
"""

from __future__ import annotations

import numpy as np

from tfstyle.vgg16 import layer
from tools.paper import figures
from tools.paper.report import Section, fmt, markdown_table, num, ratio
from tools.paper.runs import ADAM_LEARNING_RATE, Context, Run, input_panels, iteration_numbers, stylize

GRID_CONTENT_WEIGHTS = (1.0, 1e10, 1e12)  # a
GRID_STYLE_WEIGHTS = (1.0, 10.0, 100.0, 1000.0)  # b


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
    rows = [[*input_panels(run.pair), *[(f"iteration {k}", run.snapshots[k]) for k in snaps]] for run in runs]
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
    history, x = run.result.history, iteration_numbers(run)
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
    from tools.paper import readings

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
    rows = [[*input_panels(base.pair), *[(f"b={num(b)}, iteration {k}", run.snapshots[k]) for k in snaps]] for b, run in runs.items()]
    path = figures.image_grid(rows, ctx.out / "fig10_style_weight.png", "Figure 10: b = 10 (top) and b = 1000 (bottom)")
    section.figure(path, "Figure 10: b = 10 and b = 1000 after each iteration count")
    plot = figures.Plot(
        "total loss", "iteration", "loss (plain sums)",
        [figures.Series(f"b={num(b)}", iteration_numbers(run), run.totals) for b, run in runs.items()],
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
    rows: list[list] = [[*input_panels(pair)] + [None] * (len(GRID_STYLE_WEIGHTS) - 2)]
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
        images.append([*input_panels(pair), *[(f"a={num(a)}", run.result.image) for a, run in sweep.items()]])
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




# --- What the paper left unsaid ------------------------------------------------------------------


def unsaid(ctx: Context, paper_run: Run, readings_verdict: str = "") -> Section:
    """What the text says and what it leaves unsaid, with the magnitudes measured in Figure 9's run."""
    config = paper_run.result.config
    initial = paper_run.result.initial_losses
    lr = config.effective_learning_rate
    step = float(np.mean(np.abs(paper_run.snapshots[1] - paper_run.snapshots[0])))
    per_layer = ", ".join(
        f"{layer(name).paper_name} {fmt(initial[f'style/{name}'])}" for name in config.style_terms()
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
    from tools.paper import readings

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
        [[*input_panels(photo_pair), *[(f"iteration {k}", photo.snapshots[k]) for k in snaps]]],
        ctx.out / "drawback2_photo_style.png", "Drawback 2: a photograph as the style image (paper preset)",
    )
    section.figure(path, "Drawback 2: a photograph as the style image, paper preset")
    section.text(_conclusion_findings(fig9_runs, heavy, photo, grid, snaps))
    return section


def _conclusion_findings(fig9_runs: list[Run], heavy: Run, photo: Run, grid, snaps) -> str:
    from tools.paper import readings

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
