"""The training photos: found in a folder or by a glob, checked once, and served as a repeatable
``tf.data`` stream of random crops (scale jitter, crop, flip), decoded in parallel.

Repeatable without saving the pipeline's state: crop k of the stream is a pure function of
(``seed``, k), so a resumed run at step s starts the stream at crop s·batch and sees what an
uninterrupted run would have seen.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from tfstyle.errors import ImageError

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


@dataclass(frozen=True)
class Photos:
    """The usable photos (sorted paths), and those skipped as unreadable, with why."""

    paths: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...] = ()


def find_photos(source: str | os.PathLike, min_side: int = 1) -> Photos:
    """The photos of a folder (its image files, not recursive) or a glob pattern, each opened
    once: a file that is not a readable image, or smaller than ``min_side`` on a side, is skipped
    and counted. Raises :class:`ImageError` when none is left."""
    text = os.fspath(source)
    if os.path.isdir(text):
        candidates = [str(p) for p in sorted(Path(text).iterdir()) if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file()]
    elif glob.has_magic(text):
        candidates = sorted(p for p in glob.glob(text) if os.path.isfile(p))
    elif os.path.exists(text):
        raise ImageError(f"`photos` must be a folder of images or a glob pattern, got the file {text}")
    else:
        raise ImageError(f"photos folder not found: {text}")
    good, skipped = [], []
    for path in candidates:
        reason = _unusable(path, min_side)
        if reason:
            skipped.append((path, reason))
        else:
            good.append(path)
    if not good:
        found = f"{len(candidates)} image file(s), none usable" if candidates else "no image files (.jpg, .png, ...)"
        raise ImageError(f"no photos to train on in {text}: {found}")
    return Photos(tuple(good), tuple(skipped))


def _unusable(path: str, min_side: int) -> str:
    """Why ``path`` cannot be trained on (empty if it can): decoded in full, so truncated files show."""
    try:
        with Image.open(path) as image:
            image.load()
            width, height = image.size
    except Exception as err:  # noqa: BLE001 - PIL raises many types for a bad file
        return f"not a readable image ({type(err).__name__})"
    if min(width, height) < min_side:
        return f"{width}x{height} pixels, smaller than {min_side} on a side"
    return ""


def hold_out(photos: Photos, count: int, seed: int) -> tuple[Photos, tuple[str, ...]]:
    """``photos`` less ``count`` of them chosen by ``seed`` (kept out of training, to judge the
    network on photos it never saw), and those held out. At least one photo stays to train on."""
    if count <= 0:
        return photos, ()
    if count >= len(photos.paths):
        raise ImageError(f"holding out {count} of {len(photos.paths)} photos leaves none to train on; lower `holdout`")
    order = np.random.default_rng(seed).permutation(len(photos.paths))
    held = {photos.paths[i] for i in order[:count]}
    kept = tuple(p for p in photos.paths if p not in held)
    return Photos(kept, photos.skipped), tuple(sorted(held))


def crops(
    paths: Sequence[str],
    crop_size: int,
    image_size: int,
    scale_jitter: float,
    batch_size: int,
    seed: int,
    start: int = 0,
) -> tf.data.Dataset:
    """Endless batches ``[batch_size, crop_size, crop_size, 3]`` (float32, [0, 255]) from ``start``
    (a batch index). Each photo is scaled so its longer side is ``image_size`` times a factor
    log-uniform in [1/``scale_jitter``, ``scale_jitter``] (never below ``crop_size`` on its shorter
    side), cropped at random and flipped left-right half the time. The photos come in a new
    random order each epoch; everything is seeded by (``seed``, crop index)."""
    files = tf.constant(list(paths))
    count = len(paths)

    def crop(index: tf.Tensor) -> tf.Tensor:
        epoch, position = index // count, index % count
        order = tf.argsort(tf.random.stateless_uniform([count], tf.stack([seed, epoch])))
        photo = tf.io.decode_image(tf.io.read_file(files[order[position]]), channels=3, expand_animations=False)
        photo = tf.cast(photo, tf.float32)
        keys = tf.random.experimental.stateless_split(tf.stack([seed + 1, index]), 3)
        shape = tf.cast(tf.shape(photo)[:2], tf.float32)
        log_jitter = tf.math.log(scale_jitter)
        factor = tf.exp(tf.random.stateless_uniform([], keys[0], -log_jitter, log_jitter))
        scale = tf.maximum(image_size * factor / tf.reduce_max(shape), crop_size / tf.reduce_min(shape))
        size = tf.cast(tf.math.ceil(shape * scale), tf.int32)
        photo = tf.clip_by_value(tf.image.resize(photo, size, method="bicubic", antialias=True), 0.0, 255.0)
        photo = tf.image.stateless_random_crop(photo, [crop_size, crop_size, 3], keys[1])
        return tf.image.stateless_random_flip_left_right(photo, keys[2])

    indices = tf.data.Dataset.range(start * batch_size, 2**62)
    batches = indices.map(crop, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(batch_size)
    return batches.prefetch(2)
