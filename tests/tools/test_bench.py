"""tools/bench.py --quick runs and writes what later runs and the report read."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from conftest import ROOT

from tfstyle.network.vgg16 import VGG16_CONV_LAYERS

pytestmark = pytest.mark.slow  # the quick benchmark still times every layer in both forms


def test_the_benchmark_runs_in_quick_mode(tmp_path, capsys, shared_images):  # the shared photo and painting
    spec = importlib.util.spec_from_file_location("bench", ROOT / "tools" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = bench
    spec.loader.exec_module(bench)
    assert bench.main(["--quick", "--json", str(tmp_path / "bench.json")]) == 0
    out = capsys.readouterr().out
    assert "GFLOP/s" in out and "quality of the peer" in out
    saved = json.loads((tmp_path / "bench.json").read_text())
    peer = saved["quality"]["64"]["peer on the preset layers"]
    # The PyTorch peer (the bench extra) beside every float32 row, and on the default objective.
    assert all(row["torch_s"] > 0 for row in saved["steps"] if row["variant"] == "float32")
    # --rounds (2 in --quick): tfstyle's and the peer's blocks alternated, the ratio the rounds' median
    for row in saved["steps"]:
        if row["torch_ratios"]:
            assert len(row["torch_ratios"]) == 2 and row["vs_torch"] == pytest.approx(sum(row["torch_ratios"]) / 2)
    torch_run = saved["quality"]["64"]["runs"]["PyTorch peer, default objective, float32"]
    assert torch_run["iterations"] == 6 and len(torch_run["curve"]) == 3  # --quick: the peer's 6 steps, every 2nd measured
    # Like for like: each side's first time within 1 % of the quality both reached (the worse final distances).
    ours = saved["quality"]["64"]["runs"]["default, float32"]
    pair = saved["quality"]["64"]["against PyTorch"]["PyTorch peer, default objective, float32"]["default, float32"]
    assert pair["quality"] == [max(torch_run["final_style"], ours["final_style"]), max(torch_run["final_content"], ours["final_content"])]
    assert pair["PyTorch first"] == list(bench.first_within(torch_run["curve"], *pair["quality"]))
    assert pair["tfstyle first"] == list(bench.first_within(ours["curve"], *pair["quality"]))
    assert bench.first_within([(50, 5.0, 0.3, 0.3), (100, 10.0, 0.2015, 0.3)], 0.2, 0.3) == (100, 10.0)
    assert bench.first_within([(50, 5.0, 0.3, 0.3)], 0.2, 0.3) is None
    gradient_errors = [pair.pop("bfloat16_gradient_error") for pair in saved["precision"]["64"].values()]
    assert all(0 < error < 1 for errors in gradient_errors for error in errors.values()), gradient_errors
    # --peers_from: a later run takes the saved peer as it is and runs only tfstyle against it.
    again = bench.quality_at(64, "random", {"adam": {"precision": "float32", "iterations": 2}}, 6, 2, ["preset"], peers=saved["quality"]["64"])
    assert again["peer on the preset layers"]["reused"] is True
    assert again["peer on the preset layers"]["seconds"] == peer["seconds"]
    assert "adam" in again["runs"]
    # When the peer first had its own final quality: the first (step, seconds) at least as good in both.
    assert bench.own_quality_first([(50, 5.0, 0.3, 0.1), (100, 10.0, 0.2, 0.2), (150, 15.0, 0.2, 0.3)]) == (100, 10.0)
    # ... within 1 % of its final distances, not at the end of its steps.
    assert bench.own_quality_first([(50, 5.0, 0.3, 0.3), (100, 10.0, 0.2015, 0.3), (150, 15.0, 0.2, 0.3)]) == (100, 10.0)
    assert [row["layer"] for row in saved["forms"]] == list(VGG16_CONV_LAYERS)  # both forms timed per layer
    assert all(row[form] > 0 for row in saved["forms"] for form in ("conv2d", "transposed", "forward"))
    # --profile: a step's time per operation and per layer, forward and backward, in both forms.
    for profile in saved["profile"].values():
        assert profile["by_layer_ms"]["block1_conv2 forward"] > 0 and profile["by_layer_ms"]["block1_conv2 backward"] > 0
    # The analytic floor: VGG16 to conv5_3 at 224x224 is 15.35 GFLOP forward (multiply-adds x 2).
    assert bench.step_flops(["conv5_3"], 224, 224) == pytest.approx(2 * 30.7e9, rel=0.01)
