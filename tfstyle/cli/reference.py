"""The flag reference page, docs/command-line.md, written from the commands' flags:
``python -m tfstyle.cli.reference > docs/command-line.md``.

The settings flags come from :class:`tfstyle.StyleConfig`'s field metadata, the rest from each
command's own definitions; tests/cli/test_flags.py fails when the page is not what this writes.
"""

from __future__ import annotations

from tfstyle.cli.command import Command

HEADER = """\
# Command-line reference

Every flag of tfstyle's commands, with its default and choices; back to the [README](../README.md).

<!-- Written by `python -m tfstyle.cli.reference > docs/command-line.md`; do not edit by hand. -->

This page is generated from the settings' definitions (the fields of `StyleConfig` in
`tfstyle/config.py`) and each command's own flags by `python -m tfstyle.cli.reference >
docs/command-line.md`; run that after changing them (`tests/cli/test_flags.py` fails until the
page matches). Each command prints the same with `--help`, and absl's full listing with `--helpfull`.

A settings flag given on the command line overrides the `--preset`; the defaults shown are the
`default` preset's, which `StyleConfig()` also holds. List flags take comma-separated values
(`--style_layers=conv1_2,conv3_3`); flags may also come from a file (`--flagfile=run.flags`).
"""


def commands() -> list[Command]:
    """The commands, in the order the page lists them (importing them imports TensorFlow)."""
    from tfstyle.cli import batch, beam, export, run, train, video, web

    return [run.COMMAND, export.COMMAND, batch.COMMAND, beam.COMMAND, video.COMMAND, web.COMMAND, train.COMMAND]


def page(listed: list[Command] | None = None) -> str:
    """The whole reference page in Markdown."""
    lines = [HEADER.rstrip()]
    for command in commands() if listed is None else listed:
        lines += ["", f"## `{command.program}`", "", f"`{command.program} {command.usage}`", "", command.about]
        for group, entries in command.entries():
            lines += ["", f"### {group}", ""]
            for entry in entries:
                note = " (required)" if entry.required else f" (default: `{entry.default}`)" if entry.default is not None else ""
                lines.append(f"- **`{entry.usage}`**{note}: {markdown_text(entry.help)}")
    return "\n".join(lines) + "\n"


def markdown_text(text: str) -> str:
    """``text`` as Markdown shows it literally: ``*`` and ``<`` escaped (``photos/**/*.jpg``, ``<output>``)."""
    return text.replace("*", "\\*").replace("<", "\\<")


if __name__ == "__main__":
    print(page(), end="")
