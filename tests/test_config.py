"""StyleConfig: validation, presets, override(), and which layers are in use."""

from __future__ import annotations

import dataclasses
import math
import pickle
import subprocess
import sys

import pytest

from tfstyle import config as config_module
from tfstyle.config import DEFAULT_STYLE_LAYER_WEIGHTS, PAPER_LAYERS, PRESETS, StyleConfig, preset
from tfstyle.errors import ConfigError
from tfstyle.settings import GROUPS
from tfstyle.vgg16 import POOLINGS


def test_defaults_validate_and_use_keras_layer_names():
    config = StyleConfig()
    assert PRESETS["default"] == preset("default")
    for name in (*config.content_layers, *config.style_layers):
        assert name.startswith("block") and "_conv" in name


def test_the_field_defaults_are_the_default_preset():
    config = StyleConfig()
    assert config == preset("default")
    assert config.style_layer_weights == (1.0, 0.1, 1e6) and config.precision == "auto"
    for field in dataclasses.fields(StyleConfig):
        assert getattr(config, field.name) == getattr(preset("default"), field.name), field.name


@pytest.mark.slow
def test_config_imports_no_tensorflow():
    code = "import sys, tfstyle.config; assert 'tensorflow' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60).returncode == 0


def test_every_field_says_what_it_is():
    for field in dataclasses.fields(StyleConfig):
        meta = field.metadata
        assert meta["help"].strip().endswith(".") and meta["group"] in GROUPS, field.name
        assert "--" not in meta["help"], f"{field.name}: a setting's help names settings in backticks, not flags"
    choices = {f.name: f.metadata["choices"] for f in dataclasses.fields(StyleConfig)}
    assert choices["optimizer"] is config_module.OPTIMIZERS and choices["init"] is config_module.INITS
    assert choices["precision"] is config_module.PRECISIONS and choices["pooling"] is POOLINGS
    assert choices["normalization"] is config_module.NORMALIZATIONS
    assert choices["preserve_colors"] is config_module.PRESERVE_COLORS


def test_other_layer_sets_need_no_weights_when_built_directly():
    config = StyleConfig(style_layers=("conv1_1", "conv2_1"))
    assert config.style_terms() == {"block1_conv1": 0.5, "block2_conv1": 0.5}
    # Three other layers do not take the weights tuned for the default three either.
    three = StyleConfig(style_layers=("conv1_1", "conv2_1", "conv3_1"))
    assert three.style_layer_weights is None
    assert three.style_terms() == pytest.approx(dict.fromkeys(three.style_layers, 1 / 3))


def test_the_default_layers_keep_the_tuned_weights_and_given_weights_are_kept():
    assert StyleConfig(style_layers=("conv1_2", "conv3_3", "conv5_3")).style_layer_weights == DEFAULT_STYLE_LAYER_WEIGHTS
    given = StyleConfig(style_layers=("conv1_1", "conv2_1", "conv3_1"), style_layer_weights=(1.0, 0.1, 1e6))
    assert given.style_layer_weights == (1.0, 0.1, 1e6)
    assert preset("default").override(style_layers=("conv1_1", "conv2_1"), style_layer_weights=(1.0, 2.0)).style_terms() == {
        "block1_conv1": 1.0, "block2_conv1": 2.0,
    }  # fmt: skip


def test_the_tuned_weights_survive_copies_and_give_way_after_them():
    for copy in (pickle.loads(pickle.dumps(StyleConfig())), StyleConfig(**dataclasses.asdict(StyleConfig()))):
        assert copy == StyleConfig()
        assert dataclasses.replace(copy, style_layers=("conv1_1", "conv2_1", "conv3_1")).style_layer_weights is None


def test_paper_and_gatys_keep_equal_weights_and_float32():
    for name in ("paper", "gatys"):
        assert preset(name).style_layer_weights is None and preset(name).precision == "float32"
    assert preset("paper").style_layers == PAPER_LAYERS


def test_non_numeric_layer_weight_is_a_config_error():
    with pytest.raises(ConfigError, match="must be a number"):
        StyleConfig(style_layer_weights=("heavy", 1, 1))


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        StyleConfig().iterations = 5


def test_presets_default_paper_and_gatys_exist():
    assert set(PRESETS) >= {"default", "paper", "gatys"}
    for name in ("default", "paper", "gatys"):
        assert isinstance(preset(name), StyleConfig)


def test_paper_preset_has_yu_and_changs_settings():
    paper = preset("paper")
    layers = ("block1_conv2", "block3_conv3", "block5_conv3")  # conv1_2, conv3_3, conv5_3
    assert paper.content_layers == layers
    assert paper.style_layers == layers
    assert paper.content_weight == 1.0
    assert paper.style_weight == 10.0
    assert paper.init == "content"
    assert paper.optimizer == "sgd"
    assert paper.normalization == "paper"
    assert paper.content_terms() == pytest.approx({name: 1 / 3 for name in layers})
    assert paper.style_terms() == pytest.approx({name: 1 / 3 for name in layers})


def test_gatys_preset_has_gatys_settings():
    gatys = preset("gatys")
    assert gatys.style_layers == ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
    assert gatys.content_layers == ("block4_conv2",)
    assert gatys.init == "noise"
    assert gatys.optimizer == "lbfgs"


def test_unknown_preset_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError, match="default, paper, gatys"):
        preset("picasso")


# --- layer names and weights -----------------------------------------------------------------------


def test_layers_accept_paper_names_and_a_comma_separated_string():
    config = StyleConfig(content_layers="conv4_2", style_layers="conv1_1, conv2-1,BLOCK3_CONV1", style_layer_weights=None)
    assert config.content_layers == ("block4_conv2",)
    assert config.style_layers == ("block1_conv1", "block2_conv1", "block3_conv1")


def test_unknown_layer_is_a_config_error():
    with pytest.raises(ConfigError, match="valid layers"):
        StyleConfig(style_layers=("conv1_1", "conv7_1"))


@pytest.mark.parametrize("layers", [("conv3_3", "conv3_3"), ("conv3_3", "block3_conv3"), ("conv1_2", "conv1-2")])
def test_a_layer_listed_twice_is_a_config_error(layers):
    with pytest.raises(ConfigError, match="twice"):
        StyleConfig(style_layers=layers)
    with pytest.raises(ConfigError, match="twice"):
        StyleConfig(content_layers=layers)


def test_layer_weights_none_means_equal_weights():
    config = StyleConfig(
        content_layers=("conv4_2",),
        style_layers=("conv1_1", "conv2_1", "conv3_1", "conv4_1"),
        content_layer_weights=None,
        style_layer_weights=None,
    )
    assert config.content_terms() == {"block4_conv2": 1.0}
    assert config.style_terms() == pytest.approx(dict.fromkeys(config.style_layers, 0.25))


def test_explicit_layer_weights_are_kept_per_layer():
    config = StyleConfig(style_layers=("conv1_1", "conv2_1"), style_layer_weights=(0.2, 3))
    assert config.style_terms() == {"block1_conv1": 0.2, "block2_conv1": 3.0}
    assert all(isinstance(w, float) for w in config.style_layer_weights)


@pytest.mark.parametrize("kind", ["content", "style"])
def test_layer_weight_count_must_match_the_layers(kind):
    with pytest.raises(ConfigError, match="one weight per layer"):
        StyleConfig(**{f"{kind}_layers": ("conv1_1", "conv2_1"), f"{kind}_layer_weights": (1.0,)})
    with pytest.raises(ConfigError, match="one weight per layer"):
        StyleConfig(**{f"{kind}_layers": ("conv1_1",), f"{kind}_layer_weights": (1.0, 2.0)})


@pytest.mark.parametrize("bad", [-1.0, -1e-9, math.nan, math.inf])
def test_layer_weights_must_be_finite_and_not_negative(bad):
    with pytest.raises(ConfigError, match="each of `style_layer_weights`"):
        StyleConfig(style_layers=("conv1_1", "conv2_1"), style_layer_weights=(1.0, bad))


def test_zero_weight_layers_are_not_in_use():
    config = StyleConfig(
        content_layers=("conv4_2", "conv5_2"),
        content_layer_weights=(1.0, 0.0),
        style_layers=("conv1_1", "conv3_1", "conv5_1"),
        style_layer_weights=(0.5, 0.0, 0.0),
    )
    assert config.content_terms() == {"block4_conv2": 1.0}
    assert config.style_terms() == {"block1_conv1": 0.5}
    assert config.layers_in_use() == ("block4_conv2", "block1_conv1")


def test_layers_in_use_lists_a_shared_layer_once():
    paper = preset("paper")
    assert paper.layers_in_use() == ("block1_conv2", "block3_conv3", "block5_conv3")


def test_a_equal_zero_drops_every_content_layer():
    config = StyleConfig(content_weight=0.0)
    assert config.content_terms() == {}
    assert config.layers_in_use() == tuple(config.style_terms())
    assert set(config.layers_in_use()) == set(config.style_layers)


def test_b_equal_zero_drops_every_style_layer():
    config = StyleConfig(style_weight=0.0)
    assert config.style_terms() == {}
    assert config.layers_in_use() == config.content_layers


def test_no_layers_for_one_kind_is_allowed():
    config = StyleConfig(content_layers=())
    assert config.content_terms() == {}
    assert config.style_terms()


def test_no_loss_term_left_is_a_config_error():
    with pytest.raises(ConfigError, match="no loss term"):
        StyleConfig(content_weight=0.0, style_weight=0.0)
    with pytest.raises(ConfigError, match="no loss term"):
        StyleConfig(content_layers=(), style_layers=("conv1_1",), style_layer_weights=(0.0,))


# --- scalar settings -------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["content_weight", "style_weight", "tv_weight"])
@pytest.mark.parametrize("bad", [-1.0, math.nan, -math.inf, math.inf, True, "1"])
def test_loss_weights_must_be_finite_and_not_negative(field, bad):
    with pytest.raises(ConfigError):
        StyleConfig(**{field: bad})


@pytest.mark.parametrize("field", ["iterations", "image_size"])
@pytest.mark.parametrize("bad", [0, -1, -512, 2.5, 10.0, True, "100"])
def test_iterations_and_image_size_must_be_positive_whole_numbers(field, bad):
    with pytest.raises(ConfigError, match="positive whole number"):
        StyleConfig(**{field: bad})


def test_one_iteration_and_a_tiny_image_size_are_valid():
    config = StyleConfig(iterations=1, image_size=1)
    assert (config.iterations, config.image_size) == (1, 1)


@pytest.mark.parametrize("bad", [0.0, -0.1, math.nan, math.inf])
def test_learning_rate_must_be_positive_and_finite(bad):
    with pytest.raises(ConfigError, match="`learning_rate`"):
        StyleConfig(learning_rate=bad)


def test_unknown_optimizer_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError, match="sgd, adam, lbfgs"):
        StyleConfig(optimizer="rmsprop")


def test_unknown_normalization_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError, match="mean, paper"):
        StyleConfig(normalization="sum")


@pytest.mark.parametrize("bad", ["", None, 3])
def test_init_must_be_a_non_empty_string(bad):
    with pytest.raises(ConfigError, match="init"):
        StyleConfig(init=bad)


def test_init_may_be_an_image_path():
    assert StyleConfig(init="/some/where/start.png").init == "/some/where/start.png"


def test_effective_learning_rate_depends_on_optimizer_and_normalization():
    assert StyleConfig(optimizer="sgd", learning_rate=0.5).effective_learning_rate == 0.5
    rates = {
        (optimizer, normalization): StyleConfig(optimizer=optimizer, normalization=normalization).effective_learning_rate
        for optimizer in ("sgd", "adam", "lbfgs")
        for normalization in ("mean", "paper")
    }
    assert all(rate > 0 for rate in rates.values())
    # The paper's plain sums have gradients many orders of magnitude larger: SGD needs a far smaller step.
    assert rates[("sgd", "paper")] < rates[("sgd", "mean")] * 1e-3


# --- override --------------------------------------------------------------------------------------


def test_override_returns_a_changed_copy():
    base = preset("paper")
    changed = base.override(iterations=7, style_weight=2.5, optimizer="adam")
    assert (changed.iterations, changed.style_weight, changed.optimizer) == (7, 2.5, "adam")
    assert changed.content_layers == base.content_layers
    assert base.iterations == 200  # the preset itself is untouched
    assert base.override() == base


def test_override_validates_the_result():
    with pytest.raises(ConfigError):
        StyleConfig().override(iterations=0)
    with pytest.raises(ConfigError, match="sgd, adam, lbfgs"):
        StyleConfig().override(optimizer="newton")


def test_override_rejects_unknown_settings():
    with pytest.raises(ConfigError, match="unknown setting.*colour"):
        StyleConfig().override(colour="blue")


def test_override_of_layers_without_weights_resets_to_equal_weights():
    weighted = StyleConfig(style_layers=("conv1_1", "conv2_1"), style_layer_weights=(0.9, 0.1))
    changed = weighted.override(style_layers=("conv3_1", "conv4_1", "conv5_1"))
    assert changed.style_layer_weights is None
    assert changed.style_terms() == pytest.approx(dict.fromkeys(("block3_conv1", "block4_conv1", "block5_conv1"), 1 / 3))


def test_override_of_layers_with_weights_uses_those_weights():
    changed = StyleConfig().override(content_layers=("conv4_2", "conv5_2"), content_layer_weights=(0.3, 0.7))
    assert changed.content_terms() == {"block4_conv2": 0.3, "block5_conv2": 0.7}


def test_override_of_other_settings_keeps_the_layer_weights():
    weighted = StyleConfig(style_layers=("conv1_1", "conv2_1"), style_layer_weights=(0.9, 0.1))
    assert weighted.override(iterations=3).style_layer_weights == (0.9, 0.1)


def test_override_of_weights_alone_must_match_the_existing_layers():
    with pytest.raises(ConfigError, match="one weight per layer"):
        preset("paper").override(style_layer_weights=(1.0, 2.0))
