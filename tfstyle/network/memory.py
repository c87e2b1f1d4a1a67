"""Memory: what a run needs, what the device has, and a clear message when it will not fit.

The optimization holds VGG16's activations up to the deepest layer in use for the backward pass,
so a run needs memory in proportion to the pixels it optimizes at once: the whole image, or one
tile with ``tile_size`` (plus a few copies of the whole image). :func:`run_bytes` estimates it for a
:class:`Workload` (calibrated on the CPU: peak RSS against image size, docs/performance.md "Peak memory and
tiling"), :func:`available_bytes` reads what the device has free, and :func:`check_fits` raises
:class:`MemoryLimitError` before a run that would not fit, naming the largest size that fits and
a tile size that would. The same message serves a TensorFlow ``ResourceExhaustedError`` met
during a run (:func:`out_of_memory_error`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass

from tfstyle import vgg16
from tfstyle.errors import MemoryLimitError

GIB = 1024**3
# Peak memory of a run ≈ factor × the activations' bytes (of the whole image, or of one tile) +
# FIXED_BYTES + per-pixel buffers of the whole image. Fitted to the peak RSS of default-preset runs on
# the CPU at 512, 1024 and 2048 px, with and without tiles (docs/performance.md, "Peak memory and
# tiling"), and rounded up by about 10 %: the backward pass keeps every activation and adds gradient
# buffers of the largest ones; a tiled step also keeps its two passes' buffers for a tile.
ACTIVATION_FACTOR = 1.7
TILE_ACTIVATION_FACTOR = 2.7
FIXED_BYTES = 128 * 1024**2
# Float32 RGB copies of the whole image a run keeps: the image, its last finite copy, Adam's two
# moments, the gradient, the content; a tiled run also its gradient's accumulator and the tensors
# it is read from and written back as.
IMAGE_BUFFERS = 6
TILED_IMAGE_BUFFERS = 10
# Overlapping tiles keep the content targets of the overlaps twice: about a third more.
OVERLAP_SHARE = 1.35
_MEMINFO = "/proc/meminfo"


@dataclass(frozen=True)
class Workload:
    """What a run optimizes at once, as memory sees it: ``batch`` images of ``shape`` (height,
    width) through VGG16 to the deepest of ``layers``, whole or in tiles of ``tile_size`` (which keep
    every tile's content targets, ``content_layers``' activations), at ``bytes_per_value``."""

    shape: tuple[int, int]
    layers: Sequence[str]
    batch: int = 1
    tile_size: int | None = None
    content_layers: Sequence[str] = ()
    bytes_per_value: int = 4

    def __post_init__(self) -> None:  # any sequences in (a NumPy shape, lists of layers); tuples kept
        object.__setattr__(self, "shape", (int(self.shape[0]), int(self.shape[1])))
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "content_layers", tuple(self.content_layers))

    @property
    def needed(self) -> int:
        """:func:`run_bytes` of this workload."""
        return run_bytes(self.shape, self.layers, self.batch, self.tile_size, self.content_layers, self.bytes_per_value)

    def at(self, shape: tuple[int, int] | None = None, tile_size: int | None = None) -> Workload:
        """The same run at another ``shape`` or in tiles of another ``tile_size``."""
        return dataclasses.replace(self, shape=shape or self.shape, tile_size=tile_size or self.tile_size)


@dataclass(frozen=True)
class Estimate:
    """What a run (``work``) needs, in bytes, and what it was compared with."""

    work: Workload
    needed: int
    available: int | None

    @property
    def shape(self) -> tuple[int, int]:
        return self.work.shape

    @property
    def batch(self) -> int:
        return self.work.batch

    @property
    def tile_size(self) -> int | None:
        return self.work.tile_size

    @property
    def fits(self) -> bool:
        return self.available is None or self.needed <= self.available


def activation_values(height: int, width: int, layers: Sequence[str]) -> int:
    """The activations VGG16 computes for one ``height`` × ``width`` image up to the deepest of
    ``layers``: every conv layer's output and every pooling's, in values (multiply by the bytes of one)."""
    deepest = vgg16.deepest(layers)
    total = 3 * height * width  # the preprocessed input
    for layer in vgg16.layers_up_to(deepest.name):
        rows, cols = layer.shape(height, width)
        total += layer.channels * rows * cols
        if layer.last_of_block and layer != deepest:  # the pooling into the next block halves both
            total += layer.channels * (rows >> 1) * (cols >> 1)
    return total


def run_bytes(
    shape: Sequence[int],
    layers: Sequence[str],
    batch: int = 1,
    tile_size: int | None = None,
    content_layers: Sequence[str] = (),
    bytes_per_value: int = 4,
) -> int:
    """Peak bytes of optimizing ``batch`` images of ``shape`` (height, width): forward and backward
    through VGG16 to the deepest of ``layers``, over the whole image or over tiles of ``tile_size``
    (which also keep every tile's content targets, ``content_layers``' activations)."""
    height, width = int(shape[0]), int(shape[1])
    pixels = height * width * batch
    if not tile_size:
        work = ACTIVATION_FACTOR * activation_values(height, width, layers)
        return int(work * bytes_per_value * batch) + FIXED_BYTES + IMAGE_BUFFERS * 3 * 4 * pixels
    work = TILE_ACTIVATION_FACTOR * activation_values(min(height, tile_size), min(width, tile_size), layers)
    targets = 0  # every tile's content targets: the content layers' activations, float32
    for name in content_layers:
        layer = vgg16.layer(name)
        rows, cols = layer.shape(height, width)
        targets += layer.channels * rows * cols * 4 * batch
    buffers = TILED_IMAGE_BUFFERS * 3 * 4 * pixels + int(OVERLAP_SHARE * targets)
    return int(work * bytes_per_value * batch) + FIXED_BYTES + buffers


def available_bytes(device: str = "/device:CPU:0") -> int | None:
    """Memory free for a run on ``device``, in bytes, or None when it cannot be told.

    A GPU: TensorFlow's memory limit for it less what TensorFlow holds there now. The CPU: the
    kernel's MemAvailable (``/proc/meminfo``), capped by a cgroup (container) memory limit.
    """
    import tensorflow as tf

    spec = tf.DeviceSpec.from_string(device)
    if (spec.device_type or "CPU").upper() == "GPU":
        return _gpu_available(spec.device_index or 0)
    return _host_available()


def _host_available() -> int | None:
    available = None
    try:
        with open(_MEMINFO, encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    limit = _cgroup_free()
    return min(available, limit) if limit is not None else available


def _cgroup_free() -> int | None:
    """What a cgroup v2 (or v1) memory limit leaves free, if the process has one."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            with open(limit_file, encoding="ascii") as handle:
                limit = handle.read().strip()
            with open(usage_file, encoding="ascii") as handle:
                usage = int(handle.read().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or not limit.isdigit() or int(limit) >= 1 << 60:
            return None
        return max(0, int(limit) - usage)
    return None


def _gpu_available(index: int) -> int | None:
    import tensorflow as tf
    from tensorflow.python.client import device_lib

    try:
        limits = [d.memory_limit for d in device_lib.list_local_devices() if d.device_type == "GPU"]
        used = tf.config.experimental.get_memory_info(f"GPU:{index}")["current"]
    except (ValueError, RuntimeError, IndexError, KeyError, tf.errors.OpError):
        return None
    if index >= len(limits):
        return None
    return max(0, int(limits[index]) - int(used))


def estimate(work: Workload, device: str = "/device:CPU:0", available: int | None = -1) -> Estimate:
    """What ``work`` needs against :func:`available_bytes` of ``device`` (or ``available``)."""
    return Estimate(work, work.needed, available_bytes(device) if available == -1 else available)


def check_fits(work: Workload, device: str = "/device:CPU:0", available: int | None = -1) -> Estimate:
    """Raise :class:`MemoryLimitError` if the run's estimate exceeds the memory free on ``device``."""
    found = estimate(work, device, available)
    if not found.fits:
        raise MemoryLimitError(message(found, device, measured=False), found)
    return found


def out_of_memory_error(work: Workload, device: str = "/device:CPU:0") -> MemoryLimitError:
    """The error for a run that TensorFlow could not allocate memory for (ResourceExhaustedError)."""
    found = estimate(work, device)
    return MemoryLimitError(message(found, device, measured=True), found)


def largest_side(work: Workload, available: int) -> int:
    """The longest side (pixels, a multiple of 16) of the largest image with ``work``'s aspect ratio
    whose run fits in ``available`` bytes; 0 if none does."""
    height, width = work.shape
    aspect = min(height, width) / max(height, width)

    def fits(side: int) -> bool:
        short = max(1, round(side * aspect))
        return work.at(shape=(side, short) if height >= width else (short, side)).needed <= available

    low, high = 0, 16
    while fits(high) and high < 1 << 20:
        low, high = high, high * 2
    while high - low > 16:
        middle = (low + high) // 2 // 16 * 16
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def largest_tile(work: Workload, available: int) -> int:
    """The largest tile size (a multiple of 16, at most 2048) whose tiled run of ``work`` fits; 0 if none."""
    best = 0
    for tile in range(64, 2048 + 1, 64):
        if work.at(tile_size=tile).needed <= available:
            best = tile
    return best


def message(found: Estimate, device: str = "/device:CPU:0", measured: bool = False) -> str:
    """One line: what the run needs against what is free, the largest size that fits, and a tile size."""
    height, width = found.shape
    where = device.split("device:")[-1]
    deepest = vgg16.deepest(found.work.layers)
    what = f"{found.batch} x " if found.batch > 1 else ""
    how = f"in tiles of {found.tile_size} px " if found.tile_size else ""
    if measured:
        head = f"out of memory on {where} optimizing {what}{width}x{height} px {how}(TensorFlow could not allocate"
        head += f"; the estimate is about {found.needed / GIB:.1f} GiB"
        head += f" and {found.available / GIB:.1f} GiB is free now)" if found.available is not None else ")"
    else:
        head = (
            f"optimizing {what}{width}x{height} px {how}needs about {found.needed / GIB:.1f} GiB (VGG16 activations "
            f"to {deepest.name}, forward and backward)"
        )
        if found.available is not None:
            head += f" but only {found.available / GIB:.1f} GiB is free on {where}"
    if found.available is None:
        return head
    hints = []
    side = largest_side(found.work, found.available)
    if side >= 16 and side < max(height, width):
        hints.append(f"the largest `image_size` that fits is about {side}")
    if found.batch > 1:
        hints.append("a smaller batch needs less")
    tile = largest_tile(found.work, found.available)
    if tile and (not found.tile_size or tile < found.tile_size):
        tile = min(tile, _round_down(max(height, width) // 2, 64) or tile, 1024)
        needed = found.work.at(tile_size=tile).needed
        hints.append(f"or `tile_size` {tile} optimizes it in overlapping tiles (about {needed / GIB:.1f} GiB)")
    elif not tile:
        hints.append("even tiles need more than that: free some memory")
    return f"{head}; {', '.join(hints)}" if hints else head


def _round_down(value: int, multiple: int) -> int:
    return value // multiple * multiple
