"""The losses of Yu & Chang's refined algorithm: pure functions of activations, batched.

Notation (the paper's): for layer i, F_i is the stylized image's activation map and P_i the content
image's, both N_i channels × M_i positions (M_i = height·width); G_i and A_i are the Gram matrices
of the stylized and the style image. Every function takes a batch and returns one value per image.

Two normalizations:
- ``"mean"`` (default): CL_i and SL_i are means instead of sums and G is divided by M_i, so
  a, b, w_i and z_i mean the same at any image size. Up to a constant factor this is Gatys et al.'s
  E_l = 1/(4·N²·M²)·Σ(G − A)².
- ``"paper"``: the paper's plain sums, CL_i = Σ(F − P)², G = Σ M_p·M_q, SL_i = Σ(G − A)².
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import tensorflow as tf

from tfstyle.config import NORMALIZATIONS


def gram_matrix(features: tf.Tensor, normalization: str = "mean") -> tf.Tensor:
    """G(p, q) = Σ_k M_p(k)·M_q(k) over the M positions k of channels p and q; ``mean`` divides by M.

    ``features``: ``[batch, height, width, N]`` → ``[batch, N, N]``.
    """
    shape = tf.shape(features)
    flat = tf.reshape(features, [shape[0], shape[1] * shape[2], features.shape[-1] or shape[3]])
    return normalized(_self_product(flat), shape[1] * shape[2], normalization)


def normalized(total: tf.Tensor, count: int | tf.Tensor, normalization: str) -> tf.Tensor:
    """A sum of ``count`` terms as ``normalization`` takes it: ``mean`` its mean, ``paper`` the sum.
    (How a loss summed piece by piece, as the tiled objective does, gets the whole image's value.)"""
    if normalization == "mean":
        return total / tf.cast(count, total.dtype)
    if normalization == "paper":
        return total
    raise ValueError(f"unknown normalization {normalization!r}; choose one of {', '.join(NORMALIZATIONS)}")


@tf.custom_gradient
def _self_product(flat: tf.Tensor) -> tuple[tf.Tensor, Callable[[tf.Tensor], tf.Tensor]]:
    """FᵀF of ``[batch, M, N]`` → ``[batch, N, N]``, a matmul (not the einsum "bkp,bkq->bpq": with its
    gradient 2-3x faster on oneDNN CPUs). Its gradient uses the symmetry, dF = F·(dG + dGᵀ): one
    matmul where automatic differentiation does two (one per factor)."""

    def gradient(upstream: tf.Tensor) -> tf.Tensor:
        return tf.matmul(flat, upstream + tf.linalg.matrix_transpose(upstream))

    return tf.matmul(flat, flat, transpose_a=True), gradient


def masked_gram_matrix(features: tf.Tensor, mask: tf.Tensor, normalization: str = "mean") -> tf.Tensor:
    """G(p, q) = Σ_k m(k)·M_p(k)·M_q(k) / Σ_k m(k): the Gram over positions k weighted by a mask m.

    Gatys et al. 2017's spatially guided Gram; with an all-ones mask it is :func:`gram_matrix`.
    ``paper`` multiplies by M (the number of positions), so that it compares with a full image's
    plain-sum Gram. ``features``: ``[batch, height, width, N]``; ``mask``: weights in [0, 1],
    ``[height, width]`` or ``[batch, height, width]`` → ``[batch, N, N]``.
    """
    mask = tf.cast(mask, features.dtype)
    mask = mask[None, ..., None] if mask.shape.rank == 2 else mask[..., None]
    shape = tf.shape(features)
    flat_shape = [shape[0], shape[1] * shape[2], features.shape[-1] or shape[3]]
    # A matmul rather than an einsum, as in gram_matrix (faster with its gradient on oneDNN CPUs).
    gram = tf.matmul(tf.reshape(features * mask, flat_shape), tf.reshape(features, flat_shape), transpose_a=True)
    area = tf.reduce_sum(mask * tf.ones_like(features[..., :1]), axis=[1, 2, 3])  # Σ_k m(k), per image
    gram = gram / tf.maximum(area, 1e-7)[:, None, None]
    if normalization == "paper":
        gram = gram * tf.cast(shape[1] * shape[2], gram.dtype)
    return gram


def content_loss(
    features: tf.Tensor, target: tf.Tensor, normalization: str = "mean", mask: tf.Tensor | None = None
) -> tf.Tensor:
    """CL_i = Σ_jk (F_jk − P_jk)² over channels j and positions k (``mean``: the mean). → ``[batch]``.

    With a ``mask`` m (``[height, width]`` weights in [0, 1]), CL_i = Σ_jk m(k)·(F_jk − P_jk)²: the
    content counts where m = 1 as without a mask, and not at all where m = 0 (same normalization).
    """
    squared = tf.square(features - target)
    if mask is not None:
        squared = squared * tf.cast(mask, squared.dtype)[None, ..., None]
    return _reduce(squared, axes=[1, 2, 3], normalization=normalization)


def style_loss(gram: tf.Tensor, target_gram: tf.Tensor, normalization: str = "mean") -> tf.Tensor:
    """SL_i = Σ_pq (G_pq − A_pq)² over the N×N Gram entries (``mean``: the mean). → ``[batch]``."""
    return _reduce(tf.square(gram - target_gram), axes=[1, 2], normalization=normalization)


def masked_style_loss(
    features: tf.Tensor,
    masks: tf.Tensor,
    target_grams: tf.Tensor,
    blend: Sequence[float] | None = None,
    normalization: str = "mean",
) -> tf.Tensor:
    """SL_i = Σ_s β_s·SL(G^s, A^s): style s in its region only (Gatys et al. 2017's spatial control).

    G^s is the :func:`masked_gram_matrix` of the stylized image's ``features`` under mask m_s
    (``masks``: ``[styles, height, width]``), A^s style s's Gram (``target_grams``:
    ``[styles, N, N]``) and β_s its blend weight (``None``: equal, 1/styles). → ``[batch]``.
    """
    if blend is None:
        blend = [1.0 / masks.shape[0]] * masks.shape[0]
    loss = tf.zeros(tf.shape(features)[:1], tf.float32)
    for s, beta in enumerate(blend):
        if beta:
            gram = masked_gram_matrix(features, masks[s], normalization)
            loss += beta * style_loss(gram, target_grams[s][None], normalization)
    return loss


def total_variation_loss(images: tf.Tensor, normalization: str = "mean") -> tf.Tensor:
    """TV = Σ (x[i+1, j] − x[i, j])² + (x[i, j+1] − x[i, j])² over pixels and channels. → ``[batch]``."""
    down = tf.square(images[:, 1:, :, :] - images[:, :-1, :, :])
    right = tf.square(images[:, :, 1:, :] - images[:, :, :-1, :])
    return _reduce(down, [1, 2, 3], normalization) + _reduce(right, [1, 2, 3], normalization)


def combined_loss(
    features: Mapping[str, tf.Tensor],
    content_targets: Mapping[str, tf.Tensor],
    style_targets: Mapping[str, tf.Tensor],
    content_weights: Mapping[str, float],
    style_weights: Mapping[str, float],
    a: float,
    b: float,
    tv_weight: float = 0.0,
    images: tf.Tensor | None = None,
    normalization: str = "mean",
    content_masks: Mapping[str, tf.Tensor] | None = None,
    style_masks: Mapping[str, tf.Tensor] | None = None,
    style_blend: Sequence[float] | None = None,
) -> dict[str, tf.Tensor]:
    """Total = a·CL + b·SL + tv_weight·TV with CL = Σ_i w_i·CL_i and SL = Σ_i z_i·SL_i.

    ``features`` are the stylized image's activations, ``content_targets`` the content image's
    (P_i), ``style_targets`` the style image's Gram matrices (A_i). Only layers named in the weight
    maps are computed. Returns ``[batch]`` tensors keyed ``total``, ``content``, ``style``, ``tv``,
    and ``content/<layer>``, ``style/<layer>`` for each layer's unweighted CL_i / SL_i.

    Spatial control (optional, each keyed by layer, at that layer's resolution): ``content_masks``
    ``[h_i, w_i]`` weight CL_i per position (:func:`content_loss`); with ``style_masks``
    ``[styles, h_i, w_i]``, ``style_targets`` hold one Gram per style ``[styles, N, N]`` and SL_i is
    :func:`masked_style_loss` with the blend weights ``style_blend``.
    """
    content_layers = {}
    for name in content_weights:
        mask = content_masks[name] if content_masks is not None else None
        content_layers[name] = content_loss(features[name], content_targets[name], normalization, mask)
    style_layers = {}
    for name in style_weights:
        if style_masks is not None:
            style_layers[name] = masked_style_loss(
                features[name], style_masks[name], style_targets[name], style_blend, normalization
            )
        else:
            gram = gram_matrix(features[name], normalization)
            style_layers[name] = style_loss(gram, style_targets[name], normalization)
    if tv_weight and images is not None:
        tv = total_variation_loss(images, normalization)
    else:
        tv = tf.zeros(tf.shape(next(iter(features.values())))[:1], dtype=tf.float32)
    return total_loss(content_layers, style_layers, tv, content_weights, style_weights, a, b, tv_weight)


def total_loss(
    content_layers: Mapping[str, tf.Tensor],
    style_layers: Mapping[str, tf.Tensor],
    tv: tf.Tensor,
    content_weights: Mapping[str, float],
    style_weights: Mapping[str, float],
    a: float,
    b: float,
    tv_weight: float = 0.0,
) -> dict[str, tf.Tensor]:
    """Total = a·CL + b·SL + tv_weight·TV with CL = Σ_i w_i·CL_i and SL = Σ_i z_i·SL_i, from each
    layer's unweighted CL_i (``content_layers``) and SL_i (``style_layers``) and TV, ``[batch]``
    each. Returns :func:`combined_loss`'s keys."""
    zero = tf.zeros_like(tv)
    out: dict[str, tf.Tensor] = {}
    content = zero
    for name, w in content_weights.items():
        out[f"content/{name}"] = content_layers[name]
        content += w * content_layers[name]
    style = zero
    for name, z in style_weights.items():
        out[f"style/{name}"] = style_layers[name]
        style += z * style_layers[name]
    out.update(content=content, style=style, tv=tv, total=a * content + b * style + tv_weight * tv)
    return out


def _reduce(values: tf.Tensor, axes: list[int], normalization: str) -> tf.Tensor:
    values = tf.cast(values, tf.float32)
    if normalization == "mean":
        return tf.reduce_mean(values, axis=axes)
    if normalization == "paper":
        return tf.reduce_sum(values, axis=axes)
    raise ValueError(f"unknown normalization {normalization!r}; choose one of {', '.join(NORMALIZATIONS)}")
