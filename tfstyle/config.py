"""The run configuration: one frozen dataclass, validated on construction, and the presets.

The CLI builds a :class:`StyleConfig` from its flags; library users build one directly, usually
from a preset: ``preset("paper").override(iterations=30)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from tfstyle.errors import ConfigError
from tfstyle.network.vgg16 import POOLINGS, canonical_layer_name

PAPER_LAYERS = ("block1_conv2", "block3_conv3", "block5_conv3")
GATYS_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
GATYS_CONTENT_LAYERS = ("block4_conv2",)

DEFAULT_STYLE_LAYER_WEIGHTS = (1.0, 0.1, 1e6)

INITS = ("content", "noise", "style")
OPTIMIZERS = ("sgd", "adam", "lbfgs")
NORMALIZATIONS = ("mean", "paper")
PRESERVE_COLORS = ("luminance", "histogram")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
MIN_SCALE_SIDE = 64  # coarse-to-fine passes are not made smaller than this (longest side, pixels)

# Learning rates that work with each optimizer at the default loss normalization ("mean").
# L-BFGS needs none: its line search picks the step.
DEFAULT_LEARNING_RATES = {"sgd": 1e-2, "adam": 8.0, "lbfgs": 1.0}
# Plain gradient descent on the paper's plain sums, where a pixel's gradient is ~1e16-1e17 at
# 256-512 px: a step of a few grey levels. Measured here (README); the paper prints no usable value.
PAPER_LEARNING_RATE = 3e-17


@dataclass(frozen=True)
class StyleConfig:
    """Everything that decides the stylized image.

    The field defaults are the ``default`` preset's, except that layer weights default to equal
    and precision to float32 (the same on every machine); ``preset("default")`` adds the tuned style
    layer weights and ``precision="auto"`` (and is what ``stylize`` uses).

    Total = a·Σ_i w_i·CL_i + b·Σ_i z_i·SL_i + tv_weight·TV, where a = ``content_weight``,
    b = ``style_weight``, w_i / z_i = ``content_layer_weights`` / ``style_layer_weights``
    (``None``: equal weights 1/n). Layers accept Keras (``block3_conv3``) or paper (``conv3_3``) names.
    """

    content_layers: tuple[str, ...] = ("block3_conv3",)
    style_layers: tuple[str, ...] = PAPER_LAYERS
    content_layer_weights: tuple[float, ...] | None = None
    style_layer_weights: tuple[float, ...] | None = None
    content_weight: float = 1.0
    style_weight: float = 2.5e-3
    tv_weight: float = 0.0
    normalization: str = "mean"
    init: str = "content"
    optimizer: str = "adam"
    learning_rate: float | None = None
    iterations: int = 50
    image_size: int = 512
    seed: int = 0
    weights: str = "imagenet"
    device: str | None = None
    # --- Creative controls (README "Creative controls"; masks are arguments of stylize) ----------
    # β_s of several style images, normalized to sum to 1 (None: equal): each layer's style target
    # is Σ_s β_s·A_s, or with style masks each style's loss in its region is weighted by β_s.
    style_blend_weights: tuple[float, ...] | None = None
    # The style image's linear size relative to the output: its pixel count is style_scale² times
    # the output's (1: the same). Smaller gives smaller brush strokes.
    style_scale: float = 1.0
    # Keep the content's colours: "luminance" (transfer on luminance only, then the content's
    # chroma) or "histogram" (the style's colours matched to the content's first); None: off.
    preserve_colors: str | None = None
    # VGG16's pooling: "max" (Keras' VGG16) or "avg" (as Gatys et al. used).
    pooling: str = "max"
    # The start image is (1 − t)·init + t·white noise (seeded by ``seed``), t = noise_blend in [0, 1].
    noise_blend: float = 0.0
    # --- Speed (docs/performance.md); none of these changes the objective ----------------------
    # VGG16's arithmetic: "float32", "bfloat16", "float16" (GPUs only) or "auto" (per device, as
    # measured: bfloat16 on CPUs with native bfloat16, else float32). The losses and the image stay float32.
    precision: str = "float32"
    # XLA-compile the step (tf.function(jit_compile=True)); None: per device, as measured (off).
    jit: bool | None = None
    # Coarse-to-fine: optimize at image_size / 2^(scales-1) first, upsample, refine at each doubled
    # size up to image_size. The iterations are split over the passes, each coarser pass getting
    # twice the next finer one's (speed.scale_iterations); 1: a single pass at image_size.
    scales: int = 1
    # --- Large images (README "Resuming and large images") -----------------------------------------
    # Optimize in overlapping tiles of about this many pixels a side (rounded down to a multiple of the
    # deepest layer's stride), the style statistics over the whole image; None: the whole image at once.
    tile_size: int | None = None
    # The tiles' overlap in pixels, across which they are feathered; None: a quarter of the tile.
    tile_overlap: int | None = None

    def __post_init__(self) -> None:
        for kind in ("content", "style"):
            layers = getattr(self, f"{kind}_layers")
            if isinstance(layers, str):
                layers = tuple(name for name in layers.split(",") if name.strip())
            names = tuple(canonical_layer_name(name) for name in layers)
            if len(set(names)) != len(names):
                raise ConfigError(f"{kind} layers are listed twice: {', '.join(layers)}")
            object.__setattr__(self, f"{kind}_layers", names)
            weights = getattr(self, f"{kind}_layer_weights")
            if weights is not None:
                weights = tuple(_to_float(f"{kind} layer weight", w) for w in weights)
                if len(weights) != len(names):
                    raise ConfigError(
                        f"{len(weights)} {kind} layer weights given for {len(names)} {kind} layers "
                        f"({', '.join(names)}); give one weight per layer"
                    )
                for w in weights:
                    _check_number(f"{kind} layer weight", w, minimum=0.0)
                object.__setattr__(self, f"{kind}_layer_weights", weights)
        _check_number("content weight (a)", self.content_weight, minimum=0.0)
        _check_number("style weight (b)", self.style_weight, minimum=0.0)
        _check_number("tv weight", self.tv_weight, minimum=0.0)
        if self.learning_rate is not None:
            _check_number("learning rate", self.learning_rate, minimum=0.0, strict=True)
        _check_int("iterations", self.iterations)
        _check_int("image size", self.image_size)
        _check_choice("normalization", self.normalization, NORMALIZATIONS)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if not isinstance(self.init, str) or not self.init:
            raise ConfigError(f"init must be one of {', '.join(INITS)} or an image path, got {self.init!r}")
        if not self.content_terms() and not self.style_terms():
            raise ConfigError("no loss term is left: every layer weight (or both a and b) is zero")
        self._check_controls()
        self._check_speed()
        self._check_tiles()

    def _check_tiles(self) -> None:
        """Validate the tiling (whether the tile suits the layers is checked when the run starts)."""
        if self.tile_size is not None:
            _check_int("tile size", self.tile_size)
        if self.tile_overlap is not None:
            if isinstance(self.tile_overlap, bool) or not isinstance(self.tile_overlap, int) or self.tile_overlap < 0:
                raise ConfigError(f"tile overlap must be 0 or a positive whole number, got {self.tile_overlap!r}")
            if self.tile_size is None:
                raise ConfigError("a tile overlap needs a tile size")

    def _check_controls(self) -> None:
        """Validate (and normalize the blend weights of) the creative controls."""
        if self.style_blend_weights is not None:
            weights = self.style_blend_weights
            if isinstance(weights, str):
                weights = [w for w in weights.split(",") if w.strip()]
            blend = tuple(_to_float("style blend weight", w) for w in weights)
            for w in blend:
                _check_number("style blend weight", w, minimum=0.0)
            if not blend or sum(blend) <= 0:
                raise ConfigError(f"style blend weights must have a positive sum, got {', '.join(map(str, blend)) or 'none'}")
            object.__setattr__(self, "style_blend_weights", tuple(w / sum(blend) for w in blend))
        _check_number("style scale", self.style_scale, minimum=0.0, strict=True)
        if self.preserve_colors is not None:
            _check_choice("preserve_colors mode", self.preserve_colors, PRESERVE_COLORS)
        _check_choice("pooling", self.pooling, POOLINGS)
        _check_number("noise blend", self.noise_blend, minimum=0.0)
        if self.noise_blend > 1:
            raise ConfigError(f"noise blend must be between 0 and 1, got {self.noise_blend:g}")

    def _check_speed(self) -> None:
        """Validate the speed settings (whether float16 has a GPU is checked when the run starts)."""
        _check_choice("precision", self.precision, PRECISIONS)
        if self.jit is not None and not isinstance(self.jit, bool):
            raise ConfigError(f"jit must be True, False or None (per device), got {self.jit!r}")
        _check_int("scales", self.scales)
        if self.scales > self.iterations:
            raise ConfigError(
                f"{self.scales} scales need at least {self.scales} iterations (one per scale), got {self.iterations}"
            )
        if self.scales > 1 and self.image_size / 2 ** (self.scales - 1) < MIN_SCALE_SIDE:
            most = 1 + max(0, math.floor(math.log2(self.image_size / MIN_SCALE_SIDE)))
            raise ConfigError(
                f"{self.scales} scales at image size {self.image_size} would start at "
                f"{self.image_size / 2 ** (self.scales - 1):g} pixels; the first pass needs at least {MIN_SCALE_SIDE} "
                f"(use at most {most} scale{'s' if most > 1 else ''} at this size)"
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

    def override(self, **changes) -> StyleConfig:
        """A copy with ``changes`` applied. New layers without new weights get equal weights."""
        for kind in ("content", "style"):
            if f"{kind}_layers" in changes and f"{kind}_layer_weights" not in changes:
                changes[f"{kind}_layer_weights"] = None
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)


def _terms(layers: Sequence[str], weights: Sequence[float] | None, scale: float) -> dict[str, float]:
    if scale == 0 or not layers:
        return {}
    if weights is None:
        weights = [1.0 / len(layers)] * len(layers)
    return {name: w for name, w in zip(layers, weights) if w != 0}


def _to_float(what: str, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number, got {value!r}") from None


def _check_number(what: str, value: float, minimum: float, strict: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{what} must be a finite number, got {value!r}")
    if value < minimum or (strict and value == minimum):
        relation = "greater than" if strict else "at least"
        raise ConfigError(f"{what} must be {relation} {minimum:g}, got {value:g}")


def _check_int(what: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{what} must be a positive whole number, got {value!r}")


def _check_choice(what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")


PRESETS: dict[str, StyleConfig] = {
    # Keras' VGG16 is not activation-normalized: at the start, SL_i of conv1_2, conv3_3 and conv5_3
    # are ~1e9, ~1e10 and ~1e2. These z_i make the paper's three layers count about equally.
    # b = 2.5e-3: at 256 and 512 px the result reaches the TF tutorial's 1,000-step style distance
    # while keeping more of the photo (docs/performance.md). precision "auto": bfloat16 where the
    # CPU has it (about 4x faster steps here, the same picture). One scale: coarse-to-fine lost
    # content for the time it saved.
    "default": StyleConfig(style_layer_weights=DEFAULT_STYLE_LAYER_WEIGHTS, precision="auto"),
    # Yu & Chang: conv1_2, conv3_3, conv5_3 for both losses, a=1, b=10, plain sums, gradient descent
    # from the content image.
    "paper": StyleConfig(
        content_layers=PAPER_LAYERS,
        style_layers=PAPER_LAYERS,
        content_weight=1.0,
        style_weight=10.0,
        normalization="paper",
        init="content",
        optimizer="sgd",
        iterations=200,
    ),
    # Gatys et al. 2016: style conv1_1..conv5_1, content conv4_2, white noise, L-BFGS.
    "gatys": StyleConfig(
        content_layers=GATYS_CONTENT_LAYERS,
        style_layers=GATYS_STYLE_LAYERS,
        content_weight=1.0,
        style_weight=1e-4,
        init="noise",
        optimizer="lbfgs",
        iterations=300,
    ),
}


def preset(name: str) -> StyleConfig:
    """The preset called ``name`` (``default``, ``paper`` or ``gatys``)."""
    _check_choice("preset", name, tuple(PRESETS))
    return PRESETS[name]
