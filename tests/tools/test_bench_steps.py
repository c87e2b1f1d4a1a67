"""tools/bench_steps.py: the floor's FLOP count of a step."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import bench_steps as steps  # noqa: E402


def test_a_steps_flops_are_vgg16s_forward_to_the_deepest_layer_twice():
    # VGG16 to conv5_3 at 224x224 is 15.35 GFLOP forward (multiply-adds x 2); the input gradient as much again.
    assert steps.step_flops(["conv5_3"], 224, 224) == pytest.approx(2 * 30.7e9, rel=0.01)
    # only the layers up to the deepest one in use count: 2·H·W·Cin·Cout·9 each, forward and back
    assert steps.step_flops(["conv1_2", "conv1_1"], 224, 224) == pytest.approx(2 * 2 * 224 * 224 * 9 * (3 * 64 + 64 * 64))
