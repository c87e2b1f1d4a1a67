"""``python -m tfstyle.batch``: folders, globs and list files; resuming by skipping existing outputs;
a failing image failing alone; the summary; one line for a bad invocation. (The folder's own
behaviour: scale/test_folder.py; two devices: scale/test_distribute.py.)"""

from __future__ import annotations

import pytest
from conftest import BATCH_SETTINGS as SETTINGS
from PIL import Image

from tfstyle.cli import batch as tfbatch


def cli(*args) -> int:
    return tfbatch.cli(["tfstyle-batch", *map(str, args)])


def test_a_folder_with_bad_images_resumes_and_counts(photos, style, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli("--content_dir", photos, "--style", style, "--output_dir", out, "--batch_size", 3, *SETTINGS) == 1
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["photo0.png", "photo1.png", "portrait.png"], "no partial or temp files"
    assert "3 done, 0 skipped, 2 failed" in captured.out and "images/min" in captured.out
    assert Image.open(out / "portrait.png").size == (24, 32) and Image.open(out / "photo0.png").size == (32, 24)
    assert "Traceback" not in captured.err
    errors = captured.err.strip().splitlines()
    assert any(line.startswith("failed: ") and "garbage.jpg" in line and "not an image" in line for line in errors)
    # cut.png's header reads, so it went into a batch with the photos; it failed there alone.
    assert any(line.startswith("failed: ") and "cut.png" in line and "corrupt or truncated" in line for line in errors)
    assert errors[-1] == "tfstyle: error: 2 images failed (listed above)"

    written = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert cli("--content_dir", photos, "--style", style, "--output_dir", out, *SETTINGS) == 1
    captured = capsys.readouterr()
    assert "skipping 3 images whose output exists" in captured.out and "0 done, 3 skipped, 2 failed" in captured.out
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == written, "existing outputs are left alone"


@pytest.mark.slow
def test_glob_and_list_file_inputs(photos, style, tmp_path, capsys):
    (photos / "cut.png").unlink()
    assert cli("--content_glob", photos / "photo*.png", "--style", style, "--output_dir", tmp_path / "a", *SETTINGS) == 0
    assert "2 done, 0 skipped, 0 failed" in capsys.readouterr().out
    listing = tmp_path / "list.txt"
    listing.write_text("# holiday\nphotos/portrait.png\n\nphotos/photo1.png\n")
    assert cli("--content_list", listing, "--style", style, "--output_dir", tmp_path / "b", "--format", "jpg", *SETTINGS) == 0
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["photo1.jpg", "portrait.jpg"]


def test_bad_invocations_are_one_line_errors(photos, style, tmp_path, capsys):
    for args, message in [
        (["--style", style, "--output_dir", tmp_path], "exactly one of --content_dir, --content_glob and --content_list"),
        (["--content_dir", tmp_path / "none", "--style", style, "--output_dir", tmp_path], "does not exist"),
        (["--content_dir", photos, "--style", tmp_path / "no.png", "--output_dir", tmp_path], "style image not found"),
        (["--content_dir", photos, "--style", style, "--output_dir", style], "is a file"),
        (["--content_dir", photos, "--style", style, "--output_dir", tmp_path, "--batch_size", 0], "--batch_size must be a positive whole"),
        (["--content_dir", photos, "--style", style, "--output_dir", tmp_path, "--devices", "GPU:7"], "device 'GPU:7' is not available"),
    ]:
        assert cli(*args, *SETTINGS) == 1, message
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err.startswith("tfstyle: error: ") and message in err, err




def test_model_without_a_style_paints_each_image_fast_and_resumes(photos, tmp_path, capsys, fast_model):
    out = tmp_path / "out"
    assert cli("--content_dir", photos, "--model", fast_model, "--output_dir", out, "--image_size", 32) == 1
    captured = capsys.readouterr()
    assert "3 done, 0 skipped, 2 failed" in captured.out and "Traceback" not in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["photo0.png", "photo1.png", "portrait.png"], "no partial or temp files"
    assert Image.open(out / "photo0.png").size == (32, 24) and Image.open(out / "portrait.png").size == (24, 32)
    assert cli("--content_dir", photos, "--model", fast_model, "--output_dir", out, "--image_size", 32) == 1
    assert "0 done, 3 skipped, 2 failed" in capsys.readouterr().out


def test_model_and_style_refine_the_fast_picture(photos, style, tmp_path, capsys, fast_model, monkeypatch):
    (photos / "cut.png").unlink()
    (photos / "garbage.jpg").unlink()
    inits = []

    def stylize_folder(sources, style, output_dir, config, **kwargs):
        inits.append(config.init)
        return real(sources, style, output_dir, config, **kwargs)

    real = tfbatch.stylize_folder
    monkeypatch.setattr(tfbatch, "stylize_folder", stylize_folder)
    assert cli("--content_dir", photos, "--model", fast_model, "--style", style, "--output_dir", tmp_path / "out", *SETTINGS) == 0
    assert "3 done, 0 skipped, 0 failed" in capsys.readouterr().out
    assert cli("--content_dir", photos, "--model", fast_model, "--style", style, "--output_dir", tmp_path / "b", "--init", "content",
               *SETTINGS) == 0  # fmt: skip
    assert inits == ["model", "content"], "--init model unless --init says otherwise"


def test_no_style_nor_model_and_a_bad_model_are_one_line_errors(photos, style, tmp_path, capsys):
    out = tmp_path / "out"
    for args, message in [
        ([], "give a --style (a painting), or a --model"),
        (["--model", tmp_path / "none"], "model folder not found"),
        (["--model", style], "is not a folder"),
        (["--model", tmp_path / "none", "--style", style], "model folder not found"),
    ]:
        assert cli("--content_dir", photos, "--output_dir", out, *args, *SETTINGS) == 1, message
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err.startswith("tfstyle: error: ") and message in err, err
        assert not out.exists(), "nothing written"
