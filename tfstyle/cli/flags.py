"""The settings flags, generated from the fields of the settings dataclasses (:data:`SETTINGS_CLASSES`:
:class:`tfstyle.StyleConfig`, and :class:`tfstyle.VideoConfig` for the video command), and the one way back.

Each field becomes a flag of its name (or its metadata's ``flag``: ``tile_size`` is ``--tile``)
whose help and choices are the field's. A :class:`~tfstyle.StyleConfig` flag defaults to the
``default`` preset's value and, given on the command line, overrides the ``--preset``; the others
leave the preset's value. Another settings class's flags default to its fields' defaults
(:func:`define_fields`, :func:`settings_from_flags`). Messages and help texts name settings (and
library arguments) in backticks; :func:`flag_text` writes them as flags.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from absl import flags

from tfstyle.config import PRESET_NOTES, PRESETS, StyleConfig, preset
from tfstyle.video.config import VideoConfig

flags.disclaim_key_flags()  # the flags defined here belong to the command module that asks for them

T = typing.TypeVar("T")
SETTINGS_CLASSES: tuple[type, ...] = (StyleConfig, VideoConfig)  # every dataclass of settings; no flag in two


def fields_of(of: type) -> dict[str, dataclasses.Field]:
    """The settings fields of the dataclass ``of`` (one of :data:`SETTINGS_CLASSES`), by name."""
    return {field.name: field for field in dataclasses.fields(of)}


FIELDS: dict[str, dataclasses.Field] = fields_of(StyleConfig)
_OWNER = {name: of for of in SETTINGS_CLASSES for name in fields_of(of)}  # field → its settings class
_TYPES = {name: typing.get_type_hints(of)[name] for name, of in _OWNER.items()}
_ALL_FIELDS = {name: fields_of(of)[name] for name, of in _OWNER.items()}


def flag_name(field: str) -> str:
    """The flag of the setting ``field`` (of any settings class, without ``--``)."""
    return _ALL_FIELDS[field].metadata["flag"] or field


SETTING_FLAGS: dict[str, str] = {flag_name(name): name for name in FIELDS}  # flag name → field
ALL_SETTING_FLAGS: dict[str, str] = {flag_name(name): name for name in _ALL_FIELDS}  # of every settings class
# Library arguments that are not settings, as messages name them, and the flags that carry them.
ARGUMENT_FLAGS = {"content_dir": "content_dir", "pattern": "content_glob", "list_file": "content_list"}  # find_images


def flag_text(text: str) -> str:
    """``text`` with each setting named in backticks (```image_size```) written as its flag (``--image_size``),
    and each argument of :data:`ARGUMENT_FLAGS` as the flag that carries it (```pattern``` → ``--content_glob``)."""

    def as_flag(found: re.Match[str]) -> str:
        name = found[1]
        if name in _ALL_FIELDS:
            return f"--{flag_name(name)}"
        return f"--{ARGUMENT_FLAGS[name]}" if name in ARGUMENT_FLAGS else found[0]

    return re.sub(r"`(\w+)`", as_flag, text)


def kind(field: str) -> type | tuple[type]:
    """The value type of ``field`` (of any settings class) without ``None``: ``str``, ``int``,
    ``float``, ``bool``, or a one-element tuple ``(str,)`` / ``(float,)`` / ``(int,)`` for a list of them."""
    hint = _TYPES[field]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if typing.get_origin(hint) is tuple:
        return (typing.get_args(hint)[0],)
    return hint


# --- parsers whose errors say what is wrong in words ---------------------------------------------------


class _Number(flags.FloatParser):
    def convert(self, argument: int | float | str) -> float:
        try:
            return super().convert(argument)
        except (TypeError, ValueError):
            raise ValueError(f"{argument!r} is not a number") from None


class _WholeNumber(flags.IntegerParser):
    def convert(self, argument: int | str) -> int:
        try:
            return super().convert(argument)
        except (TypeError, ValueError):
            raise ValueError(f"{argument!r} is not a whole number") from None


class _Numbers(flags.ArgumentParser[list[float]]):
    """A comma-separated list of numbers (absl's list parser reads the strings)."""

    syntactic_help = "a comma separated list"

    def parse(self, argument: str | list[str]) -> list[float]:
        return [_Number().convert(item) for item in flags.ListParser().parse(argument)]

    def flag_type(self) -> str:
        return "comma separated list of numbers"


class _WholeNumbers(flags.ArgumentParser[list[int]]):
    """A comma-separated list of whole numbers."""

    syntactic_help = "a comma separated list"

    def parse(self, argument: str | list[str]) -> list[int]:
        return [_WholeNumber().convert(item) for item in flags.ListParser().parse(argument)]

    def flag_type(self) -> str:
        return "comma separated list of whole numbers"


class _NumbersSerializer(flags.ArgumentSerializer[list[float]]):
    def serialize(self, value: list[float]) -> str:
        return ",".join(format(x, "g") if float(format(x, "g")) == x else repr(x) for x in value)


class _WholeNumbersSerializer(flags.ArgumentSerializer[list[int]]):
    def serialize(self, value: list[int]) -> str:
        return ",".join(str(x) for x in value)


# --- flags from fields, and back -------------------------------------------------------------------


def to_flag(field: str, value: Any) -> Any:
    """A setting's value as its flag holds it (a list for a tuple; ``off`` for ``None``)."""
    if value is None:
        return _ALL_FIELDS[field].metadata["off"]
    return list(value) if isinstance(value, tuple) else value


def from_flag(field: str, value: Any) -> Any:
    """A flag's value as the setting takes it (a tuple for a list; ``None`` for ``off``)."""
    off = _ALL_FIELDS[field].metadata["off"]
    if off is not None and value == off:
        return None
    return tuple(value) if isinstance(value, list) else value


def define_settings(
    values: flags.FlagValues,
    fields: Iterable[str] | None = None,
    choices: Mapping[str, Sequence[str]] | None = None,
    preset_help: str = "",
) -> list[str]:
    """Define ``--preset`` and one flag per field of ``fields`` (default: every field) on ``values``,
    each defaulting to the ``default`` preset's value. ``choices`` narrows a field's choices (and
    makes an open choice, such as ``init``'s image path, a closed one). Returns the flag names."""
    notes = "; ".join(f"{name}: {PRESET_NOTES[name]}" for name in PRESETS)
    help_ = f"The settings to start from; the flags given override them{preset_help}. {notes}."
    flags.DEFINE_enum("preset", "default", list(PRESETS), help_, flag_values=values)
    defaults, choices = preset("default"), choices or {}
    names = ["preset"]
    for field in FIELDS if fields is None else fields:
        names.append(_define(values, field, to_flag(field, getattr(defaults, field)), choices.get(field)))
    return names


def define_fields(values: flags.FlagValues, of: type, fields: Iterable[str] | None = None) -> list[str]:
    """Define one flag per field of ``fields`` (default: every field) of the settings class ``of``
    (not :class:`~tfstyle.StyleConfig`, whose flags :func:`define_settings` defines with ``--preset``)
    on ``values``, each defaulting to the field's default. Returns the flag names."""
    defaults = of()
    names = fields_of(of) if fields is None else fields
    return [_define(values, field, to_flag(field, getattr(defaults, field)), None) for field in names]


def _define(values: flags.FlagValues, field: str, default: Any, narrowed: Sequence[str] | None) -> str:
    meta, name, value_type = _ALL_FIELDS[field].metadata, flag_name(field), kind(field)
    help_ = flag_text(meta["help"])
    if meta["off"] is not None:
        help_ += f" {meta['off']}: off."
    closed = narrowed or (meta["choices"] if not meta["other"] else ())
    if closed:
        flags.DEFINE_enum(name, default, list(closed), help_, flag_values=values)
    elif value_type is bool:
        flags.DEFINE_boolean(name, default, help_, flag_values=values)
    elif value_type is int:
        flags.DEFINE(_WholeNumber(), name, default, help_, values, flags.ArgumentSerializer())
    elif value_type is float:
        flags.DEFINE(_Number(), name, default, help_, values, flags.ArgumentSerializer())
    elif value_type == (float,):
        flags.DEFINE(_Numbers(), name, default, help_, values, _NumbersSerializer())
    elif value_type == (int,):
        flags.DEFINE(_WholeNumbers(), name, default, help_, values, _WholeNumbersSerializer())
    elif value_type == (str,):
        flags.DEFINE_list(name, default, help_, flag_values=values)
    else:
        flags.DEFINE_string(name, default, help_, flag_values=values)
    return name


def value_hint(field: str, narrowed: Sequence[str] | None = None) -> str:
    """What ``--flag=`` takes, for the help: its choices, its unit, or its kind (``""`` for a switch)."""
    meta, value_type = _ALL_FIELDS[field].metadata, kind(field)
    if narrowed or meta["choices"]:
        return "|".join([*(narrowed or meta["choices"]), *([meta["other"]] if meta["other"] and not narrowed else [])])
    if meta["unit"]:
        return meta["unit"].upper()
    hints = {bool: "", int: "N", float: "NUMBER", (float,): "NUMBER,...", (int,): "N,...", (str,): "NAME,..."}
    return hints.get(value_type, meta["other"] or "TEXT")


def config_from_flags(values: flags.FlagValues = flags.FLAGS) -> StyleConfig:
    """The ``--preset`` with every settings flag given on the command line applied on top: the one
    way from flags to a :class:`StyleConfig`, for every command."""
    changes = {
        field: from_flag(field, values[name].value)
        for name, field in SETTING_FLAGS.items()
        if name in values and values[name].present
    }
    return preset(values.preset).override(**changes)


def settings_from_flags(values: flags.FlagValues, of: type[T]) -> T:
    """The settings class ``of`` (defined by :func:`define_fields`) with every one of its flags given
    on the command line applied over its defaults."""
    changes = {
        field: from_flag(field, values[flag_name(field)].value)
        for field in fields_of(of)
        if flag_name(field) in values and values[flag_name(field)].present
    }
    return of(**changes)
