"""A fast stylizer as files: the SavedModel (plain TensorFlow), the LiteRT model beside it, and
:class:`FastStylizer`, all to the same pixels; one clear error for every folder that is not one."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import synthetic_image
from PIL import Image

from tfstyle.errors import ModelError
from tfstyle.exports import INFO_FILE
from tfstyle.fast import stylizer
from tfstyle.fast.network import transform_network
from tfstyle.fast.stylizer import FastStylizer, lite_path
from tfstyle.inputs.images import resize_longest_side
from tfstyle.network import speed


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "tiny"
    stylizer.export(transform_network(4, seed=1), path, {"settings": {"style_sha256": "0" * 64}, "steps": 3})
    return path


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return synthetic_image(37, 50, seed=4)


def test_export_writes_a_savedmodel_and_a_tflite_beside_it_and_records_what_made_it(model_dir):
    assert (model_dir / "saved_model.pb").is_file()
    assert lite_path(model_dir) == model_dir.with_name("tiny.tflite") and lite_path(model_dir).is_file()
    info = json.loads((model_dir / INFO_FILE).read_text())
    assert info["kind"] == "fast_stylizer" and info["steps"] == 3 and info["signatures"] == ["serving_default"]


def test_plain_tensorflow_maps_a_uint8_image_of_any_size_to_one_of_the_same_size(model_dir, photo):
    serve = tf.saved_model.load(str(model_dir)).signatures["serving_default"]
    out = serve(image=tf.constant(photo[None]))["image"]
    assert out.dtype == tf.uint8 and out.shape == (1, 37, 50, 3)


def test_the_library_gives_plain_tensorflows_pixels(model_dir, photo):
    plain = tf.saved_model.load(str(model_dir)).signatures["serving_default"](image=tf.constant(photo[None]))["image"]
    ours = FastStylizer.load(model_dir, precision="float32")(photo)
    assert ours.dtype == np.float32 and ours.shape == photo.shape
    np.testing.assert_array_equal(ours, plain[0].numpy())


def test_bfloat16_paints_the_float32_picture_to_within_a_few_grey_levels(model_dir, photo):
    if speed.bfloat16_missing():
        pytest.skip("oneDNN is capped below AVX512_CORE here: no bfloat16 convolutions")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", speed.SlowPrecisionWarning)  # emulated on some CPUs: slower, the same arithmetic
        reduced = FastStylizer.load(model_dir, precision="bfloat16")
    full = FastStylizer.load(model_dir, precision="float32")(photo)
    out = reduced(photo)
    assert reduced.precision == "bfloat16" and out.shape == photo.shape
    # bfloat16 keeps 8 significant bits (relative steps of 2^-8), so the 0-255 output moves by about one
    # grey level in its brighter half; the convolutions add the rounding of their inputs and weights.
    assert np.abs(out - full).mean() <= 3


def test_auto_precision_is_the_one_the_optimization_would_use(model_dir):
    assert FastStylizer.load(model_dir).precision == speed.resolve_precision("auto", "/device:CPU:0")


def test_the_tflite_model_runs_in_litert_to_the_same_pixels(model_dir, photo):
    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="LiteRT (ai-edge-litert) is in the lite extra")
    runner = litert.Interpreter(model_path=str(lite_path(model_dir))).get_signature_runner("serving_default")
    lite = runner(image=photo[None])["image"]
    ours = FastStylizer.load(model_dir, precision="float32")(photo)
    assert lite.shape == (1, 37, 50, 3)
    assert np.abs(lite[0].astype(np.float32) - ours).mean() <= 2  # the bound; XNNPACK's float32 gives ~0


def test_the_tflite_model_has_only_builtin_ops(model_dir):
    litert = pytest.importorskip("ai_edge_litert.interpreter", reason="LiteRT (ai-edge-litert) is in the lite extra")
    ops = {op["op_name"] for op in litert.Interpreter(model_path=str(lite_path(model_dir)))._get_ops_details()}
    assert ops and not {name for name in ops if name.startswith(("FlexDelegate", "Flex", "CUSTOM"))}


def test_image_size_scales_the_longest_side_first(model_dir, photo):
    assert FastStylizer.load(model_dir)(photo, image_size=25).shape == resize_longest_side(photo, 25).shape


def test_a_missing_folder_is_one_clear_error(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        FastStylizer.load(tmp_path / "nowhere")


def test_an_unknown_name_lists_the_shipped_models(monkeypatch):
    monkeypatch.setattr(stylizer, "shipped_models", lambda: {"starry_night": Path("x")})
    with pytest.raises(ModelError, match=r"neither a folder nor a shipped model \(starry_night\)"):
        FastStylizer.load("van_gogh")


def test_a_file_is_not_a_model(tmp_path):
    (tmp_path / "model.png").write_bytes(b"x")
    with pytest.raises(ModelError, match="not a folder"):
        FastStylizer.load(tmp_path / "model.png")


def test_a_folder_that_is_no_export_is_named_so(tmp_path):
    Image.fromarray(synthetic_image(8, 8)).save(tmp_path / "photo.png")
    with pytest.raises(ModelError, match="is not a fast stylizer \\(not a tfstyle export\\)"):
        FastStylizer.load(tmp_path)


def test_another_kind_of_tfstyle_export_is_named_so(tmp_path):
    (tmp_path / INFO_FILE).parent.mkdir()
    (tmp_path / INFO_FILE).write_text(json.dumps({"format": "tfstyle-savedmodel", "kind": "stylizer"}))
    with pytest.raises(ModelError, match="a tfstyle stylizer export"):
        FastStylizer.load(tmp_path)


def test_a_corrupt_model_folder_is_one_clear_error(tmp_path, model_dir):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / INFO_FILE).parent.mkdir()
    (broken / INFO_FILE).write_text((model_dir / INFO_FILE).read_text())
    (broken / "saved_model.pb").write_bytes(b"not a protocol buffer")
    with pytest.raises(ModelError, match="cannot load the fast stylizer"):
        FastStylizer.load(broken)


def test_an_image_too_small_to_mirror_is_refused(model_dir):
    with pytest.raises(ModelError, match="at least 5"):
        FastStylizer.load(model_dir)(np.zeros((4, 9, 3), np.float32))


def test_a_shipped_model_is_found_by_its_name(monkeypatch, model_dir):
    monkeypatch.setattr(stylizer, "shipped_models", lambda: {"tiny": model_dir})
    assert FastStylizer.load("tiny").path == model_dir


def test_the_shipped_models_are_fast_stylizers():
    for name, path in stylizer.shipped_models().items():
        assert FastStylizer.load(name).info["kind"] == "fast_stylizer", path
