"""``python -m tfstyle.train``: one clear line for every bad input, nothing half-written, and a tiny
real training whose model the other commands use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import synthetic_image
from PIL import Image

from tfstyle.cli import run as tfrun
from tfstyle.cli import train as tftrain
from tfstyle.inputs.images import load_image, resize_longest_side

TINY = ["--weights", "random", "--image_size", "40", "--precision", "float32", "--steps", "2", "--batch", "2",
        "--crop_size", "24", "--network_width", "4", "--holdout", "1", "--preview_every", "1", "--checkpoint_every", "1"]  # fmt: skip


@pytest.fixture(autouse=True)
def fresh_flags():
    yield
    for values in (tftrain.FLAGS, tfrun.FLAGS):
        if values.is_parsed():
            values.unparse_flags()


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(3):
        Image.fromarray(synthetic_image(40, 48, seed=index)).save(photos / f"p{index}.png")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    style = tmp_path / "style.png"
    Image.fromarray(synthetic_image(40, 40, seed=5)).save(style)
    return photos, style


def train(*args) -> int:
    return tftrain.cli(["tfstyle.train", *map(str, args)])


def test_an_empty_photos_folder_is_one_line_and_writes_nothing(tmp_path, inputs, capsys):
    _, style = inputs
    (tmp_path / "none").mkdir()
    assert train("--style", style, "--photos", tmp_path / "none", "--output", tmp_path / "m", *TINY) == 1
    err = capsys.readouterr().err
    assert err.startswith("tfstyle: error: no photos to train on") and err.count("\n") == 1
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.training").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"--style": "missing.png"}, "style image not found: missing.png"),
        ({"--photos": "nowhere"}, "photos folder not found: nowhere"),
        ({"--style": "a.png,b.png"}, "a fast stylizer learns one painting; --style names 2"),
        ({"--batch": "0"}, "--batch must be a positive whole number, got 0"),
    ],
)
def test_bad_inputs_are_one_line(tmp_path, inputs, capsys, monkeypatch, change, message):
    photos, style = inputs
    monkeypatch.chdir(tmp_path)
    args = {"--style": style, "--photos": photos, "--output": tmp_path / "m", **dict(zip(TINY[::2], TINY[1::2]))} | change
    assert train(*[x for pair in args.items() for x in pair]) == 1
    assert message in capsys.readouterr().err


def test_an_existing_output_is_kept_without_overwrite(tmp_path, inputs, capsys):
    photos, style = inputs
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "keep.txt").write_text("mine")
    assert train("--style", style, "--photos", photos, "--output", tmp_path / "m", *TINY) == 1
    assert "exists; --overwrite replaces it" in capsys.readouterr().err
    assert (tmp_path / "m" / "keep.txt").read_text() == "mine"


def test_an_output_that_cannot_be_written_fails_before_training(tmp_path, inputs, capsys):
    photos, style = inputs
    (tmp_path / "file").write_text("a file, not a folder")
    assert train("--style", style, "--photos", photos, "--output", tmp_path / "file" / "m", "--overwrite", *TINY) == 1
    err = capsys.readouterr().err
    assert "cannot write the export" in err and "is not a directory" in err
    assert not (tmp_path / "file.training").exists()


@pytest.mark.slow
def test_a_tiny_training_writes_a_model_that_run_uses_and_plain_tensorflow_agrees(tmp_path, inputs, capsys):
    photos, style = inputs
    model = tmp_path / "models" / "tiny"
    assert train("--style", style, "--photos", photos, "--output", model, *TINY) == 0
    out = capsys.readouterr().out
    assert "training on 2 photos (1 held out); skipped 1 unreadable: broken.jpg" in out
    assert "step 2/2:" in out and f"written to {model.resolve()}" in out
    assert (model / "saved_model.pb").is_file() and model.with_name("tiny.tflite").is_file()
    assert any((tmp_path / "models" / "tiny.training" / "logs").iterdir())

    content = photos / "p0.png"
    assert tfrun.cli(["tfstyle.run", "--model", str(model), "--content", str(content), "--output", str(tmp_path / "o.png"),
                      "--image_size", "33", "--precision", "float32"]) == 0  # fmt: skip
    assert "with the fast stylizer tiny" in capsys.readouterr().out
    written = load_image(tmp_path / "o.png")
    photo = np.round(resize_longest_side(load_image(content), 33)).astype(np.uint8)
    plain = tf.saved_model.load(str(model)).signatures["serving_default"](image=tf.constant(photo[None]))["image"]
    np.testing.assert_array_equal(written, plain[0].numpy())

    assert train("--style", style, "--photos", photos, "--output", model, "--resume", *TINY, "--steps", "4") == 0
    resumed = capsys.readouterr().out
    assert "step 3/4" in resumed and "step 4/4" in resumed and "step 2/4" not in resumed
    # a checkpoint already at --steps: nothing to train, the export written again from it
    assert train("--style", style, "--photos", photos, "--output", model, "--resume", *TINY, "--steps", "4") == 0
    assert "the checkpoint holds 4 steps; written to" in capsys.readouterr().out
