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

from collections.abc import Mapping

import tensorflow as tf

NORMALIZATIONS = ("mean", "paper")


def gram_matrix(features: tf.Tensor, normalization: str = "mean") -> tf.Tensor:
    """G(p, q) = Σ_k M_p(k)·M_q(k) over the M positions k of channels p and q; ``mean`` divides by M.

    ``features``: ``[batch, height, width, N]`` → ``[batch, N, N]``.
    """
    gram = tf.einsum("bhwp,bhwq->bpq", features, features)
    if normalization == "mean":
        shape = tf.shape(features)
        gram = gram / tf.cast(shape[1] * shape[2], gram.dtype)
    return gram


def content_loss(features: tf.Tensor, target: tf.Tensor, normalization: str = "mean") -> tf.Tensor:
    """CL_i = Σ_jk (F_jk − P_jk)² over channels j and positions k (``mean``: the mean). → ``[batch]``."""
    return _reduce(tf.square(features - target), axes=[1, 2, 3], normalization=normalization)


def style_loss(gram: tf.Tensor, target_gram: tf.Tensor, normalization: str = "mean") -> tf.Tensor:
    """SL_i = Σ_pq (G_pq − A_pq)² over the N×N Gram entries (``mean``: the mean). → ``[batch]``."""
    return _reduce(tf.square(gram - target_gram), axes=[1, 2], normalization=normalization)


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
) -> dict[str, tf.Tensor]:
    """Total = a·CL + b·SL + tv_weight·TV with CL = Σ_i w_i·CL_i and SL = Σ_i z_i·SL_i.

    ``features`` are the stylized image's activations, ``content_targets`` the content image's
    (P_i), ``style_targets`` the style image's Gram matrices (A_i). Only layers named in the weight
    maps are computed. Returns ``[batch]`` tensors keyed ``total``, ``content``, ``style``, ``tv``,
    and ``content/<layer>``, ``style/<layer>`` for each layer's unweighted CL_i / SL_i.
    """
    batch = tf.shape(next(iter(features.values())))[0]
    zero = tf.zeros([batch], dtype=tf.float32)
    out: dict[str, tf.Tensor] = {}
    content = zero
    for name, w in content_weights.items():
        out[f"content/{name}"] = content_loss(features[name], content_targets[name], normalization)
        content += w * out[f"content/{name}"]
    style = zero
    for name, z in style_weights.items():
        gram = gram_matrix(features[name], normalization)
        out[f"style/{name}"] = style_loss(gram, style_targets[name], normalization)
        style += z * out[f"style/{name}"]
    tv = total_variation_loss(images, normalization) if tv_weight and images is not None else zero
    out.update(content=content, style=style, tv=tv, total=a * content + b * style + tv_weight * tv)
    return out


def _reduce(values: tf.Tensor, axes: list[int], normalization: str) -> tf.Tensor:
    values = tf.cast(values, tf.float32)
    if normalization == "mean":
        return tf.reduce_mean(values, axis=axes)
    if normalization == "paper":
        return tf.reduce_sum(values, axis=axes)
    raise ValueError(f"unknown normalization {normalization!r}; choose one of {', '.join(NORMALIZATIONS)}")
