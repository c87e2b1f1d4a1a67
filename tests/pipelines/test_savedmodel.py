"""SavedModel exports (``tfstyle.pipelines.savedmodel``): what plain TensorFlow sees.

Exports use random weights and the two shallowest blocks, so they are small and quick. The central
checks run in a subprocess that imports only tensorflow: the activations equal the Keras model's,
the Grams equal ``tfstyle.gram_matrix``, any batch and size work, and the stylizer lowers the style
loss. The stylizer's steps are also checked against :func:`tfstyle.stylize` in-process. The command
line, ``python -m tfstyle.export``: cli/test_export.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import CONTROLS as BASE
from conftest import synthetic_image

import tfstyle
from tfstyle.config import StyleConfig
from tfstyle.errors import ConfigError, ExportError, WeightsError
from tfstyle.exports import read_export_info
from tfstyle.network.features import build_feature_model
from tfstyle.objective.losses import gram_matrix
from tfstyle.pipelines import savedmodel

LAYERS = ("block1_conv2", "block2_conv1")
STYLIZER = StyleConfig(
    content_layers=("block2_conv1",),
    style_layers=("block1_conv1", "block2_conv1"),
    style_layer_weights=None,
    style_weight=1e-2,
    optimizer="adam",
    learning_rate=4.0,
    weights="random",
    precision="float32",
)
SHAPES = [(1, 17, 23), (3, 32, 40), (2, 2, 5)]  # block2 needs 2 pixels a side
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}

# Runs in a fresh interpreter that imports tensorflow and numpy, never tfstyle.
PLAIN_TF = r"""
import sys
import numpy as np
import tensorflow as tf

features_dir, stylizer_dir, inputs, outputs = sys.argv[1:]
data = dict(np.load(inputs))
out = {}
features = tf.saved_model.load(features_dir)
for i, shape in enumerate(data["shapes"]):
    images = tf.constant(data[f"images{i}"])
    for kind in ("features", "gram"):
        for name, value in features.signatures[kind](images=images).items():
            out[f"{kind}{i}/{name}"] = value.numpy()
stylizer = tf.saved_model.load(stylizer_dir)
for n in (0, 15):
    result = stylizer.signatures["stylize"](
        content=tf.constant(data["content"]), style=tf.constant(data["style"]), iterations=tf.constant(n)
    )
    for name, value in result.items():
        out[f"stylize{n}/{name}"] = value.numpy()
out["imported"] = np.array(sorted(m for m in sys.modules if m.split(".")[0] == "tfstyle"), dtype=str)
np.savez(outputs, **out)
assert "tfstyle" not in sys.modules
"""


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("exports")
    return {
        "features": savedmodel.export_features(root / "features", LAYERS, weights="random", seed=0),
        "stylizer": savedmodel.export_stylizer(root / "stylizer", STYLIZER),
    }


@pytest.fixture(scope="module")
def keras_model():
    return build_feature_model(LAYERS, weights="random", seed=0)


@pytest.fixture(scope="module")
def inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    data = {f"images{i}": rng.uniform(0, 255, shape + (3,)).astype(np.float32) for i, shape in enumerate(SHAPES)}
    data["shapes"] = np.arange(len(SHAPES))
    data["content"] = synthetic_image(32, 40, seed=1).astype(np.float32)[None]
    data["style"] = synthetic_image(40, 30, seed=2).astype(np.float32)[None]
    return data


@pytest.fixture(scope="module")
def plain_tf(exports, inputs, tmp_path_factory) -> dict[str, np.ndarray]:
    """Everything the exports computed in a process that never imported tfstyle."""
    folder = tmp_path_factory.mktemp("plain_tf")
    np.savez(folder / "inputs.npz", **inputs)
    args = [exports["features"], exports["stylizer"], folder / "inputs.npz", folder / "outputs.npz"]
    done = subprocess.run(
        [sys.executable, "-c", PLAIN_TF, *map(str, args)], cwd=folder, env=ENV, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(np.load(folder / "outputs.npz"))


# --- the feature export, from plain TensorFlow -------------------------------------------------------


@pytest.mark.slow
def test_plain_tensorflow_loads_the_exports_without_tfstyle(plain_tf):
    assert list(plain_tf["imported"]) == []


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(SHAPES)))
def test_features_equal_the_keras_model_at_any_batch_and_size(plain_tf, inputs, keras_model, index):
    images = inputs[f"images{index}"]
    expected = keras_model(images)
    for name in LAYERS:
        got = plain_tf[f"features{index}/{name}"]
        want = expected[name].numpy()
        assert got.shape == want.shape and got.shape[0] == images.shape[0]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * np.abs(want).max())


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(SHAPES)))
def test_gram_equals_the_library_gram_matrix(plain_tf, inputs, keras_model, index):
    expected = keras_model(inputs[f"images{index}"])
    for name in LAYERS:
        want = gram_matrix(expected[name], "mean").numpy()
        got = plain_tf[f"gram{index}/{name}"]
        channels = expected[name].shape[-1]
        assert got.shape == (SHAPES[index][0], channels, channels)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * np.abs(want).max())


def test_paper_normalization_exports_plain_sums(tmp_path, keras_model):
    path = savedmodel.export_features(tmp_path / "paper", LAYERS, weights="random", normalization="paper")
    images = np.random.default_rng(3).uniform(0, 255, (1, 12, 10, 3)).astype(np.float32)
    got = tf.saved_model.load(str(path)).signatures["gram"](images=tf.constant(images))
    for name in LAYERS:
        want = gram_matrix(keras_model(images)[name], "paper").numpy()
        np.testing.assert_allclose(got[name].numpy(), want, rtol=1e-5, atol=1e-6 * np.abs(want).max())


def test_too_small_an_image_is_a_clear_error(exports):
    features = tf.saved_model.load(str(exports["features"])).signatures["features"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least 2 pixels"):
        features(images=tf.zeros([1, 1, 9, 3]))


@pytest.mark.slow
def test_saved_model_cli_lists_the_signatures_and_shapes(exports):
    cli = Path(sys.executable).with_name("saved_model_cli")
    if not cli.exists():
        pytest.skip(f"saved_model_cli is not installed next to {sys.executable}")
    done = subprocess.run(
        [str(cli), "show", "--all", "--dir", str(exports["stylizer"])], env=ENV, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    shown = done.stdout
    for signature in ("features", "gram", "stylize"):
        assert f"signature_def['{signature}']" in shown
    for text in ("inputs['images']", "shape: (-1, -1, -1, 3)", "outputs['block1_conv1']", "shape: (-1, -1, -1, 64)",
                 "shape: (-1, 128, 128)", "inputs['content']", "inputs['style']", "shape: (1, -1, -1, 3)",
                 "inputs['iterations']", "dtype: DT_INT32", "outputs['image']"):  # fmt: skip
        assert text in shown


# --- the stylizer -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_stylizer_lowers_the_style_loss_from_plain_tensorflow(plain_tf, inputs):
    start, end = "stylize0/", "stylize15/"
    np.testing.assert_array_equal(plain_tf[start + "image"], inputs["content"])  # init: the content image
    assert plain_tf[start + "iterations"] == 0 and plain_tf[start + "content"] == 0
    assert plain_tf[end + "iterations"] == 15
    assert plain_tf[end + "style"] < 0.5 * plain_tf[start + "style"]
    assert plain_tf[end + "total"] < plain_tf[start + "total"]
    image = plain_tf[end + "image"]
    assert image.shape == inputs["content"].shape and image.min() >= 0 and image.max() <= 255


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(STYLIZER, id="adam-from-content"),
        pytest.param(
            STYLIZER.override(optimizer="sgd", learning_rate=100.0, init="style", tv_weight=1e-3), id="sgd-from-style-with-tv", marks=pytest.mark.slow
        ),
    ],
)
def test_stylizer_takes_the_library_steps(tmp_path, exports, inputs, config):
    """A few iterations (Adam amplifies round-off over many) equal tfstyle.stylize's, style scaling included."""
    path = exports["stylizer"] if config is STYLIZER else savedmodel.export_stylizer(tmp_path / "sgd", config)
    stylize = tf.saved_model.load(str(path)).signatures["stylize"]
    content, style = inputs["content"], inputs["style"]
    got = stylize(content=tf.constant(content), style=tf.constant(style), iterations=tf.constant(3))
    want = tfstyle.stylize(content[0], style[0], config.override(iterations=3, image_size=max(content.shape[1:3])))
    np.testing.assert_allclose(got["image"].numpy()[0], want.image, rtol=1e-4, atol=1e-2)
    for name in ("total", "content", "style", "tv"):
        np.testing.assert_allclose(got[name].numpy(), want.final_losses[name], rtol=1e-4)


@pytest.mark.parametrize("init", ["content", pytest.param("noise", marks=pytest.mark.slow), pytest.param("style", marks=pytest.mark.slow)])
def test_stylizer_and_stylize_start_from_the_same_pixels(tmp_path, inputs, init):
    config = STYLIZER.override(init=init, seed=5)
    stylize = tf.saved_model.load(str(savedmodel.export_stylizer(tmp_path / init, config))).signatures["stylize"]
    content, style = inputs["content"], inputs["style"]
    graph_start = stylize(content=tf.constant(content), style=tf.constant(style), iterations=tf.constant(0))["image"]

    class Start(tfstyle.Callback):
        def set_run(self, run):
            self.start = run.start

    start = Start()
    tfstyle.stylize(content[0], style[0], config.override(iterations=1, image_size=max(content.shape[1:3])), [start])
    np.testing.assert_array_equal(graph_start.numpy(), start.start)
    if init == "noise":  # TensorFlow's stateless generator, seeded with the config's seed
        noise = tf.random.stateless_uniform(content.shape[1:], [5, 0], 0.0, 255.0, tf.float32)
        np.testing.assert_array_equal(start.start[0], noise.numpy())


@pytest.mark.slow
def test_stylizer_stops_at_a_non_finite_loss_and_keeps_the_last_finite_image(tmp_path, inputs):
    path = savedmodel.export_stylizer(tmp_path / "inf", STYLIZER.override(style_weight=1e38))
    stylize = tf.saved_model.load(str(path)).signatures["stylize"]
    got = stylize(content=tf.constant(inputs["content"]), style=tf.constant(inputs["style"]), iterations=tf.constant(5))
    assert got["iterations"].numpy() == 0
    np.testing.assert_array_equal(got["image"].numpy(), inputs["content"])


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"optimizer": "lbfgs"}, r"needs SciPy in Python \(choose `optimizer` adam or sgd\)"),
        ({"init": "start.png"}, "content, noise or style, not start.png"),
    ],
)
def test_stylizer_refuses_what_cannot_run_in_a_graph(tmp_path, changes, message):
    with pytest.raises(ConfigError, match=message):
        savedmodel.export_stylizer(tmp_path / "x", STYLIZER.override(**changes))
    assert not (tmp_path / "x").exists()


# --- where exports go ---------------------------------------------------------------------------------


def test_export_records_what_it_holds(exports):
    info = read_export_info(exports["stylizer"])
    assert info["kind"] == "stylizer" and info["layers"] == ["block1_conv1", "block2_conv1"]
    assert info["config"]["optimizer"] == "adam" and info["config"]["learning_rate"] == 4.0
    assert info["weights"] == "random (seed 0)" and info["signatures"] == ["features", "gram", "stylize"]
    assert read_export_info(exports["features"])["layers"] == list(LAYERS)


def test_a_previous_export_is_replaced_and_nothing_is_left_beside_it(tmp_path):
    target = tmp_path / "model"
    savedmodel.export_features(target, ["conv1_1"], weights="random")
    savedmodel.export_features(target, ["conv1_2"], weights="random")
    assert read_export_info(target)["layers"] == ["block1_conv2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_an_empty_directory_and_missing_parents_are_fine(tmp_path):
    (tmp_path / "empty").mkdir()
    savedmodel.export_features(tmp_path / "empty", ["conv1_1"], weights="random")
    savedmodel.export_features(tmp_path / "a" / "b", ["conv1_1"], weights="random")
    assert read_export_info(tmp_path / "empty") and read_export_info(tmp_path / "a" / "b")


def test_other_directories_and_files_are_never_overwritten(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="not a tfstyle export; choose another folder or remove it"):
        savedmodel.export_features(tmp_path / "notes", ["conv1_1"], weights="random")
    (tmp_path / "file").write_text("mine")
    with pytest.raises(ExportError, match="not a directory"):
        savedmodel.export_features(tmp_path / "file", ["conv1_1"], weights="random")
    with pytest.raises(ExportError, match="not a directory"):
        savedmodel.export_features(tmp_path / "file" / "model", ["conv1_1"], weights="random")
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine" and (tmp_path / "file").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "notes"]


def test_a_failed_save_leaves_the_previous_export_and_no_partial_directory(tmp_path, monkeypatch):
    target = tmp_path / "model"
    savedmodel.export_features(target, ["conv1_1"], weights="random")

    def broken_save(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tf.saved_model, "save", broken_save)
    with pytest.raises(ExportError, match="No space left on device"):
        savedmodel.export_features(target, ["conv1_2"], weights="random")
    assert read_export_info(target)["layers"] == ["block1_conv1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_bad_layers_and_weights_fail_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="unknown VGG16 layer"):
        savedmodel.export_features(tmp_path / "x", ["conv9_9"], weights="random")
    with pytest.raises(WeightsError, match="not found"):
        savedmodel.export_features(tmp_path / "x", ["conv1_1"], weights=str(tmp_path / "missing.h5"))
    assert list(tmp_path.iterdir()) == []


# --- the command line ---------------------------------------------------------------------------------


# --- the creative controls -----------------------------------------------------------------------------


def test_the_stylizer_export_bakes_in_pooling_and_refuses_the_other_controls(tmp_path, monkeypatch):
    from tfstyle.pipelines import savedmodel

    for changes in (dict(preserve_colors="luminance"), dict(style_scale=2.0), dict(noise_blend=0.5)):
        with pytest.raises(ConfigError, match=f"cannot bake in {next(iter(changes))}"):
            savedmodel.export_stylizer(tmp_path / "stylizer", BASE.override(**changes))
    asked = []

    def no_build(*args, **kwargs):
        asked.append(kwargs.get("pooling"))
        raise RuntimeError("stop here")

    monkeypatch.setattr(savedmodel, "build_feature_model", no_build)
    with pytest.raises(RuntimeError, match="stop here"):
        savedmodel.export_stylizer(tmp_path / "stylizer", BASE.override(pooling="avg"))
    assert asked == ["avg"]
