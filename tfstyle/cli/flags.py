"""The settings flags, generated from the fields of the settings dataclasses (:data:`SETTINGS_CLASSES`:
:class:`tfstyle.StyleConfig`, :class:`tfstyle.VideoConfig` for the video command, :class:`tfstyle.TrainConfig`
for the training command), and the one way back.

Each field becomes a flag of its name (or its metadata's ``flag``: ``tile_size`` is ``--tile``)
whose help, choices and bounds are the field's (:meth:`tfstyle.settings.Settings.settings`): a
number out of its bounds fails when the flags are parsed, in the words the settings use. A
:class:`~tfstyle.StyleConfig` flag defaults to the ``default`` preset's value and, given on the
command line, overrides the ``--preset``; the others leave the preset's value. Another settings class's flags default to its fields' defaults
(:func:`define_fields`, :func:`settings_from_flags`). Messages and help texts name settings (and
library arguments) in backticks; :func:`flag_text` writes them as flags.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from absl import flags

from tfstyle.clips.config import VideoConfig
from tfstyle.config import PRESET_NOTES, PRESETS, StyleConfig, preset
from tfstyle.settings import POSITIVE, Bounds, Setting, Settings, shown
from tfstyle.training.config import TrainConfig

flags.disclaim_key_flags()  # the flags defined here belong to the command module that asks for them

S = typing.TypeVar("S", bound=Settings)
N = typing.TypeVar("N", int, float)
SETTINGS_CLASSES: tuple[type[Settings], ...] = (StyleConfig, VideoConfig, TrainConfig)  # every settings class; no flag in two


def fields_of(of: type[Settings]) -> dict[str, Setting]:
    """The settings fields of ``of`` (one of :data:`SETTINGS_CLASSES`) as it describes them, by name."""
    return of.settings()


FIELDS: dict[str, Setting] = fields_of(StyleConfig)
_ALL_FIELDS = {name: described for of in SETTINGS_CLASSES for name, described in fields_of(of).items()}


def flag_name(field: str) -> str:
    """The flag of the setting ``field`` (of any settings class, without ``--``)."""
    return _ALL_FIELDS[field].flag


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


# --- parsers whose errors say what is wrong in words ---------------------------------------------------


class OutOfBounds(ValueError):
    """A flag's number out of its bounds; the message reads after the flag (``must be 0 or more, got -1``),
    as :class:`~tfstyle.cli.command.Command` prints it."""


UNBOUNDED = Bounds()  # a number flag with no bounds (Bounds is frozen: one serves all)


class _Number(flags.FloatParser):
    """A number within ``bounds`` (or ``off``, which means None)."""

    def __init__(self, bounds: Bounds = UNBOUNDED, off: float | None = None) -> None:
        super().__init__()
        self.bounds, self.off = bounds, off
        self.syntactic_help = ", ".join(filter(None, ["a number", bounds.text(whole=False)]))

    def convert(self, argument: int | float | str) -> float:
        try:
            return super().convert(argument)
        except (TypeError, ValueError):
            raise ValueError(f"{argument!r} is not a number") from None

    def parse(self, argument: int | float | str) -> float:
        value = self.convert(argument)
        if value != self.off and value not in self.bounds:
            off = f" (or {self.off:g}: off)" if self.off is not None else ""
            raise OutOfBounds(f"must be {self.bounds.text(whole=False)}{off}, got {shown(value)}")
        return value


class _WholeNumber(flags.IntegerParser):
    """A whole number within ``bounds`` (or ``off``, which means None)."""

    def __init__(self, bounds: Bounds = UNBOUNDED, off: int | None = None) -> None:
        super().__init__()
        self.bounds, self.off = bounds, off
        text = bounds.text(whole=True)
        self.syntactic_help = text if text == POSITIVE else ", ".join(filter(None, ["a whole number", text]))

    def convert(self, argument: int | str) -> int:
        try:
            return super().convert(argument)
        except (TypeError, ValueError):
            raise ValueError(f"{argument!r} is not a whole number") from None

    def parse(self, argument: int | str) -> int:
        value = self.convert(argument)
        if value != self.off and value not in self.bounds:
            off = f" (or {self.off}: off)" if self.off is not None else ""
            raise OutOfBounds(f"must be {self.bounds.text(whole=True)}{off}, got {shown(value)}")
        return value


def define_number(
    values: flags.FlagValues, name: str, default: float | None, help: str, whole: bool, bounds: Bounds, **kwargs: Any
) -> flags.FlagHolder[Any]:
    """Define ``--name``, a whole number (``whole``) or a number within ``bounds``, on ``values``:
    a value out of them fails as the flags are parsed. ``kwargs``: absl's (``required``)."""
    parser = _WholeNumber(bounds) if whole else _Number(bounds)
    return flags.DEFINE(parser, name, default, help, values, flags.ArgumentSerializer(), **kwargs)


class _List(flags.ArgumentParser[list[N]]):
    """A comma-separated list (absl's list parser reads the strings), each item read by ``item``;
    ``kind`` names the items in absl's listing (``numbers``)."""

    syntactic_help = "a comma separated list"

    def __init__(self, item: Callable[[str], N], kind: str) -> None:
        self.item: Callable[[str], N] = item
        self.kind = kind

    def parse(self, argument: str | list[str]) -> list[N]:
        return [self.item(text) for text in flags.ListParser().parse(argument)]

    def flag_type(self) -> str:
        return f"comma separated list of {self.kind}"


class _ListSerializer(flags.ArgumentSerializer[list[N]]):
    """A list's value back to its flag's text, each item written by ``item``."""

    def __init__(self, item: Callable[[N], str]) -> None:
        self.item: Callable[[N], str] = item

    def serialize(self, value: list[N]) -> str:
        return ",".join(self.item(x) for x in value)


def _number_text(x: float) -> str:
    """A number in its short form (``1e+06``, not ``1000000.0``) where that reads back the same, else in full."""
    return format(x, "g") if float(format(x, "g")) == x else repr(x)


# --- flags from fields, and back -------------------------------------------------------------------


def to_flag(field: str, value: Any) -> Any:
    """A setting's value as its flag holds it (a list for a tuple; ``off`` for ``None``)."""
    if value is None:
        return _ALL_FIELDS[field].off
    return list(value) if isinstance(value, tuple) else value


def from_flag(field: str, value: Any) -> Any:
    """A flag's value as the setting takes it (a tuple for a list; ``None`` for ``off``)."""
    off = _ALL_FIELDS[field].off
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


def define_fields(values: flags.FlagValues, of: type[Settings], fields: Iterable[str] | None = None) -> list[str]:
    """Define one flag per field of ``fields`` (default: every field) of the settings class ``of``
    (not :class:`~tfstyle.StyleConfig`, whose flags :func:`define_settings` defines with ``--preset``)
    on ``values``, each defaulting to the field's default. Returns the flag names."""
    defaults = of()
    names = fields_of(of) if fields is None else fields
    return [_define(values, field, to_flag(field, getattr(defaults, field)), None) for field in names]


def _define(values: flags.FlagValues, field: str, default: Any, narrowed: Sequence[str] | None) -> str:
    described = _ALL_FIELDS[field]
    name, kind, help_ = described.flag, described.kind, flag_text(described.help)
    if described.off is not None:
        help_ += f" {described.off}: off."
    closed = narrowed or (described.choices if not described.other else ())
    if closed:
        flags.DEFINE_enum(name, default, list(closed), help_, flag_values=values)
    elif kind is bool:
        flags.DEFINE_boolean(name, default, help_, flag_values=values)
    elif described.many and kind is float:
        flags.DEFINE(_List(_Number().convert, "numbers"), name, default, help_, values, _ListSerializer(_number_text))
    elif described.many and kind is int:
        flags.DEFINE(_List(_WholeNumber().convert, "whole numbers"), name, default, help_, values, _ListSerializer[int](str))
    elif described.many:
        flags.DEFINE_list(name, default, help_, flag_values=values)
    elif kind is int:
        flags.DEFINE(_WholeNumber(described.bounds, described.off), name, default, help_, values, flags.ArgumentSerializer())
    elif kind is float:
        flags.DEFINE(_Number(described.bounds, described.off), name, default, help_, values, flags.ArgumentSerializer())
    else:
        flags.DEFINE_string(name, default, help_, flag_values=values)
    return name


def value_hint(field: str, narrowed: Sequence[str] | None = None) -> str:
    """What ``--flag=`` takes, for the help: its choices, its unit, or its kind (``""`` for a switch)."""
    described = _ALL_FIELDS[field]
    choices, other = described.choices, described.other
    if narrowed or choices:
        return "|".join([*(narrowed or choices), *([other] if other and not narrowed else [])])
    if described.unit:
        return described.unit.upper()
    if described.many:
        return {int: "N,...", float: "NUMBER,..."}.get(described.kind, "NAME,...")
    return {bool: "", int: "N", float: "NUMBER"}.get(described.kind, other or "TEXT")


def config_from_flags(values: flags.FlagValues = flags.FLAGS) -> StyleConfig:
    """The ``--preset`` with every settings flag given on the command line applied on top: the one
    way from flags to a :class:`StyleConfig`, for every command."""
    changes = {
        field: from_flag(field, values[name].value)
        for name, field in SETTING_FLAGS.items()
        if name in values and values[name].present
    }
    return preset(values.preset).override(**changes)


def settings_from_flags(values: flags.FlagValues, of: type[S]) -> S:
    """The settings class ``of`` (defined by :func:`define_fields`) with every one of its flags given
    on the command line applied over its defaults."""
    changes = {
        field: from_flag(field, values[flag_name(field)].value)
        for field in fields_of(of)
        if flag_name(field) in values and values[flag_name(field)].present
    }
    return of(**changes)
