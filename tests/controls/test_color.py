"""tfstyle.controls.color: YIQ conversions and the two colour-preservation transforms (pure numpy),
then runs that keep the content's colours (random weights, the creative controls' set-up)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CONTROLS as BASE
from conftest import run_controls as run
from conftest import synthetic_image

from tfstyle.controls import color
from tfstyle.inputs.prepare import prepare_images
from tfstyle.loop.optimize import stylize


def pixels(seed: int, mean, spread, shape=(32, 48)) -> np.ndarray:
    """Correlated random colours around ``mean`` that stay inside [0, 255]."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(3, 3))
    values = rng.normal(size=(*shape, 3)) @ mix.T
    values = values / np.abs(values).max() * spread + np.asarray(mean, float)
    assert values.min() >= 0 and values.max() <= 255
    return values.astype(np.float32)


def test_yiq_round_trip_and_grey_has_no_chroma():
    rgb = np.random.default_rng(0).uniform(0, 255, (10, 12, 3))
    assert np.allclose(color.yiq_to_rgb(color.rgb_to_yiq(rgb)), rgb, atol=1e-9)
    grey = np.full((4, 4, 3), 77.0)
    yiq = color.rgb_to_yiq(grey)
    assert np.allclose(yiq[..., 0], 77.0) and np.allclose(yiq[..., 1:], 0.0, atol=1e-9)


def test_luminance_image_is_grey_with_the_luminance():
    rgb = pixels(1, (120, 90, 60), 50)
    grey = color.luminance_image(rgb)
    assert grey.shape == rgb.shape and grey.dtype == np.float32
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 0], grey[..., 2])
    expected = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    assert np.allclose(grey[..., 0], expected, atol=1e-3)


def test_match_luminance_takes_the_contents_mean_and_deviation():
    style, content = pixels(2, (200, 180, 160), 40), pixels(3, (90, 100, 110), 60, shape=(20, 30))
    matched = color.luminance(color.match_luminance(style, content))
    content_y = color.luminance(content)
    assert abs(matched.mean() - content_y.mean()) < 0.01
    assert abs(matched.std() - content_y.std()) < 0.01
    # the style's structure is kept: the map is increasing in the style's luminance
    assert np.corrcoef(matched.ravel(), color.luminance(style).ravel())[0, 1] > 0.999


def test_recombine_luminance_keeps_the_contents_chroma_and_the_stylized_luminance():
    content, stylized = pixels(4, (130, 110, 100), 60), pixels(5, (120, 130, 120), 60)
    out = color.recombine_luminance(color.luminance_image(stylized), content)
    assert np.allclose(color.rgb_to_yiq(out)[..., 1:], color.rgb_to_yiq(content)[..., 1:], atol=1e-3)
    assert np.allclose(color.luminance(out), color.luminance(stylized), atol=1e-3)


def test_recombine_clips_to_the_pixel_range():
    content = np.zeros((2, 2, 3), np.float32)
    content[..., 0] = 255  # pure red: strong chroma
    out = color.recombine_luminance(np.full((2, 2, 3), 250.0), content)
    assert out.min() >= 0 and out.max() <= 255


def test_match_color_gives_the_contents_mean_and_covariance():
    style, content = pixels(6, (60, 90, 200), 50), pixels(7, (150, 110, 80), 60, shape=(24, 20))
    matched = color.match_color(style, content)
    flat, target = matched.reshape(-1, 3).astype(np.float64), content.reshape(-1, 3).astype(np.float64)
    assert np.allclose(flat.mean(0), target.mean(0), atol=0.05)
    covariance, wanted = np.cov(flat, rowvar=False), np.cov(target, rowvar=False)
    assert np.abs(covariance - wanted).max() < 0.01 * np.abs(wanted).max()
    # before: far from the content's colours
    assert np.abs(style.reshape(-1, 3).mean(0) - target.mean(0)).max() > 50


def test_match_color_survives_a_flat_image():
    flat = np.full((8, 8, 3), 100.0, np.float32)
    out = color.match_color(flat, pixels(8, (120, 120, 120), 40))
    assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 255


def test_preserve_colors_modes():
    content, style = pixels(9, (150, 100, 80), 50), pixels(10, (60, 80, 200), 50)
    same_content, same_styles = color.preserve_colors(None, content, [style])
    assert same_content is content and same_styles[0] is style
    grey_content, grey_styles = color.preserve_colors("luminance", content, [style, style])
    assert np.allclose(color.rgb_to_yiq(grey_content)[..., 1:], 0, atol=1e-3) and len(grey_styles) == 2
    kept, matched = color.preserve_colors("histogram", content, [style])
    assert kept is content and np.allclose(matched[0].mean((0, 1)), content.mean((0, 1)), atol=0.1)
    with pytest.raises(ValueError):
        color.preserve_colors("sepia", content, [style])


# --- in a run -----------------------------------------------------------------------------------------


def chroma(image: np.ndarray) -> np.ndarray:
    return color.rgb_to_yiq(image)[..., 1:]


def test_luminance_keeps_the_contents_chroma_and_changes_its_luminance(content, style_b, model):
    content_image, _ = prepare_images(content, style_b, BASE)
    plain = run(content, style_b, model, iterations=15).image
    kept = run(content, style_b, model, iterations=15, preserve_colors="luminance").image
    assert np.abs(chroma(plain) - chroma(content_image)).mean() > 5.0  # the blue style recolours...
    assert np.abs(chroma(kept) - chroma(content_image)).mean() < 1.0  # ...unless the colours are kept
    assert np.abs(color.luminance(kept) - color.luminance(content_image)).mean() > 2.0  # the style is there


def test_luminance_callbacks_see_the_image_in_the_contents_colours(content, style_b, model):
    seen = []
    config = BASE.override(preserve_colors="luminance", iterations=3)
    result = stylize(content, style_b, config, feature_model=model, callbacks=[lambda step: seen.append(step.image.numpy())])
    content_image, _ = prepare_images(content, style_b, BASE)
    assert len(seen) == 3 and np.allclose(seen[-1][0], result.image)
    assert np.abs(chroma(seen[0][0]) - chroma(content_image)).mean() < 1.0


@pytest.mark.slow
def test_histogram_keeps_the_contents_colours(content, style_b, model):
    content_image, _ = prepare_images(content, style_b, BASE)
    mean = content_image.reshape(-1, 3).mean(0)
    plain = run(content, style_b, model, iterations=15).image
    kept = run(content, style_b, model, iterations=15, preserve_colors="histogram").image
    drift_plain = np.linalg.norm(plain.reshape(-1, 3).mean(0) - mean)
    drift_kept = np.linalg.norm(kept.reshape(-1, 3).mean(0) - mean)
    assert drift_kept < 0.5 * drift_plain
    assert np.abs(kept - content_image).mean() > 2.0  # the style still applies


def test_a_batch_keeps_each_images_own_colours(style_b, model):
    contents = [synthetic_image(48, 64, seed=seed).astype(np.float32) for seed in (1, 7)]
    batch = run(contents, style_b, model, iterations=4, preserve_colors="luminance").image
    for index, image in enumerate(contents):
        content_image, _ = prepare_images(image, style_b, BASE)
        assert np.abs(chroma(batch[index]) - chroma(content_image)).mean() < 1.0
