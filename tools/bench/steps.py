"""the bench's floor and step table: one step of tfstyle against the compute floor, the
tutorial's loop and the PyTorch peer, all timed in one process (the bench's docstring says how).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

try:
    import torch

    from tools.bench.peer_torch import TorchPeer, write_keras_weights
except ImportError:  # PyTorch is the bench extra: without it, no PyTorch peer
    TorchPeer = None  # type: ignore[assignment,misc]

import tfstyle
from tfstyle import vgg16
from tfstyle.config import StyleConfig, preset
from tfstyle.inputs.prepare import prepare_images
from tfstyle.loop.optimize import pick_device
from tfstyle.network import forms, speed
from tfstyle.network.features import build_feature_model, resolve_weights
from tools import SHARED_IMAGES
from tools.bench.peer_tutorial import TutorialPeer

CONTENT = SHARED_IMAGES / "content" / "tubingen.jpg"
STYLE = SHARED_IMAGES / "style" / "starry_night.jpg"

# VGG-shaped 3x3 convolutions to find the best throughput on: (height, width, in, out channels).
FLOOR_SHAPES = ((256, 256, 64, 64), (128, 128, 128, 128), (128, 128, 256, 256), (64, 64, 512, 512))
# The ways tfstyle can compute such a convolution (tfstyle.network.forms.FORMS; the mixed form
# takes the transposed or the forward one per layer).
FLOOR_FORMS = {
    "conv2d": lambda x, kernel: tf.nn.conv2d(x, kernel, 1, "SAME"),
    "transposed": forms.transposed_conv2d,
    "forward": lambda x, kernel: forms.forward_form_conv2d_relu(x, kernel, tf.zeros(kernel.shape[-1:], kernel.dtype)),
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


def per_wait(device: str) -> int:
    """How many floor convolutions to time between waits for their result: on a GPU one wait each
    would count a launch and a wait with every convolution."""
    return 20 if tf.DeviceSpec.from_string(device).device_type == "GPU" else 1


def _floor_convolution(
    shape: tuple[int, int, int, int], dtype: tf.DType = tf.float32, form: str = "conv2d", per_wait: int = 1
) -> tuple[Callable[[], object], float]:
    """A compiled 3x3 'same' convolution of ``shape`` (height, width, in, out channels) in ``form``
    (:data:`FLOOR_FORMS`), forward and input gradient, run ``per_wait`` times and waited for; and the
    FLOPs of those runs. (On a GPU, waiting after each run would count a launch and a wait with each.)"""
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

    def run() -> object:
        for _ in range(per_wait - 1):
            forward_backward()
        return forward_backward().numpy()

    forward_backward()  # trace
    return run, per_wait * 2 * (2.0 * h * w * cin * cout * 9)


def conv_throughput(
    dtype: tf.DType = tf.float32, shapes: Sequence[tuple[int, int, int, int]] = FLOOR_SHAPES, reps: int = 7,
    per_wait: int = 1,
) -> tuple[float, tuple[int, int, int, int], str]:
    """The best FLOP/s of a 3x3 'same' convolution's forward pass plus its input gradient over
    ``shapes`` and :data:`FLOOR_FORMS` (median of ``reps`` timed runs each, after two warm-up
    runs; ``per_wait`` convolutions a run), with its shape and form."""
    best = (0.0, shapes[0], "conv2d")
    for shape in shapes:
        for form in FLOOR_FORMS:
            run, flops = _floor_convolution(shape, dtype, form, per_wait)
            seconds = median_seconds(run, reps)
            if flops / seconds > best[0]:
                best = (flops / seconds, shape, form)
    return best


def median_seconds(fn: Callable[[], object], reps: int, warmup: int = 2) -> float:
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


def peer_device(device: str) -> str | None:
    """Where the PyTorch peer runs beside tfstyle's ``device``: on the CPU with a CPU, on CUDA with a
    GPU; None where PyTorch cannot run there (no bench extra, or a build without CUDA)."""
    if TorchPeer is None:
        return None
    if tf.DeviceSpec.from_string(device).device_type != "GPU":
        return "cpu"
    return "cuda" if torch.cuda.is_available() else None


def torch_precision(variant: dict, device: str = "cpu") -> str | None:
    """The PyTorch peer's precision for a row on its ``device``: float32, bfloat16 (autocast) where
    the CPU has it natively or on a GPU (for tfstyle's float16 too, which autocast would need a
    gradient scaler for), none for XLA rows on a CPU (PyTorch has no XLA; on a GPU the peer runs
    eager beside tfstyle's XLA, and ``torch.compile`` is its compiler)."""
    if TorchPeer is None or (variant.get("jit") and device == "cpu"):
        return None
    if variant["precision"] in ("bfloat16", "float16"):
        return "bfloat16" if device == "cuda" or (variant["precision"] == "bfloat16" and speed.cpu_has_bf16()) else None
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
    blocks of a round together). ``floor`` is the floor convolution's shape and form. On a GPU the
    PyTorch peer runs on CUDA."""
    rows = []
    device = pick_device(None)
    torch_device = peer_device(device)
    conv, conv_flops = _floor_convolution(floor[0], tf.float32, floor[1], per_wait(device))
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
                precision = torch_precision(changes, torch_device) if torch_device else None
                eager = TorchPeer(content, style, config, weights_file, start, precision, device=torch_device) if precision else None
                own, floors, peers, torch_steps = [], [], [], []
                for _ in range(rounds):
                    step_s, median = interleaved_step_seconds(
                        config.override(**changes), content, style, model, warmup, steps, references
                    )
                    own.append(step_s)
                    floors.append(flops / (conv_flops / median["conv"]))
                    peers.append(median["peer"])
                    if eager is not None:
                        torch_steps.append(median_seconds(eager.step, steps, warmup))
                row = StepRow(name, size, variant, config.optimizer, *map(_median, (own, floors, peers)))
                if torch_steps:
                    row.torch_s = _median(torch_steps)
                    row.torch_ratios = [a / b for a, b in zip(own, torch_steps)]
                if changes["precision"] == "bfloat16" and bfloat16_flops_per_s:
                    row.bfloat16_floor_s = flops / bfloat16_flops_per_s
                if precision is not None and torch_compile:
                    compiled = TorchPeer(content, style, config, weights_file, start, precision, compile=True, device=torch_device)
                    row.torch_compiled_s = median_seconds(compiled.step, steps, warmup)
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
