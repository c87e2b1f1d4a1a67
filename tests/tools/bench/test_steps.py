"""tools/bench/steps.py: the floor's FLOP count of a step, and where and in what precision the PyTorch peer runs."""

from __future__ import annotations

import pytest

from tools.bench import steps


def test_a_steps_flops_are_vgg16s_forward_to_the_deepest_layer_twice():
    # VGG16 to conv5_3 at 224x224 is 15.35 GFLOP forward (multiply-adds x 2); the input gradient as much again.
    assert steps.step_flops(["conv5_3"], 224, 224) == pytest.approx(2 * 30.7e9, rel=0.01)
    # only the layers up to the deepest one in use count: 2·H·W·Cin·Cout·9 each, forward and back
    assert steps.step_flops(["conv1_2", "conv1_1"], 224, 224) == pytest.approx(2 * 2 * 224 * 224 * 9 * (3 * 64 + 64 * 64))


def test_the_pytorch_peer_runs_beside_tfstyle_in_the_nearest_precision_it_has(monkeypatch):
    if steps.TorchPeer is None:
        pytest.skip("the bench extra (PyTorch) is not installed")
    assert steps.peer_device("/device:CPU:0") == "cpu"
    monkeypatch.setattr(steps.torch.cuda, "is_available", lambda: False)
    assert steps.peer_device("/device:GPU:0") is None  # a PyTorch without CUDA: no peer beside a GPU
    monkeypatch.setattr(steps.torch.cuda, "is_available", lambda: True)
    assert steps.peer_device("/device:GPU:0") == "cuda"

    float32, float16 = {"precision": "float32", "jit": False}, {"precision": "float16", "jit": False}
    assert steps.torch_precision(float32, "cpu") == steps.torch_precision(float32, "cuda") == "float32"
    assert steps.torch_precision(float16, "cuda") == "bfloat16"  # autocast's float16 would need a gradient scaler
    assert steps.torch_precision({**float32, "jit": True}, "cpu") is None  # PyTorch has no XLA on the CPU
    assert steps.torch_precision({**float32, "jit": True}, "cuda") == "float32"  # beside XLA on a GPU: eager
    monkeypatch.setattr(steps.speed, "cpu_has_bf16", lambda: False)
    assert steps.torch_precision({"precision": "bfloat16", "jit": False}, "cpu") is None  # emulated: no peer


def test_on_a_gpu_the_floor_waits_once_for_many_convolutions():
    assert steps.per_wait("/device:CPU:0") == 1
    assert steps.per_wait("/device:GPU:0") > 1
    run, flops = steps._floor_convolution((8, 8, 4, 4), per_wait=3)
    run()
    assert flops == 3 * 2 * (2.0 * 8 * 8 * 4 * 4 * 9)  # the FLOPs of the three between waits
