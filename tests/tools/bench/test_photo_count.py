"""tools/bench/photo_count.py, quality against the number of training photos: the nested subsets, and
the command end to end in --quick mode (random weights, tiny photos, 3 steps)."""

from __future__ import annotations

import importlib
import json

import pytest


@pytest.fixture(scope="module")
def photo_count():
    return importlib.import_module("tools.bench.photo_count")  # here, not at collection: it sets the environment


def test_each_smaller_subset_is_part_of_the_larger_ones_and_the_seed_fixes_them(photo_count):
    photos = [f"p{i}.jpg" for i in range(10)]
    sets = photo_count.subsets(photos, [2, 5, 10], seed=3)
    assert [len(s) for s in sets.values()] == [2, 5, 10]
    assert set(sets[2]) < set(sets[5]) < set(sets[10]) == set(photos)
    assert sets == photo_count.subsets(photos, [2, 5, 10], seed=3)
    assert sets[5] != photo_count.subsets(photos, [5], seed=4)[5]


def test_more_photos_than_there_are_is_one_clear_error(photo_count):
    with pytest.raises(photo_count.TfstyleError, match="only 3 training photos, fewer than 4"):
        photo_count.subsets(["a", "b", "c"], [2, 4], seed=0)


@pytest.mark.slow  # trains two tiny models and optimizes two tiny photos: about 25 s on 2 cores
def test_the_study_runs_in_quick_mode_and_records_each_count(photo_count, tmp_path, capsys):
    assert photo_count.main(["--quick", "--results", str(tmp_path), "--cache", str(tmp_path / "cache")]) == 0
    (record,) = tmp_path.glob("fast_photo_count_*.json")
    saved = json.loads(record.read_text())
    assert list(saved["runs"]) == ["2", "4"] and saved["steps"] == 3
    for run in saved["runs"].values():
        assert len(run["ratios"]) == 2 and all(r["style"] > 0 and r["content"] > 0 for r in run["ratios"].values())
        assert set(run["mean"]) == {"style", "content"}
    assert set(saved["runs"]["2"]["photos"]) < set(saved["runs"]["4"]["photos"])
    assert record.with_suffix(".md").read_text().startswith("# Quality against the number of training photos")
