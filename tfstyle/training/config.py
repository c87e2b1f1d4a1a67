"""The training settings of a fast stylizer: one frozen dataclass beside :class:`tfstyle.StyleConfig`,
whose fields give the loss (layers, a, b, tv, ...), the style's scale (``image_size``,
``style_scale``) and the seed. Plain Python: the command line generates its flags from these fields."""

from __future__ import annotations

from dataclasses import dataclass

from tfstyle.settings import Settings, setting


@dataclass(frozen=True)
class TrainConfig(Settings):
    """How the transform network is trained; ``TrainConfig()`` holds the defaults (docs/fast.md)."""

    steps: int = setting(1500, "Training steps, each one Adam update on `batch` photo crops.", "training", minimum=1)
    batch: int = setting(4, "Photo crops per training step.", "training", minimum=1)
    crop_size: int = setting(256, "Side of the square photo crops trained on.", "training", unit="pixels", minimum=16)
    step_size: float = setting(1e-3, "Adam's learning rate on the network's weights.", "training", above=0)
    network_width: int = setting(
        16,
        "Channels c of the network's first layer (c, 2c, 4c down, five residual blocks of 4c, 2c and c up; "
        "Johnson et al.'s is 32, four times the arithmetic).",
        "training",
        minimum=1,
    )
    scale_jitter: float = setting(
        1.25,
        "Each photo is scaled so its longer side is `image_size` times a random factor between 1/j and j, then cropped.",
        "training",
        minimum=1,
    )
    holdout: int = setting(
        4,
        "Photos kept out of training (chosen by `seed`), to judge the network on photos it never saw: "
        "stylized into TensorBoard as it trains.",
        "training",
        minimum=0,
    )
