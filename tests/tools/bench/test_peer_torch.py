"""tools/bench/peer_torch.py computes tfstyle's objective in PyTorch: the same losses, the same descent."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, synthetic_image

torch = pytest.importorskip("torch", reason="the PyTorch peer needs the bench extra: pip install -e '.[bench]'")

import tfstyle  # noqa: E402
from tfstyle.config import preset  # noqa: E402
from tfstyle.objective.whole import make_loss_fn  # noqa: E402
from tools.bench.peer_torch import TorchPeer, feature_network, write_keras_weights  # noqa: E402


@pytest.mark.parametrize("name, pooling", [("default", "max"), ("gatys", "avg"), ("paper", "max")])
def test_the_peer_computes_tfstyles_losses_to_round_off(tmp_path, name, pooling):
    config = preset(name).override(weights="random", pooling=pooling, content_target="content", image_size=48)
    model = tfstyle.build_feature_model(config.layers_in_use(), "random", seed=0, pooling=pooling)
    weights = write_keras_weights(model, str(tmp_path / "vgg16.h5"))
    content, style = synthetic_image(48, 40, seed=1), synthetic_image(40, 48, seed=2)
    image = synthetic_image(48, 40, seed=3)
    expected = make_loss_fn(model, content, style, config)(image[None])
    peer = TorchPeer(content, style, config, weights)
    with torch.no_grad():
        computed = peer.losses(image)
    for key in ("total", "content", "style"):
        # float32 sums of ~1e5 terms in another order: a few units in the 6th digit
        assert float(computed[key][0]) == pytest.approx(float(expected[key][0]), rel=1e-5), key


def test_the_peer_refuses_what_it_does_not_implement(tmp_path):
    config = preset("paper")  # content_target "style"
    with pytest.raises(ValueError, match="content_target"):
        TorchPeer(np.zeros((32, 32, 3), np.float32), np.zeros((32, 32, 3), np.float32), config, "unused.h5")
    with pytest.raises(ValueError, match="float16"):  # autocast's float16 would need a gradient scaler
        TorchPeer(np.zeros((32, 32, 3), np.float32), np.zeros((32, 32, 3), np.float32), preset("default"), "unused.h5", precision="float16")


def test_the_peers_first_adam_step_is_one_pass_on_a_network_loaded_beforehand(tmp_path):
    """Adam's ε comes from the first step's own gradient (an extra pass would be timed against the
    peer), and bench.py loads the network before the peer's clock starts."""
    config = preset("default").override(weights="random", image_size=32, precision="float32")
    model = tfstyle.build_feature_model(config.layers_in_use(), "random", seed=0)
    weights = write_keras_weights(model, str(tmp_path / "vgg16.h5"))
    network = feature_network(weights, config)
    content, style = synthetic_image(32, 32, seed=1), synthetic_image(32, 32, seed=2)
    peer = TorchPeer(content, style, config, weights, network=network)
    assert peer.model is network
    with torch.no_grad():
        before = float(peer.losses()["total"][0])
    passes = []
    losses = peer.losses
    peer.losses = lambda *images: passes.append(1) or losses(*images)  # type: ignore[method-assign]
    assert peer.step() == pytest.approx(before, rel=1e-6)  # the loss before the step
    assert len(passes) == 1
    peer.step()
    assert len(passes) == 2


@pytest.mark.slow
@pytest.mark.real_weights
def test_the_peer_takes_tfstyles_adam_steps(real_weights, shared_images):
    """The same steps to round-off at first; Adam's large steps (8 grey levels) then amplify the
    round-off, so later the two runs descend alike, not identically: after 50 steps a change of the
    start by a round-off-sized factor (1 + 1e-6) moves either run's total by 10-20 %. So the two
    are compared over three such starts: their medians no farther apart than the spread those
    starts make in either."""
    from tfstyle.inputs.prepare import prepare_images

    config = preset("default").override(image_size=96, iterations=50, precision="float32", weights=real_weights)
    content, style = prepare_images(shared_images / "content" / "tubingen.jpg", shared_images / "style" / "starry_night.jpg", config)
    model = tfstyle.build_feature_model(config.layers_in_use(), real_weights)
    ours, theirs = [], []
    for k in range(3):
        start = content * np.float32(1.0 + 1e-6 * k)  # k = 0: the content itself
        result = tfstyle.stylize(content, style, config, start_image=start, feature_model=model)
        peer = TorchPeer(content, style, config, real_weights, start=start)
        losses = [peer.step() for _ in range(50)]  # the loss before each step
        if k == 0:
            np.testing.assert_allclose(losses[:5], result.history["total"][:5], rtol=1e-3)
        with torch.no_grad():
            theirs.append(float(peer.losses()["total"][0]))
        ours.append(result.final_losses["total"])
    spread = max(np.ptp(ours), np.ptp(theirs))
    assert abs(np.median(theirs) - np.median(ours)) <= spread, f"PyTorch {theirs}, tfstyle {ours}"
    assert max(theirs) < 0.2 * result.initial_losses["total"]  # both really descended


@pytest.mark.slow
def test_after_preload_imports_the_peers_optimizer_imports_nothing_more():
    # In a fresh process: torch.optim's first optimizer imports torch._dynamo (seconds), which the
    # bench's clock must not count; after preload_imports, making and stepping one imports nothing.
    code = """
import subprocess
import sys
import torch
from tools.bench.peer_torch import preload_imports
preload_imports()
before = set(sys.modules)
image = torch.zeros(4, requires_grad=True)
optimizer = torch.optim.Adam([image], lr=1.0)
image.sum().backward()
optimizer.step()
print(sorted(set(sys.modules) - before))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"
