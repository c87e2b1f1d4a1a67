"""Claim 1's verdict in tools/paper_experiments.py: memory is compared run by run, as time is, and a
saving counts only where every pair of runs shows it (fresh runs of one configuration differ by
tens of MiB)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import paper_experiments as experiments  # noqa: E402


def measured(seconds: float, growths: list[float]) -> dict:
    return dict(seconds=seconds, peaks=[600 + g for g in growths], growths=growths, style=0.1, content=0.5)


def test_a_memory_saving_in_only_one_pair_of_runs_is_no_saving():
    verdict = experiments._claim1_verdict(measured(1.0, [280, 330]), measured(1.0, [320, 325]), [1.0, 1.0])
    assert "not supported" in verdict
    assert "grew 0.88× and 1.02× as much" in verdict and "(280 and 330 against 320 and 325 MiB" in verdict


def test_a_memory_saving_in_every_pair_partly_supports_the_claim():
    verdict = experiments._claim1_verdict(measured(1.0, [200, 190]), measured(1.0, [320, 300]), [1.0, 1.0])
    assert "partly supported" in verdict and "0.62× and 0.63× as much" in verdict


def test_a_faster_and_leaner_layer_set_supports_the_claim():
    verdict = experiments._claim1_verdict(measured(0.5, [200]), measured(1.0, [320]), [0.5])
    assert "— supported" in verdict and "peak resident set 800 against 920 MiB" in verdict
