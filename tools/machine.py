"""What the numbers of tools/ were measured on: the machine, its load, the software and the commit."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path

import numpy as np


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    import tensorflow as tf

    from tfstyle.network import speed

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpus = tf.config.list_physical_devices("GPU")
    return {
        "CPU": _cpu_model(),
        "CPU features": _cpu_features(),
        "cores usable": f"{cpus} (of {os.cpu_count()} logical CPUs)",
        "memory": _memory_total(),
        "oneDNN": "on" if speed.onednn_enabled() else "off (TensorFlow's own kernels)",
        "accelerator": ", ".join(g.name for g in gpus) or "none (CPU only)",
        "software": f"Python {platform.python_version()}, TensorFlow {tf.__version__}, NumPy {np.__version__}{_torch()}",
        "tfstyle commit": _git_commit(),
    }


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (the CPU may be shared)."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def _cpu_model() -> str:
    from tfstyle.network import speed

    try:
        return cpu_model(speed.cpuinfo())
    except ValueError:
        return platform.processor() or platform.machine()


def cpu_model(fields: Mapping[str, str]) -> str:
    """The CPU's model name from its /proc/cpuinfo fields (:func:`tfstyle.network.speed.cpuinfo`),
    with its family and model numbers.

    Cloud hosts often name only "AMD EPYC" or "Intel(R) Xeon(R) Processor"; the numbers tell the
    generations apart (AMD's family 25 is Zen 3 and Zen 4, family 26 Zen 5).
    """
    if "model name" not in fields:
        raise ValueError("no model name in /proc/cpuinfo")
    numbers = [f"{label} {fields[key]}" for key, label in (("cpu family", "family"), ("model", "model")) if key in fields]
    return f"{fields['model name']} ({', '.join(numbers)})" if numbers else fields["model name"]


def _cpu_features() -> str:
    """The vector and matrix units that decide convolution speed (the flags tfstyle's defaults read)."""
    from tfstyle.network import speed

    flags = speed.cpu_flags()
    if not flags:
        return "unknown"
    names = {"avx2": "AVX2", "avx512f": "AVX-512", "avx512_bf16": "AVX512-BF16", "amx_bf16": "AMX-BF16"}
    features = ", ".join(label for flag, label in names.items() if flag in flags) or "none of AVX2, AVX-512, AMX"
    cap = speed.onednn_isa_cap()  # the kernels then run as on a lesser CPU
    return f"{features}; oneDNN capped at {cap.upper()} (ONEDNN_MAX_CPU_ISA)" if cap else features


def _torch() -> str:
    """", PyTorch <version>" where the PyTorch peer can run."""
    try:
        import torch
    except ImportError:
        return ""
    return f", PyTorch {torch.__version__}"


def _memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _git_commit() -> str:
    """The commit of the tfstyle that was imported (and whether its files differ from it)."""
    import tfstyle

    root = Path(tfstyle.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "tfstyle"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit} (with uncommitted changes in tfstyle/)" if dirty else commit
