"""The paper's printed learning rate (0.00001, Figures 9-11) under each reading its text allows, for
``python -m tools.paper``: the loss curve, mean |Δpixel| per step and the picture of each.

Readings (all: conv1_2, conv3_3, conv5_3, a = 1, content loss to the style image as printed, plain
gradient descent from the photo, pixels clipped to the valid range after each step):

- sums, [0, 255]: the printed sums with squares on caffe-preprocessed pixels (``preset('paper')``);
- sums, [0, 1]: the same losses with the image kept in [0, 1]; x = 255·y, so a step of η on y is
  a step of η·255² on x (``learning_rate=1e-5·255²``, nothing else changes);
- unsquared: CL_i = Σ(F − P) and SL_i = Σ(G − A) as printed, without squares (its own loop here:
  it is no distance, and no library setting);
- mean, [0, 255] and mean, [0, 1]: tfstyle's ``mean`` normalization instead of plain sums.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

import tfstyle
from tfstyle.objective.losses import gram_matrix
from tfstyle.objective.targets import style_at_content_size
from tools.paper import figures
from tools.paper.report import Section, fmt, num

PRINTED_LEARNING_RATE = 1e-5  # Figures 9, 10 and 11
UNIT_SCALE = 255.0**2  # a step of η on pixels in [0, 1] is η·255² on pixels in [0, 255]
READINGS = {  # name → (config changes, or None for the unsquared loop; pixel range)
    "sums, [0, 255]": ({"normalization": "paper"}, 255.0),
    "sums, [0, 1]": ({"normalization": "paper"}, 1.0),
    "unsquared, [0, 255]": (None, 255.0),
    "mean, [0, 255]": ({"normalization": "mean"}, 255.0),
    "mean, [0, 1]": ({"normalization": "mean"}, 1.0),
}
STYLE_WEIGHTS = (10.0, 1000.0)  # Figure 10


@dataclass
class Trace:
    """One reading's run: totals per iteration, mean |Δpixel| per step, snapshots and distances."""

    reading: str
    b: float
    totals: list[float] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)
    distances: tuple[float, float] = (1.0, 0.0)


class _Tracer(tfstyle.Callback):
    def __init__(self, trace: Trace, at: set[int]):
        self.trace, self.at, self.last = trace, at, None

    def set_run(self, run: tfstyle.RunInfo) -> None:
        self.last = np.array(run.start[0])

    def on_step(self, step: tfstyle.Step) -> None:
        image = step.image.numpy()[0]
        self.trace.totals.append(float(step.losses["total"]))
        self.trace.steps.append(mean_step(self.last, image))
        self.last = image
        if step.iteration in self.at:
            self.trace.snapshots[step.iteration] = image.copy()


def mean_step(before: np.ndarray, after: np.ndarray) -> float:
    """Mean |Δpixel| (grey levels of [0, 255]) between two images."""
    return float(np.mean(np.abs(np.asarray(after, np.float64) - np.asarray(before, np.float64))))


def total_variation(image: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels (grey levels): how far from smooth."""
    image = np.asarray(image, np.float64)
    return float((np.mean(np.abs(np.diff(image, axis=0))) + np.mean(np.abs(np.diff(image, axis=1)))) / 2)


def steady(totals: list[float]) -> bool:
    """"The loss goes down steadily" (Figure 9): finite, lower at the end, and falling in ≥ 90 % of steps."""
    values = np.asarray(totals, np.float64)
    if len(values) < 2 or not np.all(np.isfinite(values)):
        return False
    return bool(values[-1] < values[0] and np.mean(np.diff(values) < 0) >= 0.9)


def unsquared_losses(features, targets, grams, a: float, b: float, layers) -> tf.Tensor:
    """a·Σ w_i Σ(F_i − P_i) + b·Σ z_i Σ(G_i − A_i), equal weights 1/n, plain sums: the printed losses."""
    weight = 1.0 / len(layers)
    content = tf.add_n([weight * tf.reduce_sum(features[n] - targets[n]) for n in layers])
    style = tf.add_n([weight * tf.reduce_sum(gram_matrix(features[n], "paper") - grams[n]) for n in layers])
    return a * content + b * style


def unsquared_run(model, content: np.ndarray, style: np.ndarray, b: float, iterations: int, at: set[int]) -> Trace:
    """Plain gradient descent at the printed rate on the printed losses without squares."""
    layers = tfstyle.preset("paper").style_layers
    trace = Trace("unsquared, [0, 255]", b)
    target_features = model(style_at_content_size(style, content))
    style_features = model(tf.constant(style[None], tf.float32))
    targets = {n: target_features[n] for n in layers}
    grams = {n: gram_matrix(style_features[n], "paper") for n in layers}
    image = tf.Variable(content[None].astype(np.float32))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = unsquared_losses(model(image), targets, grams, 1.0, b, layers)
        image.assign(tf.clip_by_value(image - PRINTED_LEARNING_RATE * tape.gradient(loss, image), 0.0, 255.0))
        return loss

    last = content
    for k in range(1, iterations + 1):
        trace.totals.append(float(step()))
        now = image.numpy()[0]
        trace.steps.append(mean_step(last, now))
        last = now
        if k in at:
            trace.snapshots[k] = now.copy()
    return trace


def run_readings(ctx, pair, yardstick, snapshots: tuple[int, ...]) -> list[Trace]:
    """Every reading at the printed learning rate, for b = 10 and b = 1000."""
    traces = []
    for name, (changes, scale) in READINGS.items():
        for b in STYLE_WEIGHTS:
            if changes is None:
                trace = unsquared_run(ctx.model, pair.content, pair.style, b, snapshots[-1], set(snapshots))
            else:
                rate = PRINTED_LEARNING_RATE * (UNIT_SCALE if scale == 1.0 else 1.0)
                config = ctx.config(iterations=snapshots[-1], style_weight=b, learning_rate=rate, **changes).override(
                    image_size=max(pair.content.shape[:2])
                )
                trace = Trace(name, b)
                tfstyle.stylize(pair.content, pair.style, config, callbacks=[_Tracer(trace, set(snapshots))],
                                feature_model=ctx.model)  # fmt: skip
            trace.distances = yardstick.distances(trace.snapshots[snapshots[-1]])
            print(f"[readings] {name}, b={num(b)}: step 1 {trace.steps[0]:.3g}, end {trace.distances}", flush=True)
            traces.append(trace)
    return traces


def reproduces(light: Trace, heavy: Trace) -> tuple[bool, bool]:
    """(Figure 9, Figure 10) as the text describes them, on the yardstick: Figure 9 — the loss goes down
    steadily, the photo is still closer than the painting (content distance < 0.7) and it is stylized (style
    distance < 0.7); Figure 10 — b = 1000 more stylized than b = 10 and the global shape kept (content < 1)."""
    (s10, c10), (s1000, c1000) = light.distances, heavy.distances
    fig9 = steady(light.totals) and c10 < 0.7 and s10 < 0.7
    fig10 = steady(heavy.totals) and s1000 < s10 and c1000 < 1.0
    return fig9, fig10


def readings_section(ctx, pair, yardstick, size: int, snapshots: tuple[int, ...]) -> tuple[Section, dict[str, tuple[bool, bool]]]:
    traces = run_readings(ctx, pair, yardstick, snapshots)
    by = {(t.reading, t.b): t for t in traces}
    section = Section("The printed learning rate, 0.00001, under each reading of the text")
    section.text(
        "Figures 9, 10 and 11 print their learning rate: *\"using conv1-2, conv3-3, conv5-3, with learning "
        "rate=0.00001, a=1, b=10. Running gradient descent under 30,100,200 iterations\"* (Figure 9); *\"with "
        "learning rate a=0.00001, and a=1, b=10 or b=1000\"* (Figure 10); *\"with learning rate = 0.00001\"* "
        "(Figure 11, which prints no a or b). The text does not say how the pixels are scaled or whether the "
        "printed differences are squared, so each reading it allows ran at that rate: "
        + "; ".join(f"**{name}**" for name in READINGS)
        + f". {pair.name}, {size} px, content loss to the style image (as printed), "
        f"{snapshots[-1]} iterations; pixels in [0, 1] are run as pixels in [0, 255] with the rate times "
        "255² (the same descent). Figure 9 counts as reproduced when the loss falls in ≥ 90 % of the steps "
        "and the result is stylized (yardstick style < 0.7) with the house still recognizable (content "
        "distance < 0.7); Figure 10 when b = 1000 is also steady, more stylized than b = 10 and keeps the "
        "global shape (content distance < 1)."
    )
    rows, labels = [], []
    for trace in traces:
        rows.append([(f"iteration {k}", trace.snapshots[k]) for k in snapshots])
        labels.append(f"{trace.reading}, b={num(trace.b)}")
    path = figures.image_grid(rows, ctx.out / "readings_images.png", "Printed learning rate 0.00001 under each reading",
                              row_labels=labels)  # fmt: skip
    section.figure(path, "Each reading at the printed learning rate after 30, 100 and 200 iterations")
    plots = []
    for b in STYLE_WEIGHTS:
        pick = [t for t in traces if t.b == b]
        x = np.arange(1, snapshots[-1] + 1)
        plots.append(figures.Plot(f"|total|, b={num(b)}", "iteration", "|total loss|",
                                  [figures.Series(t.reading, x, np.abs(t.totals)) for t in pick]))  # fmt: skip
        plots.append(figures.Plot(f"mean |Δpixel| per step, b={num(b)}", "iteration", "grey levels",
                                  [figures.Series(t.reading, x, np.maximum(t.steps, 1e-12)) for t in pick]))  # fmt: skip
    path = figures.curves(plots, ctx.out / "readings_curves.png", "Loss and step length at learning rate 0.00001")
    section.figure(path, "Loss (absolute value: the unsquared loss goes below zero) and mean |Δpixel| per step")
    table, verdicts = [], {}
    for name in READINGS:
        light, heavy = by[name, 10.0], by[name, 1000.0]
        verdicts[name] = reproduces(light, heavy)
        for trace in (light, heavy):
            table.append([name, num(trace.b), trace.totals[0], trace.totals[-1], "yes" if steady(trace.totals) else "no",
                          trace.steps[0], float(np.median(trace.steps)), *trace.distances])  # fmt: skip
    section.table(["reading", "b", "total, step 1", "total, last", "falls steadily", "|Δpixel| step 1",
                   "median |Δpixel| per step", "yardstick style ↓", "yardstick content ↓"], table)  # fmt: skip
    section.text(_readings_findings(verdicts, by))
    return section, verdicts


def _readings_findings(verdicts: dict[str, tuple[bool, bool]], by: dict) -> str:
    lines = []
    for name, (fig9, fig10) in verdicts.items():
        light = by[name, 10.0]
        lines.append(
            f"- **{name}**: Figure 9 {'reproduced' if fig9 else 'not reproduced'}, Figure 10 "
            f"{'reproduced' if fig10 else 'not reproduced'} (first step {fmt(light.steps[0])} grey levels, "
            f"style {light.distances[0]:.3g}, content {light.distances[1]:.3g} at b = 10)."
        )
    both = [name for name, v in verdicts.items() if all(v)]
    verdict = (
        f"Reading(s) that reproduce both figures at the printed rate: {', '.join(both)}."
        if both
        else "No reading reproduces both figures at the printed rate."
    )
    return "\n".join(lines) + "\n\n" + verdict


def verdict_sentence(verdicts: dict[str, tuple[bool, bool]]) -> str:
    """One line for the report's verdicts: which reading, if any, reproduces Figures 9 and 10 at 0.00001."""
    both = [name for name, v in verdicts.items() if all(v)]
    fig9 = [name for name, v in verdicts.items() if v[0]]
    if both:
        return (f"**The printed learning rate 0.00001 reproduces Figures 9 and 10 under the reading(s): "
                f"{', '.join(both)}** (see *The printed learning rate*).")  # fmt: skip
    also = f" (Figure 9 alone under: {', '.join(fig9)})" if fig9 else ""
    return (
        "**The printed learning rate 0.00001 reproduces Figures 9 and 10 under none of the readings the text "
        f"allows**{also}; see *The printed learning rate* for each reading's loss, step length and picture."
    )
