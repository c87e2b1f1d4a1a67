"""tools/bench/bench.py, the benchmark's command line, end to end in --quick mode: every measure runs
and lands in the JSON. The measures' own functions are tested beside them (test_steps.py, test_quality.py,
test_runs.py, test_profile.py)."""

from __future__ import annotations

import importlib
import json
import os

import pytest

from tfstyle.config import preset
from tfstyle.inputs.prepare import prepare_images
from tfstyle.network import speed
from tfstyle.vgg16 import VGG16_CONV_LAYERS

pytestmark = pytest.mark.slow  # the quick benchmark still times every layer in both forms


@pytest.fixture(scope="module")
def bench():
    return importlib.import_module("tools.bench.bench")  # here, not at collection: it sets the environment


def test_tensorflow_leaves_a_gpus_memory_to_the_pytorch_peer_beside_it(bench):
    assert os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"  # set before TensorFlow is imported


def test_the_benchmark_runs_in_quick_mode(bench, tmp_path, capsys, shared_images):  # the shared photo and painting
    assert bench.main(["--quick", "--json", str(tmp_path / "bench.json")]) == 0
    from tools.bench import quality, runs, steps

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
    assert pair["PyTorch first"] == list(quality.first_within(torch_run["curve"], *pair["quality"]))
    assert pair["tfstyle first"] == list(quality.first_within(ours["curve"], *pair["quality"]))
    # --runs (3 steps in --quick): tfstyle's whole run against its floor and the PyTorch peer's run;
    # on a GPU every precision with and without XLA, each one of the bench's variants.
    assert set(runs.run_variants("/device:GPU:0")) <= set(bench.VARIANTS)
    (run,) = saved["runs"]
    assert (run["size"], run["steps"], run["variant"], run["peer_precision"]) == (64, 3, "float32", "float32")
    assert run["seconds"] > run["floor_s"] > 0 and run["peer_s"] > 0
    assert run["vs_peer"] == pytest.approx(run["seconds"] / run["peer_s"])
    gradient_errors = [pair.pop("bfloat16_gradient_error") for pair in saved["precision"]["64"].values()]
    assert all(0 < error < 1 for errors in gradient_errors for error in errors.values()), gradient_errors
    # --peers_from: a later run takes the saved peer as it is and runs only tfstyle against it.
    again = quality.quality_at(
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
        assert ratio == pair["tfstyle first"][1] / pair["PyTorch first"][1] == quality.pair_ratio(pair)
    assert [row["layer"] for row in saved["forms"]] == list(VGG16_CONV_LAYERS)  # both forms timed per layer
    assert all(row[form] > 0 for row in saved["forms"] for form in ("conv2d", "transposed", "forward"))
    # --profile: a step's time per operation and per layer, forward and backward, in both forms.
    for profile in saved["profile"].values():
        assert profile["by_layer_ms"]["block1_conv2 forward"] > 0 and profile["by_layer_ms"]["block1_conv2 backward"] > 0
    # ... and by oneDNN's own clock, where oneDNN runs TensorFlow's convolutions: the convolutions
    # it ran in a step are the floor's, forward and input gradient, and no filter gradient.
    if speed.onednn_enabled():
        clock = saved["onednn_clock"]["64"]
        height, width = prepare_images(steps.CONTENT, steps.STYLE, preset("default").override(image_size=64))[0].shape[:2]
        assert clock["convolution_flops"] == pytest.approx(steps.step_flops(["conv5_3"], height, width))
        assert clock["by_kind_ms"]["convolution"] == pytest.approx(clock["convolution_ms"]) and "by oneDNN's own clock" in out


def test_where_onednn_is_capped_below_bfloat16_the_bench_leaves_it_out_or_refuses_it(bench, monkeypatch, capsys):
    monkeypatch.setattr(bench.speed, "bfloat16_missing", lambda: False)
    assert "bfloat16" in bench.cpu_variants() and "float16" not in bench.cpu_variants()  # float16: GPUs only
    monkeypatch.setattr(bench.speed, "bfloat16_missing", lambda: True)  # ONEDNN_MAX_CPU_ISA=AVX2 on AVX-512
    assert bench.cpu_variants() == ["float32", "float32+xla", "float32+winograd"]
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    with pytest.raises(SystemExit) as exit:
        bench.main(["--variants", "float32,bfloat16"])
    assert exit.value.code == 2
    assert "bfloat16 cannot run with ONEDNN_MAX_CPU_ISA=avx2" in capsys.readouterr().err
