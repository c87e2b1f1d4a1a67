"""The one fixed yardstick of tools/: how stylized and how faithful an image is, whatever loss made it.

``python -m tools.paper`` (the paper's layers against Gatys') and ``python -m tools.bench`` (tfstyle against
the TensorFlow tutorial's loop) both compare runs that optimized different layers, so neither may
be measured only on the layers it optimized: both measure with :class:`Yardstick`, defined in
:data:`MARKDOWN` (which their reports quote).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import tfstyle
from tfstyle.config import GATYS_CONTENT_LAYERS, GATYS_STYLE_LAYERS
from tfstyle.objective.losses import content_loss, gram_matrix, style_loss

STYLE_LAYERS = (
    "block1_conv1", "block1_conv2", "block2_conv1", "block3_conv1",
    "block3_conv3", "block4_conv1", "block5_conv1", "block5_conv3",
)  # fmt: skip
CONTENT_LAYERS = ("block3_conv3", "block4_conv2")
# A yardstick with none of the default preset's layers: Gatys et al.'s five style layers and their
# content layer. ``python -m tools.bench`` measures time to quality with it, so that the default preset is not
# judged on the layers it optimizes (conv1_2, conv3_3, conv5_3).
NEUTRAL = (GATYS_STYLE_LAYERS, GATYS_CONTENT_LAYERS)

MARKDOWN = """\
Every image is measured with the same ruler, whatever loss made it: the mean-normalized losses of
VGG16 with the ImageNet weights, in float32, on layers of every layer set compared.

- **style distance** = the mean over conv1_1, conv1_2, conv2_1, conv3_1, conv3_3, conv4_1, conv5_1
  and conv5_3 (the style layers of the paper, of Gatys et al. and of the TensorFlow tutorial) of
  SL_i(image) / SL_i(content image), with SL_i the mean squared difference of Gram matrices
  (Gram / positions) to the painting's. 1 = as far from the style as the photo, 0 = the painting's
  statistics. Every layer counts equally, whatever its scale.
- **content distance** = the mean over conv3_3 (the paper's) and conv4_2 (Gatys et al.'s) of
  CL_i(image) / CL_i(painting), with CL_i the mean squared activation difference to the photo.
  0 = the photo, 1 = as far from the photo as the painting (scaled to the photo's size).

Lower is better for both (↓); they pull against each other."""

NEUTRAL_MARKDOWN = """\
The same ruler on layers that none of tfstyle's default preset optimizes, so that no run is judged
on its own layers: Gatys et al.'s (conv1_1, conv2_1, conv3_1, conv4_1 and conv5_1 for the **style
distance**, conv4_2 for the **content distance**), each defined as above. ↓ for both."""


class Yardstick:
    """Style and content distances (module docstring) of images of the content's size."""

    def __init__(
        self,
        content: np.ndarray,
        style: np.ndarray,
        weights: str = "imagenet",
        layers: tuple[Sequence[str], Sequence[str]] = (STYLE_LAYERS, CONTENT_LAYERS),
    ):
        """``content`` ``[h, w, 3]`` and ``style`` (any size), pixels in [0, 255], as the runs see them;
        ``layers``: the style and the content layers (:data:`NEUTRAL`: Gatys et al.'s)."""
        self.style_layers, self.content_layers = tuple(layers[0]), tuple(layers[1])
        self.shape = tuple(content.shape)
        self.model = tfstyle.build_feature_model(self.style_layers + self.content_layers, weights)
        content_features = self._features(content)
        style_features = self._features(style)
        self.content_targets = {n: content_features[n] for n in self.content_layers}
        self.style_grams = {n: gram_matrix(style_features[n]) for n in self.style_layers}
        self.style_scale = self.style_terms(content)[:, 0]
        painting = tfstyle.initial_image("style", content, style)  # the painting at the photo's size
        self.content_scale = self.content_terms(painting)[:, 0]
        painting_features = self._features(painting)
        self.painting_targets = {n: painting_features[n] for n in self.content_layers}
        self.painting_scale = self._terms_to(self._features(content), self.painting_targets)[:, 0]

    def content_distance_to_style(self, images: Sequence[np.ndarray]) -> list[float]:
        """The content distance measured to the painting instead of the photo (the content target of
        Yu & Chang's printed loss): 0 = the painting's content, 1 = as far from it as the photo."""
        terms = self._terms_to(self._features(np.stack(images)), self.painting_targets)
        return [float(d) for d in np.mean(terms / self.painting_scale[:, None], axis=0)]

    def _terms_to(self, features: dict, targets: dict) -> np.ndarray:
        return np.array([content_loss(features[n], targets[n]).numpy() for n in self.content_layers])

    def distances(self, image: np.ndarray) -> tuple[float, float]:
        """(style distance, content distance) of ``image`` ``[h, w, 3]`` in [0, 255]."""
        return self.batch_distances([image])[0]

    def batch_distances(self, images: Sequence[np.ndarray]) -> list[tuple[float, float]]:
        """:meth:`distances` of several images, in one pass through VGG16."""
        features = self._features(np.stack(images))
        style = np.mean(self.style_terms(features) / self.style_scale[:, None], axis=0)
        content = np.mean(self.content_terms(features) / self.content_scale[:, None], axis=0)
        return [(float(s), float(c)) for s, c in zip(style, content)]

    def per_layer(self, image: np.ndarray) -> dict[str, dict[str, float]]:
        """The terms the two distances average: ``{"style": {layer: SL_i ratio}, "content": {layer: CL_i ratio}}``."""
        features = self._features(image)
        style = self.style_terms(features)[:, 0] / self.style_scale
        content = self.content_terms(features)[:, 0] / self.content_scale
        return {
            "style": {n: float(v) for n, v in zip(self.style_layers, style)},
            "content": {n: float(v) for n, v in zip(self.content_layers, content)},
        }

    def style_terms(self, images_or_features) -> np.ndarray:
        """SL_i per layer and image, ``[layers, batch]``, of images or of their features."""
        features = self._as_features(images_or_features)
        return np.array([style_loss(gram_matrix(features[n]), self.style_grams[n]).numpy() for n in self.style_layers])

    def content_terms(self, images_or_features) -> np.ndarray:
        """CL_i per layer and image, ``[layers, batch]``, of images or of their features."""
        features = self._as_features(images_or_features)
        return np.array([content_loss(features[n], self.content_targets[n]).numpy() for n in self.content_layers])

    def _as_features(self, images_or_features) -> dict:
        return images_or_features if isinstance(images_or_features, dict) else self._features(images_or_features)

    def _features(self, images: np.ndarray) -> dict:
        images = np.asarray(images, np.float32)
        return self.model(images if images.ndim == 4 else images[None])
