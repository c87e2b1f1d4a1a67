"""Spreading a run: a batch spread over two (logical) devices gives the single-device result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import BATCH_SETTINGS as SETTINGS
from conftest import ROOT, synthetic_image
from PIL import Image

# The CPU split into two logical devices must happen before TensorFlow starts: a fresh process.
DEVICE_SPLIT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfstyle import build_feature_model, load_image, preset, stylize
    from tfstyle.cli import batch
    from tfstyle.devices import describe
    from tfstyle.scale.distribute import strategy_for
    from tfstyle.inputs.images import resize_longest_side

    photos, style, out = sys.argv[1], sys.argv[2], sys.argv[3]
    strategy = strategy_for("auto")
    # The settings of the command line below (SETTINGS).
    config = preset("default").override(weights="random", image_size=32, iterations=2,
                                        content_layers=("block2_conv2",), style_layers=("block1_conv2", "block2_conv2"))
    contents = [load_image(f"{photos}/p{index}.png") for index in range(3)]  # 3 images on 2 replicas: a padded shard
    with strategy.scope():
        model = build_feature_model(config.layers_in_use(), "random")
    spread = stylize(contents, style, config, feature_model=model, strategy=strategy)
    alone = stylize(contents, style, config, feature_model=model)
    np.save(out + ".npy", alone.image)
    status = {
        "where": describe(strategy), "device": spread.device,
        "difference": float(np.abs(spread.image - alone.image).max()),
        "moved": float(np.abs(alone.image - np.stack([resize_longest_side(c, 32) for c in contents])).max()),
        "losses": float(abs(spread.final_losses["total"] - alone.final_losses["total"]) / alone.final_losses["total"]),
        "cli": batch.cli(["tfstyle-batch", "--content_dir", photos, "--style", style, "--output_dir", out,
                          "--batch_size", "3", *sys.argv[4:]]),
    }
    print("STATUS " + json.dumps(status))
    """
)


@pytest.mark.slow
def test_a_batch_spread_over_two_devices_gives_the_single_device_result(tmp_path, style):
    photos = tmp_path / "in"
    photos.mkdir()
    for index in range(3):
        Image.fromarray(synthetic_image(48, 64, seed=index)).save(photos / f"p{index}.png")
    script = tmp_path / "split.py"
    script.write_text(DEVICE_SPLIT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, str(script), str(photos), str(style), str(tmp_path / "out"), *SETTINGS],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    lines = [line for line in run.stdout.splitlines() if line.startswith("STATUS ")]
    assert run.returncode == 0 and lines, run.stdout[-3000:] + run.stderr[-3000:]
    status = json.loads(lines[0][len("STATUS ") :])
    assert status["where"] == "2 replicas: CPU:0, CPU:1" and status["device"] == status["where"]
    assert status["moved"] > 1.0, "the images should have moved"
    assert status["difference"] < 1e-2, status  # to round-off
    assert status["losses"] < 1e-5, status
    assert status["cli"] == 0 and "3 done, 0 skipped, 0 failed" in run.stdout and "on 2 replicas: CPU:0, CPU:1" in run.stdout
    alone = np.load(tmp_path / "out.npy")  # the single-device images, as the command line's files
    for index in range(3):
        written = np.asarray(Image.open(tmp_path / "out" / f"p{index}.png"), np.float32)
        assert np.abs(written - alone[index]).max() <= 1.0
