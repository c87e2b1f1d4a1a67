"""the bench's look inside a step: each VGG16 convolution in each of tfstyle's forms, the
step under TensorFlow's profiler and by oneDNN's own clock, and the command line's peak memory
(the bench's docstring says how each is measured).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfstyle import vgg16
from tfstyle.config import preset
from tfstyle.inputs.prepare import prepare_images
from tfstyle.loop.optimize import pick_device
from tfstyle.network import forms, speed
from tfstyle.network.features import build_feature_model
from tfstyle.objective.whole import objective
from tools import ROOT
from tools.bench.steps import CONTENT, FLOOR_FORMS, STYLE, median_seconds, vgg_convolutions

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
            layer = forms.FORMS[form](cout, 3, padding="same", activation="relu", name=name)
            layer.build(x.shape)
            layer.set_weights([rng.normal(0, 0.05, size=(3, 3, cin, cout)), np.zeros(cout)])

            @tf.function
            def forward_backward(layer=layer, x=x):
                with tf.GradientTape() as tape:
                    loss = tf.reduce_sum(layer(x))
                return tape.gradient(loss, x)[0, 0, 0, 0]

            row[form] = median_seconds(lambda run=forward_backward: run().numpy(), reps)
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
# argv: size, weights, steps. It starts in the repository's root, where ``tools`` is.
_STEPS_LOGGED_BY_ONEDNN = r"""
import sys
from tools.bench import profile
step = profile._warm_step(int(sys.argv[1]), sys.argv[2])
print(profile.ONEDNN_MARKS[0], flush=True)
for _ in range(int(sys.argv[3])):
    step()
print(profile.ONEDNN_MARKS[1], flush=True)
"""

# A convolution in oneDNN's log: mb1_ic64oc64_ih192oh192kh3sh1dh0ph1_iw256ow256kw3sw1dw0pw1
# (batch, groups, channels in and out, output height and width, kernel height and width).
_CONVOLUTION = re.compile(r"mb(\d+)_(?:g(\d+))?ic(\d+)oc(\d+)_ih\d+oh(\d+)kh(\d+)\D.*_iw\d+ow(\d+)kw(\d+)")


def onednn_step_clock(size: int, weights: str, steps: int = 5) -> dict:
    """What oneDNN itself clocks in a float32 step of the default preset (``ONEDNN_VERBOSE=1``, in
    a process of its own): :func:`onednn_clock` of its log. Without the TensorFlow profiler's
    overhead, and the convolutions' throughput measured on oneDNN's side of TensorFlow."""
    weights = str(Path(weights).resolve()) if Path(weights).is_file() else weights  # the process starts elsewhere
    command = [sys.executable, "-c", _STEPS_LOGGED_BY_ONEDNN, str(size), weights, str(steps)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "ONEDNN_VERBOSE": "1"})
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
