"""Large images in tiles: the loss and its gradient over overlapping tiles, the style statistics
over the whole image.

With ``config.tile_size`` the image is cut into a grid of overlapping tiles of about that size,
aligned to the deepest layer's stride so that every tile's activations sit on the whole image's
grid. Each tile has a feathered weight map: 1 inside, falling off smoothly (a raised cosine) across
the overlap with each neighbour; the maps of all tiles sum to 1 at every pixel, and (averaged down)
at every layer position. The loss is the whole image's:

- content: each tile's activations against the content image's at the same tile (computed once
  and kept), weighted by the tile's map, summed over the tiles;
- style: the Gram matrix of the whole stylized image, the sum of the tiles' weighted Gram sums,
  against the style targets, which come from the whole style image the same way (tiled at the
  same size);
- total variation on the whole image.

The losses are :func:`tfstyle.objective.losses.total_loss` of the tiles' sums. The gradient reaches
each tile through those sums: Σ_i c_i·Σ_k m(k)·|F_k − P_k|² + Σ_i Σ_pq C_pq·G^tile_pq, with c_i and C
the total's derivatives by the whole image's content sums and Gram sums, so a step makes two passes
over the tiles: the sums (forward), then each tile's gradient (forward and backward).

Only one tile's activations are in memory at a time. A tile's activations differ from the whole
image's only near its edges, where the convolutions see zero padding instead of the neighbouring
pixels; the feathering gives them little weight there, so the seams do not show. A tile as large
as the image gives the untiled run (to round-off).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from tfstyle.config import StyleConfig
from tfstyle.errors import ConfigError
from tfstyle.inputs.prepare import ImageBatch
from tfstyle.objective.interface import Losses
from tfstyle.objective.losses import normalized, style_loss, total_loss, total_variation_loss
from tfstyle.objective.targets import style_at_content_size
from tfstyle.vgg16 import deepest, layer

DEFAULT_OVERLAP_FRACTION = 0.25  # of the tile size, when no overlap is given
FEATHER_MARGIN = 0.25  # the share of an overlap at each end where a tile's weight stays 0 (or 1)


@dataclass(frozen=True)
class Tile:
    """Rows ``top:bottom`` and columns ``left:right`` of the image, and the tile's feathered weights
    (``[bottom - top, right - left]``; every pixel's weights over all tiles sum to 1)."""

    top: int
    bottom: int
    left: int
    right: int
    weights: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.bottom - self.top, self.right - self.left


def tile_geometry(tile_size: int, overlap: int | None, layers: Sequence[str]) -> tuple[int, int]:
    """The tile size and overlap in use: rounded down to multiples of the deepest layer's stride,
    the overlap by default a quarter of the tile. Raises :class:`ConfigError` if they cannot work."""
    stride = deepest(layers).stride
    size = tile_size // stride * stride
    if size < 4 * stride:
        raise ConfigError(
            f"tile size {tile_size} is too small for layer {deepest(layers).name}: give at least {4 * stride} pixels"
        )
    if overlap is None:
        overlap = int(size * DEFAULT_OVERLAP_FRACTION)
    overlap = overlap // stride * stride
    if overlap > size // 2:
        raise ConfigError(f"tile overlap {overlap} is too large for tiles of {size} pixels: give at most {size // 2}")
    return size, overlap


def axis_spans(length: int, size: int, overlap: int, stride: int) -> list[tuple[int, int]]:
    """Start and end of each tile along one axis: starts on multiples of ``stride``, neighbours
    overlapping by at least ``overlap``, the last tile ending at ``length``."""
    if length <= size:
        return [(0, length)]
    count = math.ceil((length - size) / (size - overlap)) + 1
    while True:  # rounding the starts to the stride may cut an overlap short: then one tile more
        starts = [round(i * (length - size) / (count - 1) / stride) * stride for i in range(count)]
        spans = [(start, length if i == count - 1 else min(length, start + size)) for i, start in enumerate(starts)]
        if all(previous[1] - start >= overlap for previous, (start, _) in zip(spans, spans[1:])):
            return spans
        count += 1


def axis_weights(spans: Sequence[tuple[int, int]], length: int) -> list[np.ndarray]:
    """Each span's feather along the axis: 1, easing to 0 (a raised cosine) across each overlap,
    normalized so that the spans' weights sum to 1 at every pixel."""
    raw = []
    for index, (start, end) in enumerate(spans):
        x = np.arange(start, end) + 0.5
        weight = np.ones(end - start)
        if index > 0 and spans[index - 1][1] > start:  # easing in over the overlap with the previous span
            weight *= _ease((x - start) / (spans[index - 1][1] - start))
        if index + 1 < len(spans) and spans[index + 1][0] < end:  # easing out into the next one
            weight *= 1.0 - _ease((x - spans[index + 1][0]) / (end - spans[index + 1][0]))
        raw.append(weight)
    total = np.zeros(length)
    for (start, end), weight in zip(spans, raw):
        total[start:end] += weight
    return [(weight / total[start:end]).astype(np.float32) for (start, end), weight in zip(spans, raw)]


def _ease(t: np.ndarray) -> np.ndarray:
    """0 → 1 across the overlap (t from 0 to 1): flat for the outer ``FEATHER_MARGIN`` on each side,
    where a tile's activations feel its edge most, a raised cosine between."""
    t = (t - FEATHER_MARGIN) / (1.0 - 2.0 * FEATHER_MARGIN)
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(t, 0.0, 1.0))


def layout(height: int, width: int, size: int, overlap: int, stride: int) -> list[Tile]:
    """The tiles of a ``height`` × ``width`` image, row by row, with their feathered weights."""
    rows, columns = axis_spans(height, size, overlap, stride), axis_spans(width, size, overlap, stride)
    row_weights, column_weights = axis_weights(rows, height), axis_weights(columns, width)
    return [
        Tile(top, bottom, left, right, np.outer(wy, wx).astype(np.float32))
        for (top, bottom), wy in zip(rows, row_weights)
        for (left, right), wx in zip(columns, column_weights)
    ]


class TiledObjective:
    """The objective of ``config`` (a·CL + b·SL + tv·TV) for images of ``content_images``' size,
    computed tile by tile, its gradient too (an :class:`~tfstyle.objective.interface.Objective`).

    ``style_images`` is one style image ``[height, width, 3]`` or a list of them (blended by
    ``config.style_blend``). The content targets of every tile are computed here, once.
    """

    def __init__(
        self,
        model: keras.Model,
        content_images: np.ndarray,
        style_images: ImageBatch | Sequence[ImageBatch],
        config: StyleConfig,
    ):
        if not config.tile_size:
            raise ConfigError("a TiledObjective needs config.tile_size")
        self.model, self.config = model, config
        content = np.asarray(content_images, dtype=np.float32)
        content = content[None] if content.ndim == 3 else content
        self.batch, self.height, self.width = content.shape[:3]
        self.content_terms, self.style_terms = config.content_terms(), config.style_terms()
        layers = list(dict.fromkeys([*self.content_terms, *self.style_terms]))
        self.stride = deepest(layers).stride
        self.size, self.overlap = tile_geometry(config.tile_size, config.tile_overlap, layers)
        self.tiles = layout(self.height, self.width, self.size, self.overlap, self.stride)
        self._features = tf.function(lambda x: _select(model(x), layers), reduce_retracing=True, autograph=False)
        self._statistics = tf.function(self._tile_statistics, reduce_retracing=True, autograph=False)
        self._gradient = tf.function(self._tile_gradient, reduce_retracing=True, autograph=False)
        sources, blend = self._content_sources(content, style_images)
        self._targets = [
            self._content_targets([source[:, t.top : t.bottom, t.left : t.right] for source in sources], blend)
            for t in self.tiles
        ]
        self._style = self._style_targets(style_images)

    def __call__(self, images: tf.Tensor) -> Losses:
        losses, _ = self._whole_image(tf.convert_to_tensor(images, tf.float32))
        return losses

    def value_and_gradient(self, images: tf.Tensor) -> tuple[Losses, tf.Tensor]:
        """The losses (``[batch]`` each) and d(Σ total)/d(images), tile by tile."""
        images = tf.convert_to_tensor(images, tf.float32)
        losses, (by_squares, by_grams, by_images) = self._whole_image(images)
        gradient = np.zeros(images.shape, np.float32)
        for tile, targets in zip(self.tiles, self._targets):
            part = self._gradient(self._cut(images, tile), tf.constant(tile.weights), targets, by_squares, by_grams)
            gradient[:, tile.top : tile.bottom, tile.left : tile.right] += part.numpy()
        if by_images is not None:  # total variation
            gradient += by_images.numpy()
        return losses, tf.constant(gradient)

    def _whole_image(
        self, images: tf.Tensor
    ) -> tuple[Losses, tuple[dict[str, tf.Tensor], dict[str, tf.Tensor], tf.Tensor | None]]:
        """Pass one: the losses from the tiles' sums, and the derivatives of Σ total by the content
        sums, the Gram sums and (through TV) the images."""
        grams = {name: 0.0 for name in self.style_terms}
        squares = {name: 0.0 for name in self.content_terms}
        for tile, targets in zip(self.tiles, self._targets):
            tile_grams, tile_squares = self._statistics(self._cut(images, tile), tf.constant(tile.weights), targets)
            grams = {name: grams[name] + tile_grams[name] for name in grams}
            squares = {name: squares[name] + tile_squares[name] for name in squares}
        with tf.GradientTape() as tape:
            tape.watch([images, squares, grams])
            losses = self._losses(images, squares, grams)
            total = tf.reduce_sum(losses["total"])
        return losses, tape.gradient(total, (squares, grams, images))

    def _losses(self, images: tf.Tensor, squares: dict[str, tf.Tensor], grams: dict[str, tf.Tensor]) -> Losses:
        """The whole image's losses from the tiles' weighted sums: each normalized as
        :mod:`tfstyle.objective.losses` normalizes the whole image's."""
        config, norm = self.config, self.config.normalization
        content = {
            name: normalized(squares[name], layer(name).channels * self._positions(name), norm)
            for name in self.content_terms
        }
        style = {
            name: style_loss(normalized(grams[name], self._positions(name), norm), self._style[name], norm)
            for name in self.style_terms
        }
        tv = total_variation_loss(images, norm) if config.tv_weight else tf.zeros([images.shape[0]], tf.float32)
        return total_loss(
            content, style, tv, self.content_terms, self.style_terms,
            config.content_weight, config.style_weight, config.tv_weight,
        )  # fmt: skip

    # --- one tile (compiled, one trace per tile shape) ---------------------------------------------

    def _tile_statistics(
        self, x: tf.Tensor, weights: tf.Tensor, targets: dict[str, tf.Tensor]
    ) -> tuple[dict[str, tf.Tensor], dict[str, tf.Tensor]]:
        """A tile's weighted Gram sums Σ_k m(k)·F_k F_kᵀ and content sums Σ_k m(k)·|F_k − P_k|²."""
        features = self.model(x)
        grams = {name: self._weighted_gram(features[name], weights, name) for name in self.style_terms}
        squares = {
            name: tf.reduce_sum(self._weighted_squares(features[name], targets[name], weights, name), axis=[1, 2, 3])
            for name in self.content_terms
        }
        return grams, squares

    def _tile_gradient(
        self,
        x: tf.Tensor,
        weights: tf.Tensor,
        targets: dict[str, tf.Tensor],
        by_squares: dict[str, tf.Tensor],
        by_grams: dict[str, tf.Tensor],
    ) -> tf.Tensor:
        """The gradient of Σ total through this tile's sums (pass two)."""
        with tf.GradientTape() as tape:
            tape.watch(x)
            features = self.model(x)
            share = tf.zeros([], tf.float32)
            for name in self.content_terms:
                squares = self._weighted_squares(features[name], targets[name], weights, name)
                share += tf.reduce_sum(by_squares[name] * tf.reduce_sum(squares, axis=[1, 2, 3]))
            for name in self.style_terms:
                share += tf.reduce_sum(by_grams[name] * self._weighted_gram(features[name], weights, name))
        return tape.gradient(share, x)

    def _weighted_gram(self, features: tf.Tensor, weights: tf.Tensor, name: str) -> tf.Tensor:
        """Σ_k m(k)·F_k F_kᵀ over the tile's positions k at layer ``name``: ``[batch, N, N]``."""
        weighted = features * self._layer_weights(weights, name)[None, :, :, None]
        return tf.einsum("bhwp,bhwq->bpq", weighted, features)

    def _weighted_squares(self, features: tf.Tensor, target: tf.Tensor, weights: tf.Tensor, name: str) -> tf.Tensor:
        """m(k)·(F_jk − P_jk)² at layer ``name``."""
        return self._layer_weights(weights, name)[None, :, :, None] * tf.square(features - target)

    # --- targets ------------------------------------------------------------------------------------

    def _content_sources(self, content: np.ndarray, style_images: np.ndarray | Sequence[np.ndarray]) -> tuple[list[np.ndarray], Sequence[float]]:
        """The images whose tiles give P_i, and their blend: the content image, or (``content_target``
        "style") each style image stretched to the content's size, blended by β_s."""
        if self.config.content_target == "content":
            return [content], (1.0,)
        styles = list(style_images) if isinstance(style_images, (list, tuple)) else [style_images]
        return [style_at_content_size(style, content).numpy() for style in styles], self.config.style_blend(len(styles))

    def _content_targets(self, tiles: Sequence[np.ndarray], blend: Sequence[float]) -> dict[str, tf.Tensor]:
        if not self.content_terms:
            return {}
        targets: dict[str, tf.Tensor] = {}
        for beta, tile in zip(blend, tiles):
            if not beta:
                continue
            features = self._features(tf.constant(tile))
            for name in self.content_terms:
                targets[name] = targets[name] + beta * features[name] if name in targets else beta * features[name]
        return targets

    def _style_targets(self, style_images: ImageBatch | Sequence[ImageBatch]) -> dict[str, tf.Tensor]:
        """A_i: each style image's Gram over its whole area (tile by tile), blended by β_s."""
        if not self.style_terms:
            return {}
        styles = list(style_images) if isinstance(style_images, (list, tuple)) else [style_images]
        targets = {name: 0.0 for name in self.style_terms}
        for beta, style in zip(self.config.style_blend(len(styles)), styles):
            style = np.asarray(style, np.float32)
            style = style[None] if style.ndim == 3 else style
            height, width = style.shape[1:3]
            sums = {name: 0.0 for name in self.style_terms}
            for tile in layout(height, width, self.size, self.overlap, self.stride):
                features = self._features(tf.constant(style[:, tile.top : tile.bottom, tile.left : tile.right]))
                weights = tf.constant(tile.weights)
                for name in self.style_terms:
                    sums[name] = sums[name] + self._weighted_gram(features[name], weights, name)
            for name in self.style_terms:
                gram = normalized(sums[name], self._positions(name, height, width), self.config.normalization)
                if self.config.normalization == "paper" and self.config.style_scale != 1.0:
                    gram = gram * (self.height * self.width) / (height * width)  # plain sums grow with the pixels
                targets[name] = targets[name] + beta * gram
        return targets

    # --- helpers ------------------------------------------------------------------------------------

    def _cut(self, images: tf.Tensor, tile: Tile) -> tf.Tensor:
        return images[:, tile.top : tile.bottom, tile.left : tile.right, :]

    def _positions(self, name: str, height: int | None = None, width: int | None = None) -> int:
        """M_i: layer ``name``'s positions for an image of ``height`` × ``width`` (default: the run's)."""
        rows, columns = layer(name).shape(height or self.height, width or self.width)
        return rows * columns

    @staticmethod
    def _layer_weights(weights: tf.Tensor, name: str) -> tf.Tensor:
        """The tile's pixel weights averaged down to ``name``'s resolution (``stride`` pixels a position)."""
        stride = layer(name).stride
        if stride == 1:
            return weights
        return tf.nn.avg_pool2d(weights[None, :, :, None], stride, stride, "VALID")[0, :, :, 0]


def _select(features: dict[str, tf.Tensor], layers: Sequence[str]) -> dict[str, tf.Tensor]:
    return {name: features[name] for name in layers}
