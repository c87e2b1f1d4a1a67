"""The PyTorch peer of the fast stylizer, for ``python -m tools.bench.fast``: the transform network of
pytorch/examples' fast_neural_style, shaped exactly as :func:`tfstyle.fast.network.transform_network`,
and its training step on the same perceptual loss.

The network: reflection padding and a convolution, ``InstanceNorm2d(affine=True)`` and ReLU; widths
c, 2c, 4c down (9×9 stride 1, 3×3 stride 2 twice), five residual blocks of 4c (no ReLU after the
sum), up by nearest-neighbour ``interpolate`` ×2 and a 3×3 convolution to 2c and c, a last 9×9
convolution to RGB. Like tfstyle's it maps pixels in [0, 255] to [-1, 1] first and back after, and
crops its output (4·⌈n/4⌉ a side) to the input's size: the same layers, parameters and FLOPs.

The training step (:class:`PeerTraining`): tfstyle's default objective as pytorch/examples writes its
own, on VGG16's convolutions up to the deepest layer in use (:class:`tools.bench.peer_torch.VGG16Features`,
VGG16 built by hand: torchvision is not installed here), the content loss at relu3_3
(``block3_conv3``) and Gram style losses at ``block1_conv2``, ``block3_conv3`` and ``block5_conv3``
with the preset's weights, per image, averaged over the batch; Adam on the network's weights. Its
weights are the ImageNet ones tfstyle reads, or random ones of the same shapes (``--quick``): the
time of a step does not depend on their values.

At its best on a CPU: ``torch.set_num_threads`` to the usable cores, eval mode and
``torch.inference_mode`` for inference, the memory format measured faster (:data:`MEMORY_FORMATS`),
bfloat16 under ``torch.autocast`` for VGG16 where that helps, and optionally ``torch.compile``.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tfstyle.config import StyleConfig
from tools.bench.peer_torch import MEMORY_FORMATS, VGG16Features, gram, reduce

RESIDUAL_BLOCKS = 5  # as tfstyle.fast.network's


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ConvLayer(nn.Module):
    """Reflection padding by kernel // 2, then a convolution (pytorch/examples' ``ConvLayer``)."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int):
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(channels_in, channels_out, kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pad(x))


class ResidualBlock(nn.Module):
    """x + IN(conv(ReLU(IN(conv(x))))), no ReLU after the sum."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1, self.in1 = ConvLayer(channels, channels, 3, 1), nn.InstanceNorm2d(channels, affine=True)
        self.conv2, self.in2 = ConvLayer(channels, channels, 3, 1), nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.in2(self.conv2(F.relu(self.in1(self.conv1(x)))))


class UpsampleConvLayer(nn.Module):
    """Nearest-neighbour ×2, then :class:`ConvLayer` (pytorch/examples' ``UpsampleConvLayer``)."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int):
        super().__init__()
        self.conv = ConvLayer(channels_in, channels_out, kernel, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class TransformNet(nn.Module):
    """``[batch, 3, h, w]`` pixels in [0, 255] → the same shape in [0, 255] (unclipped), width ``c``."""

    def __init__(self, width: int = 16):
        super().__init__()
        c = width
        self.conv1, self.in1 = ConvLayer(3, c, 9, 1), nn.InstanceNorm2d(c, affine=True)
        self.conv2, self.in2 = ConvLayer(c, 2 * c, 3, 2), nn.InstanceNorm2d(2 * c, affine=True)
        self.conv3, self.in3 = ConvLayer(2 * c, 4 * c, 3, 2), nn.InstanceNorm2d(4 * c, affine=True)
        self.residuals = nn.Sequential(*[ResidualBlock(4 * c) for _ in range(RESIDUAL_BLOCKS)])
        self.up1, self.in4 = UpsampleConvLayer(4 * c, 2 * c, 3), nn.InstanceNorm2d(2 * c, affine=True)
        self.up2, self.in5 = UpsampleConvLayer(2 * c, c, 3), nn.InstanceNorm2d(c, affine=True)
        self.out = ConvLayer(c, 3, 9, 1)

    def forward(self, photos: torch.Tensor) -> torch.Tensor:
        height, width = photos.shape[2:]
        x = photos / 127.5 - 1.0
        x = F.relu(self.in1(self.conv1(x)))
        x = F.relu(self.in2(self.conv2(x)))
        x = F.relu(self.in3(self.conv3(x)))
        x = self.residuals(x)
        x = F.relu(self.in4(self.up1(x)))
        x = F.relu(self.in5(self.up2(x)))
        return (self.out(x) * 127.5 + 127.5)[:, :, :height, :width]


def parameter_count(network: nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())


def layer_names(network: TransformNet) -> dict[str, nn.Conv2d | nn.InstanceNorm2d]:
    """The peer's convolutions and normalizations by the name of tfstyle's layer each one mirrors."""
    names: dict[str, nn.Conv2d | nn.InstanceNorm2d] = {"down1": network.conv1.conv, "down1_norm": network.in1, "down2": network.conv2.conv,
                                   "down2_norm": network.in2, "down3": network.conv3.conv, "down3_norm": network.in3}  # fmt: skip
    blocks: list[ResidualBlock] = list(network.residuals)  # type: ignore[arg-type]
    for index, block in enumerate(blocks, 1):
        for half, conv, norm in (("a", block.conv1, block.in1), ("b", block.conv2, block.in2)):
            names[f"residual{index}_{half}"], names[f"residual{index}_{half}_norm"] = conv.conv, norm
    names.update(up1=network.up1.conv.conv, up1_norm=network.in4, up2=network.up2.conv.conv, up2_norm=network.in5, out=network.out.conv)
    return names


def copy_keras_weights(network: TransformNet, model: object) -> TransformNet:
    """``network`` with the weights of tfstyle's :func:`~tfstyle.fast.network.transform_network`
    ``model`` (a trained one: the peer then computes its pictures)."""
    with torch.no_grad():
        for name, module in layer_names(network).items():
            first, second = model.get_layer(name).get_weights()  # type: ignore[attr-defined]
            weight, bias = module.weight, module.bias
            assert weight is not None and bias is not None  # convolutions with biases, affine normalizations
            if isinstance(module, nn.Conv2d):  # kernel [h, w, in, out] → [out, in, h, w], bias
                first = np.ascontiguousarray(first.transpose(3, 2, 0, 1))
            weight.copy_(torch.from_numpy(first))  # or gamma
            bias.copy_(torch.from_numpy(second))  # or beta
    return network


def transform_network(
    width: int = 16, memory_format: str = "channels_last", seed: int = 0, weights_of: object | None = None
) -> TransformNet:
    """A :class:`TransformNet` of ``width`` in ``memory_format``: random weights (seeded), or those
    of tfstyle's network ``weights_of``."""
    torch.manual_seed(seed)
    network = TransformNet(width)
    if weights_of is not None:
        copy_keras_weights(network, weights_of)
    return network.to(memory_format=MEMORY_FORMATS[memory_format])  # type: ignore[call-overload]


def to_tensor(images: np.ndarray, memory_format: str = "channels_last") -> torch.Tensor:
    """``[batch, h, w, 3]`` (or one ``[h, w, 3]``) float pixels → a float32 ``[batch, 3, h, w]`` tensor."""
    array = np.asarray(images, np.float32)
    tensor = torch.from_numpy(array if array.ndim == 4 else array[None]).permute(0, 3, 1, 2)
    return tensor.contiguous(memory_format=MEMORY_FORMATS[memory_format])


class PeerStylizer:
    """Inference at its best: the network in eval mode, ``torch.inference_mode``, ``precision`` float32
    or bfloat16 (autocast), ``compile``: under ``torch.compile`` (compiled at the first call)."""

    def __init__(self, network: TransformNet, precision: str = "float32", compile: bool = False):
        self.network = network.eval()
        self.autocast = precision == "bfloat16"
        self.forward = torch.compile(self.network) if compile else self.network

    def __call__(self, photos: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast):
            return self.forward(photos).float()


class PeerTraining:
    """The training step of ``network`` on ``config``'s objective (the photo as the content target),
    with the style image ``style`` (``[h, w, 3]`` in [0, 255], scaled as tfstyle's training scales it)
    and VGG16 from ``weights_file`` (keras' ``..._notop.h5`` layout). ``precision`` bfloat16: VGG16
    under ``torch.autocast`` (as tfstyle's ``auto`` runs it), the losses in float32; ``compile``: the
    loss and its backward under ``torch.compile``."""

    def __init__(
        self,
        network: TransformNet,
        style: np.ndarray,
        config: StyleConfig,
        weights_file: str,
        step_size: float = 1e-3,
        precision: str = "float32",
        memory_format: str = "channels_last",
        compile: bool = False,
    ):
        if config.tv_weight or config.content_target != "content":
            raise ValueError("the fast PyTorch peer implements the content loss to the photo and no TV term")
        self.config, self.format = config, MEMORY_FORMATS[memory_format]
        self.autocast = precision == "bfloat16"
        self.network = network.train()
        vgg = VGG16Features(weights_file, list(config.layers_in_use()), config.pooling)
        self.vgg = vgg.to(memory_format=self.format)  # type: ignore[call-overload]
        self.content_weights, self.style_weights = config.content_terms(), config.style_terms()
        with torch.no_grad():
            features = self._features(to_tensor(style, memory_format))
            self.style_grams = {n: gram(features[n].float(), config.normalization) for n in self.style_weights}
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=step_size)
        self.loss = torch.compile(self._loss) if compile else self._loss

    def _features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast):
            return self.vgg(images)

    def _loss(self, photos: torch.Tensor) -> torch.Tensor:
        normalization = self.config.normalization
        with torch.no_grad():
            targets = self._features(photos)
        features = self._features(self.network(photos))
        content: torch.Tensor = sum(  # type: ignore[assignment]
            w * reduce((features[n].float() - targets[n].float()) ** 2, normalization) for n, w in self.content_weights.items()
        )
        style: torch.Tensor = sum(  # type: ignore[assignment]
            z * reduce((gram(features[n].float(), normalization) - self.style_grams[n]) ** 2, normalization)
            for n, z in self.style_weights.items()
        )
        return (self.config.content_weight * content + self.config.style_weight * style).mean()

    def step(self, photos: torch.Tensor) -> float:
        """One Adam update on a batch of photos ``[batch, 3, h, w]``; the batch's mean loss before it."""
        self.optimizer.zero_grad(set_to_none=True)
        total = self.loss(photos)
        total.backward()
        self.optimizer.step()
        return float(total.detach())
