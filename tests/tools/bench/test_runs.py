"""tools/bench/runs.py: whole runs against their floor and the PyTorch peer's; the variants it runs.
A whole run end to end is tested by test_bench.py's --quick run."""

from __future__ import annotations

import pytest

from tools.bench import runs


def test_a_run_is_held_against_the_peers_better_run_eager_or_compiled():
    row = runs.RunRow(512, 500, "float32", "/device:GPU:0", 2.0, 1.0, "float32", peer_s=4.0, peer_compiled_s=3.0)
    assert row.vs_floor == 2.0
    assert row.vs_peer == pytest.approx(2.0 / 3.0)  # torch.compile's run, its compiling counted, was the faster
    assert runs.RunRow(64, 3, "float32", "/device:CPU:0", 1.0, 0.5).vs_peer is None  # no peer ran


def test_on_a_gpu_every_precision_runs_with_and_without_xla(monkeypatch):
    gpu = runs.run_variants("/device:GPU:0")
    assert {name.removesuffix("+xla") for name in gpu} == {"float32", "float16", "bfloat16"}
    assert len(gpu) == 6  # each one of tools/bench/bench.py's VARIANTS (test_bench.py)
    monkeypatch.setattr(runs.speed, "bfloat16_slowdown", lambda: None)  # a CPU where auto takes bfloat16
    assert runs.run_variants("/device:CPU:0") == ["float32", "bfloat16"]
    monkeypatch.setattr(runs.speed, "bfloat16_slowdown", lambda: (1.7, "on an Intel CPU with AVX512-BF16 but no AMX"))
    assert runs.run_variants("/device:CPU:0") == ["float32"]
