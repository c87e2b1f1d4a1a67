"""TensorBoard logging, read back with TensorBoard's own reader: tags, steps, images, config, graph, runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import (
    plugin_event_accumulator,
    plugin_event_multiplexer,
)
from tensorboard.compat.proto import config_pb2

import tfstyle
from tfstyle.errors import ConfigError
from tfstyle.loop.callbacks import CallbackList, Step
from tfstyle.pipelines.tensorboard import TensorBoard

KEEP_ALL = {"tensors": 0}  # the reader samples by default; keep every event
LOSS_TAGS = ["loss/total", "loss/content", "loss/style", "loss/tv"]


def small_config(**changes) -> tfstyle.StyleConfig:
    settings = dict(
        content_layers=("block3_conv3", "block5_conv3"),
        style_layers=("block1_conv2", "block3_conv3"),
        style_layer_weights=None,
        content_layer_weights=None,
        tv_weight=1.0,
        weights="random",
        image_size=32,
        iterations=7,
        optimizer="adam",
        precision="float32",
    )
    return tfstyle.StyleConfig(**{**settings, **changes})


def read(run_dir: Path) -> plugin_event_accumulator.EventAccumulator:
    acc = plugin_event_accumulator.EventAccumulator(str(run_dir), size_guidance=KEEP_ALL)
    acc.Reload()
    return acc


def steps(acc, tag: str) -> list[int]:
    return [event.step for event in acc.Tensors(tag)]


def only_run(logdir: Path) -> Path:
    runs = [p for p in logdir.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def decode_images(event) -> list[np.ndarray]:
    """An image summary holds [width, height, png, png, ...]."""
    width, height, *pngs = event.tensor_proto.string_val
    images = [tf.io.decode_png(png).numpy() for png in pngs]
    assert all(image.shape[:2] == (int(height), int(width)) for image in images)
    return images


def graph_ops(acc, tag: str = "optimization_step") -> set[str]:
    (event,) = acc.Tensors(tag)
    metadata = config_pb2.RunMetadata()
    metadata.ParseFromString(event.tensor_proto.string_val[0])
    return {node.op for graph in metadata.function_graphs for node in graph.pre_optimization_graph.node}


@pytest.fixture(scope="module")
def logged(tmp_path_factory, random_model, content_array, style_array):
    """One 7-iteration Adam run: scalars every 3, images every 2."""
    logdir = tmp_path_factory.mktemp("tb") / "runs"
    board = TensorBoard(logdir, scalar_every=3, image_every=2)
    result = tfstyle.stylize(content_array, style_array, small_config(), callbacks=[board], feature_model=random_model)
    assert board.run_dir is not None and board.run_dir.parent == logdir
    return board.run_dir, read(board.run_dir), result


def test_scalars_every_n_and_the_last(logged):
    _, acc, result = logged
    layer_tags = ["content_loss/block3_conv3", "content_loss/block5_conv3", "style_loss/block1_conv2", "style_loss/block3_conv3"]
    scalars = acc.PluginTagToContent("scalars")
    assert sorted(scalars) == sorted([*LOSS_TAGS, *layer_tags, "steps_per_second"])
    for tag in scalars:
        assert steps(acc, tag) == [3, 6, 7], tag
    # The values are the run's own: the history at iterations 3, 6 and 7.
    logged_total = [float(tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors("loss/total")]
    np.testing.assert_allclose(logged_total, result.history["total"][[2, 5, 6]], rtol=1e-6)
    logged_layer = [float(tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors("style_loss/block1_conv2")]
    np.testing.assert_allclose(logged_layer, result.history["style/block1_conv2"][[2, 5, 6]], rtol=1e-6)
    assert all(float(tf.make_ndarray(e.tensor_proto)) > 0 for e in acc.Tensors("loss/tv"))
    assert all(float(tf.make_ndarray(e.tensor_proto)) > 0 for e in acc.Tensors("steps_per_second"))


def test_images_at_start_every_n_and_last_inputs_once(logged, content_array):
    _, acc, result = logged
    assert sorted(acc.PluginTagToContent("images")) == ["input/content", "input/style", "stylized"]
    assert steps(acc, "stylized") == [0, 2, 4, 6, 7]
    assert steps(acc, "input/content") == [0] and steps(acc, "input/style") == [0]
    (content,) = decode_images(acc.Tensors("input/content")[0])
    (start,) = decode_images(acc.Tensors("stylized")[0])
    (last,) = decode_images(acc.Tensors("stylized")[-1])
    assert content.shape == (24, 32, 3)  # 48x64 scaled to a longest side of 32
    np.testing.assert_array_equal(start, content)  # init=content: the run starts from the content image
    np.testing.assert_allclose(last, np.rint(result.image), atol=1)
    (style,) = decode_images(acc.Tensors("input/style")[0])
    assert style.shape[0] > style.shape[1]  # the portrait style image keeps its aspect


def test_config_as_a_text_table(logged):
    _, acc, _ = logged
    (event,) = acc.Tensors("config")
    assert event.step == 0 and "config" in acc.PluginTagToContent("text")
    text = event.tensor_proto.string_val[0].decode()
    assert text.startswith("| setting | value |")
    for row in ("| optimizer | `adam` |", "| iterations | `7` |", "| style_layers | `block1_conv2, block3_conv3` |",
                "| content | `content (32x24)` |", "| tv_weight | `1.0` |"):  # fmt: skip
        assert row in text, text


def test_graph_of_the_optimization_step(logged):
    _, acc, _ = logged
    assert list(acc.PluginTagToContent("graph_run_metadata_graph")) == ["optimization_step"]
    ops = graph_ops(acc)
    assert {"Conv2D", "ReluGrad"} <= ops  # VGG forward and its gradient (in any convolution form)
    assert ops & {"BatchMatMulV2", "BatchMatMulV3", "Einsum"}  # the Gram matrices (a batched matmul)


def test_lbfgs_run_logs_the_same_and_its_graph(tmp_path, random_model, content_path, style_path):
    board = TensorBoard(tmp_path, scalar_every=2, graph=True)
    tfstyle.stylize(content_path, style_path, small_config(optimizer="lbfgs", iterations=3), callbacks=[board], feature_model=random_model)
    acc = read(only_run(tmp_path))
    assert steps(acc, "loss/total") == [2, 3]
    assert steps(acc, "stylized") == [0, 3]  # image_every=0: the start and the last only
    assert {"Conv2D", "ReluGrad"} <= graph_ops(acc)


@pytest.mark.slow
def test_one_subdirectory_per_run_named_by_time_inputs_and_optimizer(tmp_path, random_model, content_path, style_path):
    board = TensorBoard(tmp_path / "runs", graph=False)
    config = small_config(iterations=2)
    for _ in range(2):
        tfstyle.stylize(content_path, style_path, config, callbacks=[board], feature_model=random_model)
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(runs) == 2 and board.run_dir.name in runs
    for name in runs:
        assert name[:15].replace("-", "").isdigit() and "_content_style_adam_32px" in name, name
    multiplexer = plugin_event_multiplexer.EventMultiplexer(size_guidance=KEEP_ALL)
    multiplexer.AddRunsFromDirectory(str(tmp_path / "runs"))
    multiplexer.Reload()
    assert sorted(multiplexer.Runs()) == runs  # what TensorBoard lists side by side
    for run in runs:
        assert [e.step for e in multiplexer.Tensors(run, "loss/total")] == [1, 2]
        assert "graph_run_metadata_graph" not in multiplexer.GetAccumulator(run).ActivePlugins()


@pytest.mark.slow
def test_a_taken_run_name_gets_a_suffix(tmp_path, random_model, content_array, style_array):
    config = small_config(iterations=1)
    for _ in range(2):
        board = TensorBoard(tmp_path, run_name="try", graph=False)
        tfstyle.stylize(content_array, style_array, config, callbacks=[board], feature_model=random_model)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["try", "try-2"]


@pytest.mark.slow
def test_early_stop_logs_the_last_step(tmp_path, random_model, content_array, style_array):
    board = TensorBoard(tmp_path, scalar_every=3, graph=False)
    stop_at_4 = lambda step: step.iteration == 4  # noqa: E731
    result = tfstyle.stylize(content_array, style_array, small_config(iterations=10), callbacks=[board, stop_at_4], feature_model=random_model)
    assert result.iterations == 4
    acc = read(only_run(tmp_path))
    assert steps(acc, "loss/total") == [3, 4] and steps(acc, "steps_per_second") == [3, 4]
    assert steps(acc, "stylized") == [0, 4]


def test_works_without_run_info_from_a_plain_callback_list(tmp_path):
    """Driven by hand (no stylize, so no config or inputs): the losses and images still go out."""
    runner = CallbackList([TensorBoard(tmp_path, scalar_every=1, graph=False)])
    runner.start(2)
    for i in (1, 2):
        runner.step(Step(i, 2, {"total": 3.0 - i, "content": 1.0, "style": 1.0, "tv": 0.0}, tf.zeros([1, 4, 4, 3]), 0.5 * i))
    runner.end()
    acc = read(only_run(tmp_path))
    assert steps(acc, "loss/total") == [1, 2] and steps(acc, "stylized") == [2]
    assert "config" not in acc.Tags()["tensors"]


def test_bad_settings_fail_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="is a file"):
        TensorBoard(blocker / "runs")
    with pytest.raises(ConfigError, match="scalar_every"):
        TensorBoard(tmp_path, scalar_every=0)
    with pytest.raises(ConfigError, match="image_every"):
        TensorBoard(tmp_path, image_every=-1)
    assert tfstyle.TensorBoard is TensorBoard


# --- the command line ------------------------------------------------------------------------------


@pytest.fixture
def tfrun():
    from tfstyle.cli import run

    yield run
    if run.FLAGS.is_parsed():
        run.FLAGS.unparse_flags()


@pytest.mark.slow
def test_cli_logdir(tfrun, tmp_path, content_path, style_path, capsys):
    args = ["--content", content_path, "--style", style_path, "--weights", "random", "--image_size", "32", "--iterations", "4",
            "--print_every", "2", "--save_every", "3", "--optimizer", "lbfgs", "--output", tmp_path / "out.png", "--logdir", tmp_path / "logs"]  # fmt: skip
    assert tfrun.cli(["tfstyle", *map(str, args)]) == 0
    run_dir = only_run(tmp_path / "logs")
    assert run_dir.name.endswith("_content_style_lbfgs_32px")
    assert f"TensorBoard logs in {run_dir}" in capsys.readouterr().out
    acc = read(run_dir)
    assert steps(acc, "loss/total") == [2, 4] and steps(acc, "stylized") == [0, 3, 4]
    assert steps(acc, "input/content") == [0] and list(acc.PluginTagToContent("graph_run_metadata_graph")) == ["optimization_step"]


def test_cli_logdir_that_is_a_file_is_one_error_line(tfrun, tmp_path, content_path, style_path, capsys):
    (tmp_path / "logs").write_text("")
    args = ["--content", content_path, "--style", style_path, "--weights", "random", "--image_size", "32",
            "--output", tmp_path / "out.png", "--logdir", tmp_path / "logs"]  # fmt: skip
    assert tfrun.cli(["tfstyle", *map(str, args)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tfstyle: error: logdir") and "is a file" in err and "Traceback" not in err
    assert not (tmp_path / "out.png").exists()
