"""The settings base (tfstyle/settings.py): validation generated from each field's setting() metadata
(kind, choices, bounds), override, to_dict/from_dict, and the one field introspection the flags and
the web page read; on a small class of its own (as a third settings class would be) and on
StyleConfig and VideoConfig."""

from __future__ import annotations

import dataclasses
import json
import math
import random
import subprocess
import sys
from dataclasses import dataclass

import pytest

from tfstyle.clips.config import VideoConfig
from tfstyle.config import PRESETS, StyleConfig, preset
from tfstyle.errors import ConfigError
from tfstyle.settings import GROUPS, KINDS, Bounds, Settings, setting, shown

HUGE = 10**400  # a whole number no float holds


@dataclass(frozen=True)
class Training(Settings):
    """A settings class as a new capability declares one: fields with setting(), nothing else."""

    mode: str = setting("fast", "How to train.", "training", choices=("fast", "slow"))
    data: str = setting("coco", "The data set: coco or a folder.", "training", choices=("coco",), other="FOLDER")
    steps: int = setting(100, "Training steps.", "training", minimum=1)
    warmup: int | None = setting(None, "Steps of warm-up.", "training", minimum=0)
    rate: float = setting(1e-3, "Learning rate.", "fast stylizer", above=0)
    mix: float = setting(0.5, "A blend.", "fast stylizer", minimum=0, maximum=1)
    shuffle: bool | None = setting(None, "Shuffle the data.", "training")
    weights: tuple[float, ...] = setting((1.0, 2.0), "One weight per layer.", "fast stylizer", minimum=0)
    sizes: tuple[int, ...] = setting((256,), "Training sizes.", "training", unit="pixels", minimum=1)
    layers: tuple[str, ...] = setting(("a",), "Layers.", "fast stylizer")
    device: str | None = setting(None, "Where to train.", "speed", other="DEVICE")


@dataclass(frozen=True)
class Checked(Settings):
    low: int = setting(1, "Low end.", "training", minimum=0)
    high: int = setting(2, "High end.", "training", minimum=0)

    def cross_check(self) -> None:
        if self.low > self.high:
            raise ConfigError(f"`low` {self.low} is above `high` {self.high}")


# --- setting() and the introspection ---------------------------------------------------------------


def test_a_new_settings_class_needs_only_its_fields():
    assert Training() == Training(steps=100)
    described = Training.settings()
    assert list(described) == [field.name for field in dataclasses.fields(Training)]
    steps, sizes, warmup = described["steps"], described["sizes"], described["warmup"]
    assert (steps.kind, steps.many, steps.optional, steps.bounds) == (int, False, False, Bounds(1))
    assert (sizes.kind, sizes.many, sizes.unit, sizes.group) == (int, True, "pixels", "training")
    assert warmup.optional and warmup.default is None and warmup.bounds == Bounds(0)
    assert described["rate"].bounds == Bounds(0, above=True) and described["mix"].bounds == Bounds(0, 1)
    assert (described["data"].choices, described["data"].other) == (("coco",), "FOLDER")
    assert described["shuffle"].kind is bool and described["device"].flag == "device"


def test_every_field_of_every_settings_class_is_described():
    for of in (StyleConfig, VideoConfig, Training):
        for name, described in of.settings().items():
            assert described.kind in KINDS and described.group in GROUPS, (of, name)
            assert described.help.strip().endswith("."), (of, name)
            if described.kind in (int, float) and of is not Training:
                assert described.bounds != Bounds() or name == "seed", f"{of.__name__}.{name} has no bounds"


def test_the_bounds_are_in_the_metadata_beside_help_and_choices():
    fields = {field.name: field for field in dataclasses.fields(StyleConfig)}
    assert fields["iterations"].metadata["bounds"] == Bounds(1)
    assert fields["learning_rate"].metadata["bounds"] == Bounds(0, above=True)
    assert fields["noise_blend"].metadata["bounds"] == Bounds(0, 1)
    assert StyleConfig.settings()["tile_size"].flag == "tile" and StyleConfig.settings()["tile_size"].off == 0


def test_setting_refuses_an_unknown_group_and_two_minimums():
    assert {"training", "fast stylizer"} <= set(GROUPS)
    with pytest.raises(ValueError, match="unknown group"):
        setting(1, "Help.", "nowhere")
    with pytest.raises(ValueError, match="not both"):
        setting(1, "Help.", "training", minimum=0, above=0)


def test_a_field_of_another_kind_or_without_setting_is_refused_when_described():
    @dataclass(frozen=True)
    class Odd(Settings):
        pairs: list[int] | None = setting(None, "Pairs.", "training")

    @dataclass(frozen=True)
    class Bare(Settings):
        size: int = 3

    with pytest.raises(TypeError, match="Odd.pairs"):
        Odd()
    with pytest.raises(TypeError, match="declare it with setting"):
        Bare()


# --- validation from the metadata -----------------------------------------------------------------


@pytest.mark.parametrize(
    "change, message",
    [
        ({"mode": "medium"}, "unknown `mode` 'medium'; choose one of: fast, slow"),
        ({"data": ""}, "`data` must be one of coco or a folder, got ''"),
        ({"data": 3}, "`data` must be one of coco or a folder, got 3"),
        ({"device": ""}, "`device` must be a device, got ''"),
        ({"steps": 0}, "`steps` must be a positive whole number, got 0"),
        ({"steps": 2.5}, "`steps` must be a positive whole number, got 2.5"),
        ({"steps": True}, "`steps` must be a positive whole number, got True"),
        ({"steps": None}, "`steps` must be a positive whole number, got None"),
        ({"warmup": -1}, "`warmup` must be 0 or more, got -1"),
        ({"warmup": 1.5}, "`warmup` must be a whole number, got 1.5"),
        ({"rate": 0}, "`rate` must be greater than 0, got 0"),
        ({"rate": "fast"}, "`rate` must be a number, got 'fast'"),
        ({"rate": math.nan}, "`rate` must be a finite number, got nan"),
        ({"rate": math.inf}, "`rate` must be a finite number, got inf"),
        ({"mix": 1.5}, "`mix` must be between 0 and 1, got 1.5"),
        ({"mix": -0.1}, "`mix` must be between 0 and 1, got -0.1"),
        ({"shuffle": "yes"}, "`shuffle` must be True, False or None, got 'yes'"),
        ({"weights": (1.0, -1.0)}, "each of `weights` must be at least 0, got -1"),
        ({"weights": (1.0, "heavy")}, "each of `weights` must be a number, got 'heavy'"),
        ({"weights": 3.0}, "`weights` must be a list, got 3"),
        ({"sizes": (256, 0)}, "each of `sizes` must be a positive whole number, got 0"),
        ({"sizes": (2.5,)}, "each of `sizes` must be a positive whole number, got 2.5"),
        ({"layers": ("a", 5)}, "each of `layers` must be a text, got 5"),
    ],
)
def test_each_kind_is_checked_from_the_metadata_in_one_line_naming_the_setting(change, message):
    with pytest.raises(ConfigError) as err:
        Training(**change)
    assert str(err.value) == message


def test_lists_become_tuples_of_their_kind_and_text_is_split_at_commas():
    settings = Training(weights=[1, "0.5"], sizes="128, 256", layers="a,b", warmup=0, mix=1)
    assert settings.weights == (1.0, 0.5) and all(isinstance(w, float) for w in settings.weights)
    assert settings.sizes == (128, 256) and all(isinstance(s, int) for s in settings.sizes)
    assert settings.layers == ("a", "b") and (settings.warmup, settings.mix) == (0, 1)


def test_the_rules_across_fields_run_after_each_fields_own():
    assert Checked(low=2, high=2).low == 2
    with pytest.raises(ConfigError, match="`low` 3 is above `high` 2"):
        Checked(low=3)
    with pytest.raises(ConfigError, match="`low` must be 0 or more"):
        Checked(low=-1, high=-2)  # the field's own rule first


def test_a_huge_whole_number_is_a_clear_config_error_never_an_overflow():
    assert StyleConfig(iterations=HUGE).iterations == HUGE  # no maximum: any whole number
    assert StyleConfig(image_size=HUGE, scales=3).scales == 3
    with pytest.raises(ConfigError, match=r"^`style_weight` must be a finite number, got 1e\+400$"):
        StyleConfig(style_weight=HUGE)
    with pytest.raises(ConfigError, match=r"^`noise_blend` must be a finite number, got 1e\+400$"):
        StyleConfig(noise_blend=HUGE)
    with pytest.raises(ConfigError, match=r"^each of `style_blend_weights` must be a finite number, got 1e\+400$"):
        StyleConfig(style_blend_weights=(1, HUGE))
    with pytest.raises(ConfigError, match=r"^`iterations` must be a positive whole number, got -1e\+5000$"):
        StyleConfig(iterations=-(10**5000))  # too long even to write out in full
    with pytest.raises(ConfigError, match=r"`scales` 1e\+400 at `image_size` 512 would start at under a pixel"):
        StyleConfig(scales=HUGE, iterations=HUGE)


def test_shown_writes_numbers_as_g_does():
    assert [shown(v) for v in (0, -1, 2.5, 1e-9, HUGE, -3 * 10**20, True, "x")] == [
        "0", "-1", "2.5", "1e-09", "1e+400", "-3e+20", "True", "'x'",
    ]  # fmt: skip
    assert len(shown("x" * 1000)) == 60


@pytest.mark.parametrize(
    "bounds, whole, text",
    [
        (Bounds(1), True, "a positive whole number"),
        (Bounds(0), True, "0 or more"),
        (Bounds(0), False, "at least 0"),
        (Bounds(0, above=True), False, "greater than 0"),
        (Bounds(0, 65535), True, "from 0 to 65535"),
        (Bounds(0, 1), False, "between 0 and 1"),
        (Bounds(None, 8), False, "at most 8"),
        (Bounds(), False, ""),
    ],
)
def test_bounds_say_what_a_value_must_be(bounds, whole, text):
    assert bounds.text(whole) == text


def test_bounds_contain_their_ends_unless_above():
    assert 0 in Bounds(0) and 0 not in Bounds(0, above=True) and 1 in Bounds(0, 1) and 1.01 not in Bounds(0, 1)
    assert HUGE in Bounds(1) and HUGE not in Bounds(1, 1000) and -HUGE not in Bounds(0)


# --- override, to_dict, from_dict ------------------------------------------------------------------


@pytest.mark.parametrize("of", [StyleConfig, VideoConfig, Training])
def test_override_refuses_unknown_names_and_validates(of):
    with pytest.raises(ConfigError, match=rf"^unknown setting\(s\) of {of.__name__}: colour, size$"):
        of().override(size=3, colour="blue")
    first = next(iter(of.settings()))
    with pytest.raises(ConfigError, match=f"`{first}`"):
        of().override(**{first: object()})


CONFIGS = [
    *PRESETS.values(),
    preset("gatys").override(style_layers=("conv1_1", "conv2_1"), style_layer_weights=(0.3, 0.7), tile_size=128, tile_overlap=0),
    StyleConfig(style_blend_weights=(1, 3), preserve_colors="histogram", jit=False, learning_rate=0.5, device="CPU:0"),
    VideoConfig(),
    VideoConfig(lookback=(1, 8), passes=3, later_learning_rate=0.1, first_frame_iterations=7),
    Training(warmup=4, shuffle=True, sizes=(64, 128)),
]


@pytest.mark.parametrize("settings", CONFIGS, ids=lambda c: type(c).__name__)
def test_to_dict_is_plain_json_and_from_dict_gives_the_same_settings(settings):
    values = settings.to_dict()
    assert list(values) == list(type(settings).settings())
    replayed = type(settings).from_dict(json.loads(json.dumps(values)))
    assert replayed == settings
    assert replayed.to_dict() == values


def test_blend_weights_replay_exactly_once_normalized():
    rng = random.Random(0)
    for _ in range(200):
        config = StyleConfig(style_blend_weights=[rng.random() for _ in range(rng.randint(2, 5))])
        assert math.isclose(sum(config.style_blend_weights), 1.0, rel_tol=1e-12)
        assert StyleConfig.from_dict(config.to_dict()) == config == config.override(iterations=3).override(iterations=50)


def test_the_default_configs_dict_replays_to_the_default_config():
    assert StyleConfig.from_dict(StyleConfig().to_dict()) == StyleConfig() == preset("default")
    assert StyleConfig.from_dict({}) == StyleConfig()  # a setting left out keeps its default
    assert StyleConfig.from_dict({"iterations": 7}) == StyleConfig(iterations=7)


def test_from_dict_refuses_unknown_names_and_what_is_no_mapping():
    with pytest.raises(ConfigError, match=r"^unknown setting\(s\) of StyleConfig: brush$"):
        StyleConfig.from_dict({**StyleConfig().to_dict(), "brush": 3})
    with pytest.raises(ConfigError, match="must be a mapping"):
        VideoConfig.from_dict([("passes", 2)])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="`passes` must be a positive whole number, got 0"):
        VideoConfig.from_dict({"passes": 0})


@pytest.mark.slow
def test_settings_imports_no_tensorflow():
    code = "import sys, tfstyle.settings, tfstyle.clips.config; assert 'tensorflow' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60).returncode == 0
