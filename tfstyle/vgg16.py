"""VGG16's geometry, the one table every part of tfstyle reads: the conv layers in order, their
block, channels and stride, and the names users may give them. Plain Python (no TensorFlow), so a
config can be checked without loading the network.

Block k's convolutions follow k − 1 poolings of 2: at block k one activation position covers a
2^(k−1) × 2^(k−1) pixel square (the layer's *stride*).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tfstyle.errors import ConfigError

IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)
POOLINGS = ("max", "avg")
_CHANNELS_OF_BLOCK = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}
_CONVS_OF_BLOCK = {1: 2, 2: 2, 3: 3, 4: 3, 5: 3}
_PAPER_NAME = re.compile(r"^conv(\d)[_-](\d)$")


@dataclass(frozen=True)
class ConvLayer:
    """One 3×3 conv layer of VGG16: ``block3_conv3`` is block 3, conv 3 (the paper's conv3_3)."""

    name: str
    block: int
    conv: int
    in_channels: int
    channels: int

    @property
    def stride(self) -> int:
        """Pixels per activation position along each axis: 2^(block − 1)."""
        return 2 ** (self.block - 1)

    @property
    def paper_name(self) -> str:
        return f"conv{self.block}_{self.conv}"

    @property
    def last_of_block(self) -> bool:
        """Whether a pooling follows this layer (into the next block)."""
        return self.conv == _CONVS_OF_BLOCK[self.block]

    def shape(self, height: int, width: int) -> tuple[int, int]:
        """The activation map's (height, width) for a ``height`` × ``width`` input (poolings floor)."""
        pools = self.block - 1
        return height >> pools, width >> pools


def _table() -> tuple[ConvLayer, ...]:
    layers, in_channels = [], 3
    for block, convs in _CONVS_OF_BLOCK.items():
        for conv in range(1, convs + 1):
            channels = _CHANNELS_OF_BLOCK[block]
            layers.append(ConvLayer(f"block{block}_conv{conv}", block, conv, in_channels, channels))
            in_channels = channels
    return tuple(layers)


CONV_LAYERS: tuple[ConvLayer, ...] = _table()
LAYER = {layer.name: layer for layer in CONV_LAYERS}
VGG16_CONV_LAYERS: tuple[str, ...] = tuple(LAYER)  # the Keras names, in order


def canonical_layer_name(name: str) -> str:
    """The Keras name of a VGG16 conv layer given as ``block3_conv3``, ``conv3_3`` or ``conv3-3``."""
    key = str(name).strip().lower()
    match = _PAPER_NAME.match(key)
    if match:
        key = f"block{match[1]}_conv{match[2]}"
    if key not in LAYER:
        paper = ", ".join(layer.paper_name for layer in CONV_LAYERS)
        raise ConfigError(f"unknown VGG16 layer {name!r}; valid layers are {paper} (or Keras names like block3_conv3)")
    return key


def layer(name: str) -> ConvLayer:
    """The table's row for a layer given by any of its names."""
    return LAYER[canonical_layer_name(name)]


def deepest(layers: Iterable[str]) -> ConvLayer:
    """The deepest of ``layers`` (the feature model ends there)."""
    return max((layer(name) for name in layers), key=CONV_LAYERS.index)


def in_network_order(layers: Iterable[str]) -> tuple[str, ...]:
    """``layers`` as Keras names, without repeats, in the order VGG16 computes them."""
    return tuple(sorted({canonical_layer_name(name) for name in layers}, key=VGG16_CONV_LAYERS.index))


def layers_up_to(name: str) -> tuple[ConvLayer, ...]:
    """Every conv layer from the first up to and including ``name``."""
    return CONV_LAYERS[: CONV_LAYERS.index(layer(name)) + 1]


def min_image_side(layers: Sequence[str]) -> int:
    """The smallest height/width whose activations reach every layer: the deepest layer's stride."""
    return deepest(layers).stride
