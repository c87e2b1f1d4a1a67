"""The speed settings (precision, convolution form, XLA) and their per-machine defaults change how
fast a run goes, not what it computes.

Behaviour only, on random weights and small images; speed itself is measured by python -m tools.bench
(tests/tools/bench/test_bench.py); the forms' arithmetic is test_forms.py's, scales loop/test_coarse_to_fine.py's.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
from conftest import SMALL as BASE
from conftest import Record, synthetic_image

import tfstyle.network.forms as forms
import tfstyle.network.speed as speed
from tfstyle.errors import ConfigError
from tfstyle.loop.optimize import stylize
from tfstyle.network.features import build_feature_model


@pytest.mark.filterwarnings("ignore::tfstyle.network.speed.SlowPrecisionWarning")  # where bfloat16 is the slower
def test_bfloat16_gives_the_float32_losses_within_a_few_percent_and_keeps_the_image_float32(images, small_model):
    exact = stylize(*images, BASE, feature_model=small_model)
    record = Record()
    reduced = stylize(*images, BASE.override(precision="bfloat16"), callbacks=[record], feature_model=small_model)
    assert reduced.image.dtype == np.float32
    assert {dtype for *_, dtype in record.steps} == {"float32"}  # the optimized variable
    for name in ("total", "content", "style"):
        assert reduced.final_losses[name] == pytest.approx(exact.final_losses[name], rel=0.05)
    assert reduced.final_losses["total"] < 0.7 * reduced.initial_losses["total"]
    assert np.abs(reduced.image - exact.image).mean() < 2.0  # grey levels


def test_a_reduced_precision_model_returns_float32_and_leaves_the_original_alone(small_model):
    reduced = speed.with_precision(small_model, "bfloat16")
    pixels = synthetic_image(32, 32).astype(np.float32)[None]
    exact, approximate = small_model(pixels), reduced(pixels)
    for name, value in exact.items():
        assert approximate[name].dtype == "float32"
        np.testing.assert_allclose(approximate[name], value, rtol=0.05, atol=0.05 * float(np.abs(value).max()))
    assert {layer.compute_dtype for layer in speed._convolutions(small_model)} == {"float32"}
    first, *rest = speed._convolutions(reduced)
    assert first.compute_dtype == "float32" and {layer.compute_dtype for layer in rest} == {"bfloat16"}
    assert speed.with_precision(reduced, "bfloat16") is reduced  # already in that precision
    assert speed.with_precision(small_model, "float32") is small_model
    # Its weights: the original's, rounded once to each layer's precision.
    for layer, copy in zip(speed._convolutions(small_model), speed._convolutions(reduced)):
        assert copy.name == layer.name
        for mine, theirs in zip(copy.weights, layer.weights):
            assert mine.dtype == copy.dtype_policy.variable_dtype and theirs.dtype == "float32"
            np.testing.assert_array_equal(np.asarray(mine.numpy(), np.float32), theirs.numpy().astype(mine.dtype).astype(np.float32))


def test_reduced_precision_sees_the_pixels_in_float32_up_to_the_first_convolution():
    # bfloat16 would round 200.3 to 200 and subtract a rounded mean: block1_conv1 would move by ~1 %.
    model = build_feature_model(["block1_conv1", "block2_conv1"], weights="random", seed=0)
    reduced = speed.with_precision(model, "bfloat16")
    pixels = (synthetic_image(32, 32).astype(np.float32) + 0.3)[None]
    exact, approximate = model(pixels), reduced(pixels)
    np.testing.assert_allclose(approximate["block1_conv1"], exact["block1_conv1"], rtol=1e-6, atol=1e-4)
    assert not np.allclose(approximate["block2_conv1"], exact["block2_conv1"], rtol=1e-6, atol=1e-4)


def test_auto_convolutions_follow_the_machine_kind_measured(monkeypatch):
    cpu = "/device:CPU:0"
    monkeypatch.setattr(speed, "onednn_enabled", lambda: True)
    monkeypatch.setattr(speed, "cpu_flags", lambda: {"avx512f", "avx512_bf16", "amx_bf16"})
    assert speed.resolve_convolutions("auto", "float32", cpu) == "transposed"  # AMX with oneDNN
    monkeypatch.setattr(speed, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    monkeypatch.setattr(speed, "cpu_vendor", lambda: "GenuineIntel")
    assert speed.resolve_convolutions("auto", "float32", cpu) == "transposed"  # Intel's AVX-512 without AMX
    monkeypatch.setattr(speed, "cpu_vendor", lambda: "AuthenticAMD")
    assert speed.resolve_convolutions("auto", "float32", cpu) == "mixed"  # AMD's AVX-512 (Zen 4, Zen 5)
    monkeypatch.setattr(speed, "cpu_flags", lambda: {"avx2", "fma"})
    assert speed.resolve_convolutions("auto", "float32", cpu) == "transposed_all"  # AVX2 only
    monkeypatch.setattr(speed, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    monkeypatch.setattr(speed, "onednn_enabled", lambda: False)
    assert speed.resolve_convolutions("auto", "float32", cpu) == "forward"  # TensorFlow's own (Eigen) kernels
    for precision, device, jit in (("bfloat16", cpu, False), ("float32", cpu, True), ("float32", "/device:GPU:0", False)):
        assert speed.resolve_convolutions("auto", precision, device, jit) == "conv2d"
    assert speed.resolve_convolutions("transposed", "bfloat16", cpu) == "transposed"  # asked for: as asked


def test_for_run_builds_the_form_it_resolves(small_model, monkeypatch):
    monkeypatch.setattr(speed, "cpu_flags", lambda: {"avx2"})
    monkeypatch.setattr(speed, "onednn_enabled", lambda: False)
    kinds = {type(layer) for layer in speed._convolutions(speed.for_run(small_model, "float32", "/device:CPU:0"))}
    assert kinds == {forms.ForwardFormConv2D}
    monkeypatch.setattr(speed, "onednn_enabled", lambda: True)  # transposed_all: all but the layer on the pixels
    kinds = [type(layer) for layer in speed._convolutions(speed.for_run(small_model, "float32", "/device:CPU:0"))]
    assert kinds[0] is keras.layers.Conv2D and set(kinds[1:]) == {forms.TransposedFormConv2D}
    assert speed.for_run(small_model, "float32", "/device:CPU:0", convolutions="conv2d") is small_model
    assert speed.for_run(small_model, "float32", "/device:CPU:0", convolutions="transposed") is small_model  # too narrow


@pytest.mark.parametrize("convolutions", ["forward", "transposed_all", "mixed"])
def test_a_model_already_in_the_runs_form_comes_back_as_it_is(small_model, convolutions):
    # stylize converts what it is given: a caller that keeps a run-ready model converts it once
    ready = speed.for_run(small_model, "float32", "/device:CPU:0", convolutions=convolutions)
    assert ready is not small_model
    assert speed.for_run(ready, "float32", "/device:CPU:0", convolutions=convolutions) is ready


AMX = {"avx2", "avx512f", "avx512_bf16", "amx_bf16"}


@pytest.mark.parametrize(
    "vendor, flags, onednn, slower",
    [
        ("AuthenticAMD", {"avx2", "fma"}, True, "on a CPU without native bfloat16 .* at least 9x slower"),  # Zen 3
        ("GenuineIntel", {"avx2", "avx512f"}, True, "AVX-512 CPU without AVX512-BF16 or AMX is emulated by oneDNN: about 3.5x"),
        ("GenuineIntel", {"avx2", "avx512f", "avx512_bf16"}, True, "no AMX: about 1.7x slower"),
        ("AuthenticAMD", {"avx2", "avx512f", "avx512_bf16"}, True, None),  # Zen 4 and 5: bfloat16 the faster
        ("GenuineIntel", AMX, True, None),
        # TensorFlow's own kernels emulate it on every CPU (19x on an Intel Xeon)
        ("GenuineIntel", AMX, False, "own kernels \\(oneDNN off: TF_ENABLE_ONEDNN_OPTS=0\\) is emulated: at least 9x"),
        ("AuthenticAMD", {"avx2", "avx512f", "avx512_bf16"}, False, "oneDNN off"),
    ],
)
def test_bfloat16_where_it_is_slower_warns_how_much_and_auto_keeps_float32(monkeypatch, vendor, flags, onednn, slower):
    monkeypatch.setattr(speed, "cpu_flags", lambda: flags)
    monkeypatch.setattr(speed, "cpu_vendor", lambda: vendor)
    monkeypatch.setattr(speed, "onednn_enabled", lambda: onednn)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    if slower:
        with pytest.warns(speed.SlowPrecisionWarning, match=slower):
            assert speed.resolve_precision("bfloat16", "/device:CPU:0") == "bfloat16"
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert speed.resolve_precision("bfloat16", "/device:CPU:0") == "bfloat16"
    assert speed.resolve_precision("auto", "/device:CPU:0") == ("float32" if slower else "bfloat16")
    assert speed.resolve_precision("auto", "/device:GPU:0") == "float32"


@pytest.mark.parametrize(
    "cap, form, auto, bfloat16",
    [
        # oneDNN then runs an AVX2 CPU's kernels: no bfloat16 convolution, which TensorFlow still asks of it
        ("AVX2", "transposed_all", "float32", "cannot run with ONEDNN_MAX_CPU_ISA=avx2"),
        ("avx512_core", "transposed", "float32", "\\(ONEDNN_MAX_CPU_ISA=avx512_core\\) is emulated by oneDNN: about 3.5x"),
        ("AVX512_CORE_BF16", "transposed", "float32", "AVX512-BF16 but no AMX: about 1.7x"),
        ("AVX512_CORE_AMX", "transposed", "bfloat16", None),  # caps nothing this CPU has
        ("ALL", "transposed", "bfloat16", None),
        ("not an isa", "transposed", "bfloat16", None),  # oneDNN ignores it too
    ],
)
def test_a_cap_on_onednns_instruction_set_is_what_the_defaults_read(monkeypatch, cap, form, auto, bfloat16):
    cpu = "/device:CPU:0"
    monkeypatch.setattr(speed, "cpu_flags", lambda: AMX)
    monkeypatch.setattr(speed, "cpu_vendor", lambda: "GenuineIntel")
    monkeypatch.setattr(speed, "onednn_enabled", lambda: True)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    assert speed.resolve_convolutions("auto", "float32", cpu) == form
    assert speed.resolve_precision("auto", cpu) == auto
    if bfloat16 is None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert speed.resolve_precision("bfloat16", cpu) == "bfloat16"
    elif bfloat16.startswith("cannot run"):
        with pytest.raises(ConfigError, match=bfloat16):
            speed.resolve_precision("bfloat16", cpu)
    else:
        with pytest.warns(speed.SlowPrecisionWarning, match=bfloat16):
            speed.resolve_precision("bfloat16", cpu)


def test_the_older_name_of_the_cap_counts_and_the_newer_wins(monkeypatch):
    monkeypatch.setattr(speed, "cpu_flags", lambda: AMX)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setenv("DNNL_MAX_CPU_ISA", "AVX2")
    assert speed.onednn_isa_cap() == "avx2" and speed.kernel_flags() == {"avx2"}
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")
    assert speed.onednn_isa_cap() == "avx512_core_bf16"
    assert speed.kernel_flags() == {"avx2", "avx512f", "avx512_bf16"}


def test_a_bfloat16_run_that_onednn_cannot_compute_is_refused_before_it_starts(images, small_model, monkeypatch):
    monkeypatch.setattr(speed, "cpu_flags", lambda: AMX)
    monkeypatch.setattr(speed, "onednn_enabled", lambda: True)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    with pytest.raises(ConfigError, match="precision bfloat16 cannot run with ONEDNN_MAX_CPU_ISA=avx2"):
        stylize(*images, BASE.override(precision="bfloat16"), feature_model=small_model)


@pytest.mark.slow
def test_xla_gives_the_same_result_to_round_off(images, small_model):
    config = BASE.override(iterations=3, image_size=32)
    plain = stylize(*images, config, feature_model=small_model)
    compiled = stylize(*images, config.override(jit=True), feature_model=small_model)
    np.testing.assert_allclose(compiled.history["total"], plain.history["total"], rtol=1e-3)
    np.testing.assert_allclose(compiled.image, plain.image, atol=0.05)


def test_float16_on_a_cpu_is_a_clear_error(images, small_model):
    with pytest.raises(ConfigError, match="float16 needs a GPU"):
        stylize(*images, BASE.override(precision="float16"), feature_model=small_model)


@pytest.mark.slow
def test_the_float16_path_runs_where_it_is_allowed(images, small_model, monkeypatch):
    """The GPU path (float16 model and loss scaling), run on the CPU's float16 kernels."""
    monkeypatch.setattr(speed, "_is_gpu", lambda device: True)
    config = BASE.override(image_size=32, iterations=3)
    exact = stylize(*images, config, feature_model=small_model)
    for optimizer in ("adam", "lbfgs"):
        result = stylize(*images, config.override(precision="float16", optimizer=optimizer), feature_model=small_model)
        assert result.image.dtype == np.float32
        assert result.final_losses["total"] < 0.8 * result.initial_losses["total"]
        if optimizer == "adam":
            assert result.final_losses["total"] == pytest.approx(exact.final_losses["total"], rel=0.05)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"precision": "half"}, "unknown `precision` 'half'"),
        ({"jit": "yes"}, "`jit` must be True, False or None"),
        ({"convolutions": "fft"}, "unknown `convolutions` .fft."),
        ({"scales": 0}, "`scales` must be a positive whole number"),
        ({"scales": 3, "image_size": 128}, "start at 32 pixels.*at most 2 scales"),
        ({"scales": 3, "iterations": 2, "image_size": 512}, "`scales` 3 needs at least 3 `iterations`"),
    ],
)
def test_bad_speed_settings_are_config_errors(changes, message):
    with pytest.raises(ConfigError, match=message):
        BASE.override(**changes)


def test_auto_jit_is_off_unless_asked_for():
    assert speed.resolve_jit(None, "/device:CPU:0") is False
    assert speed.resolve_jit(True, "/device:CPU:0") is True


def test_cpuinfo_fields_are_the_first_processors_and_the_machines_flags_come_from_them():
    text = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu avx2 avx512f\n\nprocessor\t: 1\nflags\t\t: fpu\n"
    fields = speed.cpuinfo_fields(text)
    assert fields == {"processor": "0", "vendor_id": "GenuineIntel", "flags": "fpu avx2 avx512f"}
    assert speed.cpu_flags() == set(speed.cpuinfo().get("flags", "").split())
    with pytest.raises(TypeError):  # shared by every caller for the whole process
        speed.cpuinfo()["flags"] = ""  # type: ignore[index]
