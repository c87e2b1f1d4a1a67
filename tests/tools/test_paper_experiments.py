"""Claim 1's verdict in tools/paper_experiments.py: a memory saving counts only beyond the spread of
one layer set's own runs, since a fresh process's high-water mark moves by tens of MiB."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import paper_experiments as experiments  # noqa: E402


def measured(seconds: float, growth: float, spread: float) -> dict:
    return dict(seconds=seconds, peak=600 + growth, growth=growth, growth_spread=spread, style=0.1, content=0.5)


def test_a_memory_difference_within_the_runs_own_spread_is_no_saving():
    verdict = experiments._claim1_verdict(measured(1.0, 280, 50), measured(1.0, 320, 10), [1.0, 1.0])
    assert "not supported" in verdict
    assert "0.88× as much" in verdict and "differed by up to 50 MiB" in verdict


def test_a_memory_saving_beyond_the_spread_partly_supports_the_claim():
    verdict = experiments._claim1_verdict(measured(1.0, 200, 20), measured(1.0, 320, 30), [1.0, 1.0])
    assert "partly supported" in verdict and "0.62× as much" in verdict


def test_a_faster_and_leaner_layer_set_supports_the_claim():
    verdict = experiments._claim1_verdict(measured(0.5, 200, 20), measured(1.0, 320, 30), [0.5, 0.5])
    assert "— supported" in verdict


def test_a_single_run_each_says_its_spread_is_unknown():
    verdict = experiments._claim1_verdict(measured(1.0, 320, 0), measured(1.0, 320, 0), [1.0])
    assert "spread is unknown" in verdict and "not supported" in verdict
