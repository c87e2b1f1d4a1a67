"""Speed settings: the feature model's precision and convolutions, XLA, and their defaults.

None of them changes the objective: the losses, their gradient's accumulation into the image and
the ``tf.Variable`` image stay float32 at every setting. Reduced precision (``bfloat16``, or
``float16`` on a GPU) runs VGG16's layers after the first convolution, their weights and
activations in that type; the activations are cast back to float32 before the Gram matrices and
the losses. In float32 on a CPU, the convolutions run in the form measured fastest for the machine
kind (:mod:`tfstyle.network.forms`: the same numbers to round-off). The ``auto`` defaults were
measured (docs/performance.md).
"""

from __future__ import annotations

import functools
import os
import types
import warnings
from collections.abc import Mapping

import keras
import tensorflow as tf

from tfstyle.config import PRECISIONS
from tfstyle.errors import ConfigError
from tfstyle.network import forms

# Under float16 the backward pass starts from the loss scaled to this size: float16 gradients of
# the raw loss underflow (mean normalization) or overflow (the paper's plain sums). Measured at
# 96 px: the float16 gradient is then within 3% of float32's (bfloat16's: 6-10%) for both.
FLOAT16_LOSS_SCALE = 2.0**15
# bfloat16 emulated by TensorFlow's own kernels (oneDNN off, or a CPU without AVX-512, where oneDNN has
# no bfloat16): 7.6 s against 0.86 s for a float32 step at 256 px on an AMD EPYC (Zen 3, AVX2) with the
# default preset; 6.4 against 0.35 s (19x) on an Intel Xeon (run K) with oneDNN off.
SLOW_BFLOAT16 = 9
# bfloat16 emulated by oneDNN's AVX-512 kernels, without AVX512-BF16 or AMX: 0.84-1.41 s against 0.24 s
# for a float32 step at 256 px on an Intel Xeon (run K) with oneDNN capped at AVX512_CORE.
SLOW_BFLOAT16_AVX512 = 3.5
# bfloat16 with AVX512-BF16 but no AMX on an Intel Xeon (run K, family 6 model 207): a default-preset
# step took 1,761 ms against float32's 1,011 at 512 px (the default size), 477 against 394 at 256;
# its best convolution 153 GFLOP/s against 231. Intel runs AVX512-BF16's dot products on one port
# and float32's FMAs on two; AMD's Zen 4 and Zen 5 ran the same oneDNN kernels 1.7x faster than
# float32 (runs D, I).
SLOW_BFLOAT16_WITHOUT_AMX = 1.7


class SlowPrecisionWarning(UserWarning):
    """A precision that runs slower than float32 on this machine."""


def cpuinfo_fields(text: str) -> dict[str, str]:
    """The first processor's fields in the ``text`` of /proc/cpuinfo (``flags``, ``vendor_id``,
    ``model name``, ``cpu family``, ``model`` ...)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the first processor's block ends here
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


@functools.cache  # the CPU does not change while the process runs; a run asks several times
def cpuinfo() -> Mapping[str, str]:
    """This machine's first processor's fields in /proc/cpuinfo (empty where it cannot be read);
    read-only, as every caller shares it."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            return types.MappingProxyType(cpuinfo_fields(info.read()))
    except OSError:
        return types.MappingProxyType({})


def cpu_flags() -> set[str]:
    """The CPU's feature flags, from /proc/cpuinfo (empty where it cannot be read)."""
    return set(cpuinfo().get("flags", "").split())


def cpu_vendor() -> str:
    """The CPU's vendor, from /proc/cpuinfo (``GenuineIntel``, ``AuthenticAMD``; empty where unknown)."""
    return cpuinfo().get("vendor_id", "")


# The instruction-set levels ONEDNN_MAX_CPU_ISA (or its older name DNNL_MAX_CPU_ISA) can cap oneDNN's
# kernels at, with the flags tfstyle's defaults read (:data:`_KERNEL_FLAGS`) that each leaves them. The
# levels with AMX, and names oneDNN does not know, cap none of them. Capped at AVX2, an AVX-512 CPU runs
# the kernels of an AVX2-only one: bfloat16's convolutions are then missing (below AVX512_CORE) or
# emulated (AVX512_CORE, AVX512_CORE_VNNI).
_ONEDNN_CAPS = {
    **dict.fromkeys(("sse41", "avx", "avx2", "avx2_vnni", "avx2_vnni_2"), frozenset[str]()),
    **dict.fromkeys(("avx512_core", "avx512_core_vnni"), frozenset({"avx512f"})),
    **dict.fromkeys(
        ("avx512_core_bf16", "avx10_1_512", "avx512_core_fp16", "avx10_2_512"), frozenset({"avx512f", "avx512_bf16"})
    ),
}
_KERNEL_FLAGS = frozenset({"avx512f", "avx512_bf16", "amx_bf16"})
# The caps under which oneDNN has no bfloat16 convolution at all, while TensorFlow, reading the CPU's
# own AVX-512 flag, still hands it bfloat16's: the run would fail at its first convolution.
_CAPS_WITHOUT_BFLOAT16 = ("sse41", "avx", "avx2", "avx2_vnni")


def onednn_isa_cap() -> str | None:
    """The instruction-set level (lower case) that ONEDNN_MAX_CPU_ISA, or DNNL_MAX_CPU_ISA, caps
    oneDNN's kernels at; None where neither caps the flags tfstyle's defaults read."""
    value = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").lower()
    return value if value in _ONEDNN_CAPS else None


def kernel_flags() -> set[str]:
    """The CPU's flags (:func:`cpu_flags`) whose kernels oneDNN may run: all of them, less AVX-512,
    AVX512-BF16 and AMX above the level :func:`onednn_isa_cap` sets."""
    flags, cap = cpu_flags(), onednn_isa_cap()
    return flags if cap is None else flags - (_KERNEL_FLAGS - _ONEDNN_CAPS[cap])


def cpu_has_bf16() -> bool:
    """Whether oneDNN's kernels do bfloat16 arithmetic natively here (AVX512-BF16 or AMX, in
    :func:`kernel_flags`)."""
    return bool({"avx512_bf16", "amx_bf16"} & kernel_flags())


def bfloat16_slowdown() -> tuple[float, str] | None:
    """How many times slower than float32 a bfloat16 step runs on this CPU, as measured per machine
    kind, and why (for its warning); None where bfloat16 is the faster (AMX; AVX512-BF16 on AMD)."""
    if not onednn_enabled():
        return SLOW_BFLOAT16, "with TensorFlow's own kernels (oneDNN off: TF_ENABLE_ONEDNN_OPTS=0) is emulated"
    if "avx512f" not in kernel_flags():  # TensorFlow's own kernels then: oneDNN has none
        return SLOW_BFLOAT16, "on a CPU without native bfloat16 (AVX512-BF16 or AMX) is emulated"
    if not cpu_has_bf16():
        capped = f" (ONEDNN_MAX_CPU_ISA={onednn_isa_cap()})" if onednn_isa_cap() else ""
        return SLOW_BFLOAT16_AVX512, f"on an AVX-512 CPU without AVX512-BF16 or AMX{capped} is emulated by oneDNN"
    if "amx_bf16" in kernel_flags() or cpu_vendor() != "GenuineIntel":
        return None
    return SLOW_BFLOAT16_WITHOUT_AMX, "on an Intel CPU with AVX512-BF16 but no AMX"


def bfloat16_missing() -> bool:
    """Whether a bfloat16 run would fail at its first convolution: oneDNN capped below AVX512_CORE on
    an AVX-512 CPU (:data:`_CAPS_WITHOUT_BFLOAT16`)."""
    return onednn_enabled() and onednn_isa_cap() in _CAPS_WITHOUT_BFLOAT16 and "avx512f" in cpu_flags()


def resolve_precision(precision: str, device: str) -> str:
    """The precision a run uses on ``device``: ``auto`` is bfloat16 on a CPU where it was measured
    faster than float32 (:func:`bfloat16_slowdown`: about 4x in the convolutions with AMX, 1.7x with
    AVX512-BF16 on AMD; with oneDNN on) and float32 elsewhere (GPUs: not measured yet). float16 needs a
    GPU; bfloat16 is refused where it cannot run (:func:`bfloat16_missing`)."""
    on_gpu = _is_gpu(device)
    slowdown = None if on_gpu else bfloat16_slowdown()
    if precision == "auto":
        return "bfloat16" if not on_gpu and slowdown is None else "float32"
    if precision == "float16" and not on_gpu:
        raise ConfigError(
            "precision float16 needs a GPU (CPUs have no fast float16 convolutions); use bfloat16 or float32 here"
        )
    if precision == "bfloat16" and not on_gpu and bfloat16_missing():
        raise ConfigError(
            f"precision bfloat16 cannot run with ONEDNN_MAX_CPU_ISA={onednn_isa_cap()}: below AVX512_CORE oneDNN has "
            "no bfloat16 convolutions, and TensorFlow still hands them to it on this AVX-512 CPU; use float32 "
            "(or auto), or unset ONEDNN_MAX_CPU_ISA"
        )
    if precision == "bfloat16" and slowdown is not None:
        factor, why = slowdown
        # TensorFlow's own emulation was 9x slower on one CPU and 19x on another: a lower bound.
        amount = f"at least {factor:g}x" if factor == SLOW_BFLOAT16 else f"about {factor:g}x"
        warnings.warn(
            f"precision bfloat16 {why}: {amount} slower than float32 (measured per machine kind, docs/performance.md); "
            "float32 or auto is faster here",
            SlowPrecisionWarning,
            stacklevel=2,
        )
    return precision


def resolve_convolutions(convolutions: str, precision: str, device: str, jit: bool = False) -> str:
    """The convolution form (:data:`forms.FORMS`) a run uses: ``auto`` is the fastest measured for the
    machine kind (python -m tools.bench --forms and --profile, tools/bench/results/). Only float32 on a CPU
    without XLA has a choice: with oneDNN, on Intel's AVX-512 CPUs the transposed form (with AMX its
    wide layers 1.1-1.7x faster; without, run K, whole 256 px passes 0.93x the mixed form's, faster
    in 18 rounds of 20, and even at 512 px), on AMD's the mixed form (a float32 step 2-5 % faster
    than the forward form's on an AMD EPYC Zen 5), on AVX2-only CPUs the transposed_all form (its
    whole passes 1.4x faster than Conv2D's, 2x than the forward form's on a Zen 3); with TensorFlow's
    own kernels the forward form (15-20 % faster than Conv2D's on Zen 4: their input gradients are
    the slow ones). Reduced precision, XLA and GPUs keep Keras' Conv2D. The winograd form is only
    taken when asked for: its passes were 0.83x transposed_all's on a Zen 3, but XLA compiles its
    transforms for about 9 s at the start of a run there, more than 50 steps at 256 px save (an Intel
    Xeon without AMX, run K: a 50-step run at 256 px 4.1 s longer than the mixed form's). The CPU's
    flags are those oneDNN's kernels may use (:func:`kernel_flags`): capped at AVX2, an AVX-512 CPU
    takes the AVX2 CPUs' form."""
    if convolutions != "auto":
        return convolutions
    if precision != "float32" or jit or _is_gpu(device):
        return "conv2d"
    if not onednn_enabled():
        return "forward"
    flags = kernel_flags()
    if "amx_bf16" in flags or ("avx512f" in flags and cpu_vendor() == "GenuineIntel"):
        return "transposed"
    return "mixed" if "avx512f" in flags else "transposed_all"


def resolve_jit(jit: bool | None, device: str) -> bool:
    """Whether to XLA-compile the step: ``None`` is off (measured slower on the CPU: XLA's
    convolutions do not use oneDNN; on GPUs not measured yet)."""
    return bool(jit) if jit is not None else False


def for_run(model: keras.Model, precision: str, device: str, jit: bool = False, convolutions: str = "auto") -> keras.Model:
    """``model`` as a run on ``device`` computes it: in ``precision`` (:func:`with_precision`), its
    convolutions in the form :func:`resolve_convolutions` picks (:func:`forms.with_convolution_form`)."""
    model = with_precision(model, precision)
    return forms.with_convolution_form(model, resolve_convolutions(convolutions, precision, device, jit))


def with_precision(model: keras.Model, precision: str) -> keras.Model:
    """``model`` (float32 pixels → ``{layer: activations}``) with its layers in ``precision``.

    The copy takes float32 pixels and returns float32 activations; inside, weights and activations
    are ``precision``, except for the layers up to the first convolution (the preprocessing and
    block1_conv1), which stay float32. A model whose later convolutions already compute in
    ``precision`` (float32 for :func:`tfstyle.build_feature_model`'s) is returned as it is; the
    original is never changed.
    """
    if precision not in PRECISIONS[1:]:
        raise ConfigError(f"unknown precision {precision!r}; choose one of: {', '.join(PRECISIONS[1:])}")
    convolutions = _convolutions(model)
    if convolutions and all(layer.compute_dtype == precision for layer in convolutions[1:]):
        return model
    # bfloat16 holds pixels 128-255 to whole grey levels, before the ImageNet mean is taken off:
    # that moved block1_conv1's ReLUs and put the image gradient twice as far from float32's (at the
    # photos at 512 px: 9 and 22 % against 4 and 9 %) as with the first convolution (3 input
    # channels: under 1 % of the FLOPs) in float32 (tools/bench/results/runs_a_c.md, run A).
    pixel_level = _up_to_first_convolution(model)

    def in_precision(layer: keras.layers.Layer) -> keras.layers.Layer:
        return forms.remade(layer, dtype="float32" if layer.name in pixel_level else precision)

    reduced = keras.models.clone_model(model, clone_function=in_precision)
    # Rounded to ``precision`` once, not at every step; cast by TensorFlow, not through NumPy's
    # arrays (Model.set_weights): about 4x faster.
    for copy, original in zip(reduced.weights, model.weights):
        copy.assign(tf.cast(original, copy.dtype))
    inputs = keras.Input(shape=(None, None, 3), name="rgb_0_255")
    outputs = {
        name: keras.layers.Activation("linear", dtype="float32", name=f"{name}_float32")(value)
        for name, value in reduced(inputs).items()
    }
    wrapped = keras.Model(inputs, outputs, name=f"{model.name}_{precision}")
    wrapped.trainable = False
    return wrapped


def onednn_enabled() -> bool:
    """Whether TensorFlow's CPU convolutions are oneDNN's (on by default on x86; off with
    TF_ENABLE_ONEDNN_OPTS=0, where the transposed form's kernels are the slow ones)."""
    try:
        from tensorflow.python.util import _pywrap_util_port  # no public API tells this

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return False


def _convolutions(model: keras.Model) -> list[keras.layers.Conv2D]:
    """The Conv2D layers of ``model``, nested models included."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(_convolutions(layer))
    return found


def _up_to_first_convolution(model: keras.Model) -> set[str]:
    """The names of ``model``'s layers before its first Conv2D, that one included."""
    names = set()
    for layer in model.layers:
        names.add(layer.name)
        if isinstance(layer, keras.layers.Conv2D):
            break
    return names


def gradient(tape: tf.GradientTape, total: tf.Tensor, variable: tf.Variable, precision: str) -> tf.Tensor:
    """d total / d variable. Under float16 the backward pass runs on the loss scaled to
    :data:`FLOAT16_LOSS_SCALE` (computed per step, so no step is skipped) and is scaled back."""
    if precision != "float16":
        return tape.gradient(total, variable)
    scale = FLOAT16_LOSS_SCALE / tf.maximum(tf.abs(tf.stop_gradient(total)), 1e-30)
    return tape.gradient(total, variable, output_gradients=scale) / scale


def _is_gpu(device: str) -> bool:
    return tf.DeviceSpec.from_string(device).device_type == "GPU"
