"""One command line: its flags (the generated settings and its own) in groups, its ``--help``, and
its parsing, where a flag error is one line (a number out of its bounds in the settings' words:
``--iterations must be a positive whole number, got 0``)."""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from absl import flags

from tfstyle.cli.common import exit_status, fail, quiet_on_a_closed_pipe
from tfstyle.cli.flags import (
    ALL_SETTING_FLAGS,
    FIELDS,
    OutOfBounds,
    define_fields,
    define_number,
    define_settings,
    fields_of,
    flag_name,
    value_hint,
)
from tfstyle.settings import GROUPS, Settings, bounds

flags.disclaim_key_flags()  # flags defined through a Command belong to the command's module

HELP_FLAGS = ("-h", "-help", "--help", "--helpshort", "--helpfull", "-?")
WIDTH = 100


@dataclass(frozen=True)
class Entry:
    """A flag as the help and the reference list it."""

    name: str
    hint: str  # what ``--name=`` takes ("" for a switch)
    help: str
    default: str | None  # as absl prints it, without its quotes; None: no default
    required: bool = False

    @property
    def usage(self) -> str:
        return f"--[no]{self.name}" if not self.hint else f"--{self.name}={self.hint}"

    @property
    def note(self) -> str:
        return "required" if self.required else f"default: {self.default}" if self.default is not None else ""


@dataclass
class Command:
    """``program``'s flags on ``values``; ``usage`` follows the program's name in the usage line,
    ``about`` says in a sentence or two what it does."""

    program: str
    usage: str
    about: str
    values: flags.FlagValues
    _groups: dict[str, str] = field(default_factory=dict)  # flag name → group
    _hints: dict[str, str] = field(default_factory=dict)
    _required: set[str] = field(default_factory=set)

    def settings(
        self, fields: Iterable[str] | None = None, choices: Mapping[str, Sequence[str]] | None = None, preset_help: str = ""
    ) -> None:
        """Define ``--preset`` and the settings flags of ``fields`` (default: all); see :func:`define_settings`."""
        wanted = set(FIELDS if fields is None else fields)
        if wanted - FIELDS.keys():
            raise ValueError(f"not settings: {', '.join(sorted(wanted - FIELDS.keys()))}")
        fields = [name for name in FIELDS if name in wanted]  # in the config's order
        define_settings(self.values, fields, choices, preset_help)
        presets = self.values["preset"].parser
        assert isinstance(presets, flags.EnumParser), "--preset is an enum"
        self._groups["preset"], self._hints["preset"] = GROUPS[0], "|".join(presets.enum_values)
        for name in fields:
            flag = flag_name(name)
            self._groups[flag] = FIELDS[name].group
            self._hints[flag] = value_hint(name, (choices or {}).get(name))

    def more_settings(self, of: type[Settings], fields: Iterable[str] | None = None) -> None:
        """Define the flags of another settings class ``of``'s ``fields`` (default: all), each
        defaulting to its field's default; see :func:`define_fields`."""
        known = fields_of(of)
        fields = list(known if fields is None else fields)
        if set(fields) - known.keys():
            raise ValueError(f"not settings of {of.__name__}: {', '.join(sorted(set(fields) - known.keys()))}")
        define_fields(self.values, of, fields)
        for name in fields:
            flag = flag_name(name)
            self._groups[flag], self._hints[flag] = known[name].group, value_hint(name)

    def own(
        self,
        group: str,
        define: Callable[..., flags.FlagHolder[Any]],
        name: str,
        default: Any,
        help: str,
        hint: str = "",
        required: bool = False,
        *,
        minimum: float | None = None,
        above: float | None = None,
        maximum: float | None = None,
        **kwargs: Any,
    ) -> flags.FlagHolder[Any]:
        """Define a flag of this command's own with absl's ``define`` (``flags.DEFINE_string``, ...)
        in ``group``; ``hint`` is what ``--name=`` takes (``PATH``; ``""`` for a switch). A number
        (``flags.DEFINE_integer``, ``flags.DEFINE_float``) may have bounds, as a setting has
        (:func:`~tfstyle.settings.setting`): ``minimum`` or ``above``, and ``maximum``."""
        if name in ALL_SETTING_FLAGS:
            raise ValueError(f"--{name} is a setting's flag; define it with settings()")
        if (minimum, above, maximum) != (None, None, None):
            if define not in (flags.DEFINE_integer, flags.DEFINE_float):
                raise ValueError(f"--{name}: bounds are for flags.DEFINE_integer and flags.DEFINE_float")
            limits = bounds(minimum, above, maximum)
            whole = define is flags.DEFINE_integer
            holder = define_number(self.values, name, default, help, whole, limits, required=required, **kwargs)
        else:
            holder = define(name, default, help=help, flag_values=self.values, required=required, **kwargs)
        self._groups[name], self._hints[name] = group, hint
        if required:
            self._required.add(name)
        return holder

    # The flags several commands share, defined here once.

    def style(self, or_model: bool = False) -> None:
        """``--style``, the painting(s), as every command that stylizes takes it (parsed by
        :func:`~tfstyle.cli.common.style_paths`); required unless ``or_model``: a command that can
        give a fast stylizer's picture alone (``--model``) instead."""
        text = "Style image (a painting) whose style is transferred, or comma-separated images to blend (see --style_blend_weights)."
        if or_model:
            text += " Without it, --model gives the fast stylizer's picture alone."
        self.own("inputs and output", flags.DEFINE_string, "style", None, text, "PATH[,PATH...]", required=not or_model)

    def results_format(self) -> None:
        """``--format`` of the results, for the commands that stylize a collection into a folder."""
        self.own("inputs and output", flags.DEFINE_enum, "format", "png", "Format of the results.", "png|jpg", enum_values=["png", "jpg"])

    def overwrite(self, one_output: bool) -> None:
        """``--overwrite``: a command with ``one_output`` refuses to replace it without the flag
        (:func:`~tfstyle.cli.common.check_not_replacing`); a collection's skips the images already done."""
        text = (
            "Replace --output if it exists (else the command refuses to start, unless --resume continues the run that wrote it)."
            if one_output
            else "Stylize images whose output exists too (by default they are skipped, which resumes a stopped run)."
        )
        self.own("inputs and output" if one_output else "large images and resuming", flags.DEFINE_bool, "overwrite", False, text)

    def entries(self) -> list[tuple[str, list[Entry]]]:
        """The flags in their groups: :data:`GROUPS` first, in order, then any others; within a group
        in the order they were defined."""
        groups: dict[str, list[Entry]] = {group: [] for group in GROUPS}
        for name, group in self._groups.items():
            flag = self.values[name]
            default = flag.default_as_str[1:-1] if flag.default_as_str else None
            entry = Entry(name, self._hints[name], _plain_help(flag), default, name in self._required)
            groups.setdefault(group, []).append(entry)
        return [(group, entries) for group, entries in groups.items() if entries]

    def help(self, full: bool = False) -> str:
        """The ``--help`` text: the usage line, what the command does, then the flags in groups. With
        ``full``, absl's listing of every flag (its own too), as ``--helpfull`` shows it."""
        lines = [f"usage: {self.program} {self.usage}", "", *textwrap.wrap(self.about, WIDTH)]
        if full:
            return "\n".join([*lines, "", self.values.get_help()])
        for group, entries in self.entries():
            lines += ["", f"{group}:"]
            for entry in entries:
                lines.append(f"  {entry.usage}" + (f"  ({entry.note})" if entry.note else ""))
                lines += textwrap.wrap(entry.help, WIDTH, initial_indent=" " * 6, subsequent_indent=" " * 6)
        lines += ["", "--flagfile=FILE reads flags from a file; --helpfull lists every flag as absl does."]
        return "\n".join(lines)

    def parse(self, argv: list[str], known_only: bool = False) -> list[str]:
        """Parse ``argv`` into :attr:`values`: ``--help`` (``--helpfull``) prints the help and exits 0;
        a flag error is one line and exit status 1. Returns the arguments that are not flags (with
        ``known_only``, also the flags that are not this command's, for another parser)."""
        # Every flag back to its default, also after a parse that failed half-way (absl then leaves
        # the flags it had read set, but the values not marked parsed).
        self.values.unparse_flags()
        asked = [arg for arg in argv[1:] if arg in HELP_FLAGS]
        if asked:
            print(self.help(full="--helpfull" in asked))
            raise SystemExit(0)
        try:
            return self.values(argv, known_only=known_only)
        except flags.Error as err:
            raise SystemExit(fail(_one_line(err))) from None


    def cli(self, main: Callable[[list[str]], int], argv: list[str], known_only: bool = False) -> int:
        """Run ``main`` on ``argv`` parsed (``argv[0]`` is the program's name) and return its exit
        status instead of exiting: the command line in-process, for tests and embedding."""
        return exit_status(lambda: main(self.parse(argv, known_only=known_only)))

    def entry_point(self, main: Callable[[list[str]], int], known_only: bool = False) -> None:
        """The program: :meth:`cli` on ``sys.argv``, then exit with its status (quietly, status 1,
        when whoever reads its output stops early)."""
        quiet_on_a_closed_pipe(lambda: sys.exit(self.cli(main, sys.argv, known_only)))

    def programs(
        self, main: Callable[[list[str]], int], known_only: bool = False
    ) -> tuple[Callable[[list[str]], int], Callable[[], None]]:
        """A command module's ``cli`` and ``entry_point`` for its ``main``:
        ``cli, entry_point = COMMAND.programs(main)``."""

        def cli(argv: list[str]) -> int:
            """The command line in-process (tests, embedding): its exit status instead of an exit."""
            return self.cli(main, argv, known_only)

        def entry_point() -> None:
            """The program (``python -m ...``): exits with the command's status."""
            self.entry_point(main, known_only)

        return cli, entry_point


def _one_line(err: flags.Error) -> str:
    """absl's message; for a number out of its bounds, the flag and what it must be, as the settings
    say it (``--iterations must be a positive whole number, got 0``), not absl's ``flag --iterations=0: ...``."""
    flag = re.match(r"flag --(\w+)=", str(err))
    if flag and isinstance(err.__context__, OutOfBounds):
        return f"--{flag[1]} {err.__context__}"
    return str(err)


def _plain_help(flag: flags.Flag) -> str:
    """The flag's help without the ``<a|b>: `` absl puts before an enum's."""
    prefix = f"<{'|'.join(flag.parser.enum_values)}>: " if isinstance(flag.parser, flags.EnumParser) else ""
    return flag.help[len(prefix) :] if prefix and flag.help.startswith(prefix) else flag.help
