"""tools/bench/fast.py, the fast stylizer's benchmark: its pieces on tiny inputs, and the command end to
end in --quick mode (random weights and model, 64 px, one round), speed and quality."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def fast():
    return importlib.import_module("tools.bench.fast")  # here, not at collection: it sets the environment


def test_the_machine_kind_is_a_file_name_of_the_cpu(fast):
    fields = {"model name": "AMD EPYC 9R14 96-Core Processor", "cpu family": "25", "model": "17"}
    assert fast.machine_kind(fields) == "amd_epyc_9r14_96_core_processor_f25_m17"


def test_a_ratio_is_the_median_of_the_rounds_and_tfstyles_auto_precision_meets_the_peer_at_its_best(fast):
    rounds = {
        "optimization": [[60.0], [50.0], [70.0]],
        "fast, from the file": [[0.3, 0.2, 0.4], [0.5, 0.5, 0.5], [0.7, 0.7, 0.7]],
        "fast, on the array, float32": [[1.0], [1.0], [1.0]],
        "fast, on the array, auto (bfloat16)": [[0.5], [0.5], [0.5]],
        "peer inference, float32 (x)": [[2.0], [1.0], [4.0]],
        "peer inference, bfloat16 (x)": [[1.0], [2.0], [2.0]],
    }
    ratios = fast.ratios(rounds, "optimization")
    speedup = ratios["optimization / fast (from the file)"]
    assert speedup["per_round"] == pytest.approx([200, 100, 100]) and speedup["value"] == pytest.approx(100)
    assert speedup["met"]  # ≥ 100
    assert ratios["fast float32 / peer float32"]["per_round"] == pytest.approx([0.5, 1.0, 0.25])
    best = ratios["fast auto / peer at its best"]
    assert best["per_round"] == pytest.approx([0.5, 0.5, 0.25]) and best["met"]  # ≤ 0.85: the auto precision's row
    assert "training float32 / peer float32" not in ratios  # not measured: left out


def test_the_training_crops_are_square_pieces_of_the_photo(fast):
    photo = np.arange(20 * 30 * 3, dtype=np.float32).reshape(20, 30, 3)
    crops = fast.photo_crops(photo, 3, 8)
    assert crops.shape == (3, 8, 8, 3)
    for crop in crops:
        y, x = np.argwhere(photo[..., 0] == crop[0, 0, 0])[0]
        np.testing.assert_array_equal(crop, photo[y : y + 8, x : x + 8])


def test_photo_credits_come_from_the_sources_beside_the_photos(fast, tmp_path):
    (tmp_path / "SOURCES.tsv").write_text(
        "file\tsource\tlicense\tcopyright\na.jpg\tsomewhere\tCC-BY-4.0\tAnn, 2018\nb.jpg\tthere\tPD\t\n", encoding="utf-8"
    )
    credits = fast.photo_credits([tmp_path / "a.jpg", tmp_path / "b.jpg", tmp_path.parent / "c.jpg"])
    assert credits == {"a.jpg": "Ann, 2018, CC-BY-4.0", "b.jpg": "PD"}


def test_the_pictures_are_saved_side_by_side_and_one_by_one(fast, tmp_path):
    panels = [("photo", np.zeros((10, 12, 3), np.float32)), ("fast + 3 steps", np.full((10, 12, 3), 255.0, np.float32))]
    fast.save_pictures(tmp_path, "cat", panels)
    with Image.open(tmp_path / "cat.jpg") as sheet:
        assert sheet.width == 24 and sheet.height > 10
    assert sorted(p.name for p in tmp_path.glob("cat_*.png")) == ["cat_0_photo.png", "cat_1_fast_3_steps.png"]


def test_the_optimization_is_cached_by_photo_style_and_settings(fast, tmp_path, monkeypatch):
    photo, style = tmp_path / "photo.png", tmp_path / "style.png"
    photo.write_bytes(b"photo"), style.write_bytes(b"style")
    runs = []

    class Result:
        image = np.ones((2, 2, 3), np.float32)

    def stylize(*args, **kwargs):
        runs.append(args)
        return Result()

    monkeypatch.setattr(fast.tfstyle, "stylize", stylize)
    config = fast.preset("default")
    cache = tmp_path / "cache"
    for _ in range(2):
        np.testing.assert_array_equal(fast.cached_optimization(photo, style, config, None, cache), Result.image)
    assert len(runs) == 1
    fast.cached_optimization(photo, style, config.override(iterations=3), None, cache)
    style.write_bytes(b"another style")
    fast.cached_optimization(photo, style, config, None, cache)
    assert len(runs) == 3 and len(list(cache.glob("*.npy"))) == 3


def test_a_missing_model_is_one_line_and_nothing_written(fast, tmp_path, capsys):
    code = fast.main(["--model", str(tmp_path / "nothing"), "--results", str(tmp_path / "results")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("tools.bench.fast: error: ") and "\n" not in err
    assert not (tmp_path / "results").exists()


@pytest.mark.slow  # traces tfstyle's training step in two precisions and the optimization: about a minute on 2 cores
def test_the_speed_benchmark_runs_in_quick_mode(fast, tmp_path, capsys):
    assert fast.main(["--quick", "--results", str(tmp_path)]) == 0
    (record,) = tmp_path.glob("fast_*.json")
    saved = json.loads(record.read_text())
    speed = saved["speed"]
    assert {"CPU", "CPU features", "oneDNN"} <= set(saved["machine"])
    names = list(speed["median_s"])
    for prefix in ("fast, from the file", "fast, on the array, float32", "fast, Keras", "training step, float32", "training step, auto",
                   "optimization, 3 steps", "peer inference, float32", "peer training step, float32"):  # fmt: skip
        assert any(name.startswith(prefix) for name in names), prefix
    assert all(value > 0 for value in speed["median_s"].values())
    assert {"optimization / fast (from the file)", "fast float32 / peer float32", "training float32 / peer float32",
            "training auto / peer at its best"} <= set(speed["ratios"])  # fmt: skip
    assert speed["peer picture vs tfstyle's, max grey levels apart"] < 0.1  # the same network
    assert record.with_suffix(".md").read_text().startswith("# The fast stylizer's speed")


@pytest.mark.slow  # optimizes and refines two tiny photos: about 15 s on 2 cores
def test_the_quality_measure_runs_in_quick_mode(fast, tmp_path):
    pictures = tmp_path / "pictures"
    args = ["--quick", "--quality", "MODEL", "--results", str(tmp_path), "--pictures", str(pictures)]
    assert fast.main(args) == 0
    (record,) = tmp_path.glob("fast_quality_*.json")
    rows = json.loads(record.read_text())["quality"]
    assert len(rows) == 2
    for row in rows.values():
        assert row["fast / optimization"]["style"] == pytest.approx(row["fast"]["style"] / row["optimization"]["style"])
        assert row["fast / optimization"]["objective"] > 0  # the default objective's ratio
        steps = row["refinement steps"]
        assert steps is None or 0 <= steps <= 3  # --quick refines at most 3 steps
        assert len(row["refinement curve (step, style, content)"]) == (3 if steps is None else steps)
        alone = row["refinement steps, each distance alone"]
        if steps is not None:
            assert max(alone.values()) <= steps  # each alone, no later than both together
    assert len(list(pictures.glob("*.jpg"))) == 2 and len(list(pictures.glob("*.png"))) == 8
