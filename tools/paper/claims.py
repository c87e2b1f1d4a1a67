"""The paper's two claims and the optimizers for ``python -m tools.paper``, each returning a report
section and its verdict: claim 1, fewer layers (the paper's three against Gatys' six, each in a fresh
process, for time and memory); claim 2, starting from the content image (against white noise and the
style image); and plain gradient descent against Adam and L-BFGS on the paper's loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import tfstyle
from tfstyle.vgg16 import VGG16_CONV_LAYERS, layer
from tools.paper import figures, measure
from tools.paper.report import Section, fmt, num, ratio
from tools.paper.runs import ADAM_LEARNING_RATE, STEADY_SECONDS, Context, Run, input_panels, iteration_numbers, safe_name, stylize

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
    panels = [*input_panels(pair), *[(f"{label}, {ctx.plan.layers_iterations} it.", runs[label].image) for label in configs]]
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
    return measure.isolated_run(pair.content_path, pair.style_path, config, ctx.logdir / "claim1_layers", safe_name(label))


def _layer_list(config) -> str:
    """The config's loss layers by the paper's names (``block3_conv3`` → ``conv3_3``)."""
    style = ", ".join(layer(n).paper_name for n in config.style_terms())
    content = ", ".join(layer(n).paper_name for n in config.content_terms())
    return f"style {style}; content {content}"


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
    grid = [list(input_panels(pair))]
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
    return iteration_numbers(run) if axis == "iteration" else measure.steady_seconds(run.result.history)


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
    panels = [*input_panels(pair), *[(f"{name}, {n} it.", run.snapshots[n]) for name, run in runs.items()]]
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
