"""The loss functions against values computed by hand with numpy, for both normalizations."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfstyle.objective.losses import (
    combined_loss,
    content_loss,
    gram_matrix,
    style_loss,
    total_variation_loss,
)

RNG = np.random.default_rng(7)
# [batch=2, height=3, width=4, channels=5]: two different images in one batch.
F = RNG.normal(size=(2, 3, 4, 5)).astype(np.float32)
P = RNG.normal(size=(2, 3, 4, 5)).astype(np.float32)


def np_gram(features: np.ndarray) -> np.ndarray:
    """G[p, q] = Σ_k M_p(k)·M_q(k), written out as loops over the positions k."""
    batch, height, width, channels = features.shape
    gram = np.zeros((batch, channels, channels), dtype=np.float64)
    for b in range(batch):
        for i in range(height):
            for j in range(width):
                m = features[b, i, j].astype(np.float64)
                gram[b] += np.outer(m, m)
    return gram


# --- gram_matrix ---------------------------------------------------------------------------------


def test_gram_matrix_paper_is_the_plain_sum_over_positions():
    gram = gram_matrix(tf.constant(F), "paper").numpy()
    assert gram.shape == (2, 5, 5)
    np.testing.assert_allclose(gram, np_gram(F), rtol=1e-5, atol=1e-5)


def test_gram_matrix_mean_divides_by_the_number_of_positions():
    gram = gram_matrix(tf.constant(F), "mean").numpy()
    np.testing.assert_allclose(gram, np_gram(F) / (3 * 4), rtol=1e-5, atol=1e-6)


def test_gram_matrix_of_a_tiny_map_by_hand():
    # One position, channels (1, 2): G = [[1, 2], [2, 4]]; two positions add up.
    features = tf.constant([[[[1.0, 2.0], [3.0, 0.0]]]])  # [1, 1, 2, 2]
    expected = np.array([[[1 + 9, 2 + 0], [2 + 0, 4 + 0]]], dtype=np.float32)
    np.testing.assert_allclose(gram_matrix(features, "paper").numpy(), expected)
    np.testing.assert_allclose(gram_matrix(features, "mean").numpy(), expected / 2)


def test_gram_matrix_is_symmetric():
    gram = gram_matrix(tf.constant(F)).numpy()
    np.testing.assert_allclose(gram, np.transpose(gram, (0, 2, 1)), rtol=1e-6)


@pytest.mark.parametrize("normalization", ["mean", "paper"])
def test_gram_matrix_gradient_equals_the_einsum_gradient(normalization):
    """The Gram's own gradient, dF = F·(dG + dGᵀ), against TensorFlow differentiating an einsum."""
    features = tf.constant(F)
    weights = tf.constant(RNG.normal(size=(2, 5, 5)).astype(np.float32))  # a non-symmetric upstream
    scale = 1.0 / 12 if normalization == "mean" else 1.0
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(features)
        ours = tf.reduce_sum(weights * gram_matrix(features, normalization))
        reference = tf.reduce_sum(weights * scale * tf.einsum("bhwp,bhwq->bpq", features, features))
    np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-5)
    np.testing.assert_allclose(
        tape.gradient(ours, features).numpy(), tape.gradient(reference, features).numpy(), rtol=1e-5, atol=1e-5
    )


# --- content_loss ---------------------------------------------------------------------------------


def test_content_loss_paper_is_the_sum_of_squared_differences_per_image():
    loss = content_loss(tf.constant(F), tf.constant(P), "paper").numpy()
    expected = ((F.astype(np.float64) - P) ** 2).sum(axis=(1, 2, 3))
    assert loss.shape == (2,)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_content_loss_mean_is_the_mean_of_squared_differences_per_image():
    loss = content_loss(tf.constant(F), tf.constant(P), "mean").numpy()
    expected = ((F.astype(np.float64) - P) ** 2).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_content_loss_by_hand():
    features = tf.constant([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # [1, 2, 1, 2]
    target = tf.constant([[[[0.0, 0.0]], [[3.0, 1.0]]]])
    # differences 1, 2, 0, 3 → squares 1, 4, 0, 9
    assert content_loss(features, target, "paper").numpy().tolist() == [14.0]
    assert content_loss(features, target, "mean").numpy().tolist() == [3.5]


def test_content_loss_is_zero_for_identical_activations():
    for normalization in ("mean", "paper"):
        assert content_loss(tf.constant(F), tf.constant(F), normalization).numpy().tolist() == [0.0, 0.0]


def test_content_loss_gives_each_image_of_a_batch_its_own_value():
    batched = content_loss(tf.constant(F), tf.constant(P), "paper").numpy()
    for b in range(2):
        single = content_loss(tf.constant(F[b : b + 1]), tf.constant(P[b : b + 1]), "paper").numpy()
        np.testing.assert_allclose(batched[b], single[0], rtol=1e-6)
    assert batched[0] != pytest.approx(batched[1])


# --- style_loss -----------------------------------------------------------------------------------


def test_style_loss_paper_is_the_sum_of_squared_gram_differences():
    G, A = np_gram(F), np_gram(P)
    loss = style_loss(gram_matrix(tf.constant(F), "paper"), gram_matrix(tf.constant(P), "paper"), "paper").numpy()
    assert loss.shape == (2,)
    np.testing.assert_allclose(loss, ((G - A) ** 2).sum(axis=(1, 2)), rtol=1e-4)


def test_style_loss_mean_is_the_mean_over_gram_entries_of_mean_grams():
    G, A = np_gram(F) / 12, np_gram(P) / 12
    loss = style_loss(gram_matrix(tf.constant(F)), gram_matrix(tf.constant(P)), "mean").numpy()
    np.testing.assert_allclose(loss, ((G - A) ** 2).mean(axis=(1, 2)), rtol=1e-4)


def test_style_loss_by_hand():
    gram = tf.constant([[[1.0, 2.0], [2.0, 4.0]]])
    target = tf.constant([[[0.0, 2.0], [2.0, 1.0]]])
    # differences 1, 0, 0, 3 → squares 1, 0, 0, 9
    assert style_loss(gram, target, "paper").numpy().tolist() == [10.0]
    assert style_loss(gram, target, "mean").numpy().tolist() == [2.5]


def test_style_loss_ignores_where_features_are_when_the_gram_matches():
    # Shuffling positions keeps the Gram matrix, so the style loss stays zero.
    shuffled = F[:, ::-1, ::-1, :].copy()
    for normalization in ("mean", "paper"):
        loss = style_loss(gram_matrix(tf.constant(shuffled), normalization), gram_matrix(tf.constant(F), normalization), normalization)
        np.testing.assert_allclose(loss.numpy(), [0.0, 0.0], atol=1e-6)


# --- total_variation_loss --------------------------------------------------------------------------


def test_total_variation_loss_by_hand():
    image = np.array([[1.0, 2.0, 4.0], [1.0, 5.0, 4.0]], dtype=np.float32)  # 2x3, one value per pixel
    images = tf.constant(np.repeat(image[None, :, :, None], 3, axis=-1))  # [1, 2, 3, 3], grey
    down = np.array([0.0, 3.0, 0.0]) ** 2  # rows: 1-1, 5-2, 4-4
    right = np.array([1.0, 2.0, 4.0, 1.0]) ** 2  # columns: 2-1, 4-2, 5-1, 4-5
    paper = 3 * (down.sum() + right.sum())
    np.testing.assert_allclose(total_variation_loss(images, "paper").numpy(), [paper])
    mean = down.mean() + right.mean()  # each direction is averaged over its own differences
    np.testing.assert_allclose(total_variation_loss(images, "mean").numpy(), [mean], rtol=1e-6)


def test_total_variation_loss_is_zero_for_a_flat_image_and_per_image_in_a_batch():
    flat = np.full((1, 4, 5, 3), 77.0, np.float32)
    noisy = RNG.uniform(0, 255, (1, 4, 5, 3)).astype(np.float32)
    tv = total_variation_loss(tf.constant(np.concatenate([flat, noisy])), "paper").numpy()
    assert tv[0] == 0.0
    assert tv[1] == pytest.approx(total_variation_loss(tf.constant(noisy), "paper").numpy()[0], rel=1e-6)


# --- image-size independence of "mean" -------------------------------------------------------------


def tile2x2(x: np.ndarray) -> np.ndarray:
    return np.tile(x, (1, 2, 2, 1))


def test_mean_normalization_gram_does_not_change_when_the_map_is_tiled():
    np.testing.assert_allclose(
        gram_matrix(tf.constant(tile2x2(F)), "mean").numpy(),
        gram_matrix(tf.constant(F), "mean").numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_mean_normalization_losses_do_not_change_when_the_map_is_tiled():
    small_cl = content_loss(tf.constant(F), tf.constant(P), "mean").numpy()
    big_cl = content_loss(tf.constant(tile2x2(F)), tf.constant(tile2x2(P)), "mean").numpy()
    np.testing.assert_allclose(big_cl, small_cl, rtol=1e-5)
    small_sl = style_loss(gram_matrix(tf.constant(F)), gram_matrix(tf.constant(P))).numpy()
    big_sl = style_loss(gram_matrix(tf.constant(tile2x2(F))), gram_matrix(tf.constant(tile2x2(P)))).numpy()
    np.testing.assert_allclose(big_sl, small_sl, rtol=1e-4)


def test_paper_normalization_grows_with_the_map_size():
    # The plain sums: 4x the positions → 4x the content loss, 4x the Gram, 16x the style loss.
    small_cl = content_loss(tf.constant(F), tf.constant(P), "paper").numpy()
    big_cl = content_loss(tf.constant(tile2x2(F)), tf.constant(tile2x2(P)), "paper").numpy()
    np.testing.assert_allclose(big_cl, 4 * small_cl, rtol=1e-5)
    small_g = gram_matrix(tf.constant(F), "paper").numpy()
    big_g = gram_matrix(tf.constant(tile2x2(F)), "paper").numpy()
    np.testing.assert_allclose(big_g, 4 * small_g, rtol=1e-5, atol=1e-5)
    small_sl = style_loss(gram_matrix(tf.constant(F), "paper"), gram_matrix(tf.constant(P), "paper"), "paper")
    big_sl = style_loss(
        gram_matrix(tf.constant(tile2x2(F)), "paper"), gram_matrix(tf.constant(tile2x2(P)), "paper"), "paper"
    )
    np.testing.assert_allclose(big_sl.numpy(), 16 * small_sl.numpy(), rtol=1e-4)


def test_unknown_normalization_is_an_error():
    with pytest.raises(ValueError, match="normalization"):
        content_loss(tf.constant(F), tf.constant(P), "median")


# --- combined_loss ---------------------------------------------------------------------------------

LAYER_MAPS = {
    name: RNG.normal(size=(2, h, h, c)).astype(np.float32) for name, h, c in (("l1", 4, 3), ("l2", 2, 6), ("l3", 2, 4))
}
CONTENT_MAPS = {name: RNG.normal(size=m.shape).astype(np.float32) for name, m in LAYER_MAPS.items()}
STYLE_MAPS = {name: RNG.normal(size=m.shape).astype(np.float32) for name, m in LAYER_MAPS.items()}


def np_content(f, p, normalization):
    d = (f.astype(np.float64) - p) ** 2
    return d.mean(axis=(1, 2, 3)) if normalization == "mean" else d.sum(axis=(1, 2, 3))


def np_style(f, s, normalization):
    positions = f.shape[1] * f.shape[2]
    scale = positions if normalization == "mean" else 1
    d = (np_gram(f) / scale - np_gram(s) / scale) ** 2
    return d.mean(axis=(1, 2)) if normalization == "mean" else d.sum(axis=(1, 2))


@pytest.mark.parametrize("normalization", ["mean", "paper"])
def test_combined_loss_is_a_times_weighted_content_plus_b_times_weighted_style(normalization):
    content_weights = {"l1": 0.25, "l2": 0.75}
    style_weights = {"l2": 2.0, "l3": 0.5}
    a, b = 3.0, 0.1
    out = combined_loss(
        {k: tf.constant(v) for k, v in LAYER_MAPS.items()},
        {k: tf.constant(v) for k, v in CONTENT_MAPS.items()},
        {k: gram_matrix(tf.constant(v), normalization) for k, v in STYLE_MAPS.items()},
        content_weights,
        style_weights,
        a=a,
        b=b,
        normalization=normalization,
    )
    cl = {k: np_content(LAYER_MAPS[k], CONTENT_MAPS[k], normalization) for k in content_weights}
    sl = {k: np_style(LAYER_MAPS[k], STYLE_MAPS[k], normalization) for k in style_weights}
    content = sum(w * cl[k] for k, w in content_weights.items())
    style = sum(z * sl[k] for k, z in style_weights.items())
    for k in content_weights:
        np.testing.assert_allclose(out[f"content/{k}"].numpy(), cl[k], rtol=1e-4)
    for k in style_weights:
        np.testing.assert_allclose(out[f"style/{k}"].numpy(), sl[k], rtol=1e-4)
    np.testing.assert_allclose(out["content"].numpy(), content, rtol=1e-4)
    np.testing.assert_allclose(out["style"].numpy(), style, rtol=1e-4)
    np.testing.assert_allclose(out["tv"].numpy(), [0.0, 0.0])
    np.testing.assert_allclose(out["total"].numpy(), a * content + b * style, rtol=1e-4)
    assert out["total"].shape == (2,)


def test_combined_loss_computes_only_the_layers_named_in_the_weight_maps():
    # Targets exist only for the layers in use: a layer outside the maps must never be looked up.
    out = combined_loss(
        {k: tf.constant(v) for k, v in LAYER_MAPS.items()},
        {"l1": tf.constant(CONTENT_MAPS["l1"])},
        {"l3": gram_matrix(tf.constant(STYLE_MAPS["l3"]))},
        {"l1": 1.0},
        {"l3": 1.0},
        a=1.0,
        b=1.0,
    )
    assert set(out) == {"total", "content", "style", "tv", "content/l1", "style/l3"}


def test_combined_loss_with_no_style_layers_is_the_content_alone():
    out = combined_loss(
        {k: tf.constant(v) for k, v in LAYER_MAPS.items()},
        {"l2": tf.constant(CONTENT_MAPS["l2"])},
        {},
        {"l2": 1.0},
        {},
        a=2.0,
        b=5.0,
        normalization="paper",
    )
    np.testing.assert_allclose(out["style"].numpy(), [0.0, 0.0])
    np.testing.assert_allclose(out["total"].numpy(), 2.0 * np_content(LAYER_MAPS["l2"], CONTENT_MAPS["l2"], "paper"), rtol=1e-5)


@pytest.mark.parametrize("normalization", ["mean", "paper"])
def test_combined_loss_adds_tv_weight_times_total_variation(normalization):
    images = RNG.uniform(0, 255, (2, 6, 5, 3)).astype(np.float32)
    kwargs = dict(
        features={"l1": tf.constant(LAYER_MAPS["l1"])},
        content_targets={"l1": tf.constant(CONTENT_MAPS["l1"])},
        style_targets={"l1": gram_matrix(tf.constant(STYLE_MAPS["l1"]), normalization)},
        content_weights={"l1": 1.0},
        style_weights={"l1": 1.0},
        a=1.5,
        b=0.5,
        normalization=normalization,
    )
    without = combined_loss(**kwargs)
    with_tv = combined_loss(**kwargs, tv_weight=0.01, images=tf.constant(images))
    tv = total_variation_loss(tf.constant(images), normalization).numpy()
    np.testing.assert_allclose(with_tv["tv"].numpy(), tv, rtol=1e-6)
    np.testing.assert_allclose(with_tv["total"].numpy(), without["total"].numpy() + 0.01 * tv, rtol=1e-5)
    np.testing.assert_allclose(without["tv"].numpy(), [0.0, 0.0])
