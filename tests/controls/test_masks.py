"""Masks: the per-layer masks, a style confined to its region, two styles each in its own, a content
mask freeing its black region, the errors, and a batch with every creative control at once.

Random VGG16 weights and 24-64 pixel images (the creative controls' set-up of conftest.py); every
run sets all the settings it depends on.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import CONTROLS as BASE
from conftest import CONTROLS_H as H
from conftest import CONTROLS_W as W
from conftest import features, gram_distance, half_masks, synthetic_image
from conftest import run_controls as run
from PIL import Image

from tfstyle.controls import masks
from tfstyle.errors import ConfigError, ImageError
from tfstyle.inputs.prepare import prepare_images
from tfstyle.objective.losses import gram_matrix, masked_gram_matrix


def test_layer_masks_match_the_feature_maps_of_an_odd_sized_image(model):
    image = np.zeros((37, 53, 3), np.float32)
    outputs = model(tf.constant(image[None]))
    per_layer = masks.layer_masks(np.ones((37, 53), np.float32), outputs)
    for name, tensor in outputs.items():
        assert tuple(per_layer[name].shape) == tuple(tensor.shape[1:3]), name


@pytest.mark.slow
def test_style_mask_leaves_the_outside_near_the_content(content, style_b, model):
    """Style only on the left half: the right half's style statistics stay near the content's."""
    left, right = half_masks(H, W)
    content_image, _ = prepare_images(content, style_b, BASE)
    out = run(content, style_b, model, iterations=15, style_masks=[left]).image
    unmasked = run(content, style_b, model, iterations=15).image
    layer_left, layer_right = left / 255.0, right / 255.0

    def change(image, region):  # how far the region's Gram moved from the content's
        before = masked_gram_matrix(features(model, content_image), region)
        return gram_distance(masked_gram_matrix(features(model, image), region), before)

    assert change(out, layer_left) > 0.2  # styled inside the mask
    assert change(out, layer_right) < 0.25 * change(out, layer_left)  # near the content outside
    assert change(out, layer_right) < 0.25 * change(unmasked, layer_right)  # the mask is what kept it


def test_two_styles_each_in_its_region(content, style_a, style_b, model):
    left, right = half_masks(H, W)
    out = run(content, [style_a, style_b], model, iterations=20, style_masks=[left, right]).image
    _, (a, b) = prepare_images(content, [style_a, style_b], BASE)
    gram_a, gram_b = gram_matrix(features(model, a)), gram_matrix(features(model, b))
    out_features = features(model, out)
    gram_left, gram_right = masked_gram_matrix(out_features, left / 255.0), masked_gram_matrix(out_features, right / 255.0)
    assert gram_distance(gram_left, gram_a) < gram_distance(gram_left, gram_b)
    assert gram_distance(gram_right, gram_b) < gram_distance(gram_right, gram_a)


def test_content_mask_frees_the_black_region_for_the_style(content, style_b, model):
    left, right = half_masks(H, W)
    content_image, _ = prepare_images(content, style_b, BASE)
    cfg = dict(iterations=15, content_weight=1e5)  # random-weight Grams are huge: a = 1e5 balances b = 1
    out = run(content, style_b, model, content_mask=left, **cfg).image
    unmasked = run(content, style_b, model, **cfg).image
    moved = np.abs(out - content_image).mean(axis=-1)
    moved_unmasked = np.abs(unmasked - content_image).mean(axis=-1)
    half = W // 2
    assert moved[:, half:].mean() > 1.5 * moved[:, :half].mean()  # the unkept right half moves more
    assert moved[:, half:].mean() > 1.5 * moved_unmasked[:, half:].mean()


def test_mask_errors_are_clear(content, style_a, style_b, model, tmp_path):
    left, _ = half_masks(H, W)
    with pytest.raises(ConfigError, match="1 style mask.* for 2 style"):
        run(content, [style_a, style_b], model, style_masks=[left])
    with pytest.raises(ImageError, match="style mask is 50x50 pixels but the content image is 48x36"):
        run(content, style_a, model, style_masks=np.zeros((50, 50)))
    with pytest.raises(ImageError, match="black everywhere"):
        run(content, style_a, model, style_masks=[np.zeros((48, 64))])
    corrupt = tmp_path / "mask.png"
    corrupt.write_bytes(b"not a png")
    with pytest.raises(ImageError, match="content mask"):
        run(content, style_a, model, content_mask=corrupt)


def test_masks_read_from_files_any_size_with_the_aspect(content, style_a, model, tmp_path):
    left, _ = half_masks(96, 128)
    path = tmp_path / "left.png"
    Image.fromarray(left.astype(np.uint8)).convert("RGB").save(path)
    loaded = masks.load_mask(path, (24, 32))
    assert loaded.shape == (24, 32) and loaded[:, :15].min() > 0.99 and loaded[:, 17:].max() < 0.01
    assert run(content, style_a, model, iterations=1, style_masks=str(path)).iterations == 1


# --- together ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_batch_with_the_controls_gives_each_image_what_it_gets_alone(content, style_a, style_b, model):
    left, right = half_masks(H, W)
    contents = [content, synthetic_image(48, 64, seed=7).astype(np.float32)]
    options = dict(
        style_blend_weights=(0.6, 0.4), style_scale=0.8, pooling="max", noise_blend=0.1, iterations=4,
        style_masks=[left, right], content_mask=left,
    )  # fmt: skip
    batch = run(contents, [style_a, style_b], model, **options).image
    assert batch.shape == (2, H, W, 3)
    for index, image in enumerate(contents):
        alone = run(image, [style_a, style_b], model, **options).image
        np.testing.assert_allclose(batch[index], alone, rtol=0, atol=2e-2)
