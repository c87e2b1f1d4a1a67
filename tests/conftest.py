"""Shared fixtures: tiny synthetic images, a random-weights feature model, and the real weights;
then the set-ups that tests of several modules share (the creative controls, a small run, folders
of photos). A test file's own fixture of the same name (``model``, ``images``, ``style``) wins.

Fast tests use ``weights="random"`` (seeded He-normal VGG16) on 32-64 pixel images. Tests that
need the ImageNet weights take the ``real_weights`` fixture: ``$TFSTYLE_VGG16_WEIGHTS`` (CI sets it
from ``../shared/tools/vgg16-weights``), else keras' cached download, else they skip saying why.
Those, and tests that start a process, are marked ``slow``: ``python -m pytest -m "not slow"``
leaves them out.
"""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads

import tensorflow as tf  # noqa: E402

from tfstyle.config import StyleConfig  # noqa: E402
from tfstyle.loop.callbacks import Callback  # noqa: E402
from tfstyle.loop.optimize import stylize  # noqa: E402
from tfstyle.network.features import build_feature_model  # noqa: E402
from tfstyle.vgg16 import VGG16_CONV_LAYERS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED_IMAGES = ROOT.parent / "shared" / "images"  # tests take it through the ``shared_images`` fixture
SAMPLES = ROOT / "samples"  # the pictures shipped with the project (README's first command): always there
KERAS_CACHED_WEIGHTS = Path.home() / ".keras" / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


def helpfull_entries(text: str, module: str) -> dict[str, str]:
    """``--helpfull``'s entries of ``module``'s flags: name → everything absl prints about it."""
    entries: dict[str, str] = {}
    section = current = None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            section, current = line.rstrip(":"), None
        elif section == module:
            found = re.match(r"  --(?:\[no\])?(\w+):(?: (.*))?$", line)  # a long choices list wraps first
            if found:
                current = found[1]
                entries[current] = found[2] or ""
            elif current:
                entries[current] = f"{entries[current]} {line.strip()}".strip()
    return entries


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


@pytest.fixture
def conversions(monkeypatch) -> list[str]:
    """The convolution forms that models are converted to while the test runs (a model that comes
    back from ``forms.with_convolution_form`` as it went in is not counted)."""
    from tfstyle.network import forms

    converted_to: list[str] = []
    real = forms.with_convolution_form

    def with_convolution_form(model, form):
        converted = real(model, form)
        converted_to.extend([form] if converted is not model else [])
        return converted

    monkeypatch.setattr(forms, "with_convolution_form", with_convolution_form)
    return converted_to


@pytest.fixture(scope="session")
def random_model():
    """The full-depth feature model (all 13 conv layers) with seeded random weights."""
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


@pytest.hookimpl(tryfirst=True)  # before ``-m "not slow"`` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on the real weights is a slow one too (a 58 MB file, real image sizes)."""
    for item in items:
        if "real_weights" in getattr(item, "fixturenames", ()) or item.get_closest_marker("real_weights"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def shared_images() -> Path:
    """``../shared/images`` beside the project (this project's machines and CI have it), or skip:
    a fresh clone elsewhere has no ``../shared``, and its tests pass without it."""
    if not SHARED_IMAGES.is_dir():
        pytest.skip(f"needs ../shared (the project's sample data), absent here: no {SHARED_IMAGES}")
    return SHARED_IMAGES


@pytest.fixture
def python() -> str:
    return sys.executable


class Terminal(io.StringIO):
    """A stream that says it is a terminal: progress bars redraw on it."""

    def isatty(self) -> bool:
        return True


# --- the creative controls (inputs/, objective/, network/, controls/, loop/, cli/, pipelines/) -------
# Tests import these as BASE, LAYER, H, W and run.

CONTROLS = StyleConfig(
    content_layers=("conv2_2",),
    style_layers=("conv1_2", "conv2_2"),
    content_layer_weights=None,
    style_layer_weights=None,
    content_weight=1.0,
    style_weight=1.0,
    normalization="mean",
    init="content",
    optimizer="adam",
    learning_rate=4.0,
    iterations=8,
    image_size=48,
    seed=0,
    weights="random",
    precision="float32",
)
CONTROLS_LAYER = "block1_conv2"  # full resolution: masks need no resizing to compare with it
CONTROLS_H, CONTROLS_W = 36, 48  # the content images below at image_size 48


@pytest.fixture(scope="session")
def model():
    return build_feature_model(("conv1_2", "conv2_2", "conv3_3"), weights="random", seed=0)


@pytest.fixture(scope="session")
def content() -> np.ndarray:
    return synthetic_image(48, 64, seed=1).astype(np.float32)


@pytest.fixture(scope="session")
def style_a() -> np.ndarray:
    return synthetic_image(64, 48, seed=2).astype(np.float32)


@pytest.fixture(scope="session")
def style_b() -> np.ndarray:
    """Another painting, in blues, with finer structure."""
    image = synthetic_image(96, 96, seed=5).astype(np.float32)
    return image * np.array([0.3, 0.5, 1.0], np.float32)


def run_controls(content, style, model, **changes):
    options = {k: changes.pop(k) for k in ("content_mask", "style_masks") if k in changes}
    return stylize(content, style, CONTROLS.override(**changes), feature_model=model, **options)


def features(model, image: np.ndarray, layer: str = CONTROLS_LAYER) -> tf.Tensor:
    return model(tf.constant(np.asarray(image, np.float32)[None]))[layer]


def gram_distance(a: tf.Tensor, b: tf.Tensor) -> float:
    """‖a − b‖ / ‖b‖ of two Gram matrices."""
    return float(tf.norm(a - b) / tf.norm(b))


def half_masks(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """White on the left half (255), and its inverse."""
    left = np.zeros((height, width), np.float32)
    left[:, : width // 2] = 255.0
    return left, 255.0 - left


# --- a small run (network/test_speed.py, loop/test_coarse_to_fine.py); tests import SMALL as BASE ----

SMALL = StyleConfig(
    content_layers=("conv2_2",),
    style_layers=("conv1_2", "conv2_2"),
    style_weight=1.0,
    optimizer="adam",
    learning_rate=4.0,
    iterations=5,
    image_size=64,
    weights="random",
    precision="float32",
    jit=False,
    scales=1,
)


@pytest.fixture(scope="session")
def small_model():
    return build_feature_model(SMALL.layers_in_use(), weights="random", seed=0)


@pytest.fixture(scope="session")
def images():
    return synthetic_image(96, 128, seed=1), synthetic_image(128, 96, seed=2)


class Record(Callback):
    """A callback that records the starts, the steps (iteration, of, image shape, dtype) and the ends."""

    def __init__(self):
        self.starts, self.ends, self.steps = [], 0, []

    def on_start(self, iterations):
        self.starts.append(iterations)

    def on_step(self, step):
        self.steps.append((step.iteration, step.iterations, tuple(step.image.shape), step.image.dtype.name))

    def on_end(self, step):
        self.ends += 1


# --- folders of photos (cli/test_batch.py, scale/); tests import BATCH_SETTINGS as SETTINGS ----------

BATCH_SETTINGS = [
    "--weights", "random", "--image_size", "32", "--iterations", "2",
    "--content_layers", "conv2_2", "--style_layers", "conv1_2,conv2_2",
]  # fmt: skip


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Two 4:3 photos, a portrait, a file that is no image, and a PNG cut short (its header is fine)."""
    folder_ = tmp_path / "photos"
    folder_.mkdir()
    for index in range(2):
        Image.fromarray(synthetic_image(48, 64, seed=index)).save(folder_ / f"photo{index}.png")
    Image.fromarray(synthetic_image(64, 48, seed=5)).save(folder_ / "portrait.png")
    (folder_ / "notes.txt").write_text("not an image, and not listed: wrong extension")
    (folder_ / "garbage.jpg").write_bytes(b"this is no jpeg")
    Image.fromarray(synthetic_image(48, 64, seed=7)).save(folder_ / "cut.png")
    data = (folder_ / "cut.png").read_bytes()
    (folder_ / "cut.png").write_bytes(data[: len(data) // 2])
    return folder_


@pytest.fixture
def style(tmp_path: Path) -> Path:
    """A painting's file (40x40)."""
    path = tmp_path / "painting.png"
    Image.fromarray(synthetic_image(40, 40, seed=9)).save(path)
    return path


# --- a fast stylizer (the --model of batch, beam and video) ----------------------------------------


@pytest.fixture(scope="session")
def fast_model(tmp_path_factory) -> Path:
    """A tiny random-weight fast stylizer's SavedModel folder (no .tflite: made in a second)."""
    from tfstyle.fast.network import transform_network
    from tfstyle.fast.stylizer import export

    return export(transform_network(4), tmp_path_factory.mktemp("fast") / "m", {"settings": {}, "steps": 1}, tflite=False)
