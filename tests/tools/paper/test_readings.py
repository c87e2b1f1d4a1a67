"""The measures of tools/paper/readings.py (the printed learning rate under each reading of the text)
and the report's table headers."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tools.paper import readings
from tools.paper.report import markdown_table


def test_total_variation_is_zero_for_flat_images_and_grows_with_noise():
    flat = np.full((8, 8, 3), 100.0)
    assert readings.total_variation(flat) == 0.0
    stripes = flat.copy()
    stripes[:, ::2] = 0.0
    assert readings.total_variation(stripes) == (0 + 100.0) / 2


def test_mean_step_is_the_mean_absolute_pixel_change():
    assert readings.mean_step(np.zeros((2, 2, 3)), np.full((2, 2, 3), 3.0)) == 3.0


def test_steady_needs_a_finite_mostly_falling_loss():
    assert readings.steady([10.0, 9.0, 8.0, 7.5])
    assert not readings.steady([10.0, 11.0, 12.0])
    assert not readings.steady([10.0, 9.0, float("nan")])
    assert not readings.steady([10.0, 5.0, 9.0, 4.0, 8.0, 3.0])  # lower at the end, but not steadily


def test_unsquared_losses_are_the_printed_signed_sums():
    features = {"l": tf.constant([[[[1.0, 2.0]]]])}  # one position, two maps
    targets = {"l": tf.constant([[[[0.5, 0.5]]]])}
    grams = {"l": tf.zeros([1, 2, 2])}
    # CL = (1 - .5) + (2 - .5) = 2; G = [[1, 2], [2, 4]], SL = 9
    total = readings.unsquared_losses(features, targets, grams, a=1.0, b=10.0, layers=("l",))
    assert float(total) == 2.0 + 10.0 * 9.0
    below = readings.unsquared_losses(features, {"l": targets["l"] + 10}, grams, 1.0, 0.0, ("l",))
    assert float(below) < 0  # no distance: it goes below zero


def test_the_verdict_names_the_readings_that_reproduce_both_figures_or_none():
    assert "none of the readings" in readings.verdict_sentence({"x": (True, False), "y": (False, False)})
    assert "Figure 9 alone under: x" in readings.verdict_sentence({"x": (True, False)})
    assert "reading(s): y" in readings.verdict_sentence({"x": (True, False), "y": (True, True)})


def test_table_headers_escape_the_pipe_so_cells_do_not_split():
    table = markdown_table(["mean |Δpixel|", "b"], [[1.0, 2]])
    header = table.splitlines()[0]
    assert header == "| mean \\|Δpixel\\| | b |"
