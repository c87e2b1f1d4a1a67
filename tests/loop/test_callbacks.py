"""Callbacks: progress lines, periodic saves, the ``every`` schedule, plain callables, early stop, and
the run info they are given."""

from __future__ import annotations

import io
import os
import re
import signal

import numpy as np
import pytest
import tensorflow as tf
from conftest import CONTROLS as BASE
from conftest import Terminal
from PIL import Image

from tfstyle.errors import ImageError, StyleInterrupted
from tfstyle.inputs.images import load_image
from tfstyle.loop.callbacks import (
    Callback,
    CallbackList,
    InterruptBetweenSteps,
    ProgressBar,
    SaveEvery,
    Step,
    format_step,
)
from tfstyle.loop.optimize import stylize
from tfstyle.loop.progress import CLEAR_LINE

LOSSES = {"total": 1234.5, "content": 345.6, "style": 888.9, "tv": 0.0}


def make_step(iteration: int, iterations: int, seconds: float = 1.0, batch: int = 1, losses=None) -> Step:
    image = tf.fill([batch, 6, 8, 3], float(iteration % 256))
    return Step(iteration, iterations, dict(losses or LOSSES), image, seconds)


def run(callbacks, iterations: int, stop_at: int | None = None) -> list[int]:
    """Drive a CallbackList as the optimizer does; returns the iterations that ran."""
    runner = CallbackList(callbacks)
    runner.start(iterations)
    ran = []
    for i in range(1, iterations + 1):
        ran.append(i)
        if runner.step(make_step(i, iterations, seconds=i * 0.5)) or i == stop_at:
            break
    runner.end()
    return ran


class Recorder(Callback):
    def __init__(self, every: int = 1, stop_at: int | None = None):
        self.every, self.stop_at = every, stop_at
        self.started: int | None = None
        self.seen: list[int] = []
        self.ended: Step | None | str = "never"

    def on_start(self, iterations: int) -> None:
        self.started = iterations

    def on_step(self, step: Step) -> bool:
        self.seen.append(step.iteration)
        return step.iteration == self.stop_at

    def on_end(self, step: Step | None) -> None:
        self.ended = step


# --- ProgressBar ---------------------------------------------------------------------------------


def test_progress_bar_prints_a_line_every_print_every_when_not_a_tty():
    stream = io.StringIO()
    run([ProgressBar(print_every=3, stream=stream)], iterations=10)
    lines = stream.getvalue().splitlines()
    assert [int(re.search(r"iteration\s+(\d+)/10", line)[1]) for line in lines] == [3, 6, 9, 10]


def test_progress_line_has_count_losses_and_rate():
    stream = io.StringIO()
    run([ProgressBar(print_every=2, stream=stream)], iterations=4)
    first = stream.getvalue().splitlines()[0]
    assert first.startswith("iteration 2/4")
    assert "total 1234" in first and "content 345.6" in first and "style 888.9" in first
    assert re.search(r"\b2\.00 it/s$", first), first  # 2 iterations in 1.0 s


def test_progress_bar_with_print_every_zero_is_silent_off_a_tty():
    stream = io.StringIO()
    run([ProgressBar(print_every=0, stream=stream)], iterations=5)
    assert stream.getvalue() == ""


def test_progress_bar_defaults_to_stdout(capsys):
    run([ProgressBar(print_every=1)], iterations=2)
    assert capsys.readouterr().out.count("iteration") == 2


def test_format_step_pads_the_iteration_and_shows_tv_only_when_used():
    line = format_step(make_step(7, 100, seconds=2.0))
    assert line.startswith("iteration   7/100  ")
    assert "tv" not in line and line.endswith("3.50 it/s")
    with_tv = format_step(make_step(7, 100, losses={**LOSSES, "tv": 12.5}))
    assert "tv 12.5" in with_tv


def test_format_step_survives_zero_elapsed_time():
    assert format_step(make_step(1, 1, seconds=0.0)).endswith("  - it/s")


def test_progress_bar_on_a_terminal_redraws_keeps_lines_above_and_ends_on_a_clean_line():
    stream = Terminal()
    run([ProgressBar(print_every=2, stream=stream)], iterations=3)
    screen = stream.getvalue()
    assert screen.count(CLEAR_LINE) >= 3 and screen.endswith(CLEAR_LINE)  # the finished bar is wiped
    kept = [line.rsplit(CLEAR_LINE, 1)[-1] for line in screen.split("\n")[:-1]]
    assert [line.split("/")[0] for line in kept] == ["iteration 2", "iteration 3"]
    assert "[================>.......] 2/3  2.00 it/s  ETA 0 s  total 1234" in screen


def test_a_stopped_run_leaves_no_half_drawn_bar_on_a_terminal():
    stream = Terminal()
    assert run([ProgressBar(stream=stream)], iterations=10, stop_at=4) == [1, 2, 3, 4]
    assert stream.getvalue().endswith(CLEAR_LINE) and "4/10" in stream.getvalue()


# --- Progress (the one renderer) -------------------------------------------------------------------


# --- SaveEvery -----------------------------------------------------------------------------------


def test_save_every_writes_stem_iteration_suffix_and_the_last_iteration(tmp_path):
    saver = SaveEvery(tmp_path / "out.png", every=4)
    run([saver], iterations=10)
    # Iterations are zero-padded to the width of the total so the files sort in order.
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["out_04.png", "out_08.png", "out_10.png"]
    assert [p.name for p in saver.saved] == names
    np.testing.assert_array_equal(load_image(tmp_path / "out_08.png"), np.full((6, 8, 3), 8.0))


def test_save_every_keeps_the_output_suffix(tmp_path):
    run([SaveEvery(tmp_path / "result.jpg", every=1)], iterations=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result_1.jpg", "result_2.jpg"]


def test_save_every_names_each_image_of_a_batch(tmp_path):
    saver = SaveEvery(tmp_path / "out.png", every=1)
    saver.on_step(make_step(1, 1, batch=2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out_1_0.png", "out_1_1.png"]


def test_save_every_checks_the_output_before_the_run(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        SaveEvery(tmp_path / "missing" / "out.png", every=5)
    with pytest.raises(ImageError, match="extension"):
        SaveEvery(tmp_path / "out.xyz", every=5)


# --- CallbackList --------------------------------------------------------------------------------


def test_callback_list_honours_every_and_always_notifies_the_last_iteration():
    every3, every1 = Recorder(every=3), Recorder()
    run([every3, every1], iterations=10)
    assert every3.seen == [3, 6, 9, 10]
    assert every1.seen == list(range(1, 11))


def test_callback_list_starts_and_ends_every_callback_with_the_last_step():
    recorder = Recorder(every=4)
    run([recorder], iterations=6)
    assert recorder.started == 6
    assert recorder.ended is not None and recorder.ended.iteration == 6


def test_callback_list_end_without_steps_passes_none():
    recorder = Recorder()
    runner = CallbackList([recorder])
    runner.start(5)
    runner.end()
    assert recorder.ended is None


def test_callback_list_view_maps_each_image_once_per_due_step_and_at_the_end():
    views = []

    def negative(images):
        views.append(images.shape)
        return 255.0 - images

    seen_images, ended = [], []

    class Watch(Callback):
        every = 2

        def on_step(self, step):
            seen_images.append(float(step.image[0, 0, 0, 0]))

        def on_end(self, step):
            ended.append(float(step.image[0, 0, 0, 0]))

    runner = CallbackList([Watch(), lambda step: seen_images.append(float(step.image[0, 0, 0, 0]))], view=negative)
    runner.start(3)
    for i in (1, 2):  # stopped after iteration 2: the end sees iteration 2's image, viewed
        runner.step(make_step(i, 3))
    runner.end()
    assert seen_images == [254.0, 253.0, 253.0]  # 255 - iteration
    assert ended == [253.0]
    assert len(views) == 2  # once per step, though two callbacks saw iteration 2


def test_every_below_one_means_every_iteration():
    recorder = Recorder(every=0)
    run([recorder], iterations=3)
    assert recorder.seen == [1, 2, 3]


def test_plain_callable_is_called_after_every_iteration():
    seen = []
    run([lambda step: seen.append((step.iteration, step.losses["total"]))], iterations=3)
    assert seen == [(1, 1234.5), (2, 1234.5), (3, 1234.5)]


def test_plain_callable_returning_true_stops_the_run():
    ran = run([lambda step: step.iteration == 2], iterations=10)
    assert ran == [1, 2]


def test_callback_returning_true_stops_but_others_still_see_that_step():
    stopper, watcher = Recorder(stop_at=3), Recorder()
    ran = run([stopper, watcher], iterations=10)
    assert ran == [1, 2, 3]
    assert watcher.seen == [1, 2, 3]
    assert watcher.ended.iteration == 3 and stopper.ended.iteration == 3


def test_callback_off_schedule_cannot_stop_the_run():
    """A callback with every=5 is not consulted at iteration 3, so it cannot stop there."""
    ran = run([Recorder(every=5, stop_at=3)], iterations=7)
    assert ran == list(range(1, 8))


def test_returning_none_or_false_keeps_going():
    ran = run([lambda step: None, lambda step: False, Recorder()], iterations=4)
    assert ran == [1, 2, 3, 4]


def test_callbacks_see_the_image_batch_and_losses():
    steps = []
    run([steps.append], iterations=2)
    assert steps[-1].image.shape == (1, 6, 8, 3)
    assert set(steps[-1].losses) >= {"total", "content", "style"}


# --- Ctrl-C between steps -----------------------------------------------------------------------


def ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)  # Python runs the handler before the next line


def test_ctrl_c_during_a_step_interrupts_at_the_next_step_and_the_handler_goes_back():
    before = signal.getsignal(signal.SIGINT)
    runner = CallbackList([InterruptBetweenSteps()])
    runner.start(5)
    ctrl_c()  # deferred: nothing raised here, where TensorFlow might be running
    with pytest.raises(KeyboardInterrupt):
        runner.step(make_step(1, 5))
    runner.end()
    assert signal.getsignal(signal.SIGINT) is before


def test_a_second_ctrl_c_interrupts_at_once():
    runner = CallbackList([InterruptBetweenSteps()])
    runner.start(5)
    try:
        ctrl_c()
        with pytest.raises(KeyboardInterrupt):
            ctrl_c()
    finally:
        runner.end()


def test_a_run_stopped_by_ctrl_c_keeps_the_image_of_its_last_step(content, style_a, model):
    def press_at_the_second_step(step: Step) -> None:
        if step.iteration == 2:
            ctrl_c()

    with pytest.raises(StyleInterrupted) as stop:
        stylize(content, style_a, BASE.override(iterations=5), feature_model=model,
                callbacks=[press_at_the_second_step, InterruptBetweenSteps()])  # fmt: skip
    two_steps = stylize(content, style_a, BASE.override(iterations=2), feature_model=model)
    assert stop.value.result.iterations == 2
    np.testing.assert_array_equal(stop.value.result.image, two_steps.image)


# --- what the run tells its callbacks ------------------------------------------------------------------


class _Recorder(Callback):
    def set_run(self, run):
        self.run = run


def test_run_info_names_every_style(content, style_a, style_b, model, tmp_path):
    paths = []
    for name, image in (("first", style_a), ("second", style_b)):
        paths.append(tmp_path / f"{name}.png")
        Image.fromarray(image.astype(np.uint8)).save(paths[-1])
    recorder = _Recorder()
    stylize(content, paths, BASE.override(iterations=1), feature_model=model, callbacks=[recorder])
    assert recorder.run.style_name == "first+second"
