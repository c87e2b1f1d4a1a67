"""How fast tfstyle is: one step against the compute floor and a peer, time to quality, peak memory.

    python -m tools.bench                        # per-step table: default and gatys presets at 256 and 512 px
    python -m tools.bench --quality --sizes 512  # seconds to the peer's 1,000-step quality, per optimizer and scales
    python -m tools.bench --no_steps --quality --quality_runs "default command" --quality_rounds 5  # in turns
    python -m tools.bench --precision_check --sizes 512 --save docs/images  # bfloat16's result against float32's
    python -m tools.bench --memory               # peak RSS of CLI runs at 512, 1024 and 2048 px
    python -m tools.bench --forms --no_steps     # each VGG16 convolution in each of tfstyle's forms
    python -m tools.bench --profile --no_steps   # where a step's time goes: per operation, per layer, by oneDNN's clock
    python -m tools.bench --runs --no_steps --sizes 512 --torch_compile  # whole 500-step runs, per precision (GPU)
    python -m tools.bench --quick                # a tiny run of every part (random weights, 64 px, seconds)
    python -m tools.bench --json results.json --wait_load 1.2   # wait for a quiet machine, keep the numbers

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
- **Peers**: the loop of TensorFlow's style-transfer tutorial (tools/bench/peer_tutorial.py) on VGG16
  with the same layers and images; and tfstyle's own objective and Adam in PyTorch
  (tools/bench/peer_torch.py, the ``bench`` extra: PyTorch users' choice), in float32 and, where the CPU
  has it natively, bfloat16, timed in a block after tfstyle's steps, the two blocks alternated
  ``--rounds`` times, the ratio being the median of the rounds' (``--torch_compile``: also under
  ``torch.compile``, once).
- **Time to quality**: seconds until a run's image is at least as close to the style as the tutorial
  peer's image after ``--peer_steps`` (1,000) steps, and no farther from the content, on a yardstick
  of Gatys et al.'s layers, none of which the default preset optimizes (tools/yardstick.py,
  ``NEUTRAL``). The peer's own time is when it first came within 1 % of its final distances, not
  the end of its steps. tfstyle's clock and the PyTorch peer's start with their networks loaded
  (tfstyle's in the convolution form its run computes, PyTorch's in its memory format) and their
  imports done (targets and tracing count; ``import tensorflow`` and the ``torch._dynamo``
  that PyTorch's first optimizer imports do not), the tutorial peer's at its first step, and none
  counts the yardstick's evaluations. The PyTorch peer runs the default preset's objective for its 50 steps;
  like for like, each side is timed to within 1 % of the quality both reached (the worse of the
  two final distances, each). ``--quality_rounds N`` runs both sides N times, taking turns to go
  first, and gives each round's ratio and their median: on a host whose speed drifts over minutes,
  single pairs of the same code ranged from 0.77× to 1.42× (run K, tools/bench/results/run_k.md).
- **Precision**: the default preset in float32, bfloat16 and float32 with XLA from the same start;
  the final images evaluated by the float32 loss, and how far apart they are; and how far
  bfloat16's image gradient is from float32's at the photo and at float32's result.
- **Memory**: peak resident memory (VmHWM) of ``python -m tfstyle.run`` processes.
- **Profile**: a float32 step under TensorFlow's profiler, per operation type and per layer,
  forward and backward (the profiler adds time of its own); and, where oneDNN runs TensorFlow's
  CPU operations, what oneDNN itself clocks (``ONEDNN_VERBOSE=1``, in a process of its own): its
  milliseconds per primitive kind and each convolution's throughput, with no profiler in the way.
- **Runs**: whole runs of the default preset, ``--run_steps`` steps at ``--sizes``, end to end, in
  each precision with and without XLA, against the floor of those steps and the PyTorch peer's run
  on the same device (on a GPU: CUDA), eager and compiled (runs.py).
- **Forms**: the forward pass and input gradient of each of VGG16's convolutions at the largest of
  ``--sizes``, with bias and ReLU, in each of ``FLOOR_FORMS`` (float32): where
  ``speed.resolve_convolutions``' per-machine choice comes from, with ``--profile``'s oneDNN clock.

Results go in docs/performance.md (the summary) and tools/bench/results/ (each run: its page and its
``--json``). Not a test: numbers depend on the machine and its load, which is recorded with them (``os.getloadavg``).

This file is the command line; the measures live beside it: steps.py (the floor and the step
table), quality.py (time to quality, reduced precision's result), runs.py (whole runs)
and profile.py (the forms, the profile, oneDNN's clock and the command line's peak memory).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tfstyle.cli.common import use_onednn  # noqa: E402  (light: TensorFlow is not imported yet)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
use_onednn()  # measure what the command lines run (the measures' modules below import TensorFlow)
# On a GPU TensorFlow takes nearly all of its memory at its first operation there unless it grows as
# needed, and the PyTorch peer shares the GPU with it in this process.
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")

import tensorflow as tf  # noqa: E402

from tfstyle.config import preset  # noqa: E402
from tfstyle.inputs.prepare import prepare_images  # noqa: E402
from tfstyle.loop.optimize import pick_device  # noqa: E402
from tfstyle.network import speed  # noqa: E402
from tools.bench.profile import (  # noqa: E402
    cli_peak_rss,
    convolution_forms,
    onednn_step_clock,
    print_onednn_clock,
    print_profile,
    step_profile,
)
from tools.bench.quality import PAIRS, QUALITY_RUNS, precision_check, quality_at  # noqa: E402
from tools.bench.runs import HEADER as RUN_HEADER  # noqa: E402
from tools.bench.runs import run_variants, whole_runs  # noqa: E402
from tools.bench.steps import CONTENT, FLOOR_SHAPES, STEP_HEADER, STYLE, conv_throughput, per_wait, step_table  # noqa: E402
from tools.machine import machine  # noqa: E402


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
    "float16": {"precision": "float16", "jit": False},  # GPUs only
    "float16+xla": {"precision": "float16", "jit": True},
}
GPU_ONLY = tuple(name for name, changes in VARIANTS.items() if changes["precision"] == "float16")


def cpu_variants() -> list[str]:
    """The step table's variants unless given: all but the GPU's, and no bfloat16 where it cannot run
    (oneDNN capped below AVX512_CORE: ``speed.bfloat16_missing``)."""
    missing = speed.bfloat16_missing()
    return [name for name, v in VARIANTS.items() if name not in GPU_ONLY and not (missing and v["precision"] == "bfloat16")]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="256,512", help="image sizes for the step table and the quality runs")
    parser.add_argument("--presets", default="default,gatys")
    parser.add_argument(
        "--variants", default=None,
        help=f"of {', '.join(VARIANTS)} (default: those that run on a CPU; no bfloat16 where oneDNN is capped below it)",
    )
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
        "the tutorial's weights leave the photo almost as it is: tools/bench/results/)",
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
        "--runs", action="store_true",
        help="whole runs of the default preset end to end, --run_steps steps at --sizes per --run_variants, against their "
        "floor and the PyTorch peer's run on the same device (issue 16's GPU check: --sizes 512, 500 steps)",
    )
    parser.add_argument("--run_steps", type=int, default=500, help="steps of each --runs run")
    parser.add_argument(
        "--run_variants", default=None,
        help=f"of {', '.join(VARIANTS)} (default: on a GPU every precision with and without XLA; on a CPU float32, and "
        "bfloat16 where auto takes it)",
    )
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
    variants = {name: VARIANTS[name] for name in (args.variants.split(",") if args.variants else cpu_variants())}
    quality_runs = {name: QUALITY_RUNS[name] for name in args.quality_runs.split(";")}
    floor_shapes = FLOOR_SHAPES
    if args.quick:
        weights, sizes, floor_shapes = "random", [64], ((32, 32, 64, 64),)
        args.warmup, args.steps, args.peer_steps, args.every, args.rounds = 1, 2, 6, 2, 2
        variants = {"float32": VARIANTS["float32"], "bfloat16": VARIANTS["bfloat16"]}
        quality_runs = {"default, float32": {"precision": "float32", "iterations": 4}}
        args.quality, args.precision_check, args.forms, args.profile, args.peer_layers = True, True, True, True, "preset"
        args.runs, args.run_steps, args.run_variants = True, 3, "float32"
    if not args.no_steps and speed.bfloat16_missing() and any(v["precision"] == "bfloat16" for v in variants.values()):
        parser.error(f"bfloat16 cannot run with ONEDNN_MAX_CPU_ISA={speed.onednn_isa_cap()}: leave it out of --variants")
    if args.wait_load:
        wait_for_quiet(args.wait_load, args.wait_most)
    out: dict = {"machine": {**machine(), "device": pick_device(None)}, "load_before": os.getloadavg(), "commands": " ".join(sys.argv)}
    print(json.dumps(out["machine"]))

    waits = per_wait(out["machine"]["device"])
    throughput, shape, form = conv_throughput(tf.float32, floor_shapes, per_wait=waits)
    # Capped below AVX512_CORE (ONEDNN_MAX_CPU_ISA), an AVX-512 CPU has no bfloat16 convolution to time.
    bf16_throughput, bf16_shape, bf16_form = (
        (float("nan"), None, None) if speed.bfloat16_missing() else conv_throughput(tf.bfloat16, floor_shapes, per_wait=waits)
    )
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
    if args.runs:
        names = args.run_variants.split(",") if args.run_variants else run_variants(out["machine"]["device"])
        print(RUN_HEADER)
        rows = whole_runs(
            sizes, args.run_steps, {name: VARIANTS[name] for name in names}, weights,
            {"float32": throughput, "bfloat16": bf16_throughput}, args.torch_compile, floor_shapes,
        )
        out["runs"] = [{**row.__dict__, "vs_floor": row.vs_floor, "vs_peer": row.vs_peer} for row in rows]
    out["load_after"] = os.getloadavg()
    print(f"load average before {out['load_before'][0]:.2f}, after {out['load_after'][0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
