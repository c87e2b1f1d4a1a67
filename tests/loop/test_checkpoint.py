"""Resumable runs: a checkpointed run stopped part-way and resumed ends where an uninterrupted run
ends (sgd, adam: to round-off), refuses another run's checkpoint, and the CLI's --checkpoint_every
and --resume do the same."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_image
from PIL import Image

from tfstyle import (
    CheckpointError,
    Checkpointing,
    StyleConfig,
    StyleInterrupted,
    build_feature_model,
    stylize,
)
from tfstyle.cli import run as tfrun
from tfstyle.loop.checkpoint import latest_step

LAYERS = ("block1_conv2", "block2_conv2")


@pytest.fixture(scope="module")
def model():
    return build_feature_model(LAYERS, weights="random", seed=0)


@pytest.fixture(scope="module")
def images():
    return synthetic_image(24, 32, seed=1), synthetic_image(32, 32, seed=2)


def config(optimizer: str = "adam", **changes) -> StyleConfig:
    rates = {"adam": 8.0, "sgd": 1.0, "lbfgs": None}
    settings = dict(
        content_layers=("block2_conv2",), style_layers=LAYERS, optimizer=optimizer, learning_rate=rates[optimizer],
        iterations=6, image_size=32, weights="random", precision="float32",
    )  # fmt: skip
    return StyleConfig(**{**settings, **changes})


def stop_at(iteration: int):
    return lambda step: step.iteration == iteration


@pytest.mark.parametrize("optimizer", ["adam", pytest.param("sgd", marks=pytest.mark.slow)])
def test_a_resumed_run_ends_where_an_uninterrupted_one_does(optimizer, model, images, tmp_path):
    content, style = images
    cfg = config(optimizer)
    whole = stylize(content, style, cfg, feature_model=model)
    first = stylize(content, style, cfg, [stop_at(3)], model, checkpoint=Checkpointing(tmp_path, every=2))
    assert first.iterations == 3 and latest_step(tmp_path) == 3  # saved at 2, and at the stop
    resumed = stylize(content, style, cfg, feature_model=model, checkpoint=Checkpointing(tmp_path, every=2, resume=True))
    assert np.abs(whole.image - content).max() > 1.0, "the image should have moved"
    np.testing.assert_allclose(resumed.image, whole.image, rtol=0, atol=1e-3)
    assert resumed.iterations == 6 and latest_step(tmp_path) == 6
    np.testing.assert_allclose(resumed.history["total"], whole.history["total"], rtol=1e-5)
    assert resumed.initial_losses == pytest.approx(whole.initial_losses)
    assert len(list(tmp_path.glob("ckpt-*.index"))) == 1, "only the latest save is kept"


@pytest.mark.slow
def test_ctrl_c_saves_and_the_run_resumes_exactly(model, images, tmp_path):
    content, style = images
    cfg = config("adam")

    def interrupt_at_four(step):
        if step.iteration == 4:
            raise KeyboardInterrupt

    with pytest.raises(StyleInterrupted):
        stylize(content, style, cfg, [interrupt_at_four], model, checkpoint=Checkpointing(tmp_path, every=0))
    assert latest_step(tmp_path) == 4
    resumed = stylize(content, style, cfg, feature_model=model, checkpoint=Checkpointing(tmp_path, resume=True))
    np.testing.assert_allclose(resumed.image, stylize(content, style, cfg, feature_model=model).image, rtol=0, atol=1e-3)


@pytest.mark.slow
def test_a_finished_run_continues_with_more_iterations(model, images, tmp_path):
    content, style = images
    stylize(content, style, config(iterations=4), feature_model=model, checkpoint=Checkpointing(tmp_path))
    longer = stylize(content, style, config(), feature_model=model, checkpoint=Checkpointing(tmp_path, resume=True))
    expected = stylize(content, style, config(), feature_model=model)
    assert longer.iterations == 6
    np.testing.assert_allclose(longer.image, expected.image, rtol=0, atol=1e-3)


def test_resume_without_a_checkpoint_starts_from_the_beginning(model, images, tmp_path):
    content, style = images
    fresh = stylize(content, style, config(), feature_model=model, checkpoint=Checkpointing(tmp_path / "new", resume=True))
    np.testing.assert_allclose(fresh.image, stylize(content, style, config(), feature_model=model).image, rtol=0, atol=1e-3)
    assert latest_step(tmp_path / "new") == 6


def test_lbfgs_resumes_from_the_saved_image_with_a_fresh_memory(model, images, tmp_path):
    content, style = images
    cfg = config("lbfgs")
    first = stylize(content, style, cfg, [stop_at(3)], model, checkpoint=Checkpointing(tmp_path, every=1))
    resumed = stylize(content, style, cfg, feature_model=model, checkpoint=Checkpointing(tmp_path, resume=True))
    assert resumed.iterations == 6
    np.testing.assert_allclose(resumed.history["total"][:3], first.history["total"], rtol=1e-6)
    assert resumed.final_losses["total"] < first.final_losses["total"]


def test_another_runs_checkpoint_is_refused_naming_what_differs(model, images, tmp_path):
    content, style = images
    stylize(content, style, config(iterations=2), feature_model=model, checkpoint=Checkpointing(tmp_path))
    with pytest.raises(CheckpointError, match=r"another run \(style_weight 0.0025 → 0.5\)"):
        stylize(content, style, config(style_weight=0.5), feature_model=model, checkpoint=Checkpointing(tmp_path, resume=True))
    with pytest.raises(CheckpointError, match="another run.*content image"):
        other = synthetic_image(24, 32, seed=5)
        stylize(other, style, config(), feature_model=model, checkpoint=Checkpointing(tmp_path, resume=True))


def test_bad_checkpoint_settings_are_clear_errors(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="is a file"):
        Checkpointing(tmp_path / "file")
    with pytest.raises(CheckpointError, match="0 or a positive"):
        Checkpointing(tmp_path, every=-1)


# --- the command line ---------------------------------------------------------------------------


def cli(*args) -> int:
    try:
        return tfrun.cli(["tfstyle", *map(str, args)])
    finally:
        tfrun.FLAGS.unparse_flags()


@pytest.mark.slow
def test_cli_checkpoint_every_and_resume(tmp_path, images, capsys):
    content, style = images
    Image.fromarray(content).save(tmp_path / "photo.png")
    Image.fromarray(style).save(tmp_path / "painting.png")
    base = [
        "--content", tmp_path / "photo.png", "--style", tmp_path / "painting.png", "--weights", "random",
        "--image_size", 32, "--print_every", 0, "--content_layers", "conv2_2", "--style_layers", "conv1_2,conv2_2",
    ]  # fmt: skip
    assert cli(*base, "--iterations", 4, "--checkpoint_every", 2, "--output", tmp_path / "a.png") == 0
    assert latest_step(tmp_path / "a_checkpoint") == 4
    capsys.readouterr()
    assert cli(*base, "--iterations", 6, "--resume", "--output", tmp_path / "a.png") == 0
    assert "resuming from iteration 4" in capsys.readouterr().out
    assert cli(*base, "--iterations", 6, "--output", tmp_path / "b.png") == 0
    resumed, straight = (np.asarray(Image.open(tmp_path / name), np.int16) for name in ("a.png", "b.png"))
    assert np.abs(resumed - straight).max() <= 1

    assert cli(*base, "--checkpoint_dir", tmp_path / "c", "--output", tmp_path / "c.png") == 1
    assert "tfstyle: error: --checkpoint_dir needs --checkpoint_every or --resume" in capsys.readouterr().err
    assert cli(*base, "--iterations", 2, "--style_weight", 1, "--resume", "--output", tmp_path / "a.png") == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "tfstyle: error: the checkpoint in" in err and "another run" in err
