"""The run lifecycle: callbacks started and ended once, however the run ends; the guards' outcomes."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from tfstyle.loop.callbacks import CALLBACK_STOP, Callback, CallbackList, RunInfo, Step
from tfstyle.loop.lifecycle import each_step, run_iterations
from tfstyle.loop.record import NonFinite


class Log(Callback):
    def __init__(self, stop_at: int = 0):
        self.events: list[str] = []
        self.stop_at = stop_at

    def set_run(self, run: RunInfo) -> None:
        self.events.append(f"run {run.content_name}")

    def on_start(self, iterations: int) -> None:
        self.events.append(f"start {iterations}")

    def on_step(self, step: Step) -> bool:
        self.events.append(f"step {step.iteration}")
        return step.iteration == self.stop_at

    def on_end(self, step: Step | None) -> None:
        self.events.append(f"end {step.iteration if step else None}")


def counting_step(fail_at: int = 0, interrupt_at: int = 0):
    calls = [0]

    def step() -> dict[str, np.ndarray]:
        calls[0] += 1
        if calls[0] == fail_at:
            raise NonFinite(float("inf"), np.zeros(1, np.float32))
        if calls[0] == interrupt_at:
            raise KeyboardInterrupt
        return {"total": np.array([float(calls[0]), 3.0 * calls[0]]), "content": np.array(1.0)}

    return step


def run(log: Log, iterations: int = 3, **step_kwargs):
    image = np.zeros((2, 2, 3))
    info = RunInfo(config=None, content=image, style=image, start=image[None])  # type: ignore[arg-type]
    watched = tf.Variable(tf.zeros([1, 2, 2, 3]))
    return run_iterations(each_step(counting_step(**step_kwargs), iterations), iterations, watched, CallbackList([log]), info)


def test_a_run_records_every_iteration_between_one_start_and_one_end():
    log = Log()
    finished = run(log)
    assert log.events == ["run content", "start 3", "step 1", "step 2", "step 3", "end 3"]
    assert [row["total"] for row in finished.rows] == [2.0, 4.0, 6.0]  # means over the batch
    assert finished.stopped is None and finished.non_finite is None and not finished.interrupted
    history = finished.history(["total", "content"])
    assert list(history) == ["total", "content", "seconds"] and len(history["seconds"]) == 3
    assert finished.seconds >= history["seconds"][-1]


def test_a_callback_stops_the_run_early():
    log = Log(stop_at=2)
    finished = run(log, iterations=5)
    assert finished.stopped == CALLBACK_STOP and len(finished.rows) == 2
    assert log.events[-1] == "end 2"


def test_a_non_finite_loss_ends_the_callbacks_and_is_returned_not_raised():
    log = Log()
    finished = run(log, iterations=5, fail_at=3)
    assert finished.non_finite is not None and finished.non_finite.value == float("inf")
    assert len(finished.rows) == 2 and log.events[-1] == "end 2"


def test_ctrl_c_ends_the_callbacks_and_says_it_was_interrupted():
    log = Log()
    finished = run(log, iterations=5, interrupt_at=1)
    assert finished.interrupted and finished.rows == []
    assert log.events[-1] == "end None"


def test_a_resumed_run_goes_on_after_its_rows():
    class Saves:
        def __init__(self):
            self.saved: list[int] = []
            self.finished: list[int] = []

        def after_step(self, rows):
            self.saved.append(len(rows))

        def finish(self, rows):
            self.finished.append(len(rows))

    saves, log, watched = Saves(), Log(), tf.Variable(tf.zeros([1, 2, 2, 3]))
    resumed = [{"total": 1.0, "seconds": 5.0}]
    checkpoint: Any = saves  # a RunCheckpoint's two calls a finished run makes
    advance = each_step(counting_step(), 3)
    finished = run_iterations(advance, 3, watched, CallbackList([log]), checkpoint=checkpoint, resumed=resumed)
    assert len(finished.rows) == 3 and saves.saved == [2, 3] and saves.finished == [3]
    assert finished.seconds >= 5.0
    assert log.events == ["start 3", "step 2", "step 3", "end 3"]
