"""Figures for ``python -m tools.paper``: labelled image rows and grids, loss curves, bar charts.

Each function draws one figure with matplotlib (no display needed) and writes a small PNG: the
picture is reduced to a 256-colour palette, which keeps a photo figure at a few hundred KB.
:func:`log_figures` puts the PNGs into TensorBoard too.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

DPI = 90
PANEL_INCHES = 2.6


@dataclass
class Series:
    """One curve: x and y values and its label."""

    label: str
    x: Sequence[float]
    y: Sequence[float]


@dataclass
class Plot:
    """One axes of curves; ``hline`` draws a labelled horizontal line (a target)."""

    title: str
    xlabel: str
    ylabel: str
    series: list[Series]
    log_y: bool = True
    hline: tuple[str, float] | None = None
    notes: list[str] = field(default_factory=list)


def image_row(panels: Sequence[tuple[str, np.ndarray]], path: Path, title: str) -> Path:
    """Images side by side, each with its label above it."""
    return image_grid([list(panels)], path, title)


def image_grid(
    rows: Sequence[Sequence[tuple[str, np.ndarray] | None]],
    path: Path,
    title: str,
    row_labels: Sequence[str] | None = None,
) -> Path:
    """Rows of labelled images (``None`` leaves a cell empty); ``row_labels`` go on the left."""
    columns = max(len(row) for row in rows)
    height, width = _first_image(rows).shape[:2]
    panel_h = PANEL_INCHES * height / width + 0.35
    fig, axes = plt.subplots(
        len(rows), columns, figsize=(PANEL_INCHES * columns + (0.5 if row_labels else 0), panel_h * len(rows) + 0.5),
        squeeze=False,
    )
    for r, row in enumerate(rows):
        for c in range(columns):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            cell = row[c] if c < len(row) else None
            if cell is None:
                ax.axis("off")
                continue
            label, image = cell
            ax.imshow(np.clip(np.rint(image), 0, 255).astype(np.uint8))
            ax.set_title(label, fontsize=8)
        if row_labels:
            axes[r][0].set_ylabel(row_labels[r], fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))  # room for the title above the top row's labels
    return _save(fig, path)


def curves(plots: Sequence[Plot], path: Path, title: str) -> Path:
    """One axes per :class:`Plot`, side by side."""
    fig, axes = plt.subplots(1, len(plots), figsize=(4.6 * len(plots), 3.4), squeeze=False)
    for ax, plot in zip(axes[0], plots):
        for index, series in enumerate(plot.series):
            y = np.asarray(series.y, float)
            if plot.log_y:
                y = np.where(y > 0, y, np.nan)  # a log axis cannot show zeros (a·CL at a content start)
            ax.plot(series.x, y, label=series.label, linewidth=1.4, linestyle=("-", "--", "-.", ":")[index % 4])
        if plot.hline:
            label, value = plot.hline
            ax.axhline(value, color="0.3", linestyle="--", linewidth=1, label=label)
        if plot.log_y:
            ax.set_yscale("log")
        ax.set_title(plot.title, fontsize=9)
        ax.set_xlabel(plot.xlabel, fontsize=8)
        ax.set_ylabel(plot.ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7)
        for index, note in enumerate(plot.notes):
            ax.text(0.02, 0.03 + 0.07 * index, note, transform=ax.transAxes, fontsize=7, color="0.25")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def bars(groups: Mapping[str, Mapping[str, float]], path: Path, title: str) -> Path:
    """One small bar chart per measure: ``{measure: {configuration: value}}``."""
    fig, axes = plt.subplots(1, len(groups), figsize=(2.9 * len(groups), 2.9), squeeze=False)
    for ax, (measure, values) in zip(axes[0], groups.items()):
        names = list(values)
        heights = [values[n] for n in names]
        drawn = ax.bar(range(len(names)), heights, color=[f"C{i}" for i in range(len(names))])
        ax.bar_label(drawn, labels=[f"{h:.3g}" for h in heights], fontsize=7)
        ax.set_xticks(range(len(names)), names, fontsize=7)
        ax.set_title(measure, fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        ax.margins(y=0.15)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def log_figures(paths: Sequence[Path], logdir: Path) -> None:
    """Write each figure PNG to TensorBoard's Images tab, tagged by its file name."""
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default(step=0):
        for path in paths:
            image = np.asarray(Image.open(path).convert("RGB"))
            tf.summary.image(f"figures/{path.stem}", image[None], description=f"{path.name} of the paper report")
    writer.close()


def _first_image(rows) -> np.ndarray:
    return next(cell[1] for row in rows for cell in row if cell is not None)


def _save(fig, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    buffer.seek(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.open(buffer).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(path, optimize=True)
    return path
