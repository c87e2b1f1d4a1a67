"""The page's settings: described from :class:`tfstyle.StyleConfig`'s fields
(:meth:`~tfstyle.settings.Settings.settings`: help, kind, choices, unit, bounds) for the settings
endpoint, and read back from what the page sends into a config.

Plain Python, no TensorFlow: the explanations, choices, defaults and the rules of each setting are
the config's own, never copied; only the labels, the order and the page's own narrower ranges
(what a run from the page may ask for) live here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tfstyle.config import PRESET_NOTES, PRESETS, StyleConfig, preset
from tfstyle.errors import ConfigError
from tfstyle.settings import shown

_FIELDS = StyleConfig.settings()


@dataclass(frozen=True)
class Control:
    """A setting on the page: the config field ``name``, its ``label``, for numbers the page's own
    range, narrower than the setting's bounds (``None``: the setting's bound on that side), and its
    ``summary`` in plain words (the page shows the config's own help, with its formulas, as more)."""

    name: str
    label: str
    minimum: float | None = None
    maximum: float | None = None
    summary: str = ""


CONTROLS = (
    Control("image_size", "Output size", 32, 2048,
            summary="How large the picture is, along its longest side. Twice the size takes about four times as long."),
    Control("iterations", "Iterations", 1, 1000,
            summary="How many times the picture is refined. More gives a more finished painting, and takes longer."),
    Control("style_weight", "Style strength",
            summary="How much of the painting goes into your photo: subtle keeps the photo clear, strong paints it over."),
    Control("preserve_colors", "Keep the photo's colours",
            summary="Keep your photo's own colours and take only the painting's brushwork."),
    Control("style_scale", "Brush-stroke size", 0.05, 8,
            summary="How large the painting's brush strokes look: below 1 finer, above 1 bolder."),
)  # fmt: skip
_BY_NAME = {control.name: control for control in CONTROLS}
OFF = ""  # what the page sends for an optional setting left off (preserve_colors: None)


def kind(name: str) -> str:
    """``"int"``, ``"float"`` or ``"choice"``: how the page edits the field ``name``."""
    if _FIELDS[name].choices:
        return "choice"
    return "int" if _FIELDS[name].kind is int else "float"


def choices(name: str) -> list[str]:
    """The values the page offers for the field ``name``: its metadata's choices, and :data:`OFF`
    first where a preset leaves it ``None`` (empty for a number)."""
    optional = any(getattr(config, name) is None for config in PRESETS.values())
    listed = list(_FIELDS[name].choices)
    return [OFF, *listed] if listed and optional else listed


def plain(text: str) -> str:
    """A config help or error text for the page: settings named in backticks become their labels
    (```style_scale``` → ``“Brush-stroke size”``), other backticked names lose their backticks."""

    def label(found: re.Match) -> str:
        return f"“{_BY_NAME[found[1]].label}”" if found[1] in _BY_NAME else found[1]

    return re.sub(r"`(\w+)`", label, text)


def describe(default_preset: str = "default") -> dict:
    """What the settings endpoint serves: the presets (each with its note and its values of the
    controls) and the controls (label, summary in plain words, the config's help, kind, choices, unit, range)."""
    controls = []
    for control in CONTROLS:
        field = _FIELDS[control.name]
        low, high = _range(control)
        controls.append({
            "name": control.name,
            "label": control.label,
            "summary": control.summary,
            "help": plain(field.help),
            "kind": kind(control.name),
            "choices": choices(control.name),
            "unit": field.unit,
            "min": low,
            "max": high,
        })  # fmt: skip
    presets = [
        {"name": name, "note": PRESET_NOTES[name], "values": {c.name: _value(getattr(config, c.name)) for c in CONTROLS}}
        for name, config in PRESETS.items()
    ]
    return {"default_preset": default_preset, "presets": presets, "controls": controls}


def _value(value):
    return OFF if value is None else value


def read(settings: Mapping[str, object], blend: Sequence[float], fixed: Mapping[str, object]) -> StyleConfig:
    """The config of a run the page asks for: ``settings`` (``preset`` and the controls' values; a
    control left out keeps the preset's), the paintings' ``blend`` weights, and the server's
    ``fixed`` settings (weights, device) on top. Raises :class:`ConfigError` with a message for the page."""
    if not isinstance(settings, Mapping):
        raise ConfigError("the settings must be an object")
    unknown = set(settings) - {"preset", *_BY_NAME}
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    name = settings.get("preset", "default")
    if not isinstance(name, str) or name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    changes: dict[str, object] = {f: _checked(_BY_NAME[f], value) for f, value in settings.items() if f != "preset"}
    weights = [_weight(w) for w in blend]
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ConfigError("the paintings' weights must be 0 or more, and not all 0")
    changes["style_blend_weights"] = tuple(weights) if len(weights) > 1 else None
    try:
        return preset(name).override(**{**changes, **fixed})
    except ConfigError as err:
        raise ConfigError(plain(str(err))) from None


def _range(control: Control) -> tuple[float | None, float | None]:
    """The range the page offers for a number: its own where it has one, else the setting's bounds."""
    bounds = _FIELDS[control.name].bounds
    low = control.minimum if control.minimum is not None else bounds.minimum
    return low, control.maximum if control.maximum is not None else bounds.maximum


def _checked(control: Control, value: object) -> str | float | int | None:
    """``value`` as the field of ``control`` takes it, within the page's own range (the setting's
    bounds are the config's to check, in its words)."""
    what = f"“{control.label}”"
    if kind(control.name) == "choice":
        offered = choices(control.name)
        if value not in offered:
            raise ConfigError(f"{what} must be one of: {', '.join(c or 'off' for c in offered)}")
        return None if value == OFF else value
    number = _number(what, value)
    if kind(control.name) == "int":
        if isinstance(number, float):
            if not number.is_integer():
                raise ConfigError(f"{what} must be a whole number, got {shown(value)}")
            number = int(number)
    low, high = control.minimum, control.maximum  # a huge int is compared exactly, never made a float
    if (low is not None and number < low) or (high is not None and number > high):
        range_ = f"from {shown(low)} to {shown(high)}" if low is not None and high is not None else (
            f"{shown(low)} or more" if low is not None else f"at most {shown(high)}"
        )
        raise ConfigError(f"{what} must be {range_}, got {shown(number)}")
    return number


def _weight(value: object) -> float:
    """A painting's weight as a float (a whole number too large for one refused)."""
    what = "each painting's weight"
    number = _number(what, value)
    try:
        return float(number)
    except OverflowError:
        raise ConfigError(f"{what} must be a finite number, got {shown(value)}") from None


def _number(what: str, value: object) -> int | float:
    """``value`` if it is a number (an int as it is, however large; a float only if finite)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{what} must be a number, got {shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{what} must be a finite number, got {shown(value)}")
    return value
