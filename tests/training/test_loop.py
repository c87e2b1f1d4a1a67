"""Training a fast stylizer: the step lowers tfstyle's own loss, checkpoints resume to the same
weights (after Ctrl-C too), other settings are refused, and the result is an exported model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import synthetic_image
from PIL import Image

from tfstyle.config import StyleConfig
from tfstyle.errors import CheckpointError
from tfstyle.fast.stylizer import FastStylizer, lite_path
from tfstyle.training.config import TrainConfig
from tfstyle.training.loop import Training, checkpoint_dir, train
from tfstyle.training.photos import find_photos

LOSS = StyleConfig(weights="random", image_size=40, precision="float32", style_layers=("conv1_2", "conv2_2"),
                   content_layers=("conv2_2",), style_weight=1e-3)  # fmt: skip
CONFIG = TrainConfig(steps=3, batch=2, crop_size=24, network_width=4, holdout=1)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("photos")
    for index in range(4):
        Image.fromarray(synthetic_image(36 + 4 * index, 44, seed=index)).save(folder / f"p{index}.png")
    style = folder.parent / "style.png"
    Image.fromarray(synthetic_image(40, 40, seed=9)).save(style)
    return folder, style


def _weights(model_dir: Path) -> dict[str, np.ndarray]:
    """The exported network's weights, by checkpoint key."""
    reader = tf.train.load_checkpoint(str(model_dir / "variables" / "variables"))
    return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map() if "network" in key}


def test_training_steps_lower_the_loss_on_a_tiny_set(files):
    folder, style = files
    training = Training(np.asarray(Image.open(style), np.float32), find_photos(folder), CONFIG, LOSS)
    batch = next(iter(training.batches()))
    totals = [float(training._train_step(batch)["total"]) for _ in range(12)]
    assert totals[-1] < 0.7 * totals[0]
    assert int(training.step.numpy()) == 12


def test_the_loss_is_the_stills_objective_with_the_photo_as_content(files):
    import tfstyle
    from tfstyle.objective.whole import make_loss_fn

    folder, style = files
    style_image = np.asarray(Image.open(style), np.float32)
    training = Training(style_image, find_photos(folder), CONFIG.override(crop_size=40), LOSS)
    photo = synthetic_image(40, 40, seed=3).astype(np.float32)
    stylized = synthetic_image(40, 40, seed=4).astype(np.float32)
    ours = training.losses(tf.constant(photo[None]), tf.constant(stylized[None]))
    still = make_loss_fn(training.features, photo, training.style.numpy()[0], LOSS)(tf.constant(stylized[None]))
    for name in ("content", "style", "total"):
        np.testing.assert_allclose(ours[name].numpy(), still[name].numpy(), rtol=1e-5)
    assert tfstyle.TrainConfig is TrainConfig


@pytest.mark.slow
def test_resume_after_ctrl_c_reproduces_the_uninterrupted_run(files, tmp_path):
    folder, style = files
    photos = find_photos(folder)
    whole = train(style, photos, tmp_path / "whole", CONFIG, LOSS, checkpoint_every=0, preview_every=0)

    def stop_at_two(step):
        if step.step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(style, photos, tmp_path / "split", CONFIG, LOSS, checkpoint_every=0, preview_every=0, report=stop_at_two)
    assert tf.train.latest_checkpoint(str(checkpoint_dir(tmp_path / "split"))).endswith("-2")
    assert not (tmp_path / "split").exists()  # nothing half-written
    reports = []
    split = train(style, photos, tmp_path / "split", CONFIG, LOSS, resume=True, preview_every=0, report=reports.append)
    assert [(r.step, r.taken) for r in reports] == [(3, 1)]  # the resumed run's own steps, for its rate
    expected, resumed = _weights(whole), _weights(split)
    assert expected.keys() == resumed.keys() and len(expected) > 10
    for key, value in expected.items():
        np.testing.assert_allclose(resumed[key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    assert FastStylizer.load(split).info["steps"] == 3 and lite_path(split).is_file()


@pytest.mark.slow
def test_resuming_with_other_settings_is_refused_naming_them(files, tmp_path):
    folder, style = files
    photos = find_photos(folder)
    train(style, photos, tmp_path / "m", CONFIG.override(steps=1), LOSS, preview_every=0)
    with pytest.raises(CheckpointError, match=r"other settings \(loss.style_weight, training.batch\)"):
        train(style, photos, tmp_path / "m", CONFIG.override(batch=3), LOSS.override(style_weight=1.0), resume=True)
    with pytest.raises(CheckpointError, match="`resume` continues it"):
        train(style, photos, tmp_path / "m", CONFIG, LOSS)
    more = train(style, photos, tmp_path / "m", CONFIG.override(steps=2), LOSS, resume=True, preview_every=0)
    assert FastStylizer.load(more).info["steps"] == 2  # the step count may grow


@pytest.mark.slow
def test_the_export_records_the_settings_the_style_and_the_steps(files, tmp_path):
    folder, style = files
    model = train(style, find_photos(folder), tmp_path / "m", CONFIG.override(steps=1), LOSS, preview_every=1)
    info = FastStylizer.load(model).info
    assert StyleConfig.from_dict(info["settings"]["loss"]) == LOSS
    assert TrainConfig.from_dict({**info["settings"]["training"], "steps": 1}) == CONFIG.override(steps=1)
    assert len(info["settings"]["style_sha256"]) == 64 and info["steps"] == 1 and len(info["held_out"]) == 1
    assert any((checkpoint_dir(model) / "logs").iterdir())  # TensorBoard's events
