"""The Markdown of docs/paper/REPORT.md: sections of text, tables and figures, and number formats."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Section:
    """One part of the report: a heading, paragraphs, tables and figures (paths, shown in order)."""

    title: str
    parts: list[str] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)

    def text(self, paragraph: str) -> None:
        self.parts.append(paragraph.strip())

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.parts.append(markdown_table(headers, rows))

    def figure(self, path: Path, caption: str) -> None:
        self.figures.append(path)
        self.parts.append(f"![{caption}]({path.name})")

    def markdown(self) -> str:
        return f"## {self.title}\n\n" + "\n\n".join(self.parts) + "\n"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub Markdown table; cells are formatted with :func:`fmt`."""
    lines = ["| " + " | ".join(h.replace("|", "\\|") for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value: object) -> str:
    """Numbers to 3 significant digits (scientific when large or small); None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value).replace("|", "/")
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        mantissa, exponent = f"{value:.2e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def num(value: float) -> str:
    """A setting as written by hand: ``1e8``, ``3e-17``, ``0.01``, ``1000``."""
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + ("-" if m[1] == "-" else "") + m[2], f"{value:g}")


def ratio(a: float, b: float) -> str:
    """``a / b`` as ``2.3×``."""
    return f"{a / b:.2g}×" if b else "∞"


def write_report(path: Path, header: str, sections: Sequence[Section]) -> Path:
    """Write the report (UTF-8) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = header.strip() + "\n\n" + "\n".join(section.markdown() for section in sections)
    path.write_text(body, encoding="utf-8")
    return path
