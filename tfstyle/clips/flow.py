"""Optical flow between frames, its reliability, and warping (Ruder et al. 2016, section 3).

A flow field ``w`` ``[height, width, 2]`` holds ``(dx, dy)`` per pixel, in pixels: the pixel ``p`` of
frame ``a`` is seen at ``p + w(p)`` in frame ``b``, so ``a(p) ≈ b(p + w(p))`` and
:func:`warp` ``(b, w)`` is ``a`` again where it was visible in ``b``. For a frame ``i`` and an
earlier frame ``j``: ``ŵ`` (``backward``) is the flow from ``i`` to ``j``, ``w`` (``forward``) the
flow from ``j`` to ``i``. Flows are OpenCV's DIS (:func:`dis_flow`), computed by a background
:class:`FlowWorker` ahead of the stylization and cached per frame pair (:class:`FlowCache`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfstyle.clips.config import FLOW_METHODS
from tfstyle.clips.io import need
from tfstyle.errors import ConfigError


def dis_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """OpenCV's DIS optical flow (Kroeger et al. 2016, the ``medium`` preset) from frame ``a`` to
    frame ``b`` (RGB, [0, 255]): float32 ``[height, width, 2]`` with ``a(p) ≈ b(p + w(p))``."""
    cv2 = need("cv2")
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(_gray(a), _gray(b), None).astype(np.float32)


def flow(a: np.ndarray, b: np.ndarray, method: str = "dis") -> np.ndarray:
    """The flow from ``a`` to ``b`` by ``method`` (:data:`~tfstyle.clips.config.FLOW_METHODS`)."""
    if method not in FLOW_METHODS:
        raise ConfigError(f"unknown `flow` method {method!r}; choose one of: {', '.join(FLOW_METHODS)}")
    return dis_flow(a, b)


def remap(field: np.ndarray, by: np.ndarray) -> np.ndarray:
    """``field(p + by(p))`` bilinearly (edges repeated): numpy's counterpart of :func:`warp`."""
    cv2 = need("cv2")
    height, width = by.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return cv2.remap(
        np.ascontiguousarray(field, np.float32),
        xs + by[..., 0],
        ys + by[..., 1],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def reliability(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """c, float32 ``[height, width]`` in frame ``i``: 1 where ``backward`` (ŵ, i → j) is reliable, 0
    where it is not. With w̃(p) = w(p + ŵ(p)) (the ``forward`` flow j → i seen from frame i):

    - disoccluded: |w̃ + ŵ|² > 0.01·(|w̃|² + |ŵ|²) + 0.5 (forward and backward do not cancel),
      or p + ŵ(p) outside frame ``j``;
    - motion boundary: |∇û|² + |∇v̂|² > 0.01·|ŵ|² + 0.002.
    """
    height, width = backward.shape[:2]
    seen = remap(forward, backward)
    disoccluded = np.sum((seen + backward) ** 2, -1) > 0.01 * (np.sum(seen**2, -1) + np.sum(backward**2, -1)) + 0.5
    ys, xs = np.mgrid[0:height, 0:width]
    x, y = xs + backward[..., 0], ys + backward[..., 1]
    outside = (x < 0) | (x > width - 1) | (y < 0) | (y > height - 1)
    du_y, du_x = np.gradient(backward[..., 0])
    dv_y, dv_x = np.gradient(backward[..., 1])
    boundary = du_x**2 + du_y**2 + dv_x**2 + dv_y**2 > 0.01 * np.sum(backward**2, -1) + 0.002
    return (~(disoccluded | outside | boundary)).astype(np.float32)


def warp(images: tf.Tensor, flows: tf.Tensor) -> tf.Tensor:
    """``images(p + flows(p))``, bilinear, in TensorFlow (differentiable, runs inside the step):
    ``images`` ``[batch, height, width, channels]`` or one image, ``flows`` ``[batch, height, width,
    2]`` or one field. Samples outside the frame take the nearest edge pixel. Exact on integer
    flows."""
    images, flows = tf.convert_to_tensor(images, tf.float32), tf.convert_to_tensor(flows, tf.float32)
    single = images.shape.rank == 3
    if single:
        images = images[None]
    if flows.shape.rank == 3:
        flows = flows[None]
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    ys, xs = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij")
    x = tf.clip_by_value(xs + flows[..., 0], 0.0, tf.cast(width - 1, tf.float32))
    y = tf.clip_by_value(ys + flows[..., 1], 0.0, tf.cast(height - 1, tf.float32))
    x0, y0 = tf.floor(x), tf.floor(y)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    x0i, y0i = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    x1i, y1i = tf.minimum(x0i + 1, width - 1), tf.minimum(y0i + 1, height - 1)

    def at(yi: tf.Tensor, xi: tf.Tensor) -> tf.Tensor:
        return tf.gather_nd(images, tf.stack([yi, xi], -1), batch_dims=1)

    top = at(y0i, x0i) * (1 - fx) + at(y0i, x1i) * fx
    bottom = at(y1i, x0i) * (1 - fx) + at(y1i, x1i) * fx
    out = top * (1 - fy) + bottom * fy
    return out[0] if single else out


class FlowCache:
    """Flows saved per frame pair in ``folder`` (``flow_00005_00004.npz``: ŵ and w between frames 5
    and 4, 1-based), so a second run and a resume reuse them; ``None``: no cache."""

    def __init__(self, folder: str | os.PathLike | None, method: str = "dis"):
        self.folder = Path(folder) if folder is not None else None
        self.method = method

    def path(self, i: int, j: int) -> Path | None:
        return self.folder / f"{self.method}_{i + 1:05d}_{j + 1:05d}.npz" if self.folder is not None else None

    def load(self, i: int, j: int, shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray] | None:
        path = self.path(i, j)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path) as saved:
                backward, forward = saved["backward"], saved["forward"]
        except (OSError, ValueError, KeyError):
            return None  # a damaged file: computed again
        return (backward, forward) if backward.shape[:2] == tuple(shape[:2]) else None

    def save(self, i: int, j: int, backward: np.ndarray, forward: np.ndarray) -> None:
        path = self.path(i, j)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.npz")
        np.savez_compressed(temporary, backward=backward.astype(np.float16), forward=forward.astype(np.float16))
        os.replace(temporary, path)


class FlowWorker:
    """Computes (or loads) ŵ and the reliability c for frame pairs ``(i, j)`` in a background thread,
    in the order given (and then those of :meth:`prefetch`), so the flows of the next frames are
    ready while a frame is optimized. :meth:`get` waits for one and lets the worker forget it; ``computing`` and ``waiting`` add up the seconds spent on flow in the
    worker and the seconds the caller waited for it (the rest was hidden behind the optimization)."""

    def __init__(self, frames: Sequence[np.ndarray], pairs: Iterable[tuple[int, int]], method: str, cache: FlowCache):
        if method not in FLOW_METHODS:
            raise ConfigError(f"unknown `flow` method {method!r}; choose one of: {', '.join(FLOW_METHODS)}")
        need("cv2").setNumThreads(1)  # leave the cores to TensorFlow
        self.frames, self.method, self.cache = frames, method, cache
        self.computing = self.waiting = 0.0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tfstyle-flow")
        self._jobs: dict[tuple[int, int], Future] = {}
        self.prefetch(pairs)

    def prefetch(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Queue the pairs ``(i, j)`` not queued yet, in order."""
        for pair in pairs:
            if pair not in self._jobs:
                self._jobs[pair] = self._pool.submit(self._pair, *pair)

    def _pair(self, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
        start = time.perf_counter()
        saved = self.cache.load(i, j, self.frames[i].shape)
        if saved is None:
            backward, forward = (
                flow(self.frames[i], self.frames[j], self.method),
                flow(self.frames[j], self.frames[i], self.method),
            )
            self.cache.save(i, j, backward, forward)
            # what the cache holds, so a run that reads it back (a resume) computes the same
            backward, forward = (field.astype(np.float16).astype(np.float32) for field in (backward, forward))
        else:
            backward, forward = (field.astype(np.float32) for field in saved)
        result = backward, reliability(backward, forward)
        self.computing += time.perf_counter() - start
        return result

    def get(self, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
        """ŵ (frame ``i`` → ``j``) and c for the pair, waiting for the worker if it is not done."""
        start = time.perf_counter()
        job = self._jobs.pop((i, j), None) or self._pool.submit(self._pair, i, j)
        result = job.result()
        self.waiting += time.perf_counter() - start
        return result

    def close(self) -> None:
        """Stop: drop the pairs not started and wait for the one running."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def warping_error(stylized: Sequence[np.ndarray], contents: Sequence[np.ndarray]) -> float:
    """Lai et al.'s (ECCV 2018) E_warp: the mean over t of Σ M·‖V_t − warp(V_{t+1})‖² / Σ M, pixels
    in [0, 1], with the flow t → t+1 and its reliability M from the content frames (not the stylized ones)."""
    errors = []
    for t in range(len(stylized) - 1):
        backward, forward = flow(contents[t], contents[t + 1]), flow(contents[t + 1], contents[t])
        mask = reliability(backward, forward)[..., None]
        warped = warp(np.asarray(stylized[t + 1], np.float32) / 255.0, backward).numpy()
        errors.append(float(np.sum(mask * (stylized[t] / 255.0 - warped) ** 2) / max(1.0, 3 * mask.sum())))
    return float(np.mean(errors))


def _gray(frame: np.ndarray) -> np.ndarray:
    rgb = np.asarray(frame, np.float32)
    gray = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    return np.clip(np.rint(gray), 0, 255).astype(np.uint8)
