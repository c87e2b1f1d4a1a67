"""How fast tfstyle is: one step against the compute floor and a peer, time to quality, peak memory.

    python tools/bench.py                        # per-step table: default and gatys presets at 256 and 512 px
    python tools/bench.py --quality --sizes 512  # seconds to the peer's 1,000-step quality, per optimizer and scales
    python tools/bench.py --no_steps --quality --quality_runs "default command" --quality_rounds 5  # in turns
    python tools/bench.py --precision_check --sizes 512 --save docs/images  # bfloat16's result against float32's
    python tools/bench.py --memory               # peak RSS of CLI runs at 512, 1024 and 2048 px
    python tools/bench.py --forms --no_steps     # each VGG16 convolution in each of tfstyle's forms
    python tools/bench.py --profile --no_steps   # where a step's time goes: per operation, per layer, by oneDNN's clock
    python tools/bench.py --quick                # a tiny run of every part (random weights, 64 px, seconds)
    python tools/bench.py --json results.json --wait_load 1.2   # wait for a quiet machine, keep the numbers

- **Step**: the median time of one optimization step after warm-up (``--warmup``, ``--steps``),
  timed from tfstyle's own loop (``Result.history["seconds"]``), all in one process. After each of
  tfstyle's steps the floor's convolution and one peer step run and are timed too (and taken out
  of tfstyle's time), so a change in the machine's load moves all three together.
- **Floor**: the FLOPs of one step (the forward pass through VGG16 to the deepest layer in use and
  the backward pass to the input, no filter gradients: 2·H·W·Cin·Cout·9 per convolution, twice)
  divided by the best throughput TensorFlow reaches here for a VGG-shaped 3×3 convolution
  (forward and input gradient, measured now for a few shapes, each in every one of tfstyle's
  convolution forms' kernels, ``FLOOR_FORMS``). bfloat16 rows are also divided by the
  bfloat16 floor (the same, with bfloat16's best throughput).
- **Peers**: the loop of TensorFlow's style-transfer tutorial (tools/peer_tutorial.py) on VGG16
  with the same layers and images; and tfstyle's own objective and Adam in PyTorch
  (tools/peer_torch.py, the ``bench`` extra: PyTorch users' choice), in float32 and, where the CPU
  has it natively, bfloat16, timed in a block after tfstyle's steps, the two blocks alternated
  ``--rounds`` times, the ratio being the median of the rounds' (``--torch_compile``: also under
  ``torch.compile``, once).
- **Time to quality**: seconds until a run's image is at least as close to the style as the tutorial
  peer's image after ``--peer_steps`` (1,000) steps, and no farther from the content, on a yardstick
  of Gatys et al.'s layers, none of which the default preset optimizes (tools/yardstick.py,
  ``NEUTRAL``). The peer's own time is when it first came within 1 % of its final distances, not
  the end of its steps. tfstyle's clock and the PyTorch peer's start with their networks loaded
  (targets and tracing count), the tutorial peer's at its first step, and none counts the
  yardstick's evaluations. The PyTorch peer runs the default preset's objective for its 50 steps;
  like for like, each side is timed to within 1 % of the quality both reached (the worse of the
  two final distances, each). ``--quality_rounds N`` runs both sides N times, taking turns to go
  first, and gives each round's ratio and their median: on a host whose speed drifts over minutes,
  single pairs of the same code ranged from 0.77× to 1.42× (run K, docs/performance.md).
- **Precision**: the default preset in float32, bfloat16 and float32 with XLA from the same start;
  the final images evaluated by the float32 loss, and how far apart they are; and how far
  bfloat16's image gradient is from float32's at the photo and at float32's result.
- **Memory**: peak resident memory (VmHWM) of ``python -m tfstyle.run`` processes.
- **Profile**: a float32 step under TensorFlow's profiler, per operation type and per layer,
  forward and backward (the profiler adds time of its own); and, where oneDNN runs TensorFlow's
  CPU operations, what oneDNN itself clocks (``ONEDNN_VERBOSE=1``, in a process of its own): its
  milliseconds per primitive kind and each convolution's throughput, with no profiler in the way.
- **Forms**: the forward pass and input gradient of each of VGG16's convolutions at the largest of
  ``--sizes``, with bias and ReLU, in each of ``FLOOR_FORMS`` (float32): where
  ``speed.resolve_convolutions``' per-machine choice comes from, with ``--profile``'s oneDNN clock.

Results go in docs/performance.md. Not a test: numbers depend on the machine and its load,
which is recorded with them (``os.getloadavg``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tfstyle.cli.common import use_onednn  # noqa: E402  (light: TensorFlow is not imported yet)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
use_onednn()  # measure what the command lines run

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine  # noqa: E402
from peer_tutorial import TutorialPeer  # noqa: E402

try:
    from peer_torch import TorchPeer, feature_network, write_keras_weights
except ImportError:  # PyTorch is the bench extra: without it, no PyTorch peer
    TorchPeer = None  # type: ignore[assignment,misc]
from yardstick import (  # noqa: E402
    NEUTRAL,
    NEUTRAL_MARKDOWN,  # noqa: E402
    Yardstick,
)

import tfstyle  # noqa: E402
from tfstyle.config import StyleConfig, preset  # noqa: E402
from tfstyle.inputs.prepare import prepare_images  # noqa: E402
from tfstyle.loop.optimize import pick_device  # noqa: E402
from tfstyle.network import speed, vgg16  # noqa: E402
from tfstyle.network.features import build_feature_model, resolve_weights  # noqa: E402
from tfstyle.objective.whole import make_loss_fn, objective  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "images"
CONTENT = SHARED / "content" / "tubingen.jpg"
STYLE = SHARED / "style" / "starry_night.jpg"

LossFn = Callable[[tf.Tensor], dict]  # images → {"total": ..., ...}, as make_loss_fn's
# VGG-shaped 3x3 convolutions to find the best throughput on: (height, width, in, out channels).
FLOOR_SHAPES = ((256, 256, 64, 64), (128, 128, 128, 128), (128, 128, 256, 256), (64, 64, 512, 512))
# The ways tfstyle can compute such a convolution (tfstyle.network.speed.FORMS; the mixed form
# takes the transposed or the forward one per layer).
FLOOR_FORMS = {
    "conv2d": lambda x, kernel: tf.nn.conv2d(x, kernel, 1, "SAME"),
    "transposed": speed.transposed_conv2d,
    "forward": lambda x, kernel: speed.forward_form_conv2d_relu(x, kernel, tf.zeros(kernel.shape[-1:], kernel.dtype)),
}


# --- The compute floor --------------------------------------------------------------------------


def vgg_convolutions(
    height: int, width: int, deepest: str = vgg16.CONV_LAYERS[-1].name
) -> list[tuple[str, int, int, int, int]]:
    """VGG16's convolutions up to ``deepest`` on a ``height`` × ``width`` image: (name, height,
    width, in, out channels)."""
    return [(c.name, *c.shape(height, width), c.in_channels, c.channels) for c in vgg16.layers_up_to(deepest)]


def step_flops(layers: Sequence[str], height: int, width: int) -> float:
    """FLOPs of one step: forward through VGG16's convolutions up to the deepest of ``layers`` and
    the input-gradient backward pass (the same count again; no filter gradients). ReLU, pooling,
    Gram matrices and the update are left out (a few percent)."""
    deepest = vgg16.deepest(layers).name
    return sum(2.0 * 2 * h * w * cin * cout * 9 for _, h, w, cin, cout in vgg_convolutions(height, width, deepest))


def _floor_convolution(
    shape: tuple[int, int, int, int], dtype: tf.DType = tf.float32, form: str = "conv2d"
) -> tuple[Callable[[], object], float]:
    """A compiled 3x3 'same' convolution of ``shape`` (height, width, in, out channels) in ``form``
    (:data:`FLOOR_FORMS`), forward and input gradient, waited for; and its FLOPs."""
    h, w, cin, cout = shape
    rng = np.random.default_rng(0)
    x = tf.Variable(rng.normal(size=(1, h, w, cin)).astype(np.float32))
    kernel = tf.constant(rng.normal(0, 0.05, size=(3, 3, cin, cout)), dtype)

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            y = FLOOR_FORMS[form](tf.cast(x, dtype), kernel)
            loss = 0.5 * tf.reduce_sum(tf.square(tf.cast(y, tf.float32)))  # needs y: the forward runs
        return tape.gradient(loss, x)[0, 0, 0, 0]

    forward_backward()  # trace
    return (lambda: forward_backward().numpy()), 2 * (2.0 * h * w * cin * cout * 9)


def conv_throughput(
    dtype: tf.DType = tf.float32, shapes: Sequence[tuple[int, int, int, int]] = FLOOR_SHAPES, reps: int = 7
) -> tuple[float, tuple[int, int, int, int], str]:
    """The best FLOP/s of a 3x3 'same' convolution's forward pass plus its input gradient over
    ``shapes`` and :data:`FLOOR_FORMS` (median of ``reps`` timed runs each, after two warm-up
    runs), with its shape and form."""
    best = (0.0, shapes[0], "conv2d")
    for shape in shapes:
        for form in FLOOR_FORMS:
            run, flops = _floor_convolution(shape, dtype, form)
            seconds = _median_seconds(run, reps)
            if flops / seconds > best[0]:
                best = (flops / seconds, shape, form)
    return best


def _median_seconds(fn: Callable[[], object], reps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# --- One step: tfstyle and the peer -------------------------------------------------------------


class _Interleave(tfstyle.Callback):
    """After each of tfstyle's iterations, times one run of each reference (the peer's step, the
    floor's convolution), so that all of them are measured under the same load."""

    def __init__(self, references: dict[str, Callable[[], object]]):
        self.references = references
        self.times: dict[str, list[float]] = {name: [] for name in references}
        self.spent: list[float] = []  # seconds in this callback after each iteration

    def on_step(self, step: tfstyle.Step) -> None:
        begin = time.perf_counter()
        for name, run in self.references.items():
            start = time.perf_counter()
            run()
            self.times[name].append(time.perf_counter() - start)
        self.spent.append(time.perf_counter() - begin)


def interleaved_step_seconds(
    config: StyleConfig, content: np.ndarray, style: np.ndarray, model: keras.Model, warmup: int, steps: int,
    references: dict[str, Callable[[], object]],
) -> tuple[float, dict[str, float]]:
    """Median seconds of one iteration of tfstyle's own loop after ``warmup`` iterations, and the
    median of each reference, timed between the iterations (their time is taken out of tfstyle's)."""
    between = _Interleave(references)
    result = tfstyle.stylize(content, style, config.override(iterations=warmup + steps), [between], feature_model=model)
    own = np.diff(result.history["seconds"]) - np.array(between.spent[:-1])
    return float(np.median(own[warmup - 1 :])), {n: float(np.median(t[warmup:])) for n, t in between.times.items()}


@dataclass
class StepRow:
    preset: str
    size: int
    variant: str
    optimizer: str
    step_s: float
    floor_s: float
    peer_s: float
    torch_s: float | None = None  # the PyTorch peer's step in the variant's precision (None: not run)
    torch_compiled_s: float | None = None  # ... under torch.compile, after compiling
    bfloat16_floor_s: float | None = None  # the bfloat16 floor, for bfloat16 rows
    torch_ratios: list[float] | None = None  # step_s / torch_s in each round (--rounds)

    @property
    def vs_floor(self) -> float:
        return self.step_s / self.floor_s

    @property
    def vs_peer(self) -> float:
        return self.step_s / self.peer_s

    @property
    def vs_torch(self) -> float | None:
        return float(np.median(self.torch_ratios)) if self.torch_ratios else None

    @property
    def vs_bfloat16_floor(self) -> float | None:
        return self.step_s / self.bfloat16_floor_s if self.bfloat16_floor_s else None


def torch_precision(variant: dict) -> str | None:
    """The PyTorch peer's precision for a row: float32, bfloat16 (autocast) where the CPU has it
    natively, none for XLA rows (PyTorch has no XLA on the CPU)."""
    if TorchPeer is None or variant.get("jit"):
        return None
    if variant["precision"] == "bfloat16":
        return "bfloat16" if speed.cpu_has_bf16() else None
    return "float32"


def torch_weights(weights: str, layers: Sequence[str]) -> str:
    """The weights file the PyTorch peer reads: tfstyle's, or for ``random`` (``--quick``) the
    random feature model's written in keras' layout to a temporary file."""
    resolved = resolve_weights(weights)
    if resolved != "random":
        return resolved
    path = os.path.join(tempfile.mkdtemp(prefix="bench_"), "vgg16_random.h5")
    return write_keras_weights(build_feature_model(layers, "random"), path)


def step_table(
    presets: Sequence[str], sizes: Sequence[int], variants: dict[str, dict], weights: str,
    floor: tuple[tuple[int, int, int, int], str], warmup: int, steps: int, bfloat16_flops_per_s: float | None = None,
    torch_compile: bool = False, rounds: int = 1,
) -> list[StepRow]:
    """One row per preset, size and variant: tfstyle's step, the floor and the tutorial peer's step,
    all three timed in the same run, interleaved step by step (the machine's load moves them
    together); then the PyTorch peer's steps in the row's precision, in a block of their own (its
    OpenMP threads would spin into tfstyle's steps), eager and with ``torch_compile`` compiled.
    ``rounds`` alternates the two blocks that many times: each time is the median over the rounds,
    and the ratio to PyTorch the median of the rounds' own ratios (a drifting host moves the two
    blocks of a round together). ``floor`` is the floor convolution's shape and form."""
    rows = []
    conv, conv_flops = _floor_convolution(floor[0], tf.float32, floor[1])
    for name in presets:
        base = preset(name).override(weights=weights)
        model = build_feature_model(base.layers_in_use(), weights, pooling=base.pooling)
        weights_file = torch_weights(weights, base.layers_in_use()) if TorchPeer is not None else ""
        for size in sizes:
            config = base.override(image_size=size)
            content, style = prepare_images(CONTENT, STYLE, config)
            flops = step_flops(config.layers_in_use(), *content.shape[:2])
            peer = TutorialPeer(
                content, style, list(config.content_terms()), list(config.style_terms()), resolve_weights(weights)
            )
            references = {"peer": lambda peer=peer: (peer.step(), peer.variable[0, 0, 0, 0].numpy()), "conv": conv}
            start = tfstyle.initial_image(config.init, content, style, seed=config.seed) if config.init != "content" else None
            for variant, changes in variants.items():
                precision = torch_precision(changes)
                eager = TorchPeer(content, style, config, weights_file, start, precision) if precision else None
                own, floors, peers, torch_steps = [], [], [], []
                for _ in range(rounds):
                    step_s, median = interleaved_step_seconds(
                        config.override(**changes), content, style, model, warmup, steps, references
                    )
                    own.append(step_s)
                    floors.append(flops / (conv_flops / median["conv"]))
                    peers.append(median["peer"])
                    if eager is not None:
                        torch_steps.append(_median_seconds(eager.step, steps, warmup))
                row = StepRow(name, size, variant, config.optimizer, *map(_median, (own, floors, peers)))
                if torch_steps:
                    row.torch_s = _median(torch_steps)
                    row.torch_ratios = [a / b for a, b in zip(own, torch_steps)]
                if changes["precision"] == "bfloat16" and bfloat16_flops_per_s:
                    row.bfloat16_floor_s = flops / bfloat16_flops_per_s
                if precision is not None and torch_compile:
                    compiled = TorchPeer(content, style, config, weights_file, start, precision, compile=True)
                    row.torch_compiled_s = _median_seconds(compiled.step, steps, warmup)
                rows.append(row)
                _print_row(rows[-1])
    return rows


def _median(values: Sequence[float]) -> float:
    return float(np.median(values))


def _print_row(row: StepRow) -> None:
    def ms(seconds: float | None) -> str:
        return f"{1e3 * seconds:9.0f}" if seconds else f"{'-':>9}"

    def ratio(value: float | None) -> str:
        return f"{value:6.2f}" if value else f"{'-':>6}"

    print(
        f"{row.preset:8} {row.size:5d} {row.variant:16} {row.optimizer:6} {ms(row.step_s)} "
        f"{ms(row.floor_s)} {ratio(row.vs_floor)} {ratio(row.vs_bfloat16_floor)} {ms(row.peer_s)} {ratio(row.vs_peer)} "
        f"{ms(row.torch_s)} {ratio(row.vs_torch)} {ms(row.torch_compiled_s)}",
        flush=True,
    )


STEP_HEADER = (
    f"{'preset':8} {'size':>5} {'variant':16} {'optim':6} {'step ms':>9} {'floor ms':>9} {'/floor':>6} {'/bf16f':>6} "
    f"{'tut. ms':>9} {'/tut.':>6} {'torch ms':>9} {'/torch':>6} {'compiled':>9}"
)


# --- Time to quality ----------------------------------------------------------------------------


class _Measure(tfstyle.Callback):
    """Every ``every`` iterations (and at the end) puts the full-size image on the yardstick, with
    the clock stopped meanwhile; notes when each target (D_s, D_c) is first reached, and stops the
    run at target ``stop_on`` (None: never)."""

    def __init__(self, every: int, yardstick: Yardstick, targets: dict[str, dict], stop_on: str | None = None):
        self.every, self.yardstick, self.targets, self.stop_on = every, yardstick, targets, stop_on
        self.start, self.paused = time.perf_counter(), 0.0
        self.curve: list[tuple] = []
        self.reached: dict[str, tuple[int, float]] = {}
        self.image = None

    def on_step(self, step: tfstyle.Step) -> bool:
        seconds = time.perf_counter() - self.start - self.paused
        pause = time.perf_counter()
        self.image = step.image.numpy()[0]
        if self.image.shape == self.yardstick.shape:  # not a coarse pass of coarse-to-fine
            d_style, d_content = self.yardstick.distances(self.image)
            self.curve.append((step.iteration, seconds, d_style, d_content))
            for name, target in self.targets.items():
                if name not in self.reached and d_style <= target["style"] and d_content <= target["content"]:
                    self.reached[name] = (step.iteration, seconds)
        self.paused += time.perf_counter() - pause
        return self.stop_on in self.reached


# The layers of the tutorial itself (VGG19 names there; the same names exist in VGG16).
TUTORIAL_CONTENT_LAYERS = ("block5_conv2",)
TUTORIAL_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")


def peer_quality(
    content: np.ndarray, style: np.ndarray, layers: tuple[Sequence[str], Sequence[str]], weights: str,
    yardstick: Yardstick, steps: int, every: int,
) -> dict:
    """The peer's (D_s, D_c) along ``steps`` steps on ``layers`` (content, style), and its time from
    its first step to step ``steps`` (its extractor and targets are made before the clock starts;
    the yardstick's evaluations are not counted)."""
    peer = TutorialPeer(content, style, list(layers[0]), list(layers[1]), resolve_weights(weights))
    start = time.perf_counter()
    curve, paused = [], 0.0
    for step in range(1, steps + 1):
        peer.step()
        if step % every == 0 or step == steps:
            seconds = time.perf_counter() - start - paused
            pause = time.perf_counter()
            curve.append((step, seconds, *yardstick.distances(peer.image)))
            paused += time.perf_counter() - pause
    step, seconds, d_style, d_content = curve[-1]
    return {
        "steps": steps, "seconds": seconds, "style": d_style, "content": d_content, "curve": curve,
        "own_quality_first": own_quality_first(curve), "per_layer": yardstick.per_layer(peer.image),
        "image": peer.image,
    }  # fmt: skip


def own_quality_first(curve: Sequence[tuple], within: float = 0.01) -> tuple[int, float]:
    """(step, seconds) at which a curve of (step, seconds, D_s, D_c) first comes within ``within``
    (1 %) of its own last point in both distances: when the peer had its final quality, rather than
    when its fixed number of steps ended (sampled at the curve's steps)."""
    *_, final_style, final_content = curve[-1]
    first = first_within(curve, final_style, final_content, within)
    assert first is not None  # the last point is within
    return first


def first_within(curve: Sequence[tuple], style: float, content: float, within: float = 0.01) -> tuple[int, float] | None:
    """The first (step, seconds) of a curve of (step, seconds, D_s, D_c) within ``within`` (1 %)
    of the distances (``style``, ``content``) in both, or None."""
    return next(
        ((step, seconds) for step, seconds, s, c in curve if s <= (1 + within) * style and c <= (1 + within) * content),
        None,
    )


def against_torch(runs: dict[str, dict]) -> dict[str, dict]:
    """Like for like, for each PyTorch peer run among ``runs`` (the default objective) and each of
    tfstyle's runs of that objective to its end (``FULL_RUNS``; the others stop at a target): the
    quality both reached (the worse of their final distances, each), and when each first came
    within 1 % of it, on the neutral yardstick. After 50 steps either side's distances move by
    round-off-driven amounts, so neither side's own end is the target."""
    comparison: dict[str, dict] = {}
    for peer_name, peer in runs.items():
        if not peer_name.startswith("PyTorch peer"):
            continue
        comparison[peer_name] = {}
        for name, ours in runs.items():
            if name not in FULL_RUNS:
                continue
            quality = (max(peer["final_style"], ours["final_style"]), max(peer["final_content"], ours["final_content"]))
            comparison[peer_name][name] = {
                "quality": quality,
                "PyTorch first": first_within(peer["curve"], *quality),
                "tfstyle first": first_within(ours["curve"], *quality),
            }
    return comparison


def torch_quality(
    content: np.ndarray, style: np.ndarray, config: StyleConfig, weights_file: str, precision: str,
    yardstick: Yardstick, targets: dict[str, dict], every: int,
) -> dict:
    """The PyTorch peer on ``config``'s objective for its iterations: (D_s, D_c) every ``every``
    steps and when it first reached each target. Its clock starts with its network loaded, as
    tfstyle's does: its targets and steps are counted, as tfstyle's are."""
    network = feature_network(weights_file, config)
    start, paused, curve, reached = time.perf_counter(), 0.0, [], {}
    peer = TorchPeer(content, style, config, weights_file, precision=precision, network=network)
    for step in range(1, config.iterations + 1):
        peer.step()
        if step % every == 0 or step == config.iterations:
            seconds = time.perf_counter() - start - paused
            pause = time.perf_counter()
            d_style, d_content = yardstick.distances(peer.pixels)
            curve.append((step, seconds, d_style, d_content))
            for name, target in targets.items():
                if name not in reached and d_style <= target["style"] and d_content <= target["content"]:
                    reached[name] = (step, seconds)
            paused += time.perf_counter() - pause
    return {"precision": precision, "iterations": config.iterations, "seconds": curve[-1][1], "final_style": curve[-1][2],
            "final_content": curve[-1][3], "reached": reached, "curve": curve}  # fmt: skip


def tfstyle_quality(
    content: np.ndarray, style: np.ndarray, config: StyleConfig, model: keras.Model, measure: _Measure
) -> dict:
    """Run ``config`` (the clock starts when ``measure`` was made) until its iterations end or it
    reaches every target; (D_s, D_c) along the way and when each target was reached."""
    result = tfstyle.stylize(content, style, config, callbacks=[measure], feature_model=model)
    if not measure.curve or measure.curve[-1][0] != result.iterations:  # e.g. L-BFGS-B stopped by itself
        seconds = time.perf_counter() - measure.start - measure.paused
        measure.curve.append((result.iterations, seconds, *measure.yardstick.distances(result.image)))
        measure.image = result.image
    return {
        "stopped": result.stopped,
        "iterations": result.iterations,
        "seconds": measure.curve[-1][1],
        "final_style": measure.curve[-1][2],
        "final_content": measure.curve[-1][3],
        "final_losses": result.final_losses,
        "reached": measure.reached,
        "curve": measure.curve,
        "per_layer": measure.yardstick.per_layer(measure.image),
    }


# --- Reduced precision: the same result? ---------------------------------------------------------


PAIRS = (("tubingen.jpg", "starry_night.jpg"), ("golden_gate.jpg", "the_scream.jpg"))
PRECISION_RUNS = {  # name → changes to the default preset; float32 is the reference
    "float32": {"precision": "float32", "jit": False},
    "bfloat16": {"precision": "bfloat16", "jit": False},
    "float32+xla": {"precision": "float32", "jit": True},  # the same arithmetic, other round-off
}


def precision_check(
    size: int, weights: str, save: Path | None = None, iterations: int | None = None, pairs: Sequence[tuple[str, str]] = PAIRS
) -> dict:
    """The default preset on each of ``pairs`` in float32, bfloat16 and float32 with XLA from the same start.

    Every final image is evaluated by the float32 objective, so the losses compare; the float32
    run is the reference for the relative differences and the mean |Δ pixel|. float32 with XLA
    does the same arithmetic in another order: how far round-off alone moves a run.
    """
    results = {}
    base = preset("default").override(image_size=size, weights=weights)
    base = base.override(iterations=iterations or base.iterations)
    model = build_feature_model(base.layers_in_use(), weights)
    reduced_model = speed.with_precision(model, "bfloat16")  # the one stylize builds, for the gradients
    for content_name, style_name in pairs:
        pair = f"{Path(content_name).stem} × {Path(style_name).stem}"
        content, style = prepare_images(SHARED / "content" / content_name, SHARED / "style" / style_name, base)
        evaluate = make_loss_fn(model, content, style, base.override(precision="float32"))
        runs, images = {}, {}
        for name, changes in PRECISION_RUNS.items():
            result = tfstyle.stylize(content, style, base.override(**changes), feature_model=model)
            losses = {k: float(v[0]) for k, v in evaluate(result.image[None]).items() if "/" not in k}
            images[name] = result.image
            runs[name] = {"seconds": result.seconds, "iterations": result.iterations, "float32_losses": losses}
        reduced = make_loss_fn(reduced_model, content, style, base.override(precision="bfloat16"))
        gradient_error = {
            where: relative_gradient_error(reduced, evaluate, image)
            for where, image in (("photo", content), ("float32 result", images["float32"]))
        }
        print(
            f"{size} px {pair}: bfloat16's image gradient is "
            + ", ".join(f"{100 * error:.1f} % off float32's at the {where}" for where, error in gradient_error.items()),
            flush=True,
        )
        reference = runs["float32"]["float32_losses"]
        for name, run in runs.items():
            run["relative_difference"] = {k: run["float32_losses"][k] / reference[k] - 1 for k in ("total", "content", "style")}
            run["mean_abs_pixel_difference"] = float(np.mean(np.abs(images[name] - images["float32"])))
            run["mean_abs_pixel_change"] = float(np.mean(np.abs(images[name] - content)))
            print(
                f"{size} px {pair} {name:12}: {run['seconds']:6.1f} s, float32-evaluated total "
                f"{run['float32_losses']['total']:.4g} ({100 * run['relative_difference']['total']:+.1f} %), content "
                f"{100 * run['relative_difference']['content']:+.1f} %, style {100 * run['relative_difference']['style']:+.1f} %, "
                f"|Δ pixel| to float32 {run['mean_abs_pixel_difference']:.2f} (moved {run['mean_abs_pixel_change']:.1f} from the photo)",
                flush=True,
            )
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            side_by_side = np.concatenate([images["float32"], images["bfloat16"]], axis=1)
            tfstyle.save_image(side_by_side, save / f"precision_{Path(content_name).stem}_{size}px.jpg")
        results[pair] = {**runs, "bfloat16_gradient_error": gradient_error}
    return results


def relative_gradient_error(approximate_loss: LossFn, exact_loss: LossFn, image: np.ndarray) -> float:
    """||g̃ - g|| / ||g|| for the gradients of the two objectives' totals at ``image``."""

    def gradient(loss_fn: LossFn) -> np.ndarray:
        pixels = tf.constant(image[None], tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(pixels)
            total = tf.reduce_sum(loss_fn(pixels)["total"])
        return tape.gradient(total, pixels).numpy()

    exact = gradient(exact_loss)
    return float(np.linalg.norm(gradient(approximate_loss) - exact) / np.linalg.norm(exact))


# --- Convolution forms --------------------------------------------------------------------------


def convolution_forms(height: int, width: int, reps: int = 7) -> list[dict]:
    """Each of VGG16's convolutions on a ``height`` × ``width`` image with bias and ReLU in float32,
    forward and input gradient (a step's work): the median seconds in each of :data:`FLOOR_FORMS`
    (Keras' Conv2D, the transposed form, the forward form; the mixed form takes one of the last two
    per layer)."""
    rng = np.random.default_rng(0)
    rows = []
    for name, h, w, cin, cout in vgg_convolutions(height, width):
        x = tf.Variable(rng.normal(size=(1, h, w, cin)).astype(np.float32))
        row = {"layer": name, "shape": (h, w, cin, cout), "flops": 2 * 2.0 * h * w * cin * cout * 9}
        for form in FLOOR_FORMS:
            layer = speed.FORMS[form](cout, 3, padding="same", activation="relu", name=name)
            layer.build(x.shape)
            layer.set_weights([rng.normal(0, 0.05, size=(3, 3, cin, cout)), np.zeros(cout)])

            @tf.function
            def forward_backward(layer=layer, x=x):
                with tf.GradientTape() as tape:
                    loss = tf.reduce_sum(layer(x))
                return tape.gradient(loss, x)[0, 0, 0, 0]

            row[form] = _median_seconds(lambda run=forward_backward: run().numpy(), reps)
        rows.append(row)
        print(
            f"{name:13} {h:4d}x{w:<4d} {cin:3d}->{cout:<3d} "
            + "  ".join(f"{form} {1e3 * row[form]:7.1f} ms ({row['flops'] / row[form] / 1e9:4.0f} GFLOP/s)" for form in FLOOR_FORMS),
            flush=True,
        )
    return rows


# --- Where a step's time goes -------------------------------------------------------------------


def step_profile(size: int, weights: str, precision: str = "float32", convolutions: str = "auto", steps: int = 5) -> dict:
    """The default preset's forward and backward pass (one compiled ``value_and_gradient``) under
    TensorFlow's profiler: milliseconds per step by operation type, and by VGG16 layer and
    direction (the backward pass is TensorFlow's ``gradient_tape/`` scope). Operations that run at
    the same time on TensorFlow's two inter-op threads both count, so the sum can exceed the step."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    step = _warm_step(size, weights, precision, convolutions)
    logdir = tempfile.mkdtemp(prefix="bench_profile_")
    tf.profiler.experimental.start(logdir)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    wall = (time.perf_counter() - start) / steps
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    space.ParseFromString(next(Path(logdir).rglob("*.xplane.pb")).read_bytes())
    by_op: dict[str, float] = {}
    by_layer: dict[str, float] = {}
    layer_names = {layer.name for layer in vgg16.CONV_LAYERS}
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if name.startswith("ExecutorState") or ":" not in name:
                    continue
                node, op = name.rsplit(":", 1)
                ms = event.duration_ps / 1e9 / steps
                by_op[op] = by_op.get(op, 0.0) + ms
                layer = next((part.rsplit("_", 1)[0] for part in node.split("/") if part.rsplit("_", 1)[0] in layer_names), "other")
                key = f"{layer} {'backward' if node.startswith('gradient_tape/') else 'forward'}"
                by_layer[key] = by_layer.get(key, 0.0) + ms
    return {
        "size": size, "precision": precision, "convolutions": speed.resolve_convolutions(convolutions, precision, pick_device(None)),
        "step_ms": 1e3 * wall, "by_op_ms": dict(sorted(by_op.items(), key=lambda kv: -kv[1])),
        "by_layer_ms": dict(sorted(by_layer.items())),
    }  # fmt: skip


def _warm_step(size: int, weights: str, precision: str = "float32", convolutions: str = "auto") -> Callable[[], object]:
    """The default preset's forward and backward pass (one compiled ``value_and_gradient``) at
    ``size`` px, run three times: a call runs one more and waits for it."""
    config = preset("default").override(image_size=size, weights=weights, precision=precision, convolutions=convolutions)
    content, style = prepare_images(CONTENT, STYLE, config)
    model = speed.for_run(build_feature_model(config.layers_in_use(), weights), precision, pick_device(None), False, convolutions)
    goal = objective(model, content[None], style, config)
    image = tf.Variable(content[None])

    def step() -> object:
        return goal.value_and_gradient(image)[1].numpy()

    for _ in range(3):
        step()
    return step


def print_profile(profile: dict) -> None:
    print(
        f"profile at {profile['size']} px, {profile['precision']}, {profile['convolutions']} form: "
        f"{profile['step_ms']:.0f} ms a forward and backward pass",
        flush=True,
    )
    for op, ms in list(profile["by_op_ms"].items())[:8]:
        print(f"  {ms:8.1f} ms  {op}")
    layers = sorted({key.rsplit(" ", 1)[0] for key in profile["by_layer_ms"]})
    for layer in layers:
        forward, backward = (profile["by_layer_ms"].get(f"{layer} {d}", 0.0) for d in ("forward", "backward"))
        print(f"  {layer:13} forward {forward:7.1f} ms  backward {backward:7.1f} ms")


# The lines that bound the counted steps in oneDNN's log.
ONEDNN_MARKS = ("bench: counted steps begin", "bench: counted steps end")

# A process of its own runs the steps, as oneDNN reads ONEDNN_VERBOSE when it starts.
# argv: this folder, size, weights, steps.
_STEPS_LOGGED_BY_ONEDNN = r"""
import sys
sys.path.insert(0, sys.argv[1])
import bench
step = bench._warm_step(int(sys.argv[2]), sys.argv[3])
print(bench.ONEDNN_MARKS[0], flush=True)
for _ in range(int(sys.argv[4])):
    step()
print(bench.ONEDNN_MARKS[1], flush=True)
"""

# A convolution in oneDNN's log: mb1_ic64oc64_ih192oh192kh3sh1dh0ph1_iw256ow256kw3sw1dw0pw1
# (batch, groups, channels in and out, output height and width, kernel height and width).
_CONVOLUTION = re.compile(r"mb(\d+)_(?:g(\d+))?ic(\d+)oc(\d+)_ih\d+oh(\d+)kh(\d+)\D.*_iw\d+ow(\d+)kw(\d+)")


def onednn_step_clock(size: int, weights: str, steps: int = 5) -> dict:
    """What oneDNN itself clocks in a float32 step of the default preset (``ONEDNN_VERBOSE=1``, in
    a process of its own): :func:`onednn_clock` of its log. Without the TensorFlow profiler's
    overhead, and the convolutions' throughput measured on oneDNN's side of TensorFlow."""
    command = [sys.executable, "-c", _STEPS_LOGGED_BY_ONEDNN, str(Path(__file__).parent), str(size), weights, str(steps)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "ONEDNN_VERBOSE": "1"})
    if done.returncode != 0:
        raise RuntimeError(f"the steps under ONEDNN_VERBOSE failed: {done.stderr[-2000:]}")
    return {"size": size, **onednn_clock(done.stdout, steps)}


def onednn_clock(log: str, steps: int) -> dict:
    """oneDNN's own milliseconds per step, from the ``ONEDNN_VERBOSE=1`` ``log`` lines between
    :data:`ONEDNN_MARKS`: by primitive kind, and per convolution problem (its direction, the
    times it ran in a step, FLOPs 2·(Cin/groups)·Cout·H·W·kh·kw each, and throughput)."""
    counted = log.split(ONEDNN_MARKS[0], 1)[-1].split(ONEDNN_MARKS[1], 1)[0]
    by_kind: dict[str, float] = {}
    convolutions: dict[tuple[str, str], dict] = {}
    for line in counted.splitlines():
        fields = line.strip().split(",")
        if not fields[0].endswith("_verbose") or "exec" not in fields:
            continue
        at = fields.index("exec")  # oneDNN 3 puts "v1,primitive" before it, 2 nothing
        kind, direction, problem, ms = fields[at + 2], fields[at + 4], fields[-2], float(fields[-1]) / steps
        by_kind[kind] = by_kind.get(kind, 0.0) + ms
        shape = _CONVOLUTION.search(problem) if kind == "convolution" else None
        if shape:
            batch, groups, cin, cout, h, w, kh, kw = (int(g) if g else 1 for g in shape.groups())
            entry = convolutions.setdefault((problem, direction), {"runs": 0.0, "ms": 0.0})
            entry["runs"] += 1 / steps
            entry["ms"] += ms
            entry["flops"] = 2.0 * batch * (cin // groups) * cout * h * w * kh * kw
    table = [
        {"problem": problem, "direction": direction, **entry, "gflops_per_s": entry["flops"] * entry["runs"] / entry["ms"] / 1e6}
        for (problem, direction), entry in convolutions.items()
    ]
    return {
        "steps": steps,
        "by_kind_ms": dict(sorted(by_kind.items(), key=lambda kv: -kv[1])),
        "convolution_ms": sum(entry["ms"] for entry in table),
        "convolution_flops": sum(entry["flops"] * entry["runs"] for entry in table),
        "convolutions": table,
    }


def print_onednn_clock(clock: dict, floor_flops_per_s: float) -> None:
    ms, flops = clock["convolution_ms"], clock["convolution_flops"]
    kinds = ", ".join(f"{kind} {t:.1f}" for kind, t in clock["by_kind_ms"].items())
    print(f"by oneDNN's own clock at {clock['size']} px, float32 (ms a step): {kinds}")
    if ms:
        print(
            f"  convolutions: {flops / 1e9:.1f} GFLOP in {ms:.1f} ms, {flops / ms / 1e6:.0f} GFLOP/s: "
            f"{ms / 1e3 / (flops / floor_flops_per_s):.2f}x the floor's time"
        )
    for entry in clock["convolutions"]:
        print(f"  {entry['runs']:3.0f} x {entry['problem']} {entry['direction']}: {entry['ms']:6.1f} ms, {entry['gflops_per_s']:4.0f} GFLOP/s")


# --- Peak memory of the CLI ---------------------------------------------------------------------


# ``python -m tfstyle.run`` with its arguments, writing the process's peak resident memory (VmHWM,
# which starts afresh at exec) to argv[1] when it exits. wait4's ru_maxrss would not do: Linux counts
# in it the memory the child had before exec, a copy of this (large) process's.
_PEAK_OF_CLI = r"""
import atexit, runpy, sys
out = sys.argv[1]
def peak():
    with open("/proc/self/status") as status, open(out, "w") as file:
        file.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(peak)
sys.argv = ["tfstyle.run", *sys.argv[2:]]
runpy.run_module("tfstyle.run", run_name="__main__", alter_sys=True)
"""


def cli_peak_rss(size: int, iterations: int, extra: Sequence[str] = ()) -> float:
    """Peak resident memory (bytes) of ``python -m tfstyle.run`` at ``size`` px for ``iterations``."""
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable, "-c", _PEAK_OF_CLI, f"{folder}/peak", f"--content={CONTENT}", f"--style={STYLE}",
            f"--output={folder}/out.png", f"--image_size={size}", f"--iterations={iterations}", "--print_every=0", *extra,
        ]  # fmt: skip
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[3:])} failed: {done.stderr[-2000:]}")
        return int(Path(folder, "peak").read_text()) * 1024.0  # kB


# --- The command line ---------------------------------------------------------------------------


def wait_for_quiet(limit: float, most_seconds: float = 3600) -> None:
    """Poll the 1-minute load average until it is below ``limit`` (at most ``most_seconds``)."""
    waited = 0
    while os.getloadavg()[0] >= limit and waited < most_seconds:
        if waited % 300 == 0:
            print(f"waiting for the 1-minute load ({os.getloadavg()[0]:.2f}) to drop below {limit}", flush=True)
        time.sleep(15)
        waited += 15


VARIANTS = {
    "float32": {"precision": "float32", "jit": False},
    "bfloat16": {"precision": "bfloat16", "jit": False},
    "float32+xla": {"precision": "float32", "jit": True},
    "bfloat16+xla": {"precision": "bfloat16", "jit": True},
    "float32+winograd": {"precision": "float32", "jit": False, "convolutions": "winograd"},
}
# The tutorial's objective in tfstyle's terms: its layers, a = 1e4, b = 1e-2 with equal style layer
# weights and the same mean-normalized losses; without its TV term (an L1 TV tfstyle does not have).
TUTORIAL_OBJECTIVE = {
    "content_layers": TUTORIAL_CONTENT_LAYERS, "style_layers": TUTORIAL_STYLE_LAYERS,
    "content_weight": 1e4, "style_weight": 1e-2, "tv_weight": 0.0,
}  # fmt: skip
QUALITY_RUNS = {  # name → changes to the default preset at --sizes
    # What a user gets: the whole default command, and the same in float32.
    "default command": {},
    "default, float32": {"precision": "float32"},
    "default, float32 winograd": {"precision": "float32", "convolutions": "winograd"},  # its compiling counted
    # The other optimizers and coarse-to-fine on the default preset's objective.
    "default, sgd": {"optimizer": "sgd", "iterations": 200},
    "default, lbfgs": {"optimizer": "lbfgs", "iterations": 100},
    "default, scales 2": {"scales": 2, "iterations": 100},
    "default, scales 3": {"scales": 3, "iterations": 100},
    # The tutorial's own objective optimized by tfstyle: the peer's loss, tfstyle's machinery.
    "tutorial objective, adam float32": {**TUTORIAL_OBJECTIVE, "precision": "float32", "iterations": 600},
    "tutorial objective, adam bfloat16": {**TUTORIAL_OBJECTIVE, "precision": "bfloat16", "iterations": 800},
    "tutorial objective, lbfgs bfloat16": {**TUTORIAL_OBJECTIVE, "precision": "bfloat16", "optimizer": "lbfgs", "iterations": 600},
    "tutorial objective, adam bfloat16, scales 2": {**TUTORIAL_OBJECTIVE, "precision": "bfloat16", "scales": 2, "iterations": 800},
}
# These run to their end (what the command does); the others stop once they reach STOP_ON's quality.
FULL_RUNS = ("default command", "default, float32", "default, float32 winograd")
STOP_ON = "peer on the tutorial layers"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="256,512", help="image sizes for the step table and the quality runs")
    parser.add_argument("--presets", default="default,gatys")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument(
        "--rounds", type=int, default=3,
        help="alternate tfstyle's block of steps with the PyTorch peer's this many times (the ratio: the median of the rounds')",
    )
    parser.add_argument("--quality", action="store_true", help="time to the peer's quality (long: the peer runs --peer_steps)")
    parser.add_argument("--quality_runs", default=";".join(QUALITY_RUNS), help=f"';'-separated, of: {'; '.join(QUALITY_RUNS)}")
    parser.add_argument(
        "--quality_rounds", type=int, default=1,
        help="run tfstyle's --quality runs and the PyTorch peer's this many times, taking turns to go first (a host "
        "that drifts over minutes then favours neither side); each round's ratios and their median",
    )
    parser.add_argument("--peer_steps", type=int, default=1000)
    parser.add_argument(
        "--peer_layers", default="tutorial",
        help="the peer's layers for --quality: tutorial (the tutorial's own) and/or preset (the default preset's, where "
        "the tutorial's weights leave the photo almost as it is: docs/performance.md)",
    )
    parser.add_argument(
        "--peers_from", default=None,
        help="for --quality: take the peer's results from this earlier --json at the same sizes instead of running it "
        "(the peer does not change with tfstyle)",
    )
    parser.add_argument("--save", default=None, help="write the final images of --quality runs to this folder")
    parser.add_argument("--every", type=int, default=5, help="evaluate the yardstick every N iterations (peer: 10 N)")
    parser.add_argument(
        "--precision_check", action="store_true",
        help="the default preset in float32, bfloat16 and float32+XLA: final losses and images compared",
    )
    parser.add_argument(
        "--precision_sizes", default=None,
        help="image sizes for --precision_check (default: --sizes); the end point of 50 Adam steps moves with "
        "round-off, so several sizes show its spread",
    )
    parser.add_argument("--memory", action="store_true", help="peak RSS of CLI runs")
    parser.add_argument("--memory_sizes", default="512,1024,2048")
    parser.add_argument("--forms", action="store_true", help="each VGG16 convolution's forward, Conv2D against transposed form")
    parser.add_argument("--no_steps", action="store_true", help="skip the step table")
    parser.add_argument(
        "--profile", action="store_true",
        help="where a float32 step's time goes at --sizes (TensorFlow's profiler): per operation type, per layer forward and "
        "backward; and oneDNN's own clock of it where oneDNN is on",
    )
    parser.add_argument(
        "--torch_compile", action="store_true",
        help="also time the PyTorch peer under torch.compile (each row compiles it anew: about half a minute)",
    )
    parser.add_argument("--weights", default=None, help="VGG16 weights (default: $TFSTYLE_VGG16_WEIGHTS or keras' download)")
    parser.add_argument("--quick", action="store_true", help="every part, tiny: random weights, 64 px, a few steps")
    parser.add_argument("--wait_load", type=float, default=None, help="first wait until the 1-minute load is below this")
    parser.add_argument("--wait_most", type=float, default=3600, help="... but at most this many seconds")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.quality_rounds < 1:
        parser.error("--quality_rounds must be at least 1")
    tf.get_logger().setLevel("ERROR")  # each run traces its own step: tf.function's retracing warnings are expected
    weights = args.weights or "imagenet"
    sizes = [int(s) for s in args.sizes.split(",")]
    variants = {name: VARIANTS[name] for name in args.variants.split(",")}
    quality_runs = {name: QUALITY_RUNS[name] for name in args.quality_runs.split(";")}
    floor_shapes = FLOOR_SHAPES
    if args.quick:
        weights, sizes, floor_shapes = "random", [64], ((32, 32, 64, 64),)
        args.warmup, args.steps, args.peer_steps, args.every, args.rounds = 1, 2, 6, 2, 2
        variants = {"float32": VARIANTS["float32"], "bfloat16": VARIANTS["bfloat16"]}
        quality_runs = {"default, float32": {"precision": "float32", "iterations": 4}}
        args.quality, args.precision_check, args.forms, args.profile, args.peer_layers = True, True, True, True, "preset"
    if args.wait_load:
        wait_for_quiet(args.wait_load, args.wait_most)
    out: dict = {"machine": {**machine(), "device": pick_device(None)}, "load_before": os.getloadavg(), "commands": " ".join(sys.argv)}
    print(json.dumps(out["machine"]))

    throughput, shape, form = conv_throughput(tf.float32, floor_shapes)
    bf16_throughput, bf16_shape, bf16_form = conv_throughput(tf.bfloat16, floor_shapes)
    out["floor"] = {
        "float32_flops_per_s": throughput, "float32_shape": shape, "float32_form": form,
        "bfloat16_flops_per_s": bf16_throughput, "bfloat16_shape": bf16_shape, "bfloat16_form": bf16_form,
    }  # fmt: skip
    print(
        f"best 3x3 conv (forward + input gradient): float32 {throughput / 1e9:.1f} GFLOP/s at {shape} ({form}), "
        f"bfloat16 {bf16_throughput / 1e9:.1f} GFLOP/s at {bf16_shape} ({bf16_form})",
        flush=True,
    )
    if not args.no_steps:
        print(STEP_HEADER)
        presets = ["default"] if args.quick else args.presets.split(",")
        rows = step_table(
            presets, sizes, variants, weights, (shape, form), args.warmup, args.steps, bf16_throughput, args.torch_compile,
            args.rounds,
        )
        out["steps"] = [
            {**row.__dict__, "vs_floor": row.vs_floor, "vs_peer": row.vs_peer, "vs_torch": row.vs_torch,
             "vs_bfloat16_floor": row.vs_bfloat16_floor}
            for row in rows
        ]  # fmt: skip
    if args.quality:
        out["quality"] = {}
        earlier = json.loads(Path(args.peers_from).read_text())["quality"] if args.peers_from else {}
        for size in sizes:
            peers = {k: v for k, v in earlier.get(str(size), {}).items() if k.startswith("peer on")}
            out["quality"][size] = quality_at(
                size, weights, quality_runs, args.peer_steps, args.every, args.peer_layers.split(","),
                Path(args.save) if args.save else None, peers, args.peer_steps if args.quick else None,
                args.quality_rounds,
            )
    if args.precision_check:
        save = Path(args.save) if args.save else None
        precision_sizes = [int(s) for s in args.precision_sizes.split(",")] if args.precision_sizes and not args.quick else sizes
        tiny = {"iterations": 3, "pairs": PAIRS[:1]} if args.quick else {}
        out["precision"] = {size: precision_check(size, weights, save, **tiny) for size in precision_sizes}
    if args.forms:
        height, width = prepare_images(CONTENT, STYLE, preset("default").override(image_size=max(sizes)))[0].shape[:2]
        print(f"forward with bias and ReLU and input gradient, float32, at {width}x{height}:")
        out["forms"] = convolution_forms(height, width)
    if args.profile:
        out["profile"] = {}
        for size in sizes:
            for convolutions in ("conv2d", "auto"):
                profile = step_profile(size, weights, "float32", convolutions, 2 if args.quick else 5)
                out["profile"][f"{size} {convolutions}"] = profile
                print_profile(profile)
        if speed.onednn_enabled():  # its log is oneDNN's
            out["onednn_clock"] = {size: onednn_step_clock(size, weights, 2 if args.quick else 5) for size in sizes}
            for clock in out["onednn_clock"].values():
                print_onednn_clock(clock, throughput)
        else:
            print("oneDNN is off here: no oneDNN clock of the step")
    if args.memory:
        memory_sizes = [64] if args.quick else [int(s) for s in args.memory_sizes.split(",")]
        out["memory"] = {}
        for size in memory_sizes:
            for label, extra in (("auto", ()), ("float32", ("--precision=float32",))):
                peak = cli_peak_rss(size, iterations=2, extra=(*extra, *(("--weights=random",) if args.quick else ())))
                out["memory"][f"{size} {label}"] = peak
                print(f"CLI peak RSS at {size} px ({label}): {peak / 2**30:.2f} GiB", flush=True)
    out["load_after"] = os.getloadavg()
    print(f"load average before {out['load_before'][0]:.2f}, after {out['load_after'][0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


def quality_at(
    size: int, weights: str, runs: dict[str, dict], peer_steps: int, every: int, peer_layers: Sequence[str],
    save: Path | None = None, peers: dict[str, dict] | None = None, torch_iterations: int | None = None,
    rounds: int = 1,
) -> dict:
    """The peer's quality after ``peer_steps`` steps (on the default preset's layers and/or the
    tutorial's own; taken from ``peers``, an earlier run's results, where given), then each tfstyle
    run's time to reach it, and the PyTorch peer's on the default objective (for its iterations, or
    ``torch_iterations``); ``rounds`` times, tfstyle and PyTorch taking turns to go first."""
    config = preset("default").override(image_size=size, weights=weights)
    content, style = prepare_images(CONTENT, STYLE, config)
    models: dict[tuple[str, ...], object] = {}  # feature models by layers, loaded before the clocks start
    yardstick = Yardstick(content, style, weights, NEUTRAL)
    layer_sets = {
        "preset": (config.content_layers, config.style_layers),
        "tutorial": (TUTORIAL_CONTENT_LAYERS, TUTORIAL_STYLE_LAYERS),
    }
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
    results: dict = {"yardstick": NEUTRAL_MARKDOWN}
    for name in peer_layers:
        if peers and f"peer on the {name} layers" in peers:
            peer = {**peers[f"peer on the {name} layers"], "reused": True}
            peer.setdefault("own_quality_first", own_quality_first(peer["curve"]))
            results[f"peer on the {name} layers"] = peer
            continue
        peer = peer_quality(content, style, layer_sets[name], weights, yardstick, peer_steps, every * 10)
        if save is not None:
            tfstyle.save_image(peer.pop("image"), save / f"peer_{name}_layers_{size}px_{peer_steps}_steps.png")
        peer.pop("image", None)
        results[f"peer on the {name} layers"] = peer
        first = peer["own_quality_first"]
        print(
            f"{size} px peer on the {name} layers: {peer_steps} steps in {peer['seconds']:.1f} s, "
            f"D_s {peer['style']:.4g}, D_c {peer['content']:.4g} (first reached at step {first[0]}, {first[1]:.1f} s)",
            flush=True,
        )
    targets = {key: value for key, value in results.items() if key.startswith("peer on")}

    def ours() -> dict[str, dict]:
        done = {}
        for name, changes in runs.items():
            stop_on = STOP_ON if name not in FULL_RUNS and STOP_ON in targets else None
            run_config = config.override(**changes)
            layers = run_config.layers_in_use()
            if layers not in models:
                models[layers] = build_feature_model(layers, weights)
            measure = _Measure(every, yardstick, targets, stop_on)
            run = tfstyle_quality(content, style, run_config, models[layers], measure)
            if save is not None:
                tfstyle.save_image(measure.image, save / f"tfstyle_{name.replace(' ', '_')}_{size}px.png")
            done[name] = run
            print(
                f"{size} px {name}: {run['iterations']} iterations in {run['seconds']:.1f} s, "
                f"final D_s {run['final_style']:.4g}, D_c {run['final_content']:.4g}",
                flush=True,
            )
            _print_verdicts(run["reached"], targets)
        return done

    def theirs() -> dict[str, dict]:
        done: dict[str, dict] = {}
        if TorchPeer is None:
            return done
        weights_file = torch_weights(weights, config.layers_in_use())
        torch_config = config.override(iterations=torch_iterations or config.iterations)
        for precision in ("float32", "bfloat16") if speed.cpu_has_bf16() else ("float32",):
            run = torch_quality(content, style, torch_config, weights_file, precision, yardstick, targets, every)
            done[f"PyTorch peer, default objective, {precision}"] = run
            print(
                f"{size} px PyTorch peer, default objective, {precision}: {run['iterations']} steps in {run['seconds']:.1f} s, "
                f"final D_s {run['final_style']:.4g}, D_c {run['final_content']:.4g}",
                flush=True,
            )
            _print_verdicts(run["reached"], targets)
        return done

    # Round after round, tfstyle and PyTorch take turns going first, so a host that drifts over
    # minutes favours neither side; the first round's are "runs", the later ones "later rounds".
    for index in range(rounds):
        sides = (ours, theirs) if index % 2 == 0 else (theirs, ours)
        done = {**sides[0](), **sides[1]()}
        if TorchPeer is not None:
            one_round = {"runs": done, "against PyTorch": against_torch(done)}
            _print_against_torch(size, one_round["against PyTorch"])
        else:
            one_round = {"runs": done}
        if index == 0:
            results.update(one_round)
        else:
            results.setdefault("later rounds", []).append(one_round)
    if rounds > 1 and TorchPeer is not None:
        results["ratios"] = round_ratios([results, *results["later rounds"]])
        for peer_name, ratios in results["ratios"].items():
            for name, each in ratios.items():
                listed = ", ".join(f"{ratio:.2f}" for ratio in each)
                print(f"{size} px {name} against the {peer_name}, {rounds} rounds: {listed}; median {_median(each):.2f}x")
    return results


def round_ratios(rounds: Sequence[dict]) -> dict[str, dict[str, list[float]]]:
    """tfstyle's time over PyTorch's to the quality both reached, per peer and run, one per round."""
    ratios: dict[str, dict[str, list[float]]] = {}
    for done in rounds:
        for peer_name, pairs in done["against PyTorch"].items():
            for name, pair in pairs.items():
                ratios.setdefault(peer_name, {}).setdefault(name, []).append(pair_ratio(pair))
    return ratios


def pair_ratio(pair: dict) -> float:
    """Like for like: tfstyle's seconds to the quality both reached over PyTorch's."""
    return pair["tfstyle first"][1] / pair["PyTorch first"][1]


def _print_against_torch(size: int, comparison: dict[str, dict]) -> None:
    for peer_name, pairs in comparison.items():
        for name, pair in pairs.items():
            (peer_step, peer_s), (step, seconds) = pair["PyTorch first"], pair["tfstyle first"]
            print(
                f"{size} px {name} against the {peer_name}: the quality both reach (D_s {pair['quality'][0]:.4g}, "
                f"D_c {pair['quality'][1]:.4g}) within 1 % in {seconds:.1f} s (iteration {step}) against {peer_s:.1f} s "
                f"(step {peer_step}): {pair_ratio(pair):.2f}x",
                flush=True,
            )


def _print_verdicts(reached: dict[str, tuple[int, float]], targets: dict[str, dict]) -> None:
    """When a run reached each peer's quality, and how much sooner than the peer first had it."""
    for key, target in targets.items():
        when = reached.get(key)
        peer_seconds = target["own_quality_first"][1]
        verdict = (
            f"reached in {when[1]:.1f} s (iteration {when[0]}), {peer_seconds / when[1]:.1f}x sooner than the peer "
            f"first had it ({peer_seconds:.1f} s)"
            if when
            else "not reached"
        )
        print(f"    quality of the {key}: {verdict}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
