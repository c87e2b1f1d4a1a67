"""tools/bench/peer_fast_torch.py: the PyTorch peer is tfstyle's transform network layer for layer (the
same parameters, the same pictures from the same weights, any size) and its training step computes
tfstyle's training loss."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch

from tfstyle.config import StyleConfig
from tfstyle.fast.network import stylize_any_size, transform_network
from tfstyle.training.config import TrainConfig
from tfstyle.training.loop import Training
from tfstyle.training.photos import Photos
from tools.bench import peer_fast_torch as peer
from tools.bench.steps import torch_weights


def _parameter_shapes_of_keras(model: keras.Model) -> list[tuple[int, ...]]:
    """Each weight's shape in PyTorch's layout (a kernel [h, w, in, out] as [out, in, h, w])."""
    shapes = [tuple(w.shape) for w in model.weights]
    return sorted((s[3], s[2], s[0], s[1]) if len(s) == 4 else s for s in shapes)


@pytest.mark.parametrize("width", [16, 4])
def test_the_peer_has_tfstyles_parameters_shape_for_shape(width):
    keras_net, torch_net = transform_network(width), peer.transform_network(width)
    assert peer.parameter_count(torch_net) == keras_net.count_params()
    assert sorted(tuple(p.shape) for p in torch_net.parameters()) == _parameter_shapes_of_keras(keras_net)
    assert set(peer.layer_names(torch_net)) == {w.path.split("/")[0] for w in keras_net.weights}


@pytest.mark.parametrize("memory_format", list(peer.MEMORY_FORMATS))
def test_the_peer_with_tfstyles_weights_makes_tfstyles_picture_at_odd_sizes(memory_format):
    keras_net = transform_network(4, seed=3)
    torch_net = peer.transform_network(4, memory_format, weights_of=keras_net)
    photo = np.random.default_rng(0).uniform(0, 255, (2, 13, 18, 3)).astype(np.float32)
    theirs = peer.PeerStylizer(torch_net)(peer.to_tensor(photo, memory_format)).permute(0, 2, 3, 1).numpy()
    ours = stylize_any_size(keras_net, tf.constant(photo)).numpy()
    assert theirs.shape == ours.shape == photo.shape
    np.testing.assert_allclose(theirs, ours, atol=0.05)  # grey levels: float32 round-off


def test_the_peers_instance_normalization_is_per_image():
    torch_net = peer.transform_network(4).eval()
    photos = np.random.default_rng(1).uniform(0, 255, (2, 16, 16, 3))
    together = peer.PeerStylizer(torch_net)(peer.to_tensor(photos))
    alone = peer.PeerStylizer(torch_net)(peer.to_tensor(photos[1]))
    torch.testing.assert_close(together[1:], alone, atol=1e-3, rtol=0)


@pytest.mark.slow  # builds tfstyle's training and the peer's VGG16: about 10 s on 2 cores
def test_the_peers_training_loss_is_tfstyles_and_its_step_lowers_it():
    loss = StyleConfig(weights="random", precision="float32", image_size=48)
    config = TrainConfig(network_width=4, batch=2, crop_size=32)
    rng = np.random.default_rng(2)
    style = rng.uniform(0, 255, (40, 40, 3)).astype(np.float32)
    training = Training(style, Photos(("unused.jpg",)), config, loss)
    photos = rng.uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    ours = float(tf.reduce_mean(training.losses(tf.constant(photos), training.network(photos))["total"]))
    torch_net = peer.transform_network(4, weights_of=training.network)
    weights = torch_weights("random", loss.layers_in_use())  # tfstyle's seeded random VGG16, in keras' file layout
    run = peer.PeerTraining(torch_net, training.style[0].numpy(), loss, weights, config.step_size)
    batch = peer.to_tensor(photos)
    first = run.step(batch)
    assert first == pytest.approx(ours, rel=1e-3)
    assert [run.step(batch) for _ in range(3)][-1] < first
