"""Coarse-to-fine (``config.scales`` > 1): optimize a small version of the image first, then
upsample it and refine, spending most iterations where pixels are cheap.

The passes run at ``image_size / 2^(scales-1)``, ..., ``image_size`` (:func:`scale_sizes`), the
iterations split between them by :func:`scale_iterations`. Each pass is a run of its own at one size
(``run_pass``, which :func:`tfstyle.stylize` provides); to the callbacks they are one run.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable

import numpy as np

from tfstyle.config import StyleConfig
from tfstyle.errors import ConfigError, NonFiniteLossError, StyleInterrupted
from tfstyle.inputs.prepare import ImageBatch
from tfstyle.loop.callbacks import (
    CALLBACK_STOP,
    Callback,
    CallbackLike,
    CallbackList,
    RunInfo,
    Step,
)
from tfstyle.loop.record import Result

# The share of the iterations each coarse scale gets relative to the next finer one (which costs
# 4x as much per step): with 2 scales and 100 iterations, 67 run at half size and 33 at full size.
COARSE_ITERATION_RATIO = 2.0

PassRunner = Callable[[StyleConfig, "list[Callback]", "ImageBatch | None"], Result]


def coarse_to_fine(
    run_pass: PassRunner, config: StyleConfig, callbacks: Iterable[CallbackLike], start_image: ImageBatch | None
) -> Result:
    """``config.scales`` passes of ``run_pass(pass_config, callbacks, start_image)``, from the
    coarsest size up to ``config.image_size``, each starting from the previous pass's result
    upsampled (bicubic; the first from ``start_image``, or the config's init when None).

    For the callbacks it is one run of ``config.iterations`` iterations (the steps' images grow from
    pass to pass). The result's ``history`` runs through every pass (a coarse pass's losses are its
    smaller image's), ``initial_losses`` are the first pass's and ``seconds`` count from its start.
    A run stopped in a coarse pass (a callback, a non-finite loss, Ctrl-C) has that pass's smaller image.
    """
    sizes = scale_sizes(config.image_size, config.scales)
    counts = scale_iterations(config.iterations, config.scales)
    passes = _Passes(callbacks, config, counts[0])
    results: list[Result] = []
    try:
        for size, count in zip(sizes, counts):
            result = run_pass(config.override(image_size=size, iterations=count, scales=1), [passes], start_image)
            results.append(result)
            if result.stopped == CALLBACK_STOP:
                break
            start_image = result.image
    except (NonFiniteLossError, StyleInterrupted) as err:
        err.result = passes.result([*results, err.result])
        raise
    finally:
        passes.end()
    return passes.result(results)


def scale_sizes(image_size: int, scales: int) -> list[int]:
    """The longest side of each pass, coarsest first: image_size / 2^(scales-1), ..., image_size."""
    return [max(1, round(image_size / 2**k)) for k in reversed(range(scales))]


def scale_iterations(iterations: int, scales: int, ratio: float = COARSE_ITERATION_RATIO) -> list[int]:
    """Split ``iterations`` over the passes, coarsest first: each coarser pass gets ``ratio`` times
    the next finer one's share (at least one iteration each, the total exactly ``iterations``)."""
    if scales > iterations:
        raise ConfigError(f"{scales} scales need at least {scales} iterations (one per scale), got {iterations}")
    shares = [ratio ** (scales - 1 - k) for k in range(scales)]
    counts = [max(1, math.floor(iterations * s / sum(shares))) for s in shares]
    counts[-1] += iterations - sum(counts)  # round-off goes to the finest pass
    while counts[-1] < 1:  # only when the floor of a coarse share overshot; take from the largest
        largest = counts.index(max(counts))
        counts[largest] -= 1
        counts[-1] += 1
    return counts


class _Passes(Callback):
    """The callbacks of a coarse-to-fine run, as each pass's callback: started once, ended once,
    with the iterations (and seconds) counted through all the passes."""

    def __init__(self, callbacks: Iterable[CallbackLike], config: StyleConfig, first_pass_iterations: int):
        self.inner = CallbackList(callbacks)
        self.config, self.first_pass_iterations = config, first_pass_iterations
        self.seconds: list[float] = []  # since the first pass started, one per iteration
        self.total = config.iterations
        self._run: RunInfo | None = None
        self._t0: float | None = None

    def set_run(self, run: RunInfo) -> None:
        self._run = run

    def on_start(self, iterations: int) -> None:
        if self._t0 is None:
            # L-BFGS on a batch counts batch × iterations; the first pass says how many times.
            self.total = self.config.iterations * (iterations // self.first_pass_iterations)
            self._t0 = time.perf_counter()
            run = dataclasses.replace(self._run, config=self.config) if self._run is not None else None
            self.inner.start(self.total, run)

    def on_step(self, step: Step) -> bool:
        assert self._t0 is not None, "on_start comes first"
        self.seconds.append(time.perf_counter() - self._t0)
        whole = dataclasses.replace(step, iteration=len(self.seconds), iterations=self.total, seconds=self.seconds[-1])
        return self.inner.step(whole)

    def end(self) -> None:
        if self._t0 is not None:
            self.inner.end()

    def result(self, results: list[Result]) -> Result:
        """One result for the passes run so far (the last one's image)."""
        last = results[-1]
        history = {name: np.concatenate([r.history[name] for r in results]) for name in last.history}
        history["seconds"] = np.array(self.seconds[: len(history["seconds"])])
        reasons = [r.stopped for r in results if r.stopped]
        return dataclasses.replace(
            last,
            history=history,
            initial_losses=results[0].initial_losses,
            iterations=sum(r.iterations for r in results),
            seconds=time.perf_counter() - self._t0 if self._t0 is not None else 0.0,
            config=self.config,
            stopped="; ".join(reasons) or None,
        )

