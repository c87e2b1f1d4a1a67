"""tools/bench.py --quick runs and writes what later runs and the report read."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from conftest import ROOT

from tfstyle.network import speed
from tfstyle.network.vgg16 import VGG16_CONV_LAYERS

pytestmark = pytest.mark.slow  # the quick benchmark still times every layer in both forms


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", ROOT / "tools" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_runs_in_quick_mode(bench, tmp_path, capsys, shared_images):  # the shared photo and painting
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
    again = bench.quality_at(
        64, "random", {"default, float32": {"precision": "float32", "iterations": 2}}, 6, 2, ["preset"],
        peers=saved["quality"]["64"], torch_iterations=2, rounds=2,
    )
    assert again["peer on the preset layers"]["reused"] is True
    assert again["peer on the preset layers"]["seconds"] == peer["seconds"]
    # --quality_rounds: tfstyle and PyTorch take turns to go first; each round's ratio kept.
    (later,) = again["later rounds"]
    assert list(again["runs"])[0] == "default, float32" and list(later["runs"])[0].startswith("PyTorch peer")
    ratios = again["ratios"]["PyTorch peer, default objective, float32"]["default, float32"]
    for ratio, one_round in zip(ratios, (again, later), strict=True):
        pair = one_round["against PyTorch"]["PyTorch peer, default objective, float32"]["default, float32"]
        assert ratio == pair["tfstyle first"][1] / pair["PyTorch first"][1] == bench.pair_ratio(pair)
    # When the peer first had its own final quality: the first (step, seconds) at least as good in both.
    assert bench.own_quality_first([(50, 5.0, 0.3, 0.1), (100, 10.0, 0.2, 0.2), (150, 15.0, 0.2, 0.3)]) == (100, 10.0)
    # ... within 1 % of its final distances, not at the end of its steps.
    assert bench.own_quality_first([(50, 5.0, 0.3, 0.3), (100, 10.0, 0.2015, 0.3), (150, 15.0, 0.2, 0.3)]) == (100, 10.0)
    assert [row["layer"] for row in saved["forms"]] == list(VGG16_CONV_LAYERS)  # both forms timed per layer
    assert all(row[form] > 0 for row in saved["forms"] for form in ("conv2d", "transposed", "forward"))
    # --profile: a step's time per operation and per layer, forward and backward, in both forms.
    for profile in saved["profile"].values():
        assert profile["by_layer_ms"]["block1_conv2 forward"] > 0 and profile["by_layer_ms"]["block1_conv2 backward"] > 0
    # ... and by oneDNN's own clock, where oneDNN runs TensorFlow's convolutions: the convolutions
    # it ran in a step are the floor's, forward and input gradient, and no filter gradient.
    if speed.onednn_enabled():
        clock = saved["onednn_clock"]["64"]
        height, width = bench.prepare_images(bench.CONTENT, bench.STYLE, bench.preset("default").override(image_size=64))[0].shape[:2]
        assert clock["convolution_flops"] == pytest.approx(bench.step_flops(["conv5_3"], height, width))
        assert clock["by_kind_ms"]["convolution"] == pytest.approx(clock["convolution_ms"]) and "by oneDNN's own clock" in out
    # The analytic floor: VGG16 to conv5_3 at 224x224 is 15.35 GFLOP forward (multiply-adds x 2).
    assert bench.step_flops(["conv5_3"], 224, 224) == pytest.approx(2 * 30.7e9, rel=0.01)


# Two steps' lines of an ONEDNN_VERBOSE=1 log (oneDNN 3's format, then 2's), amid others.
ONEDNN_LOG = """onednn_verbose,v1,info,oneDNN v3.7.1
onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,src:f32::blocked:acdb::f0,,alg:convolution_direct,mb1_ic3oc64_ih8oh8kh3sh1dh0ph1_iw8ow8kw3sw1dw0pw1,9.0
bench: counted steps begin
onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,src:f32::blocked:acdb::f0,,alg:convolution_direct,mb1_ic3oc64_ih8oh8kh3sh1dh0ph1_iw8ow8kw3sw1dw0pw1,0.5
onednn_verbose,v1,primitive,exec,cpu,pooling,jit:avx512_core,forward_training,src:f32::blocked:acdb::f0,,alg:pooling_max,mb1ic64_ih8oh4kh2sh2ph0_iw8ow4kw2sw2pw0,0.25
onednn_verbose,exec,cpu,convolution,jit:avx2,backward_data,src:f32::blocked:acdb::f0,,alg:convolution_direct,mb1_g2ic4oc8_ih4oh4kh3sh1dh0ph1_iw4ow4kw3sw1dw0pw1,0.75
some other line, exec
onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,src:f32::blocked:acdb::f0,,alg:convolution_direct,mb1_ic3oc64_ih8oh8kh3sh1dh0ph1_iw8ow8kw3sw1dw0pw1,1.5
onednn_verbose,v1,primitive,exec,cpu,pooling,jit:avx512_core,forward_training,src:f32::blocked:acdb::f0,,alg:pooling_max,mb1ic64_ih8oh4kh2sh2ph0_iw8ow4kw2sw2pw0,0.25
onednn_verbose,exec,cpu,convolution,jit:avx2,backward_data,src:f32::blocked:acdb::f0,,alg:convolution_direct,mb1_g2ic4oc8_ih4oh4kh3sh1dh0ph1_iw4ow4kw3sw1dw0pw1,0.25
bench: counted steps end
onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,src:f32::blocked:acdb::f0,,alg:convolution_direct,mb1_ic3oc64_ih8oh8kh3sh1dh0ph1_iw8ow8kw3sw1dw0pw1,9.0
"""


def test_the_onednn_clock_counts_each_step_between_the_marks_per_kind_and_convolution(bench):
    clock = bench.onednn_clock(ONEDNN_LOG, steps=2)
    assert clock["by_kind_ms"] == {"convolution": 1.5, "pooling": 0.25}  # per step; the 9 ms outside the marks left out
    first, grouped = clock["convolutions"]
    flops = 2.0 * 3 * 64 * 8 * 8 * 3 * 3  # 2·Cin·Cout·H·W·kh·kw
    assert first == {"problem": "mb1_ic3oc64_ih8oh8kh3sh1dh0ph1_iw8ow8kw3sw1dw0pw1", "direction": "forward_training",
                     "runs": 1.0, "ms": 1.0, "flops": flops, "gflops_per_s": flops / 1e6}  # fmt: skip
    assert grouped["direction"] == "backward_data" and grouped["flops"] == 2.0 * 2 * 8 * 4 * 4 * 9  # Cin/groups
    assert clock["convolution_ms"] == 1.5 and clock["convolution_flops"] == flops + grouped["flops"]
