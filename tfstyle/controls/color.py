"""Colour preservation (Gatys et al. 2017, *Controlling Perceptual Factors in Neural Style Transfer*).

Pure numpy functions on RGB pixels in [0, 255] with the channels last (``[..., 3]``), so they
take one image or a batch alike. Two ways to keep the content's colours:

- **luminance-only transfer**: the style is transferred between luminance images (Y of YIQ,
  replicated to three channels for VGG16), the style's luminance first matched to the content's
  mean and standard deviation; the stylized luminance is then recombined with the content's
  chroma (I, Q). :func:`luminance_image`, :func:`match_luminance`, :func:`recombine_luminance`.
- **colour histogram matching**: before the transfer, the style image's pixels go through the
  linear map x' = A·(x − μ_s) + μ_c with A = Σ_c^½·Σ_s^-½ (symmetric square roots, the 3-D colour
  matching of Image Analogies, one of the two transforms Gatys et al. 2017 use), so their mean and
  covariance become the content's. :func:`match_color`.
"""

from __future__ import annotations

import numpy as np

# NTSC YIQ (the colour space Gatys et al. 2017 use): rows give Y, I, Q from R, G, B.
RGB_TO_YIQ = np.array(
    [
        [0.299, 0.587, 0.114],
        [0.595716, -0.274453, -0.321263],
        [0.211456, -0.522591, 0.311135],
    ]
)
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)

# Added to covariance matrices before their inverse square root: a flat (one-colour) image has a
# singular covariance. In squared grey levels, far below any real image's variance.
_COVARIANCE_EPSILON = 1e-3


def rgb_to_yiq(images: np.ndarray) -> np.ndarray:
    """YIQ of RGB pixels ``[..., 3]``: Y in [0, 255], I and Q signed (grey has I = Q = 0)."""
    return np.asarray(images, np.float64) @ RGB_TO_YIQ.T


def yiq_to_rgb(yiq: np.ndarray) -> np.ndarray:
    """RGB of YIQ pixels ``[..., 3]`` (the exact inverse of :func:`rgb_to_yiq`; not clipped)."""
    return np.asarray(yiq, np.float64) @ YIQ_TO_RGB.T


def luminance(images: np.ndarray) -> np.ndarray:
    """Y = 0.299·R + 0.587·G + 0.114·B of RGB pixels ``[..., 3]`` → ``[...]``."""
    return rgb_to_yiq(images)[..., 0]


def luminance_image(images: np.ndarray) -> np.ndarray:
    """The luminance as a grey RGB image (Y in all three channels), float32 ``[..., 3]``."""
    return _gray(luminance(images))


def match_luminance(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The style's luminance L_s mapped to the content's statistics: L_s' = σ_c/σ_s·(L_s − μ_s) + μ_c.

    Gatys et al. 2017's preprocessing for luminance-only transfer. μ and σ are over all the pixels
    of each argument (a batch of contents counts as one). Returns a grey RGB image, clipped to [0, 255].
    """
    style_y, content_y = luminance(style), luminance(content)
    scale = content_y.std() / max(style_y.std(), 1e-6)
    return _gray(np.clip(scale * (style_y - style_y.mean()) + content_y.mean(), 0.0, 255.0))


def recombine_luminance(stylized: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The stylized image's luminance Y with the content's chroma I, Q, back in RGB clipped to [0, 255].

    ``stylized`` and ``content`` have the same shape ``[..., 3]``.
    """
    yiq = rgb_to_yiq(content)
    yiq[..., 0] = luminance(stylized)
    return np.clip(yiq_to_rgb(yiq), 0.0, 255.0).astype(np.float32)


def match_color(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The style image with the content's colour mean and covariance: x' = A·(x − μ_s) + μ_c.

    A = Σ_c^½·Σ_s^-½ with symmetric (eigen-decomposition) square roots of the RGB covariance
    matrices Σ, so that x' has mean μ_c and covariance Σ_c exactly (before clipping to [0, 255]).
    Statistics are over all the pixels of each argument (a batch of contents counts as one).
    """
    style = np.asarray(style, np.float64)
    mu_s, sigma_s = _mean_covariance(style)
    mu_c, sigma_c = _mean_covariance(content)
    transform = _sqrtm(sigma_c) @ _sqrtm(sigma_s, inverse=True)
    matched = (style - mu_s) @ transform.T + mu_c
    return np.clip(matched, 0.0, 255.0).astype(np.float32)


def _mean_covariance(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pixels = np.asarray(images, np.float64).reshape(-1, 3)
    return pixels.mean(axis=0), np.cov(pixels, rowvar=False) + _COVARIANCE_EPSILON * np.eye(3)


def _sqrtm(matrix: np.ndarray, inverse: bool = False) -> np.ndarray:
    """The symmetric square root (or its inverse) of a symmetric positive definite 3×3 matrix."""
    values, vectors = np.linalg.eigh(matrix)
    roots = np.sqrt(np.maximum(values, _COVARIANCE_EPSILON))
    return (vectors * (1.0 / roots if inverse else roots)) @ vectors.T


def _gray(y: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(y, np.float32)[..., None], 3, axis=-1)


def preserve_colors(
    mode: str | None, content: np.ndarray, styles: list[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The images a run with ``preserve_colors=mode`` works on, from the content and style images.

    ``"luminance"``: the content's luminance and each style's luminance matched to it (grey RGB);
    ``"histogram"``: each style with the content's colour mean and covariance; ``None``: unchanged.
    A batch of contents ``[batch, h, w, 3]`` is matched as one: its statistics are pooled. After a
    ``luminance`` run, :func:`recombine_luminance` puts each image's own chroma back.
    """
    if mode is None:
        return content, styles
    if mode == "luminance":
        return luminance_image(content), [match_luminance(style, content) for style in styles]
    if mode == "histogram":
        return content, [match_color(style, content) for style in styles]
    raise ValueError(f"unknown preserve_colors mode {mode!r}; choose luminance or histogram")
