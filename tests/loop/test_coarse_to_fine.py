"""Coarse to fine: the passes end at full size, count as one run, and split the iterations."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SMALL as BASE
from conftest import Record

from tfstyle.loop import coarse_to_fine
from tfstyle.loop.optimize import stylize


@pytest.mark.parametrize(
    "scales, size, shapes",
    [(2, 128, [(48, 64), (96, 128)]), pytest.param(3, 256, [(48, 64), (96, 128), (192, 256)], marks=pytest.mark.slow)],
)
def test_coarse_to_fine_ends_at_full_size_lowers_the_loss_and_is_one_run(images, small_model, scales, size, shapes):
    record = Record()
    config = BASE.override(scales=scales, image_size=size, iterations=7)
    result = stylize(*images, config, callbacks=[record], feature_model=small_model)
    assert result.image.shape == (*shapes[-1], 3)
    assert result.iterations == 7 and len(result.history["total"]) == 7
    assert np.all(np.diff(result.history["seconds"]) >= 0)
    assert result.config is config
    # One run for the callbacks: started and ended once, iterations counted through the passes,
    # each pass's image at its size.
    assert record.starts == [7] and record.ends == 1
    assert [(i, n) for i, n, *_ in record.steps] == [(i, 7) for i in range(1, 8)]
    counts = coarse_to_fine.scale_iterations(7, scales)
    seen = [shape[1:3] for _, _, shape, _ in record.steps]
    assert seen == [s for s, count in zip(shapes, counts) for _ in range(count)]
    single = stylize(*images, config.override(scales=1), feature_model=small_model)
    assert result.final_losses["total"] < 0.8 * single.initial_losses["total"]


def test_the_iterations_split_over_the_scales():
    assert coarse_to_fine.scale_sizes(512, 3) == [128, 256, 512]
    assert coarse_to_fine.scale_iterations(100, 1) == [100]
    assert coarse_to_fine.scale_iterations(100, 2) == [66, 34]
    for iterations in (3, 7, 50, 101):
        counts = coarse_to_fine.scale_iterations(iterations, 3)
        assert sum(counts) == iterations and min(counts) >= 1
        assert counts[0] >= counts[-1] or iterations < 7
