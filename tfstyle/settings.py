"""Settings dataclasses: every rule of a setting written once, on its field.

A settings class (:class:`tfstyle.StyleConfig`, :class:`tfstyle.VideoConfig`, ...) is a frozen
dataclass deriving from :class:`Settings` whose fields are declared with :func:`setting`: the
default, a help text, a group and, where they apply, the choices, the unit and the bounds. Its kind
(text, whole number, number, switch, a list of them; optional when ``None`` is allowed) is its
annotation's. From these alone :class:`Settings` validates each value on construction, copies with
:meth:`Settings.override`, writes and reads plain values (:meth:`Settings.to_dict`,
:meth:`Settings.from_dict`), and describes each field (:meth:`Settings.settings`) to the command
lines' flag generator (:mod:`tfstyle.cli.flags`) and the web page's controls (:mod:`tfstyle.webpage.controls`).
Rules across fields stay in the class, in :meth:`Settings.cross_check`.

Messages name settings in backticks (```iterations```); the command lines print them as flags.
Plain Python: no TensorFlow here.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from tfstyle.errors import ConfigError

# The groups the settings (and the command lines' own flags) are listed in, in this order.
GROUPS = (
    "inputs and output",
    "the loss",
    "the optimizer",
    "creative controls",
    "speed",
    "large images and resuming",
    "training",
    "fast stylizer",
)
KINDS = (str, int, float, bool)  # what a field (or each item of a tuple field) may hold

POSITIVE = "a positive whole number"

T = TypeVar("T")
S = TypeVar("S", bound="Settings")


@dataclass(frozen=True)
class Bounds:
    """Where a number (or each number of a list) must lie: ``minimum`` (itself allowed, unless
    ``above``) and ``maximum`` (allowed); ``None``: no bound on that side."""

    minimum: float | None = None
    maximum: float | None = None
    above: bool = False  # the minimum itself is out: greater than it

    def __contains__(self, value: float) -> bool:
        low, high = self.minimum, self.maximum
        if low is not None and (value < low or (self.above and value == low)):
            return False
        return high is None or value <= high

    def text(self, whole: bool) -> str:
        """What a value must be, after "must be": ``a positive whole number``, ``0 or more``,
        ``at least 0``, ``greater than 0``, ``from 0 to 65535``, ``between 0 and 1``, ... (``""``: anything)."""
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            if self.above:
                return f"greater than {shown(low)} and at most {shown(high)}"
            return f"from {shown(low)} to {shown(high)}" if whole else f"between {shown(low)} and {shown(high)}"
        if low is not None:
            if self.above:
                return f"greater than {shown(low)}"
            if whole and low == 1:
                return POSITIVE
            return f"{shown(low)} or more" if whole else f"at least {shown(low)}"
        return f"at most {shown(high)}" if high is not None else ""


def bounds(minimum: float | None = None, above: float | None = None, maximum: float | None = None) -> Bounds:
    """The :class:`Bounds` that :func:`setting`'s (and a command's own number flag's) keywords say."""
    if minimum is not None and above is not None:
        raise ValueError("give minimum (allowed) or above (not allowed), not both")
    return Bounds(above if above is not None else minimum, maximum, above=above is not None)


def setting(
    default: T,
    help: str,
    group: str,
    choices: Sequence[str] = (),
    unit: str | None = None,
    other: str | None = None,
    flag: str | None = None,
    off: Any = None,
    *,
    minimum: float | None = None,
    above: float | None = None,
    maximum: float | None = None,
) -> T:
    """A settings field: ``default`` plus what a user reads about it and the rules it keeps. Typed
    as its default, as :func:`dataclasses.field` is, so that the field's annotation holds.

    ``help``: one or two sentences (other settings in backticks); ``group``: one of :data:`GROUPS`;
    ``choices``: the values it takes; ``other``: what else it takes besides them (``"PATH"``);
    ``unit``: of a number (``"pixels"``). Bounds of a number (or of each number of a list):
    ``minimum`` (allowed) or ``above`` (greater than it), and ``maximum`` (allowed). For the
    command lines: ``flag``, the flag's name if not the field's, and ``off``, the flag value that
    means ``None``.
    """
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}; add it to GROUPS")
    metadata = {"help": help, "group": group, "choices": tuple(choices), "unit": unit, "other": other, "flag": flag,
                "off": off, "bounds": bounds(minimum, above, maximum)}  # fmt: skip
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Setting:
    """One field of a settings class, as the flags, the page and the validation read it."""

    name: str
    kind: type  # str, int, float or bool: of the value, or of each item when ``many``
    many: bool  # a tuple of them (a list or comma-separated text is taken too)
    optional: bool  # None allowed
    default: Any
    help: str
    group: str
    choices: tuple[str, ...]
    other: str | None  # what else it takes besides the choices ("PATH")
    unit: str | None
    bounds: Bounds
    flag: str  # the command lines' flag name
    off: Any  # the flag value that means None

    def checked(self, value: Any) -> Any:
        """``value`` as the field holds it (a tuple for a list), or :class:`ConfigError` naming the setting."""
        if value is None and self.optional:
            return None
        if not self.many:
            return self._item(f"`{self.name}`", value, convert=False)
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (tuple, list)):
            raise ConfigError(f"`{self.name}` must be a list, got {shown(value)}")
        items = tuple(self._item(f"each of `{self.name}`", item, convert=True) for item in value)
        # A tuple that needed no change stays itself (a tuple subclass keeps what it marks).
        return value if isinstance(value, tuple) and all(a is b for a, b in zip(items, value)) else items

    def _item(self, what: str, value: Any, convert: bool) -> Any:
        """One value of :attr:`kind`; ``convert``: also from text (a list's items), and a whole float to int."""
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{what} must be True, False{' or None' if self.optional else ''}, got {shown(value)}")
            return value
        if self.kind is str:
            return self._text(what, value)
        whole = self.kind is int
        number = _as_number(value, whole, convert)
        if number is None:
            positive = self.bounds.text(whole=True) == POSITIVE
            wanted = POSITIVE if whole and positive else "a whole number" if whole else "a number"
            raise ConfigError(f"{what} must be {wanted}, got {shown(value)}")
        if not whole and not _finite(number):
            raise ConfigError(f"{what} must be a finite number, got {shown(value)}")
        if number not in self.bounds:
            raise ConfigError(f"{what} must be {self.bounds.text(whole)}, got {shown(number)}")
        return float(number) if convert and not whole else number

    def _text(self, what: str, value: Any) -> str:
        if self.choices and not self.other:
            if value not in self.choices:
                raise ConfigError(f"unknown {what} {shown(value)}; choose one of: {', '.join(self.choices)}")
            return value
        if not isinstance(value, str) or not value:
            wanted = [*self.choices, f"a {self.other.lower()}" if self.other else "a text"]
            alternatives = f"one of {', '.join(wanted[:-1])} or {wanted[-1]}" if self.choices else wanted[-1]
            raise ConfigError(f"{what} must be {alternatives}, got {shown(value)}")
        return value


def _as_number(value: Any, whole: bool, convert: bool) -> int | float | None:
    """``value`` if it is a whole number (``whole``) or a number, else None; with ``convert``, also
    from text, and a whole float as an int."""
    if convert and isinstance(value, str):
        try:
            value = int(value) if whole else float(value)
        except ValueError:
            return None
    if convert and whole and isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
        return None
    return value


def _finite(number: float) -> bool:
    try:
        return math.isfinite(number)
    except OverflowError:  # an int too large for a float
        return False


def shown(value: object) -> str:
    """``value`` as a message shows it: numbers as ``%g`` does (a huge whole number too: ``1e+400``),
    anything else as its (shortened) repr."""
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        if abs(value) < 10**16:
            return str(value)
        mantissa, exponent = f"{Decimal(value):.5e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{exponent}"
    if isinstance(value, float):
        return f"{value:g}"
    try:
        text = repr(value)
    except ValueError:  # holds an int too long to write out
        return type(value).__name__
    return text if len(text) <= 60 else f"{text[:57]}..."


def _describe(of: type) -> dict[str, Setting]:
    hints = typing.get_type_hints(of)
    described = {}
    for field in dataclasses.fields(of):
        hint, optional = hints[field.name], False
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
            optional, (hint,) = len(args) < len(typing.get_args(hint)), args
        many = typing.get_origin(hint) is tuple
        kind = typing.get_args(hint)[0] if many else hint
        if kind not in KINDS or (many and typing.get_args(hint)[1:] != (...,)):
            kinds = ", ".join(kind.__name__ for kind in KINDS)
            raise TypeError(f"{of.__name__}.{field.name}: a setting holds one of {kinds} or a tuple of one, not {hint}")
        meta = field.metadata
        if "help" not in meta:
            raise TypeError(f"{of.__name__}.{field.name}: declare it with setting()")
        described[field.name] = Setting(
            field.name, kind, many, optional, field.default, meta["help"], meta["group"], meta["choices"], meta["other"],
            meta["unit"], meta["bounds"], meta["flag"] or field.name, meta["off"],
        )  # fmt: skip
    return described


class Settings:
    """The base of every settings dataclass: derive a ``@dataclass(frozen=True)`` from it and declare
    each field with :func:`setting`. On construction each value is checked against its field (kind,
    choices, bounds; a list becomes a tuple), then :meth:`cross_check` runs."""

    _described: ClassVar[dict[type, dict[str, Setting]]] = {}

    def __post_init__(self) -> None:
        for name, field in self.settings().items():
            object.__setattr__(self, name, field.checked(getattr(self, name)))
        self.cross_check()

    def cross_check(self) -> None:
        """The rules between fields (here none): a settings class with some overrides this."""

    @classmethod
    def settings(cls) -> dict[str, Setting]:
        """Each field described, by name, in the class's order."""
        if cls not in Settings._described:
            Settings._described[cls] = _describe(cls)
        return Settings._described[cls]

    def override(self: S, **changes: Any) -> S:
        """A copy with ``changes`` applied, validated again."""
        _refuse_unknown(type(self), changes)
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def to_dict(self) -> dict[str, Any]:
        """Every setting as a plain value (lists for tuples), ready for JSON; :meth:`from_dict` reads it back."""
        values = {name: getattr(self, name) for name in self.settings()}
        return {name: list(value) if isinstance(value, tuple) else value for name, value in values.items()}

    @classmethod
    def from_dict(cls: type[S], values: Mapping[str, Any]) -> S:
        """The settings :meth:`to_dict` wrote (a setting left out keeps its default); a name the
        class does not have is a :class:`ConfigError`."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"{cls.__name__}'s settings must be a mapping of names to values, got {shown(values)}")
        _refuse_unknown(cls, values)
        return cls(**values)


def _refuse_unknown(of: type[Settings], names: Mapping[str, Any]) -> None:
    unknown = [str(name) for name in names if name not in of.settings()]
    if unknown:
        raise ConfigError(f"unknown setting(s) of {of.__name__}: {', '.join(sorted(unknown))}")
