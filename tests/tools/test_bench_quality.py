"""tools/bench_quality.py: when a run first reached a quality, and the like-for-like ratio."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import bench_quality as quality  # noqa: E402


def test_first_within_is_the_first_point_within_one_percent_of_both_distances():
    assert quality.first_within([(50, 5.0, 0.3, 0.3), (100, 10.0, 0.2015, 0.3)], 0.2, 0.3) == (100, 10.0)
    assert quality.first_within([(50, 5.0, 0.3, 0.3)], 0.2, 0.3) is None


def test_a_peers_own_quality_is_when_it_first_came_within_one_percent_of_its_final_distances():
    # the first (step, seconds) at least as good in both ...
    assert quality.own_quality_first([(50, 5.0, 0.3, 0.1), (100, 10.0, 0.2, 0.2), (150, 15.0, 0.2, 0.3)]) == (100, 10.0)
    # ... or within 1 % of them, not the end of its steps
    assert quality.own_quality_first([(50, 5.0, 0.3, 0.3), (100, 10.0, 0.2015, 0.3), (150, 15.0, 0.2, 0.3)]) == (100, 10.0)


def test_the_like_for_like_ratio_is_tfstyles_seconds_over_pytorchs_and_rounds_keep_one_each():
    pair = {"tfstyle first": (30, 9.0), "PyTorch first": (40, 10.0)}
    assert quality.pair_ratio(pair) == 0.9
    other = {"tfstyle first": (30, 12.0), "PyTorch first": (40, 10.0)}
    rounds = [{"against PyTorch": {"PyTorch peer": {"default": p}}} for p in (pair, other)]
    assert quality.round_ratios(rounds) == {"PyTorch peer": {"default": [0.9, 1.2]}}
