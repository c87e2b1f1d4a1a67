"""The PyTorch peer for ``python -m tools.bench``: tfstyle's own objective, written in PyTorch as its users would.

Most people who run optimization-based style transfer run a PyTorch implementation, so this is the
peer a tfstyle step is held against: the same ImageNet VGG16 weights (the keras ``..._notop.h5``
file tfstyle loads, converted to PyTorch's ``[out, in, h, w]`` layout), the same caffe
preprocessing, layers, per-layer weights, ``mean`` or ``paper`` normalization, pooling and start
image, and the same update: Adam (PyTorch's own ``torch.optim.Adam``, with tfstyle's learning rate
and ε relative to the first gradient's RMS, as tfstyle's scale-free Adam has it) or L-BFGS
(``torch.optim.LBFGS``), the pixels clipped to [0, 255] after each step. tests/tools/bench/test_peer_torch.py
checks that it computes tfstyle's losses to float32 round-off.

The peer runs at its best: PyTorch's oneDNN convolutions in the layout measured fastest on this
machine (:data:`MEMORY_FORMATS`), float32, or bfloat16 under ``torch.autocast`` where the CPU has
native bfloat16; on a CUDA GPU (``device="cuda"``) cuDNN's, with its autotuner on
(``torch.backends.cudnn.benchmark``, as PyTorch's performance guide advises for images of one
size). Every term of tfstyle's loss is kept (there is no other term to drop).
"""

from __future__ import annotations

from collections.abc import Mapping

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from tfstyle import vgg16
from tfstyle.config import StyleConfig
from tfstyle.vgg16 import IMAGENET_BGR_MEAN

MEMORY_FORMATS = {"channels_last": torch.channels_last, "contiguous": torch.contiguous_format}


def preload_imports() -> None:
    """Import now what ``torch.optim`` imports at a process's first optimizer and step
    (``torch._dynamo``: about 2 s on a 2-core CPU), by taking one step on a throwaway tensor. A
    timed run then counts no import, as tfstyle's clock does not count ``import tensorflow``."""
    pixel = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.Adam([pixel])
    pixel.sum().backward()
    optimizer.step()


class VGG16Features(torch.nn.Module):
    """VGG16 up to the deepest of ``layers``: RGB images in [0, 255], ``[batch, 3, h, w]``, to
    ``{layer: activations [batch, channels, h', w']}``, as tfstyle's feature model computes them."""

    def __init__(self, weights_file: str, layers: list[str], pooling: str = "max"):
        super().__init__()
        self.layers = [vgg16.canonical_layer_name(name) for name in layers]
        self.pool = F.max_pool2d if pooling == "max" else F.avg_pool2d
        deepest = vgg16.deepest(self.layers)
        self.convolutions = torch.nn.ModuleDict()
        with h5py.File(weights_file, "r") as h5:
            for layer in vgg16.CONV_LAYERS:
                kernel = np.asarray(h5[layer.name][f"{layer.name}/kernel:0"])  # [h, w, in, out]
                conv = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], 3, padding=1)
                conv.weight.data = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
                conv.bias.data = torch.from_numpy(np.asarray(h5[layer.name][f"{layer.name}/bias:0"]))
                conv.requires_grad_(False)
                self.convolutions[layer.name] = conv
                if layer.name == deepest.name:
                    break
        self.register_buffer("mean", torch.tensor(IMAGENET_BGR_MEAN, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        x = images.flip(1) - self.mean  # RGB → BGR, minus the ImageNet mean (caffe preprocessing)
        outputs, block = {}, 1
        for name, conv in self.convolutions.items():
            if not name.startswith(f"block{block}_"):
                x, block = self.pool(x, 2), block + 1
            x = F.relu(conv(x))
            if name in self.layers:
                outputs[name] = x
        return outputs


def feature_network(weights_file: str, config: StyleConfig, memory_format: str = "channels_last") -> VGG16Features:
    """:class:`VGG16Features` for ``config``'s layers and pooling, in ``memory_format``: what a run
    loads before it starts (:class:`TorchPeer` takes it as ``network``)."""
    network = VGG16Features(weights_file, list(config.layers_in_use()), config.pooling)
    return network.to(memory_format=MEMORY_FORMATS[memory_format])


def write_keras_weights(model: object, path: str) -> str:
    """The convolutions of a tfstyle feature model (``model``, e.g. with random weights) written in
    the layout of keras' VGG16 ``..._notop.h5`` file, which :class:`VGG16Features` reads."""
    names = {layer.name for layer in model.layers}  # type: ignore[attr-defined]
    with h5py.File(path, "w") as h5:
        for layer in vgg16.CONV_LAYERS:
            if layer.name not in names:
                break
            kernel, bias = model.get_layer(layer.name).get_weights()  # type: ignore[attr-defined]
            h5.create_dataset(f"{layer.name}/{layer.name}/kernel:0", data=kernel)
            h5.create_dataset(f"{layer.name}/{layer.name}/bias:0", data=bias)
    return path


def gram(features: torch.Tensor, normalization: str) -> torch.Tensor:
    """G = FᵀF over the positions, ``[batch, N, N]``; ``mean`` divides by the positions M."""
    flat = features.flatten(2)  # [batch, N, M]
    product = flat @ flat.transpose(1, 2)
    return product / flat.shape[2] if normalization == "mean" else product


def reduce(squares: torch.Tensor, normalization: str) -> torch.Tensor:
    """Per image: the mean (``mean``) or the sum (``paper``) of ``squares``."""
    squares = squares.float().flatten(1)
    return squares.mean(1) if normalization == "mean" else squares.sum(1)


class TorchPeer:
    """tfstyle's objective and update for ``config`` in PyTorch, from ``start`` (default: the content;
    the prepared images, float32 ``[h, w, 3]`` in [0, 255]). ``step()`` takes one step;
    ``losses(image)`` the losses. ``precision`` float32, or bfloat16 under ``torch.autocast``;
    ``compile``: the losses under ``torch.compile``. ``network``: :func:`feature_network`'s, loaded
    beforehand (else loaded here); ``device``: ``cpu`` or ``cuda``, where the network is too."""

    def __init__(
        self,
        content: np.ndarray,
        style: np.ndarray,
        config: StyleConfig,
        weights_file: str,
        start: np.ndarray | None = None,
        precision: str = "float32",
        memory_format: str = "channels_last",
        threads: int | None = None,
        compile: bool = False,
        network: VGG16Features | None = None,
        device: str = "cpu",
    ):
        unsupported = {
            "content_target": config.content_target != "content",
            "tv_weight": bool(config.tv_weight),
            "tile_size": bool(config.tile_size),
            "scales": config.scales != 1,
        }
        if any(unsupported.values()):
            raise ValueError(f"the PyTorch peer does not implement {', '.join(k for k, v in unsupported.items() if v)}")
        if precision not in ("float32", "bfloat16"):
            raise ValueError(f"the PyTorch peer runs float32 or bfloat16 (autocast), not {precision}")
        if threads:
            torch.set_num_threads(threads)
        self.config, self.device = config, torch.device(device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.format = MEMORY_FORMATS[memory_format]
        self.autocast = precision == "bfloat16"
        self.content_weights, self.style_weights = config.content_terms(), config.style_terms()
        model = network if network is not None else feature_network(weights_file, config, memory_format)
        self.model = model.to(self.device)
        with torch.no_grad():
            content_features = self._features(self._tensor(content))
            style_features = self._features(self._tensor(style))
            self.content_targets = {n: content_features[n].float() for n in self.content_weights}
            self.style_grams = {n: gram(style_features[n].float(), config.normalization) for n in self.style_weights}
        # The optimized image in PyTorch's default layout (L-BFGS views its gradient flat); the network
        # gets it in ``memory_format``.
        self.image = self._tensor(content if start is None else start).contiguous().requires_grad_(True)
        if compile:  # torch.compile's Inductor: the loss and its backward as generated C++ (compiled at the first step)
            self.losses = torch.compile(self.losses)  # type: ignore[method-assign]
        self.optimizer: torch.optim.Optimizer | None = None  # made at the first step (Adam's ε needs its gradient)

    def _tensor(self, image: np.ndarray) -> torch.Tensor:
        pixels = torch.tensor(np.asarray(image, np.float32), device=self.device)  # a copy: steps change it in place
        return pixels.permute(2, 0, 1)[None].contiguous(memory_format=self.format)

    def _features(self, images: torch.Tensor) -> Mapping[str, torch.Tensor]:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            return self.model(images)

    def losses(self, images: torch.Tensor | np.ndarray | None = None) -> dict[str, torch.Tensor]:
        """``total``, ``content`` and ``style`` (tfstyle's keys, its arithmetic) of ``images``
        (default: the current image), one value per image."""
        if images is None:
            images = self.image.contiguous(memory_format=self.format)
        elif isinstance(images, np.ndarray):
            images = self._tensor(images)
        features = self._features(images)
        normalization = self.config.normalization
        content = sum(
            w * reduce((features[n].float() - self.content_targets[n]) ** 2, normalization)
            for n, w in self.content_weights.items()
        )
        style = sum(
            z * reduce((gram(features[n].float(), normalization) - self.style_grams[n]) ** 2, normalization)
            for n, z in self.style_weights.items()
        )
        total = self.config.content_weight * content + self.config.style_weight * style
        return {"total": total, "content": content, "style": style}

    def _closure(self) -> torch.Tensor:
        self.image.grad = None
        total = self.losses()["total"].sum()
        total.backward()
        return total

    def step(self) -> float:
        """One step of the config's optimizer, then the pixels clipped to [0, 255]; the loss before it."""
        if self.optimizer is None and self.config.optimizer == "adam":
            # tfstyle's Adam divides the gradient by its RMS at the first step, so ε = 1e-7 relative
            # to it (Adam's steps are otherwise independent of the gradient's scale): the first
            # step's own gradient, not an extra pass.
            total = self._closure()
            assert self.image.grad is not None
            rms = float(self.image.grad.float().pow(2).mean().sqrt())
            self.optimizer = torch.optim.Adam([self.image], lr=self.config.effective_learning_rate, eps=1e-7 * (rms or 1.0))
            self.optimizer.step()
        else:
            if self.optimizer is None:
                self.optimizer = self._make_optimizer()
            total = self.optimizer.step(self._closure)
        with torch.no_grad():
            self.image.clamp_(0.0, 255.0)
        return float(total.detach())

    def _make_optimizer(self) -> torch.optim.Optimizer:
        rate = self.config.effective_learning_rate
        if self.config.optimizer == "lbfgs":
            return torch.optim.LBFGS([self.image], lr=rate, max_iter=1, history_size=10)
        return torch.optim.SGD([self.image], lr=rate)

    @property
    def pixels(self) -> np.ndarray:
        """The current image, float32 ``[height, width, 3]`` in [0, 255]."""
        return self.image.detach()[0].permute(1, 2, 0).contiguous().cpu().numpy()
