"""The one progress renderer: the bar, the rate, the duration, and what stays on the screen."""

from __future__ import annotations

import io

from conftest import Terminal

from tfstyle.loop.progress import CLEAR_LINE, Progress, bar, duration, rate


def test_bar_rate_and_duration():
    assert bar(0, 4, width=8) == "[>.......]" and bar(2, 4, width=8) == "[====>...]" and bar(4, 4, width=8) == "[========]"
    assert rate(12, 6.0) == "2.00 it/s" and rate(3, 90.0, "images", "min") == "2.00 images/min"
    assert rate(0, 5.0, "frames") == "- frames/s" and rate(3, 0.0) == "- it/s"
    assert [duration(s) for s in (42.4, 564.0, 8280.0)] == ["42 s", "9.4 min", "2.3 h"]


def test_progress_line_has_bar_count_rate_eta_and_detail():
    progress = Progress(40, "images", "images", per="min", stream=io.StringIO())
    progress.advance(0)
    assert progress.line() == "[>.......................]  0/40 images  - images/min"
    progress.advance(10, "last: a.png", seconds=300.0, rated=8)
    # the ETA goes at the rate: 30 more at 1.60 a minute (the 2 not rated, resumed or skipped, took no time)
    assert progress.line() == "[======>.................] 10/40 images  1.60 images/min  ETA 18.8 min  last: a.png"
    progress.advance(40, seconds=1200.0)
    assert "ETA" not in progress.line()


def test_progress_off_a_terminal_writes_only_the_kept_lines():
    stream, errors = io.StringIO(), io.StringIO()
    progress = Progress(3, stream=stream)
    progress.advance(1)
    progress.keep("kept")
    progress.keep("to the other stream", errors)
    progress.advance(2)
    progress.close()
    assert stream.getvalue() == "kept\n" and errors.getvalue() == "to the other stream\n"


def test_progress_on_a_terminal_clears_the_bar_before_a_line_to_another_stream():
    stream, errors = Terminal(), io.StringIO()
    progress = Progress(3, stream=stream)
    progress.advance(1, seconds=1.0)
    progress.keep("failed: x", errors)
    assert stream.getvalue() == CLEAR_LINE + progress.line() + CLEAR_LINE + CLEAR_LINE + progress.line()
    progress.close()
    assert stream.getvalue().endswith(CLEAR_LINE) and errors.getvalue() == "failed: x\n"
