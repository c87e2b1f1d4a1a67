"""tfstyle: optimization-based neural style transfer on VGG16 (Yu & Chang's refinement of Gatys et al.).

    import tfstyle
    result = tfstyle.stylize("photo.jpg", "painting.jpg", tfstyle.preset("paper"))
    result.save("out.png")

Names are imported on first use, so ``import tfstyle`` (and the CLI's start-up) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tfstyle._version import __version__ as __version__  # its one home, a leaf

_EXPORTS = {
    "tfstyle.loop.callbacks": ("Callback", "ProgressBar", "RunInfo", "SaveEvery", "Step"),
    "tfstyle.loop.checkpoint": ("Checkpointing",),
    "tfstyle.config": ("PRESETS", "StyleConfig", "preset"),
    "tfstyle.errors": (
        "CheckpointError", "ConfigError", "ExportError", "ImageError", "MemoryLimitError", "ModelError",
        "NonFiniteLossError", "StyleInterrupted", "TfstyleError", "WeightsError",
    ),
    "tfstyle.network.features": ("build_feature_model",),
    "tfstyle.vgg16": ("canonical_layer_name",),
    "tfstyle.scale.folder": ("FolderSummary", "find_images", "stylize_folder"),
    "tfstyle.inputs.images": ("load_image", "save_image"),
    "tfstyle.objective.losses": ("combined_loss", "content_loss", "gram_matrix", "style_loss", "total_variation_loss"),
    "tfstyle.inputs.prepare": ("initial_image",),
    "tfstyle.loop.optimize": ("Result", "feature_model_for_run", "stylize"),
    "tfstyle.pipelines.perceptual": ("StyleLoss",),
    "tfstyle.pipelines.savedmodel": ("export_features", "export_stylizer"),
    "tfstyle.pipelines.tensorboard": ("TensorBoard",),
    "tfstyle.clips.config": ("VideoConfig",),
    "tfstyle.clips.stylize": ("stylize_video",),
    "tfstyle.clips.clip": ("stylize_clip",),
    "tfstyle.fast.stylizer": ("FastStylizer",),
    "tfstyle.training.config": ("TrainConfig",),
    "tfstyle.training.loop": ("train",),
    "tfstyle.training.photos": ("find_photos",),
}  # fmt: skip
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'tfstyle' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:
    from tfstyle.clips.clip import stylize_clip
    from tfstyle.clips.config import VideoConfig
    from tfstyle.clips.stylize import stylize_video
    from tfstyle.config import PRESETS, StyleConfig, preset
    from tfstyle.errors import (
        CheckpointError,
        ConfigError,
        ExportError,
        ImageError,
        MemoryLimitError,
        ModelError,
        NonFiniteLossError,
        StyleInterrupted,
        TfstyleError,
        WeightsError,
    )
    from tfstyle.fast.stylizer import FastStylizer
    from tfstyle.inputs.images import load_image, save_image
    from tfstyle.inputs.prepare import initial_image
    from tfstyle.loop.callbacks import Callback, ProgressBar, RunInfo, SaveEvery, Step
    from tfstyle.loop.checkpoint import Checkpointing
    from tfstyle.loop.optimize import Result, feature_model_for_run, stylize
    from tfstyle.network.features import build_feature_model
    from tfstyle.objective.losses import (
        combined_loss,
        content_loss,
        gram_matrix,
        style_loss,
        total_variation_loss,
    )
    from tfstyle.pipelines.perceptual import StyleLoss
    from tfstyle.pipelines.savedmodel import export_features, export_stylizer
    from tfstyle.pipelines.tensorboard import TensorBoard
    from tfstyle.scale.folder import FolderSummary, find_images, stylize_folder
    from tfstyle.training.config import TrainConfig
    from tfstyle.training.loop import train
    from tfstyle.training.photos import find_photos
    from tfstyle.vgg16 import canonical_layer_name
