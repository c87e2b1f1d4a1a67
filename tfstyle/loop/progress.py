"""Progress over counted work (iterations, images, frames): one line, drawn the same way everywhere.

On a terminal a bar is redrawn in place,
``[=========>..............]  12/40 images  3.20 images/min  ETA 8.8 min  <detail>``,
and the lines a caller keeps are written above it. Elsewhere (a log file, CI) nothing is redrawn:
only the kept lines are written.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

CLEAR_LINE = "\r\033[K"  # back to the start of the line and clear it
_PER = {"s": 1.0, "min": 60.0}


def bar(count: int, total: int, width: int = 24) -> str:
    """``[=========>..............]``: ``count`` of ``total`` done, ``width`` characters inside."""
    done = width * count // max(1, total)
    return "[" + ("=" * done + ">")[:width].ljust(width, ".") + "]"


def rate(count: int, seconds: float, unit: str = "it", per: str = "s") -> str:
    """``2.31 it/s``: ``count`` things in ``seconds``, per second or per minute (``per="min"``);
    ``- it/s`` while nothing is counted or no time has passed."""
    if count <= 0 or seconds <= 0:
        return f"- {unit}/{per}"
    return f"{count / seconds * _PER[per]:.2f} {unit}/{per}"


def duration(seconds: float) -> str:
    """``42 s``, ``9.4 min`` or ``2.3 h``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class Progress:
    """``total`` things of work on ``stream`` (default stdout): :meth:`advance` as they are done,
    :meth:`keep` for lines that stay, :meth:`close` at the end.

    ``noun`` follows the count in the bar (``12/40 images``; empty: ``12/40``); the rate counts
    ``unit`` per second or per minute (``per``). The clock starts when the object is made, unless
    :meth:`advance` is given the ``seconds`` itself.
    """

    def __init__(
        self,
        total: int,
        noun: str = "",
        unit: str = "it",
        per: str = "s",
        stream: TextIO | None = None,
        width: int = 24,
    ):
        if per not in _PER:
            raise ValueError(f"per must be one of {', '.join(_PER)}, not {per!r}")
        self.total, self.noun, self.unit, self.per, self.width = total, noun, unit, per, width
        self._out = stream or sys.stdout
        self.live = self._out.isatty()
        self._start = time.perf_counter()
        self.count = self.rated = 0
        self.seconds = 0.0
        self.detail = ""
        self._shown = False  # whether the bar is on the terminal's last line now

    def advance(self, count: int, detail: str = "", seconds: float | None = None, rated: int | None = None) -> None:
        """``count`` of ``total`` done after ``seconds`` (default: since the start); ``rated`` of them
        count for the rate (default: all); ``detail`` ends the bar. Redraws the bar on a terminal."""
        self.count, self.detail = count, detail
        self.rated = count if rated is None else rated
        self.seconds = time.perf_counter() - self._start if seconds is None else seconds
        if self.live:
            self._draw()

    def keep(self, text: str, stream: TextIO | None = None) -> None:
        """Write ``text`` as a line that stays (to ``stream``, default the bar's), above the bar."""
        target = stream or self._out
        if self._shown:
            self._out.write(CLEAR_LINE)
            self._out.flush()
            self._shown = False
        target.write(text + "\n")
        target.flush()
        if self.live:
            self._draw()

    def close(self) -> None:
        """Clear a bar left unfinished (a stopped run, an interrupted folder)."""
        if self._shown:
            self._out.write(CLEAR_LINE)
            self._out.flush()
            self._shown = False

    def rate(self) -> str:
        """The rate so far: ``3.20 images/min``."""
        return rate(self.rated, self.seconds, self.unit, self.per)

    def eta(self) -> str:
        """``ETA 8.8 min`` at the rate so far (the things rated: not those resumed or skipped); empty
        before the first is rated or after the last."""
        if self.rated <= 0 or not 0 < self.count < self.total:
            return ""
        return f"ETA {duration(self.seconds / self.rated * (self.total - self.count))}"

    def line(self) -> str:
        """The bar's line: bar, count, rate, ETA and the detail."""
        noun = f" {self.noun}" if self.noun else ""
        parts = [f"{bar(self.count, self.total, self.width)} {self.count:>{len(str(self.total))}}/{self.total}{noun}"]
        parts += [part for part in (self.rate(), self.eta(), self.detail) if part]
        return "  ".join(parts)

    def _draw(self) -> None:
        self._out.write(CLEAR_LINE)
        self._shown = self.count < self.total  # a finished bar leaves a clean line
        if self._shown:
            self._out.write(self.line())
        self._out.flush()
