"""tools/bench/quality.py: when a run first reached a quality, and the like-for-like ratio."""

from __future__ import annotations

from tools.bench import quality


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


def test_a_target_is_noted_once_when_first_met_in_both_distances():
    targets = {"close": {"style": 0.2, "content": 0.3}, "far": {"style": 0.5, "content": 0.5}}
    reached: dict = {}
    quality.note_reached(reached, targets, (10, 1.0), 0.4, 0.3)  # only the far one
    quality.note_reached(reached, targets, (20, 2.0), 0.2, 0.31)  # content not close enough
    quality.note_reached(reached, targets, (30, 3.0), 0.1, 0.1)
    assert reached == {"far": (10, 1.0), "close": (30, 3.0)}


def test_the_clock_leaves_out_the_time_spent_stopped_even_when_the_measurement_fails(monkeypatch):
    now = iter([100.0, 103.0, 105.0, 106.0, 110.0, 111.0, 113.0])  # made, stopped ×2, then read
    monkeypatch.setattr(quality.time, "perf_counter", lambda: next(now))
    clock = quality.Clock()
    with clock.stopped():  # 103 → 105
        pass
    try:
        with clock.stopped():  # 106 → 110
            raise ValueError
    except ValueError:
        pass
    assert clock.seconds() == 111.0 - 100.0 - 2.0 - 4.0
    assert clock.seconds() == 113.0 - 100.0 - 6.0
