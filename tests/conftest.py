"""Shared fixtures: tiny synthetic images, a random-weights feature model, and the real weights.

Fast tests use ``weights="random"`` (seeded He-normal VGG16) on 32-64 pixel images. Tests that
need the ImageNet weights take the ``real_weights`` fixture: ``$TFSTYLE_VGG16_WEIGHTS`` (CI sets it
from ``../shared/tools/vgg16-weights``), else keras' cached download, else they skip saying why.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
SHARED_IMAGES = ROOT.parent / "shared" / "images"
KERAS_CACHED_WEIGHTS = Path.home() / ".keras" / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


def synthetic_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth colourful uint8 picture with some structure (gradients plus blobs)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(1, 6, size=3)
        channels.append(0.5 + 0.5 * np.sin(2 * np.pi * (fx * x + fy * y) + phase))
    image = np.stack(channels, axis=-1) * 255
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def content_array() -> np.ndarray:
    return synthetic_image(48, 64, seed=1)


@pytest.fixture(scope="session")
def style_array() -> np.ndarray:
    return synthetic_image(64, 48, seed=2)


@pytest.fixture
def content_path(tmp_path: Path, content_array: np.ndarray) -> Path:
    path = tmp_path / "content.png"
    Image.fromarray(content_array).save(path)
    return path


@pytest.fixture
def style_path(tmp_path: Path, style_array: np.ndarray) -> Path:
    path = tmp_path / "style.png"
    Image.fromarray(style_array).save(path)
    return path


@pytest.fixture(scope="session")
def random_model():
    """The full-depth feature model (all 13 conv layers) with seeded random weights."""
    from tfstyle.network.features import build_feature_model
    from tfstyle.network.vgg16 import VGG16_CONV_LAYERS

    return build_feature_model(VGG16_CONV_LAYERS, weights="random", seed=0)


@pytest.fixture(scope="session")
def real_weights() -> str:
    """Path to the ImageNet VGG16 'notop' weights, or skip with the reason."""
    env = os.environ.get("TFSTYLE_VGG16_WEIGHTS")
    if env:
        if not Path(env).is_file():
            pytest.fail(f"TFSTYLE_VGG16_WEIGHTS points to a missing file: {env}")
        return env
    if not KERAS_CACHED_WEIGHTS.is_file():
        _try_keras_download()
    if KERAS_CACHED_WEIGHTS.is_file():
        return str(KERAS_CACHED_WEIGHTS)
    pytest.skip(
        "needs the ImageNet VGG16 weights: set TFSTYLE_VGG16_WEIGHTS=$(../shared/tools/vgg16-weights) "
        "or let keras download them once"
    )


def _try_keras_download() -> None:
    """Let keras fetch the weights into its cache, as it would for a user; quietly give up offline."""
    import socket

    import keras

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)
    try:
        keras.applications.VGG16(include_top=False, weights="imagenet")
    except Exception:  # noqa: BLE001 - no network, blocked host, ...: the caller skips
        pass
    finally:
        socket.setdefaulttimeout(previous)


@pytest.fixture(scope="session")
def shared_images() -> Path:
    if not SHARED_IMAGES.is_dir():
        pytest.skip(f"needs the shared test images at {SHARED_IMAGES}")
    return SHARED_IMAGES


@pytest.fixture
def python() -> str:
    return sys.executable
