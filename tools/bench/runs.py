"""Whole runs, end to end (``python -m tools.bench --runs``): the default preset's run of N steps at each size,
tfstyle's in each variant and the PyTorch peer's, on this machine's accelerator when it has one
(TensorFlow's first GPU, and PyTorch's CUDA device beside it), against the floor of N steps.

Issue 16's GPU check is ``--runs --sizes 512 --run_steps 500``: float32, float16 and bfloat16, with
and without XLA, the run under 2 s and its floor under 1 s on an H100-class GPU.

A run's own time starts with its network loaded (tfstyle's in the run's precision and convolution
form, the peer's on its device in its memory format) and its imports done, and ends with its last
step's image in the host's memory: the targets, tracing and compiling (XLA's, ``torch.compile``'s)
and every step count.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

try:
    import torch

    from tools.bench.peer_torch import TorchPeer, feature_network, preload_imports
except ImportError:  # the bench extra is not installed: tfstyle's runs alone
    TorchPeer = None  # type: ignore[assignment,misc]

import tfstyle
from tfstyle.config import preset
from tfstyle.inputs.prepare import prepare_images
from tfstyle.loop.optimize import feature_model_for_run, pick_device
from tfstyle.network import speed
from tools.bench.steps import CONTENT, STYLE, conv_throughput, peer_device, per_wait, step_flops, torch_precision, torch_weights

HEADER = (
    f"{'size':>5} {'steps':>5} {'variant':16} {'run s':>8} {'floor s':>8} {'/floor':>6}"
    f" {'peer':9} {'peer s':>8} {'compiled s':>10} {'/peer':>6}"
)


@dataclass
class RunRow:
    size: int
    steps: int
    variant: str
    device: str
    seconds: float  # tfstyle's run, end to end
    floor_s: float  # the steps' FLOPs at the best convolution throughput measured here, in the variant's type
    peer_precision: str | None = None
    peer_s: float | None = None  # the PyTorch peer's run, end to end
    peer_compiled_s: float | None = None  # ... under torch.compile, its compiling counted

    @property
    def vs_floor(self) -> float:
        return self.seconds / self.floor_s

    @property
    def vs_peer(self) -> float | None:
        best = min((s for s in (self.peer_s, self.peer_compiled_s) if s), default=None)
        return self.seconds / best if best else None


def run_variants(device: str) -> list[str]:
    """The variants (the bench's ``VARIANTS``) of ``--runs`` unless given: on a GPU every
    precision with and without XLA; on a CPU float32, and bfloat16 where ``auto`` takes it."""
    if tf.DeviceSpec.from_string(device).device_type == "GPU":
        return ["float32", "float32+xla", "float16", "float16+xla", "bfloat16", "bfloat16+xla"]
    return ["float32", *(["bfloat16"] if speed.resolve_precision("auto", device) == "bfloat16" else [])]

def tfstyle_run_seconds(content: np.ndarray, style: np.ndarray, config: tfstyle.StyleConfig) -> float:
    """``config``'s run, end to end, with its feature model built beforehand."""
    model = feature_model_for_run(None, config)
    start = time.perf_counter()
    tfstyle.stylize(content, style, config, feature_model=model)  # its Result's image is a NumPy array: in the host's memory
    return time.perf_counter() - start


def peer_run_seconds(
    content: np.ndarray, style: np.ndarray, config: tfstyle.StyleConfig, weights_file: str, precision: str,
    device: str, compile: bool = False,
) -> float:
    """The PyTorch peer's run of ``config.iterations`` steps, end to end, its network loaded on
    ``device`` beforehand and its imports done."""
    network = feature_network(weights_file, config).to(device)
    preload_imports()
    start = time.perf_counter()
    peer = TorchPeer(content, style, config, weights_file, precision=precision, network=network, device=device, compile=compile)
    for _ in range(config.iterations):
        peer.step()
    np.asarray(peer.pixels)  # back in the host's memory
    seconds = time.perf_counter() - start
    del peer, network
    if device == "cuda":  # PyTorch's cache would hold the GPU memory that tfstyle's next run needs
        torch.cuda.empty_cache()
    return seconds


def whole_runs(
    sizes: Sequence[int], steps: int, variants: dict[str, dict], weights: str, throughputs: dict[str, float],
    torch_compile: bool = False, floor_shapes: Sequence[tuple[int, int, int, int]] | None = None,
) -> list[RunRow]:
    """One row per size and variant (:data:`tools.bench.VARIANTS`' changes to the default preset):
    tfstyle's run of ``steps`` steps, its floor, and the PyTorch peer's run on the same device in
    the nearest precision it has (:func:`steps.torch_precision`).
    ``throughputs``: the best convolution FLOP/s per precision measured so far (the others are
    measured here, over ``floor_shapes``)."""
    device = pick_device(None)
    torch_device = peer_device(device)
    shapes = {"shapes": floor_shapes} if floor_shapes else {}
    throughputs = dict(throughputs)
    peers: dict[tuple, float | None] = {}  # one peer run per size, precision and compiling: variants share it
    rows = []
    base = preset("default").override(weights=weights, iterations=steps)
    weights_file = torch_weights(weights, base.layers_in_use()) if torch_device else ""
    for size in sizes:
        config = base.override(image_size=size)
        content, style = prepare_images(CONTENT, STYLE, config)
        flops = steps * step_flops(config.layers_in_use(), *content.shape[:2])
        for variant, changes in variants.items():
            run_config = config.override(**changes)
            precision = speed.resolve_precision(run_config.precision, device)
            if precision not in throughputs:
                throughputs[precision] = conv_throughput(tf.as_dtype(precision), per_wait=per_wait(device), **shapes)[0]
            row = RunRow(size, steps, variant, device, tfstyle_run_seconds(content, style, run_config), flops / throughputs[precision])
            row.peer_precision = torch_precision(changes, torch_device) if torch_device else None
            if row.peer_precision:
                for compiled in (False, True) if torch_compile else (False,):
                    key = (size, row.peer_precision, compiled)
                    if key not in peers:
                        peers[key] = peer_run_seconds(
                            content, style, config, weights_file, row.peer_precision, torch_device, compiled
                        )
                row.peer_s = peers[(size, row.peer_precision, False)]
                row.peer_compiled_s = peers.get((size, row.peer_precision, True))
            rows.append(row)
            print_row(row)
    return rows


def print_row(row: RunRow) -> None:
    def seconds(value: float | None) -> str:
        return f"{value:.2f}" if value is not None else "-"

    vs_peer = f"{row.vs_peer:.2f}" if row.vs_peer is not None else "-"
    print(
        f"{row.size:>5} {row.steps:>5} {row.variant:16} {row.seconds:8.2f} {row.floor_s:8.2f} {row.vs_floor:6.2f}"
        f" {row.peer_precision or '-':9} {seconds(row.peer_s):>8} {seconds(row.peer_compiled_s):>10} {vs_peer:>6}",
        flush=True,
    )
