"""The run configuration: one frozen dataclass, validated on construction, and the presets.

Every field is declared with :func:`~tfstyle.settings.setting`: its default (the ``default``
preset's), a help text, its group and, where it has them, its choices, unit and bounds; the
validation, ``override`` and ``to_dict``/``from_dict`` come from them (:class:`~tfstyle.settings.Settings`),
and the rules across fields are the methods below. The command lines generate their flags
from these (:mod:`tfstyle.cli.flags`); library users build a config directly, usually from a
preset: ``preset("paper").override(iterations=30)``. Messages and help texts name other settings
in backticks (```image_size```), which the command lines print as flags (``--image_size``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tfstyle.errors import ConfigError
from tfstyle.settings import Settings, setting, shown
from tfstyle.vgg16 import POOLINGS, canonical_layer_name

PAPER_LAYERS = ("block1_conv2", "block3_conv3", "block5_conv3")
GATYS_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
GATYS_CONTENT_LAYERS = ("block4_conv2",)


class _TunedWeights(tuple):
    """The default style layer weights: a tuple that also marks "not given" (see :class:`StyleConfig`)."""

    __slots__ = ()


# Keras' VGG16 is not activation-normalized: at the start, SL_i of conv1_2, conv3_3 and conv5_3
# are ~1e9, ~1e10 and ~1e2. These z_i make the paper's three layers count about equally.
DEFAULT_STYLE_LAYER_WEIGHTS = _TunedWeights((1.0, 0.1, 1e6))

INITS = ("content", "noise", "style", "model")
OPTIMIZERS = ("sgd", "adam", "lbfgs")
NORMALIZATIONS = ("mean", "paper")
CONTENT_TARGETS = ("content", "style")
PRESERVE_COLORS = ("luminance", "histogram")
NAMED_WEIGHTS = ("imagenet", "random")  # VGG16's weights by name; anything else is a path
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
# How VGG16's convolutions run (tfstyle.network.forms.FORMS); auto: as measured per machine kind.
CONVOLUTIONS = ("auto", "conv2d", "transposed", "forward", "mixed", "transposed_all", "winograd")
MIN_SCALE_SIDE = 64  # coarse-to-fine passes are not made smaller than this (longest side, pixels)

# Learning rates that work with each optimizer at the default loss normalization ("mean").
# L-BFGS needs none: its line search picks the step.
DEFAULT_LEARNING_RATES = {"sgd": 1e-2, "adam": 8.0, "lbfgs": 1.0}
# Plain gradient descent on the paper's plain sums, where a pixel's gradient is ~1e16-1e17 at
# 256-512 px: a step of a few grey levels. The paper prints 0.00001 (Figures 9-11), but on plain sums
# that rate's first step moved pixels by 111 grey levels on average (tubingen x starry_night, 256 px,
# a = 1, b = 10 or 1000, pixels in [0, 255] or [0, 1]; then a median 178 per step) and left no picture
# (yardstick style distance 803-815, content 9.3-9.4). Only the `mean` normalization on [0, 255] pixels
# gives Figure 9 at that rate (b = 10: style 0.353, content 0.495), and no reading gives Figure 10
# (b = 1000 saturates), so this measured value stays (docs/paper/REPORT.md).
PAPER_LEARNING_RATE = 3e-17

@dataclass(frozen=True)
class StyleConfig(Settings):
    """Everything that decides the stylized image. ``StyleConfig()`` is the ``default`` preset.

    Total = a·Σ_i w_i·CL_i + b·Σ_i z_i·SL_i + tv_weight·TV, where a = ``content_weight``,
    b = ``style_weight``, w_i / z_i = ``content_layer_weights`` / ``style_layer_weights``
    (``None``: equal weights 1/n). Layers accept Keras (``block3_conv3``) or paper (``conv3_3``) names.

    The default style layer weights are tuned for the default style layers: left at their default
    with other ``style_layers``, they become ``None`` (equal weights). Weights you give are used as
    given, one per layer. :meth:`override` with new layers and no new weights also gives equal weights.
    """

    content_layers: tuple[str, ...] = setting(
        ("block3_conv3",), "VGG16 layers of the content loss, Keras (block3_conv3) or paper (conv3_3) names.", "the loss"
    )
    style_layers: tuple[str, ...] = setting(PAPER_LAYERS, "VGG16 layers of the style loss.", "the loss")
    content_layer_weights: tuple[float, ...] | None = setting(
        None, "w_i, one per content layer; a zero weight skips the layer. Default: equal, 1/n each.", "the loss", minimum=0
    )
    style_layer_weights: tuple[float, ...] | None = setting(
        DEFAULT_STYLE_LAYER_WEIGHTS,
        "z_i, one per style layer; a zero weight skips the layer. The default balances the default "
        "`style_layers`; with other layers it is equal weights, 1/n each.",
        "the loss",
        minimum=0,
    )
    content_weight: float = setting(
        1.0, "a, the weight of the content loss in Total = a·CL + b·SL + tv·TV.", "the loss", minimum=0
    )
    style_weight: float = setting(
        2.5e-3, "b, the weight of the style loss in Total = a·CL + b·SL + tv·TV.", "the loss", minimum=0
    )
    tv_weight: float = setting(
        0.0, "tv, the weight of the total-variation smoothness term (0 keeps the paper's loss).", "the loss", minimum=0
    )
    content_target: str = setting(
        "content",
        "Whose activations P_i the content loss compares with: content (the photo's, Gatys et al.) or style (the "
        "style image's, stretched to the photo's height and width as `init` style is, so the activations align: Yu & Chang's printed "
        "CL_i = Σ(A_i − B_i), B the style image). With several style images, their blend by `style_blend_weights`.",
        "the loss",
        choices=CONTENT_TARGETS,
    )
    normalization: str = setting(
        "mean",
        "How the losses are normalized: mean (means over positions, the Gram matrices divided by them: the weights "
        "mean the same at any size) or paper (the paper's plain sums).",
        "the loss",
        choices=NORMALIZATIONS,
    )
    init: str = setting(
        "content",
        "The starting image: content (the paper's), noise (white noise, seeded by `seed`), style, model (the picture "
        "of the fast stylizer `model`, which the optimization refines), or an image file.",
        "the optimizer",
        choices=INITS,
        other="PATH",
    )
    optimizer: str = setting(
        "adam", "sgd (the paper's plain gradient descent), adam, or lbfgs (L-BFGS-B).", "the optimizer", choices=OPTIMIZERS
    )
    learning_rate: float | None = setting(
        None, "Step size of sgd and adam (lbfgs's line search picks its own). Default: one that works for each.", "the optimizer",
        above=0,
    )
    iterations: int = setting(50, "Optimization steps.", "the optimizer", minimum=1)
    image_size: int = setting(
        512,
        "Longest side of the output; the style image is scaled to the same number of pixels (times `style_scale` squared).",
        "inputs and output",
        unit="pixels",
        minimum=1,
    )
    seed: int = setting(
        0,
        "Random seed of the noise start (`init` noise, `noise_blend`), of random weights, and of a fast stylizer's "
        "training (its first weights, the photos held out, the crops).",
        "the optimizer",
    )
    weights: str = setting(
        "imagenet",
        "VGG16's weights: imagenet ($TFSTYLE_VGG16_WEIGHTS if set, else keras' download), random (seeded by "
        "`seed`, for tests), or the path of vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5.",
        "the loss",
        choices=NAMED_WEIGHTS,
        other="PATH",
    )
    device: str | None = setting(
        None, "TensorFlow device to run on, e.g. GPU:1. Default: the first GPU, else the CPU.", "speed", other="DEVICE"
    )
    style_blend_weights: tuple[float, ...] | None = setting(
        None,
        "beta_s, one per style image, normalized to sum to 1: each layer's style target is the blend of the styles' "
        "Gram matrices (with style masks, each style's loss in its region is weighted by beta_s). Default: equal.",
        "creative controls",
        minimum=0,
    )
    style_scale: float = setting(
        1.0,
        "The style image's size relative to the output: its pixel count is `style_scale` squared times the output's "
        "(0.5: half the width and height, smaller brush strokes; 2: larger ones).",
        "creative controls",
        above=0,
    )
    preserve_colors: str | None = setting(
        None,
        "Keep the content's colours: luminance (transfer the style on the luminance only, then the content's colour; "
        "Gatys et al. 2017) or histogram (the style image's colours matched to the content's first). Default: off.",
        "creative controls",
        choices=PRESERVE_COLORS,
    )
    pooling: str = setting(
        "max",
        "VGG16's pooling: max (as trained) or avg (average pooling, as Gatys et al. used).",
        "creative controls",
        choices=POOLINGS,
    )
    noise_blend: float = setting(
        0.0,
        "Start from (1 − t)·`init` + t·white noise (seeded by `seed`), t in [0, 1].",
        "creative controls",
        minimum=0,
        maximum=1,
    )
    precision: str = setting(
        "auto",
        "Arithmetic of VGG16's layers and of a fast stylizer's network (the losses, the image and the weights stay "
        "float32): float32; bfloat16 (VGG16 about 4x faster "
        "with AMX, 1.7x with AVX512-BF16 on AMD, with oneDNN; slower with AVX512-BF16 alone on Intel, emulated "
        "elsewhere); float16 (GPUs only); auto: the fastest measured for the device (bfloat16 where it is the "
        "faster, else float32).",
        "speed",
        choices=PRECISIONS,
    )
    jit: bool | None = setting(
        None, "XLA-compile the optimization step. Default: per device, as measured (off on CPUs).", "speed"
    )
    convolutions: str = setting(
        "auto",
        "Which kernels VGG16's float32 convolutions run, the same numbers to round-off: conv2d (forward, then the input "
        "gradient's kernel), transposed (the input gradient's kernel both ways, for wide layers), forward (the forward "
        "kernel both ways), mixed (forward, but transposed for wide layers on large maps), transposed_all (transposed "
        "for all but the first layer), winograd (transposed_all, but Winograd's F(2x2, 3x3) for layers from 128 "
        "channels on one image: faster steps after 5-9 s of XLA compiling, in 1.4x the memory: for long runs); "
        "auto: the fastest measured for the machine kind (docs/performance.md).",
        "speed",
        choices=CONVOLUTIONS,
    )
    scales: int = setting(
        1,
        "Coarse-to-fine passes: optimize at `image_size`/2^(N-1) first, upsample, and refine at each doubled size up "
        "to `image_size`; the iterations are split over the passes, each coarser pass getting twice the next finer "
        "one's. 1: one pass at full size.",
        "speed",
        minimum=1,
    )
    tile_size: int | None = setting(
        None,
        "Optimize in overlapping tiles of about this many pixels a side (rounded down to a multiple of the deepest "
        "layer's stride), feathered across the overlaps, with the style statistics of the whole image: a large image "
        "in modest memory. Default: no tiles, the whole image at once.",
        "large images and resuming",
        unit="pixels",
        flag="tile",
        off=0,
        minimum=1,
    )
    tile_overlap: int | None = setting(
        None,
        "Overlap of the tiles, across which they are feathered. Default: a quarter of the tile.",
        "large images and resuming",
        unit="pixels",
        minimum=0,
    )
    model: str | None = setting(
        None,
        "A fast stylizer: a shipped model's name (starry_night, the_scream) or a folder `python -m tfstyle.train` "
        "wrote. With `init` model the optimization starts from its picture; the command lines without a style give "
        "its picture alone, in one pass (no VGG16 weights needed).",
        "fast stylizer",
        other="NAME|PATH",
    )

    def cross_check(self) -> None:
        """The rules across fields (each field's own were checked from its metadata)."""
        for kind in ("content", "style"):
            self._check_layers(kind)
        if not self.content_terms() and not self.style_terms():
            raise ConfigError("no loss term is left: every layer weight (or both `content_weight` and `style_weight`) is zero")
        if self.style_blend_weights is not None:
            blend = self.style_blend_weights
            if not blend or not 0 < sum(blend) < math.inf:
                raise ConfigError(f"`style_blend_weights` must have a positive sum, got {', '.join(map(shown, blend)) or 'none'}")
            if not math.isclose(sum(blend), 1.0, rel_tol=1e-12):  # normalized once: a copy or a replay keeps them
                object.__setattr__(self, "style_blend_weights", tuple(w / sum(blend) for w in blend))
        self._check_scales()
        if self.tile_overlap is not None and self.tile_size is None:
            raise ConfigError("a `tile_overlap` needs a `tile_size`")
        if self.init == "model" and self.model is None:
            raise ConfigError("`init` model starts from a fast stylizer's picture: name the `model` (e.g. starry_night)")

    def _check_layers(self, kind: str) -> None:
        """Paper names to Keras', no layer twice, and one weight per layer (the tuned default only for its layers)."""
        layers = getattr(self, f"{kind}_layers")
        names = tuple(canonical_layer_name(name) for name in layers)
        if len(set(names)) != len(names):
            raise ConfigError(f"{kind} layers are listed twice: {', '.join(layers)}")
        object.__setattr__(self, f"{kind}_layers", names)
        weights = getattr(self, f"{kind}_layer_weights")
        if isinstance(weights, _TunedWeights):  # left at the default: tuned for the default layers only
            if names != PAPER_LAYERS:
                object.__setattr__(self, f"{kind}_layer_weights", None)
        elif weights is not None and len(weights) != len(names):
            raise ConfigError(
                f"{len(weights)} {kind} layer weights given for {len(names)} {kind} layers "
                f"({', '.join(names)}); give one weight per layer"
            )

    def _check_scales(self) -> None:
        """One iteration per coarse-to-fine pass at least, and no pass smaller than :data:`MIN_SCALE_SIDE`."""
        scales, size = self.scales, self.image_size
        if scales > self.iterations:
            raise ConfigError(
                f"`scales` {shown(scales)} needs at least {shown(scales)} `iterations` (one per scale), "
                f"got {shown(self.iterations)}"
            )
        most = max(1, (size // MIN_SCALE_SIDE).bit_length())  # passes from image_size down to MIN_SCALE_SIDE or more
        if scales > most:
            start = f"{size / 2 ** (scales - 1):g} pixels" if scales < 1000 and size < 2**1000 else "under a pixel"
            raise ConfigError(
                f"`scales` {shown(scales)} at `image_size` {shown(size)} would start at {start}; the first pass needs "
                f"at least {MIN_SCALE_SIDE} (use at most {most} scale{'s' if most > 1 else ''} at this size)"
            )

    def style_blend(self, styles: int) -> tuple[float, ...]:
        """β_s for ``styles`` style images: the normalized ``style_blend_weights``, else equal (1/n)."""
        if self.style_blend_weights is None:
            return (1.0 / styles,) * styles
        if len(self.style_blend_weights) != styles:
            raise ConfigError(
                f"{len(self.style_blend_weights)} style blend weights given for {styles} style image(s); "
                "give one weight per style"
            )
        return self.style_blend_weights

    def content_terms(self) -> dict[str, float]:
        """The content layers in use and their weights w_i (a zero weight, or a = 0, drops a layer)."""
        return _terms(self.content_layers, self.content_layer_weights, self.content_weight)

    def style_terms(self) -> dict[str, float]:
        """The style layers in use and their weights z_i (a zero weight, or b = 0, drops a layer)."""
        return _terms(self.style_layers, self.style_layer_weights, self.style_weight)

    def layers_in_use(self) -> tuple[str, ...]:
        """Every layer the feature model must output, content and style, without repeats."""
        return tuple(dict.fromkeys([*self.content_terms(), *self.style_terms()]))

    @property
    def effective_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        if self.normalization == "paper" and self.optimizer == "sgd":
            return PAPER_LEARNING_RATE
        return DEFAULT_LEARNING_RATES[self.optimizer]

    def override(self, **changes: Any) -> StyleConfig:
        """A copy with ``changes`` applied. New layers without new weights get equal weights (``None``)."""
        for kind in ("content", "style"):
            if f"{kind}_layers" in changes and f"{kind}_layer_weights" not in changes:
                changes[f"{kind}_layer_weights"] = None
        return super().override(**changes)


def _terms(layers: Sequence[str], weights: Sequence[float] | None, scale: float) -> dict[str, float]:
    if scale == 0 or not layers:
        return {}
    if weights is None:
        weights = [1.0 / len(layers)] * len(layers)
    return {name: w for name, w in zip(layers, weights) if w != 0}


PRESETS: dict[str, StyleConfig] = {
    # The field defaults. b = 2.5e-3: at 256 and 512 px the result reaches the TF tutorial's 1,000-step
    # style distance while keeping more of the photo (tools/bench/results/runs_a_c.md). precision "auto": bfloat16
    # where the CPU has it (about 4x faster steps here, the same picture). One scale: coarse-to-fine
    # lost content for the time it saved.
    "default": StyleConfig(),
    # Yu & Chang: conv1_2, conv3_3, conv5_3 for both losses (equal weights), a=1, b=10, plain sums,
    # gradient descent from the content image; the content loss against the style image's activations,
    # as printed (CL_i = Σ(A_i − B_i), B the style image; Figure 5); float32 everywhere, as published.
    "paper": StyleConfig(
        content_target="style",
        content_layers=PAPER_LAYERS,
        style_layers=PAPER_LAYERS,
        style_layer_weights=None,
        content_weight=1.0,
        style_weight=10.0,
        normalization="paper",
        init="content",
        optimizer="sgd",
        iterations=200,
        precision="float32",
    ),
    # Gatys et al. 2016: style conv1_1..conv5_1, content conv4_2, white noise, L-BFGS; float32.
    "gatys": StyleConfig(
        content_layers=GATYS_CONTENT_LAYERS,
        style_layers=GATYS_STYLE_LAYERS,
        content_weight=1.0,
        style_weight=1e-4,
        init="noise",
        optimizer="lbfgs",
        iterations=300,
        precision="float32",
    ),
}

# What each preset is, for the command lines' --preset.
PRESET_NOTES = {
    "default": "the paper's layers, tuned for a good image in few iterations",
    "paper": "Yu & Chang as printed (conv1_2, conv3_3, conv5_3; a=1, b=10; plain sums; content loss to the style image; gradient descent)",
    "gatys": "Gatys et al. (style conv1_1..conv5_1, content conv4_2; noise start; L-BFGS)",
}


def preset(name: str) -> StyleConfig:
    """The preset called ``name`` (``default``, ``paper`` or ``gatys``)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {shown(name)}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]
