"""Stylizing a folder: finding the images (folders, globs, lists), naming the outputs, the progress
lines, and a failing batch retried image by image."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import Terminal, synthetic_image
from PIL import Image

from tfstyle import NonFiniteLossError, StyleConfig
from tfstyle.errors import ConfigError, ImageError, ModelError
from tfstyle.loop.progress import CLEAR_LINE
from tfstyle.scale import folder


def folder_progress(stream) -> tuple[folder.FolderProgress, io.StringIO]:
    """A FolderProgress over three images, one skipped: a done image, a failed one (and one left)."""
    errors = io.StringIO()
    progress = folder.FolderProgress(stream, errors)
    progress.start(3, 1)
    progress.image(folder.ImageOutcome(Path("a.png"), Path("out/a.png"), folder.DONE))
    progress.image(folder.ImageOutcome(Path("b.jpg"), Path("out/b.png"), folder.FAILED, "not an image"))
    progress.end(folder.FolderSummary())
    return progress, errors


def test_folder_progress_off_a_terminal_is_a_line_per_image():
    stream = io.StringIO()
    _, errors = folder_progress(stream)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "skipping 1 image whose output exists"
    assert lines[1].startswith("[1/3] done a.png -> out/a.png  ") and lines[1].endswith(" images/min")
    assert lines[2].startswith("[2/3] failed b.jpg  ") and len(lines) == 3
    assert errors.getvalue() == "failed: b.jpg: not an image\n"


def test_folder_progress_on_a_terminal_is_the_shared_bar_cleared_when_interrupted():
    stream = Terminal()
    _, errors = folder_progress(stream)
    screen = stream.getvalue()
    assert screen.startswith("skipping 1 image whose output exists\n")
    assert "[>.......................] 0/3 images  - images/min" in screen
    assert re.search(r"\[================>\.......\] 2/3 images  [\d.]+ images/min  ETA ", screen), screen
    assert "done a.png" not in screen and screen.endswith(CLEAR_LINE)  # no per-image lines; no bar left behind
    assert errors.getvalue() == "failed: b.jpg: not an image\n"


def test_find_images_reads_folders_globs_and_lists(photos, tmp_path):
    assert [p.name for p in folder.find_images(photos)] == ["cut.png", "garbage.jpg", "photo0.png", "photo1.png", "portrait.png"]
    nested = photos / "more" / "deeper"
    nested.mkdir(parents=True)
    Image.fromarray(synthetic_image(8, 8)).save(nested / "x.png")
    found = folder.find_images(pattern=str(photos / "**" / "*.png"))  # ** recurses
    assert len(found) == 5 and nested / "x.png" in found
    listing = tmp_path / "l.txt"
    listing.write_text("photos/a.png\n  # skip\n/abs/b.jpg\n")
    assert folder.find_images(list_file=listing) == [tmp_path / "photos/a.png", Path("/abs/b.jpg")]
    with pytest.raises(ImageError, match="no images in"):
        folder.find_images(nested.parent)
    with pytest.raises(ImageError, match="no files match"):
        folder.find_images(pattern=str(tmp_path / "*.gif"))
    with pytest.raises(ConfigError, match="exactly one of `content_dir`, `pattern` and `list_file`"):
        folder.find_images(photos, pattern="*.png")


def test_outputs_of_sources_that_share_a_name_are_told_apart(tmp_path):
    sources = [tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.jpg", tmp_path / "y.png"]
    outputs = folder.output_paths(sources, tmp_path / "out")
    assert outputs[2] == tmp_path / "out" / "y.png"
    assert outputs[0] != outputs[1] and outputs[0].name.startswith("x_") and outputs[0].suffix == ".png"
    assert folder.output_paths(sources, tmp_path / "out") == outputs, "the same names on every run"


def test_a_failing_optimization_is_retried_image_by_image(photos, style, tmp_path, monkeypatch):
    """A batch that fails (a non-finite loss) runs again one image at a time: only the culprit fails."""
    real = folder.stylize
    calls = []

    def stylize(batch, *args, **kwargs):
        calls.append(len(batch))
        if any(image.mean() > 150 for image in batch):  # photo1 is the bright one
            raise NonFiniteLossError("the loss became nan", None)
        return real(batch, *args, **kwargs)

    bright = synthetic_image(48, 64, seed=1).astype(np.float32)
    Image.fromarray(np.clip(bright + 120, 0, 255).astype(np.uint8)).save(photos / "photo1.png")
    monkeypatch.setattr(folder, "stylize", stylize)
    cfg = StyleConfig(content_layers=("block2_conv2",), style_layers=("block1_conv2",), weights="random", image_size=32, iterations=2,
                      precision="float32")
    sources = [photos / "photo0.png", photos / "photo1.png"]
    summary = folder.stylize_folder(sources, style, tmp_path / "out", cfg, batch_size=2)
    assert (summary.done, summary.skipped, summary.failed) == (1, 0, 1)
    assert calls == [2, 1, 1]
    failed = [o for o in summary.outcomes if o.status == "failed"]
    assert failed[0].source.name == "photo1.png" and "nan" in failed[0].message
    assert (tmp_path / "out" / "photo0.png").exists() and not (tmp_path / "out" / "photo1.png").exists()


def test_a_folder_converts_its_feature_model_to_the_runs_form_once(photos, style, tmp_path, conversions):
    cfg = StyleConfig(content_layers=("block2_conv2",), style_layers=("block1_conv2",), weights="random", image_size=32,
                      iterations=2, precision="float32", convolutions="forward")  # fmt: skip
    summary = folder.stylize_folder([photos / "photo0.png", photos / "photo1.png"], style, tmp_path / "out", cfg, batch_size=1)
    assert summary.done == 2
    assert conversions == ["forward"]  # not once per image


def test_a_folder_named_like_an_output_is_no_finished_image_but_a_failure(photos, style, tmp_path):
    (tmp_path / "out" / "photo0.png").mkdir(parents=True)
    cfg = StyleConfig(weights="random", image_size=32, iterations=1)
    summary = folder.stylize_folder([photos / "photo0.png"], style, tmp_path / "out", cfg)
    assert (summary.done, summary.skipped, summary.failed) == (0, 0, 1)
    assert "is a directory, not an image file" in summary.outcomes[0].message


def test_without_a_style_the_fast_stylizer_paints_each_image_and_a_rerun_skips_them(photos, tmp_path, fast_model):
    cfg = StyleConfig(model=str(fast_model), image_size=32)
    sources = sorted(photos.glob("*.*g"))  # the photos, the portrait, garbage.jpg and cut.png
    out = tmp_path / "out"
    summary = folder.stylize_folder(sources, None, out, cfg)
    assert (summary.done, summary.skipped, summary.failed) == (3, 0, 2)
    assert sorted(p.name for p in out.iterdir()) == ["photo0.png", "photo1.png", "portrait.png"], "no partial files"
    assert Image.open(out / "photo0.png").size == (32, 24) and Image.open(out / "portrait.png").size == (24, 32)
    from tfstyle.fast.stylizer import FastStylizer

    expected = FastStylizer.load(fast_model)(photos / "photo0.png", image_size=32)
    np.testing.assert_array_equal(np.asarray(Image.open(out / "photo0.png"), np.float32), expected)
    failed = {o.source.name: o.message for o in summary.outcomes if o.status == "failed"}
    assert "not an image" in failed["garbage.jpg"] and "corrupt or truncated" in failed["cut.png"]
    again = folder.stylize_folder(sources, None, out, cfg)
    assert (again.done, again.skipped, again.failed) == (0, 3, 2)


def test_an_image_too_small_for_the_fast_stylizer_fails_alone(tmp_path, fast_model):
    Image.fromarray(synthetic_image(3, 40)).save(tmp_path / "strip.png")
    Image.fromarray(synthetic_image(30, 40)).save(tmp_path / "fine.png")
    summary = folder.stylize_folder([tmp_path / "strip.png", tmp_path / "fine.png"], None, tmp_path / "out",
                                     StyleConfig(model=str(fast_model), image_size=40))
    assert (summary.done, summary.failed) == (1, 1) and "needs at least" in summary.outcomes[0].message


def test_with_a_style_and_init_model_the_optimization_starts_from_the_fast_picture(photos, style, tmp_path, fast_model):
    cfg = StyleConfig(content_layers=("block2_conv2",), style_layers=("block1_conv2",), weights="random", image_size=32,
                      iterations=1, learning_rate=1e-9, precision="float32", model=str(fast_model), init="model")  # fmt: skip
    summary = folder.stylize_folder([photos / "photo0.png"], style, tmp_path / "out", cfg)
    assert summary.done == 1
    from tfstyle.fast.stylizer import FastStylizer

    fast = FastStylizer.load(fast_model, cfg.precision)(photos / "photo0.png", image_size=32)
    made = np.asarray(Image.open(tmp_path / "out" / "photo0.png"), np.float32)
    assert np.abs(made - fast).max() <= 1, "one tiny step from the fast picture"


@pytest.mark.parametrize("style_given", [False, True])
def test_a_bad_model_fails_before_the_output_folder_is_made(photos, style, tmp_path, style_given):
    cfg = StyleConfig(weights="random", image_size=32, iterations=1, model=str(tmp_path / "nothing"), init="model")
    with pytest.raises(ModelError, match="model folder not found"):
        folder.stylize_folder([photos / "photo0.png"], style if style_given else None, tmp_path / "out", cfg)
    assert not (tmp_path / "out").exists()


def test_no_style_and_no_model_is_a_config_error(photos, tmp_path):
    with pytest.raises(ConfigError, match="give a `style`"):
        folder.stylize_folder([photos / "photo0.png"], None, tmp_path / "out", StyleConfig())
    assert not (tmp_path / "out").exists()
