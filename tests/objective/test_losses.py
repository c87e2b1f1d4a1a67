"""The loss functions against values computed by hand with numpy, for both normalizations, each
checked eagerly and inside ``tf.function``; every tolerance is a float32 rounding bound. Then the
masked Gram matrix and content loss."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfstyle.objective.losses import (
    combined_loss,
    content_loss,
    gram_matrix,
    masked_gram_matrix,
    style_loss,
    total_variation_loss,
)

RNG = np.random.default_rng(7)
# [batch=2, height=3, width=4, channels=5]: two different images in one batch.
F = RNG.normal(size=(2, 3, 4, 5)).astype(np.float32)
P = RNG.normal(size=(2, 3, 4, 5)).astype(np.float32)
_TRACED: dict = {}


@pytest.fixture(params=["eager", "tf.function"])
def run(request):
    """``run(fn, *args)``: ``fn`` called eagerly, or traced into a ``tf.function`` (one per ``fn``)."""
    if request.param == "eager":
        return lambda fn, *args, **kwargs: fn(*args, **kwargs)
    return lambda fn, *args, **kwargs: _TRACED.setdefault(fn, tf.function(fn))(*args, **kwargs)


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


# --- float32 error bounds --------------------------------------------------------------------------
# A float32 sum of n terms, in any order, is within n·eps·Σ|term| of the exact sum (Higham's
# γ_n = n·eps/2, doubled for the terms' own rounding): the tolerances below follow from that,
# absolute where terms of both signs cancel, relative where all terms are non-negative.

EPS = float(np.finfo(np.float32).eps)


def sum_error(terms: int, abs_sum):
    """The bound on the rounding error of a float32 sum of ``terms`` terms whose |values| add to ``abs_sum``."""
    return terms * EPS * np.asarray(abs_sum, np.float64)


def positive_rtol(terms: int) -> float:
    """Relative bound for a sum of ``terms`` non-negative terms, each a difference squared (2 more roundings) and
    then maybe divided by their count (1 more)."""
    return (terms + 3) * EPS


def gram_error(features: np.ndarray, normalization: str) -> np.ndarray:
    """Entrywise bound on a float32 Gram of ``features``: M products summed (and one division for ``mean``)."""
    positions = features.shape[1] * features.shape[2]
    bound = sum_error(positions + 1, np_gram(np.abs(features)))
    return bound / positions if normalization == "mean" else bound


def style_error(gram: np.ndarray, target: np.ndarray, gram_bound, target_bound, normalization: str) -> np.ndarray:
    """Bound on a float32 SL = Σ(G − A)² from G and A known to within ``gram_bound``, ``target_bound`` (entrywise)."""
    d = gram - target
    e = gram_bound + target_bound + EPS * np.abs(d)  # each difference's error, with its own rounding
    entries = d.shape[1] * d.shape[2]
    bound = (2 * np.abs(d) * e + e**2).sum(axis=(1, 2)) + positive_rtol(entries) * (d**2).sum(axis=(1, 2))
    return bound / entries if normalization == "mean" else bound


def assert_within(actual, expected, bound) -> None:
    """|actual − expected| ≤ bound, entrywise."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape
    excess = np.abs(actual - expected) - np.broadcast_to(bound, actual.shape)
    assert (excess <= 0).all(), f"off by more than the bound: {actual} vs {expected} (bound {bound}, excess {excess.max():.3g})"


# --- gram_matrix ---------------------------------------------------------------------------------


def test_gram_matrix_paper_is_the_plain_sum_over_positions(run):
    gram = run(gram_matrix, tf.constant(F), "paper").numpy()
    assert gram.shape == (2, 5, 5)
    assert_within(gram, np_gram(F), gram_error(F, "paper"))


def test_gram_matrix_mean_divides_by_the_number_of_positions(run):
    gram = run(gram_matrix, tf.constant(F), "mean").numpy()
    assert_within(gram, np_gram(F) / (3 * 4), gram_error(F, "mean"))


def test_gram_matrix_of_a_tiny_map_by_hand(run):
    # One position, channels (1, 2): G = [[1, 2], [2, 4]]; two positions add up. Small integers: exact.
    features = tf.constant([[[[1.0, 2.0], [3.0, 0.0]]]])  # [1, 1, 2, 2]
    expected = np.array([[[1 + 9, 2 + 0], [2 + 0, 4 + 0]]], dtype=np.float32)
    np.testing.assert_array_equal(run(gram_matrix, features, "paper").numpy(), expected)
    np.testing.assert_array_equal(run(gram_matrix, features, "mean").numpy(), expected / 2)


def test_gram_matrix_is_symmetric(run):
    # G[p, q] and G[q, p] may be summed in different orders: each is within the bound of the exact value.
    gram = run(gram_matrix, tf.constant(F)).numpy()
    assert_within(gram, np.transpose(gram, (0, 2, 1)), 2 * gram_error(F, "mean"))


def gram_value_and_gradients(features, weights, scale, normalization):
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(features)
        ours = tf.reduce_sum(weights * gram_matrix(features, normalization))
        reference = tf.reduce_sum(weights * scale * tf.einsum("bhwp,bhwq->bpq", features, features))
    return ours, reference, tape.gradient(ours, features), tape.gradient(reference, features)


@pytest.mark.parametrize("normalization", ["mean", "paper"])
def test_gram_matrix_gradient_equals_the_einsum_gradient(normalization, run):
    """The Gram's own gradient, dF = F·(dG + dGᵀ), against TensorFlow differentiating an einsum."""
    weights = RNG.normal(size=(2, 5, 5)).astype(np.float32)  # a non-symmetric upstream
    scale = 1.0 / 12 if normalization == "mean" else 1.0
    ours, reference, d_ours, d_reference = run(
        gram_value_and_gradients, tf.constant(F), tf.constant(weights), tf.constant(scale), normalization
    )
    # The value: 50 weighted Gram entries summed, each Gram entry within its bound (both ways computed).
    abs_value = (np.abs(weights) * np_gram(np.abs(F)) * scale).sum()
    assert_within(ours.numpy(), reference.numpy(), 2 * sum_error(12 + 50 + 3, abs_value))
    # The gradient: Σ_q F_q·(W_pq + W_qp)·scale, 2·5 products (and the scale) per entry.
    abs_gradient = np.einsum("bhwq,bpq->bhwp", np.abs(F), np.abs(weights) + np.abs(weights).transpose(0, 2, 1)) * scale
    assert_within(d_ours.numpy(), d_reference.numpy(), 2 * sum_error(10 + 3, abs_gradient))


# --- content_loss ---------------------------------------------------------------------------------

CONTENT_TERMS = 3 * 4 * 5  # per image


def test_content_loss_paper_is_the_sum_of_squared_differences_per_image(run):
    loss = run(content_loss, tf.constant(F), tf.constant(P), "paper").numpy()
    expected = ((F.astype(np.float64) - P) ** 2).sum(axis=(1, 2, 3))
    assert loss.shape == (2,)
    np.testing.assert_allclose(loss, expected, rtol=positive_rtol(CONTENT_TERMS))


def test_content_loss_mean_is_the_mean_of_squared_differences_per_image(run):
    loss = run(content_loss, tf.constant(F), tf.constant(P), "mean").numpy()
    expected = ((F.astype(np.float64) - P) ** 2).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(loss, expected, rtol=positive_rtol(CONTENT_TERMS))


def test_content_loss_by_hand(run):
    features = tf.constant([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # [1, 2, 1, 2]
    target = tf.constant([[[[0.0, 0.0]], [[3.0, 1.0]]]])
    # differences 1, 2, 0, 3 → squares 1, 4, 0, 9 (exact)
    assert run(content_loss, features, target, "paper").numpy().tolist() == [14.0]
    assert run(content_loss, features, target, "mean").numpy().tolist() == [3.5]


@pytest.mark.parametrize("normalization", ["mean", "paper"])
def test_content_loss_is_zero_for_identical_activations(normalization, run):
    assert run(content_loss, tf.constant(F), tf.constant(F), normalization).numpy().tolist() == [0.0, 0.0]


def test_content_loss_gives_each_image_of_a_batch_its_own_value(run):
    batched = run(content_loss, tf.constant(F), tf.constant(P), "paper").numpy()
    for b in range(2):
        single = run(content_loss, tf.constant(F[b : b + 1]), tf.constant(P[b : b + 1]), "paper").numpy()
        np.testing.assert_allclose(batched[b], single[0], rtol=2 * positive_rtol(CONTENT_TERMS))
    assert batched[0] != pytest.approx(batched[1])


# --- style_loss -----------------------------------------------------------------------------------


@pytest.mark.parametrize("normalization", ["mean", "paper"])
def test_style_loss_is_the_sum_or_mean_of_squared_gram_differences(normalization, run):
    scale = 12 if normalization == "mean" else 1
    G, A = np_gram(F) / scale, np_gram(P) / scale
    gram, target = run(gram_matrix, tf.constant(F), normalization), run(gram_matrix, tf.constant(P), normalization)
    loss = run(style_loss, gram, target, normalization).numpy()
    assert loss.shape == (2,)
    squares = (G - A) ** 2
    expected = squares.mean(axis=(1, 2)) if normalization == "mean" else squares.sum(axis=(1, 2))
    assert_within(loss, expected, style_error(G, A, gram_error(F, normalization), gram_error(P, normalization), normalization))


def test_style_loss_by_hand(run):
    gram = tf.constant([[[1.0, 2.0], [2.0, 4.0]]])
    target = tf.constant([[[0.0, 2.0], [2.0, 1.0]]])
    # differences 1, 0, 0, 3 → squares 1, 0, 0, 9 (exact)
    assert run(style_loss, gram, target, "paper").numpy().tolist() == [10.0]
    assert run(style_loss, gram, target, "mean").numpy().tolist() == [2.5]


@pytest.mark.parametrize("normalization", ["mean", "paper"])
def test_style_loss_ignores_where_features_are_when_the_gram_matches(normalization, run):
    # Shuffling positions keeps the Gram matrix (up to the order of its sums), so the style loss stays ~0.
    shuffled = F[:, ::-1, ::-1, :].copy()
    loss = run(
        style_loss, run(gram_matrix, tf.constant(shuffled), normalization), run(gram_matrix, tf.constant(F), normalization), normalization
    )
    G = np_gram(F) / (12 if normalization == "mean" else 1)
    bound = gram_error(F, normalization)
    assert_within(loss.numpy(), [0.0, 0.0], style_error(G, G, bound, bound, normalization))


# --- total_variation_loss --------------------------------------------------------------------------


@pytest.mark.parametrize("normalization", ["mean", "paper"])
def test_total_variation_loss_by_hand(normalization, run):
    image = np.array([[1.0, 2.0, 4.0], [1.0, 5.0, 4.0]], dtype=np.float32)  # 2x3, one value per pixel
    images = tf.constant(np.repeat(image[None, :, :, None], 3, axis=-1))  # [1, 2, 3, 3], grey
    down = np.array([0.0, 3.0, 0.0]) ** 2  # rows: 1-1, 5-2, 4-4
    right = np.array([1.0, 2.0, 4.0, 1.0]) ** 2  # columns: 2-1, 4-2, 5-1, 4-5
    # paper: integers, exact; mean: each direction is averaged over its own differences (two divisions).
    expected = 3 * (down.sum() + right.sum()) if normalization == "paper" else down.mean() + right.mean()
    np.testing.assert_allclose(run(total_variation_loss, images, normalization).numpy(), [expected], rtol=2 * EPS)


def test_total_variation_loss_is_zero_for_a_flat_image_and_per_image_in_a_batch(run):
    flat = np.full((1, 4, 5, 3), 77.0, np.float32)
    noisy = RNG.uniform(0, 255, (1, 4, 5, 3)).astype(np.float32)
    tv = run(total_variation_loss, tf.constant(np.concatenate([flat, noisy])), "paper").numpy()
    assert tv[0] == 0.0
    alone = run(total_variation_loss, tf.constant(noisy), "paper").numpy()[0]
    terms = 3 * 5 * 3 + 4 * 4 * 3  # the down and the right differences
    np.testing.assert_allclose(tv[1], alone, rtol=2 * positive_rtol(terms))


# --- image-size independence of "mean" -------------------------------------------------------------


def tile2x2(x: np.ndarray) -> np.ndarray:
    return np.tile(x, (1, 2, 2, 1))


def test_mean_normalization_gram_does_not_change_when_the_map_is_tiled(run):
    big, small = run(gram_matrix, tf.constant(tile2x2(F)), "mean"), run(gram_matrix, tf.constant(F), "mean")
    assert_within(big.numpy(), small.numpy(), gram_error(tile2x2(F), "mean") + gram_error(F, "mean"))


def test_mean_normalization_losses_do_not_change_when_the_map_is_tiled(run):
    small_cl = run(content_loss, tf.constant(F), tf.constant(P), "mean").numpy()
    big_cl = run(content_loss, tf.constant(tile2x2(F)), tf.constant(tile2x2(P)), "mean").numpy()
    np.testing.assert_allclose(big_cl, small_cl, rtol=positive_rtol(4 * CONTENT_TERMS) + positive_rtol(CONTENT_TERMS))
    G, A = np_gram(F) / 12, np_gram(P) / 12
    bound = {
        f.shape[1]: style_error(G, A, gram_error(f, "mean"), gram_error(p, "mean"), "mean")
        for f, p in ((F, P), (tile2x2(F), tile2x2(P)))
    }
    small_sl = run(style_loss, run(gram_matrix, tf.constant(F)), run(gram_matrix, tf.constant(P))).numpy()
    big_sl = run(style_loss, run(gram_matrix, tf.constant(tile2x2(F))), run(gram_matrix, tf.constant(tile2x2(P)))).numpy()
    assert_within(big_sl, small_sl, bound[3] + bound[6])


def test_paper_normalization_grows_with_the_map_size(run):
    # The plain sums: 4x the positions → 4x the content loss, 4x the Gram, 16x the style loss (powers of 2: exact).
    small_cl = run(content_loss, tf.constant(F), tf.constant(P), "paper").numpy()
    big_cl = run(content_loss, tf.constant(tile2x2(F)), tf.constant(tile2x2(P)), "paper").numpy()
    np.testing.assert_allclose(big_cl, 4 * small_cl, rtol=positive_rtol(4 * CONTENT_TERMS) + positive_rtol(CONTENT_TERMS))
    small_g = run(gram_matrix, tf.constant(F), "paper").numpy()
    big_g = run(gram_matrix, tf.constant(tile2x2(F)), "paper").numpy()
    assert_within(big_g, 4 * small_g, gram_error(tile2x2(F), "paper") + 4 * gram_error(F, "paper"))
    small_sl = run(style_loss, tf.constant(small_g), run(gram_matrix, tf.constant(P), "paper"), "paper").numpy()
    big_sl = run(style_loss, tf.constant(big_g), run(gram_matrix, tf.constant(tile2x2(P)), "paper"), "paper").numpy()
    G, A = np_gram(F), np_gram(P)
    small_bound = style_error(G, A, gram_error(F, "paper"), gram_error(P, "paper"), "paper")
    big_bound = style_error(4 * G, 4 * A, gram_error(tile2x2(F), "paper"), gram_error(tile2x2(P), "paper"), "paper")
    assert_within(big_sl, 16 * small_sl, big_bound + 16 * small_bound)


def test_unknown_normalization_is_an_error(run):
    with pytest.raises(ValueError, match="normalization"):
        run(content_loss, tf.constant(F), tf.constant(P), "median")


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
    """SL of ``f`` against ``s`` and its float32 bound."""
    positions = f.shape[1] * f.shape[2]
    scale = positions if normalization == "mean" else 1
    G, A = np_gram(f) / scale, np_gram(s) / scale
    d = (G - A) ** 2
    value = d.mean(axis=(1, 2)) if normalization == "mean" else d.sum(axis=(1, 2))
    return value, style_error(G, A, gram_error(f, normalization), gram_error(s, normalization), normalization)


def tensors(maps: dict) -> dict:
    return {k: tf.constant(v) for k, v in maps.items()}


@pytest.mark.parametrize("normalization", ["mean", "paper"])
def test_combined_loss_is_a_times_weighted_content_plus_b_times_weighted_style(normalization, run):
    content_weights = {"l1": 0.25, "l2": 0.75}
    style_weights = {"l2": 2.0, "l3": 0.5}
    a, b = 3.0, 0.1
    style_targets = {k: run(gram_matrix, tf.constant(v), normalization) for k, v in STYLE_MAPS.items()}
    out = run(
        combined_loss,
        tensors(LAYER_MAPS),
        tensors(CONTENT_MAPS),
        style_targets,
        content_weights,
        style_weights,
        a=a,
        b=b,
        normalization=normalization,
    )
    cl = {k: np_content(LAYER_MAPS[k], CONTENT_MAPS[k], normalization) for k in content_weights}
    sl = {k: np_style(LAYER_MAPS[k], STYLE_MAPS[k], normalization) for k in style_weights}
    # Weighted sums of a few non-negative terms add a rounding per product and per sum.
    cl_rtol = max(positive_rtol(m.size // 2) for m in LAYER_MAPS.values())
    content = sum(w * cl[k] for k, w in content_weights.items())
    content_bound = (cl_rtol + 2 * len(cl) * EPS) * content
    style = sum(z * sl[k][0] for k, z in style_weights.items())
    style_bound = sum(z * sl[k][1] for k, z in style_weights.items()) + 2 * len(sl) * EPS * style
    for k in content_weights:
        np.testing.assert_allclose(out[f"content/{k}"].numpy(), cl[k], rtol=cl_rtol)
    for k in style_weights:
        assert_within(out[f"style/{k}"].numpy(), *sl[k])
    assert_within(out["content"].numpy(), content, content_bound)
    assert_within(out["style"].numpy(), style, style_bound)
    np.testing.assert_array_equal(out["tv"].numpy(), [0.0, 0.0])
    total = a * content + b * style
    assert_within(out["total"].numpy(), total, a * content_bound + b * style_bound + 3 * EPS * total)
    assert out["total"].shape == (2,)


def test_combined_loss_computes_only_the_layers_named_in_the_weight_maps(run):
    # Targets exist only for the layers in use: a layer outside the maps must never be looked up.
    out = run(
        combined_loss,
        tensors(LAYER_MAPS),
        {"l1": tf.constant(CONTENT_MAPS["l1"])},
        {"l3": gram_matrix(tf.constant(STYLE_MAPS["l3"]))},
        {"l1": 1.0},
        {"l3": 1.0},
        a=1.0,
        b=1.0,
    )
    assert set(out) == {"total", "content", "style", "tv", "content/l1", "style/l3"}


def test_combined_loss_with_no_style_layers_is_the_content_alone(run):
    out = run(
        combined_loss,
        tensors(LAYER_MAPS),
        {"l2": tf.constant(CONTENT_MAPS["l2"])},
        {},
        {"l2": 1.0},
        {},
        a=2.0,
        b=5.0,
        normalization="paper",
    )
    np.testing.assert_array_equal(out["style"].numpy(), [0.0, 0.0])
    expected = 2.0 * np_content(LAYER_MAPS["l2"], CONTENT_MAPS["l2"], "paper")
    np.testing.assert_allclose(out["total"].numpy(), expected, rtol=positive_rtol(LAYER_MAPS["l2"].size // 2) + 3 * EPS)


@pytest.mark.parametrize("normalization", ["mean", "paper"])
def test_combined_loss_adds_tv_weight_times_total_variation(normalization, run):
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
    without = run(combined_loss, **kwargs)
    with_tv = run(combined_loss, **kwargs, tv_weight=0.01, images=tf.constant(images))
    tv = run(total_variation_loss, tf.constant(images), normalization).numpy()
    # The same TV (maybe fused differently in a graph); the total adds one product and one sum to `without`'s.
    np.testing.assert_allclose(with_tv["tv"].numpy(), tv, rtol=2 * positive_rtol(5 * 5 * 3 + 6 * 4 * 3))
    expected = without["total"].numpy().astype(np.float64) + 0.01 * tv
    assert_within(with_tv["total"].numpy(), expected, 3 * EPS * expected)
    np.testing.assert_array_equal(without["tv"].numpy(), [0.0, 0.0])


# --- masks ---------------------------------------------------------------------------------------------


def test_masked_gram_with_a_full_mask_is_the_gram_and_with_a_half_mask_the_halfs():
    feats = tf.random.stateless_normal([2, 6, 8, 4], seed=[1, 2])
    ones = tf.ones([6, 8])
    for normalization in ("mean", "paper"):
        np.testing.assert_allclose(
            masked_gram_matrix(feats, ones, normalization), gram_matrix(feats, normalization), rtol=1e-5, atol=1e-5
        )
    left = np.zeros((6, 8), np.float32)
    left[:, :4] = 1
    np.testing.assert_allclose(masked_gram_matrix(feats, left), gram_matrix(feats[:, :, :4]), rtol=1e-5, atol=1e-6)


def test_content_loss_mask_counts_only_the_white_positions():
    feats, target = tf.random.stateless_normal([1, 6, 8, 4], seed=[3, 4]), tf.zeros([1, 6, 8, 4])
    np.testing.assert_allclose(content_loss(feats, target, mask=tf.ones([6, 8])), content_loss(feats, target), rtol=1e-6)
    left = np.zeros((6, 8), np.float32)
    left[:, :4] = 1
    half = tf.concat([feats[:, :, :4], tf.zeros([1, 6, 4, 4])], axis=2)
    np.testing.assert_allclose(content_loss(feats, target, mask=left), content_loss(half, target), rtol=1e-6)
