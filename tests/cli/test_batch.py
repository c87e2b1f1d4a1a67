"""``python -m tfstyle.batch``: folders, globs and list files; resuming by skipping existing outputs;
a failing image failing alone; the summary; and a batch spread over two (logical) devices giving the
single-device result."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, synthetic_image
from PIL import Image

from tfstyle import NonFiniteLossError, StyleConfig
from tfstyle.cli import batch as tfbatch
from tfstyle.errors import ConfigError, ImageError
from tfstyle.loop.progress import CLEAR_LINE
from tfstyle.scale import folder
from tfstyle.scale.distribute import is_chief, strategy_for

SETTINGS = [
    "--weights", "random", "--image_size", "32", "--iterations", "2",
    "--content_layers", "conv2_2", "--style_layers", "conv1_2,conv2_2",
]  # fmt: skip


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Two 4:3 photos, a portrait, a file that is no image, and a PNG cut short (its header is fine)."""
    folder_ = tmp_path / "photos"
    folder_.mkdir()
    for index in range(2):
        Image.fromarray(synthetic_image(48, 64, seed=index)).save(folder_ / f"photo{index}.png")
    Image.fromarray(synthetic_image(64, 48, seed=5)).save(folder_ / "portrait.png")
    (folder_ / "notes.txt").write_text("not an image, and not listed: wrong extension")
    (folder_ / "garbage.jpg").write_bytes(b"this is no jpeg")
    Image.fromarray(synthetic_image(48, 64, seed=7)).save(folder_ / "cut.png")
    data = (folder_ / "cut.png").read_bytes()
    (folder_ / "cut.png").write_bytes(data[: len(data) // 2])
    return folder_


@pytest.fixture
def style(tmp_path: Path) -> Path:
    path = tmp_path / "painting.png"
    Image.fromarray(synthetic_image(40, 40, seed=9)).save(path)
    return path


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


def test_glob_and_list_file_inputs(photos, style, tmp_path, capsys):
    (photos / "cut.png").unlink()
    assert cli("--content_glob", photos / "photo*.png", "--style", style, "--output_dir", tmp_path / "a", *SETTINGS) == 0
    assert "2 done, 0 skipped, 0 failed" in capsys.readouterr().out
    listing = tmp_path / "list.txt"
    listing.write_text("# holiday\nphotos/portrait.png\n\nphotos/photo1.png\n")
    assert cli("--content_list", listing, "--style", style, "--output_dir", tmp_path / "b", "--format", "jpg", *SETTINGS) == 0
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["photo1.jpg", "portrait.jpg"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


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
    with pytest.raises(ConfigError, match="exactly one"):
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


def test_bad_invocations_are_one_line_errors(photos, style, tmp_path, capsys):
    for args, message in [
        (["--style", style, "--output_dir", tmp_path], "exactly one of --content_dir"),
        (["--content_dir", tmp_path / "none", "--style", style, "--output_dir", tmp_path], "does not exist"),
        (["--content_dir", photos, "--style", tmp_path / "no.png", "--output_dir", tmp_path], "style image not found"),
        (["--content_dir", photos, "--style", style, "--output_dir", style], "is a file"),
        (["--content_dir", photos, "--style", style, "--output_dir", tmp_path, "--batch_size", 0], "--batch_size must be 1 or more"),
        (["--content_dir", photos, "--style", style, "--output_dir", tmp_path, "--devices", "GPU:7"], "device 'GPU:7' is not available"),
    ]:
        assert cli(*args, *SETTINGS) == 1, message
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err.startswith("tfstyle: error: ") and message in err, err


def test_the_cluster_chief_writes(monkeypatch):
    two = {"cluster": {"worker": ["localhost:1", "localhost:2"]}}
    monkeypatch.setenv("TF_CONFIG", json.dumps({**two, "task": {"type": "worker", "index": 0}}))
    assert is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps({**two, "task": {"type": "worker", "index": 1}}))
    assert not is_chief()
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ConfigError, match="TF_CONFIG is not valid JSON"):
        strategy_for("auto")
    monkeypatch.delenv("TF_CONFIG")
    assert is_chief() and strategy_for("one") is None


# The CPU split into two logical devices must happen before TensorFlow starts: a fresh process.
DEVICE_SPLIT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfstyle import build_feature_model, load_image, preset, stylize
    from tfstyle.cli import batch
    from tfstyle.scale.distribute import describe, strategy_for
    from tfstyle.inputs.images import resize_longest_side

    photos, style, out = sys.argv[1], sys.argv[2], sys.argv[3]
    strategy = strategy_for("auto")
    # The settings of the command line below (SETTINGS).
    config = preset("default").override(weights="random", image_size=32, iterations=2,
                                        content_layers=("block2_conv2",), style_layers=("block1_conv2", "block2_conv2"))
    contents = [load_image(f"{photos}/p{index}.png") for index in range(3)]  # 3 images on 2 replicas: a padded shard
    with strategy.scope():
        model = build_feature_model(config.layers_in_use(), "random")
    spread = stylize(contents, style, config, feature_model=model, strategy=strategy)
    alone = stylize(contents, style, config, feature_model=model)
    np.save(out + ".npy", alone.image)
    status = {
        "where": describe(strategy), "device": spread.device,
        "difference": float(np.abs(spread.image - alone.image).max()),
        "moved": float(np.abs(alone.image - np.stack([resize_longest_side(c, 32) for c in contents])).max()),
        "losses": float(abs(spread.final_losses["total"] - alone.final_losses["total"]) / alone.final_losses["total"]),
        "cli": batch.cli(["tfstyle-batch", "--content_dir", photos, "--style", style, "--output_dir", out,
                          "--batch_size", "3", *sys.argv[4:]]),
    }
    print("STATUS " + json.dumps(status))
    """
)


def test_a_batch_spread_over_two_devices_gives_the_single_device_result(tmp_path, style):
    photos = tmp_path / "in"
    photos.mkdir()
    for index in range(3):
        Image.fromarray(synthetic_image(48, 64, seed=index)).save(photos / f"p{index}.png")
    script = tmp_path / "split.py"
    script.write_text(DEVICE_SPLIT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    env.pop("TF_CONFIG", None)
    run = subprocess.run(
        [sys.executable, str(script), str(photos), str(style), str(tmp_path / "out"), *SETTINGS],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    lines = [line for line in run.stdout.splitlines() if line.startswith("STATUS ")]
    assert run.returncode == 0 and lines, run.stdout[-3000:] + run.stderr[-3000:]
    status = json.loads(lines[0][len("STATUS ") :])
    assert status["where"] == "2 replicas: CPU:0, CPU:1" and status["device"] == status["where"]
    assert status["moved"] > 1.0, "the images should have moved"
    assert status["difference"] < 1e-2, status  # to round-off
    assert status["losses"] < 1e-5, status
    assert status["cli"] == 0 and "3 done, 0 skipped, 0 failed" in run.stdout and "on 2 replicas: CPU:0, CPU:1" in run.stdout
    alone = np.load(tmp_path / "out.npy")  # the single-device images, as the command line's files
    for index in range(3):
        written = np.asarray(Image.open(tmp_path / "out" / f"p{index}.png"), np.float32)
        assert np.abs(written - alone[index]).max() <= 1.0
