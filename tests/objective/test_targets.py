"""The content target P_i: the photo's activations (Gatys et al.) or the style image's at the
photo's size (Yu & Chang's printed CL_i = Σ(A_i − B_i), B the style image)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import synthetic_image

import tfstyle
from tfstyle import StyleConfig, build_feature_model, preset
from tfstyle.errors import ConfigError
from tfstyle.objective.targets import style_at_content_size
from tfstyle.objective.whole import make_loss_fn, objective

LAYERS = ("block1_conv2", "block2_conv2")
CONFIG = StyleConfig(content_layers=("block2_conv2",), style_layers=LAYERS, style_weight=1e-2, weights="random")


@pytest.fixture(scope="module")
def model():
    return build_feature_model(LAYERS, weights="random", seed=0)


@pytest.fixture(scope="module")
def images():
    content = synthetic_image(32, 40, seed=1).astype(np.float32)
    style = synthetic_image(40, 40, seed=2).astype(np.float32)
    return content, style


def test_content_loss_is_zero_at_its_target_and_not_at_the_other_image(model, images):
    content, style = images
    stretched = style_at_content_size(style, content)
    assert stretched.shape == (1, 32, 40, 3)
    np.testing.assert_array_equal(stretched.numpy(), tfstyle.initial_image("style", content, style)[None])
    photo = make_loss_fn(model, content, style, CONFIG)
    paper = make_loss_fn(model, content, style, CONFIG.override(content_target="style"))
    assert float(photo(content[None])["content"][0]) == 0.0
    assert float(paper(stretched)["content"][0]) == 0.0
    assert float(paper(content[None])["content"][0]) > 0
    assert float(photo(stretched)["content"][0]) > 0
    # the style term does not depend on the content target
    np.testing.assert_allclose(paper(content[None])["style"].numpy(), photo(content[None])["style"].numpy())


def test_the_style_target_is_the_style_image_stretched_to_the_contents_shape(images):
    content, style = images
    same = style_at_content_size(content, content)
    np.testing.assert_allclose(same.numpy()[0], content, atol=1e-3)  # at its own size: unchanged
    batch = style_at_content_size(style, np.stack([content, content]))
    assert batch.shape == (2, 32, 40, 3)


def test_several_styles_blend_their_activations(model, images):
    content, style = images
    config = CONFIG.override(content_target="style", style_blend_weights=(1.0, 0.0))
    loss = make_loss_fn(model, content, [style, content], config)
    assert float(loss(style_at_content_size(style, content))["content"][0]) == 0.0


def test_tiled_objective_has_the_same_content_target(model, images):
    content, style = images
    config = CONFIG.override(content_target="style")
    at = style_at_content_size(style, content) * 0.9 + 10
    whole = objective(model, content[None], [style], config)(at)
    tiled = objective(model, content[None], [style], config.override(tile_size=64))(at)  # one tile: exact
    np.testing.assert_allclose(tiled["content"].numpy(), whole["content"].numpy(), rtol=1e-4)
    assert float(tiled["content"][0]) > 0


def test_the_paper_preset_compares_with_the_style_image_the_others_with_the_photo():
    assert preset("paper").content_target == "style"
    assert preset("default").content_target == preset("gatys").content_target == "content"
    with pytest.raises(ConfigError, match="content_target"):
        StyleConfig(content_target="noise")


def test_the_flag_sets_the_content_target():
    from tfstyle.cli import flags as cli_flags
    from tfstyle.cli import run

    run.parse_flags(["tfstyle", "--content=c.png", "--style=s.png", "--content_target=style"])
    assert cli_flags.config_from_flags(run.FLAGS).content_target == "style"
    run.parse_flags(["tfstyle", "--content=c.png", "--style=s.png", "--preset=paper", "--content_target=content"])
    assert cli_flags.config_from_flags(run.FLAGS) == preset("paper").override(content_target="content")


def test_stylizer_bakes_in_the_content_target(tmp_path, images):
    import tfstyle
    from tfstyle.exports import read_export_info
    from tfstyle.pipelines import savedmodel

    content, _ = images
    style = synthetic_image(32, 40, seed=2).astype(np.float32)  # at the content's size: no resizing anywhere
    # Small steps: the losses stay near the start's, where the target decides the content loss (0 with
    # the photo as its target), and the round-off between the saved graph and the library's loop
    # (oneDNN picks kernels per graph) is not multiplied by large steps.
    config = CONFIG.override(content_target="style", optimizer="sgd", learning_rate=1e-3, iterations=3, image_size=40)
    path = savedmodel.export_stylizer(tmp_path / "paper", config)
    assert read_export_info(path)["content_target"] == "style"
    stylize = tf.saved_model.load(str(path)).signatures["stylize"]
    got = stylize(content=tf.constant(content[None]), style=tf.constant(style[None]), iterations=tf.constant(3))
    want = tfstyle.stylize(content, style, config)
    other = tfstyle.stylize(content, style, config.override(content_target="content"))
    assert other.final_losses["content"] < 1e-3 * want.final_losses["content"]
    np.testing.assert_allclose(got["content"].numpy(), want.final_losses["content"], rtol=1e-4)
    np.testing.assert_allclose(got["image"].numpy()[0], want.image, rtol=1e-4, atol=1e-2)
