"""``python -m tfstyle.export``: the flags, one line for every bad invocation, and real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tfstyle
from tfstyle.exports import INFO_FILE, read_export_info
from tfstyle.pipelines import savedmodel

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def export_cli(*args) -> int:
    from tfstyle.cli import export

    return export.cli(["tfstyle.export", *map(str, args)])


@pytest.mark.slow
def test_cli_exports_features_and_the_stylizer(tmp_path, capsys):
    assert export_cli("--output", tmp_path / "f", "--weights", "random", "--layers", "conv1_1,block1_conv2") == 0
    assert "wrote the feature extractor" in capsys.readouterr().out
    assert read_export_info(tmp_path / "f")["layers"] == ["block1_conv1", "block1_conv2"]
    args = ["--output", tmp_path / "s", "--stylizer", "--weights", "random", "--preset", "gatys",
            "--content_layers", "conv1_2", "--style_layers", "conv1_1", "--style_weight", "0.5"]  # fmt: skip
    assert export_cli(*args) == 0
    assert "wrote the stylizer" in capsys.readouterr().out
    config = read_export_info(tmp_path / "s")["config"]
    # gatys optimizes with L-BFGS, which cannot run in a graph: the stylizer uses Adam instead.
    assert config["optimizer"] == "adam" and config["init"] == "noise" and config["style_weight"] == 0.5


def test_cli_default_layers_are_the_presets(tmp_path, monkeypatch):
    exported = {}
    monkeypatch.setattr(savedmodel, "export_features", lambda path, layers, *rest: exported.update(layers=layers) or Path(path))
    assert export_cli("--output", tmp_path / "f", "--weights", "random") == 0
    assert exported["layers"] == tfstyle.preset("default").layers_in_use()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--layers", "conv9_9"], "unknown VGG16 layer 'conv9_9'"),
        (["--weights", "/no/such/vgg16.h5"], "weights file not found"),
        (["--output", "{tmp}/file/model"], "is not a directory"),
        (["--output", "{tmp}"], "not a tfstyle export"),
        (["--style_weight", "2"], "--style_weight: stylizer settings"),
        (["--stylizer", "--layers", "conv1_1"], "with --stylizer use --content_layers"),
        (["--stylizer", "--optimizer", "lbfgs"], "value should be one of <sgd|adam>"),
        (["--stylizer", "--content_layer_weights", "x"], "flag --content_layer_weights=x: 'x' is not a number"),
        (["--stylizer", "--learning_rate", "-1"], "--learning_rate must be greater than 0"),
        (["extra"], "unexpected argument(s): extra"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, capsys, args, message):
    (tmp_path / "file").write_text("not a folder")
    args = [arg.format(tmp=tmp_path) for arg in args]
    for flag, value in (("--output", str(tmp_path / "out")), ("--weights", "random")):
        if flag not in args:
            args = [flag, value, *args]
    assert export_cli(*args) == 1
    err = capsys.readouterr().err
    assert err.startswith("tfstyle: error: ") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_cli_without_output_is_one_line(capsys):
    assert export_cli("--weights", "random") == 1
    err = capsys.readouterr().err
    assert err.startswith("tfstyle: error: ") and err.count("\n") == 1 and "--output" in err


def test_cli_help_exits_0(capsys):
    assert export_cli("--help") == 0
    assert "--output" in capsys.readouterr().out


def test_cli_feature_export_takes_the_shared_settings_and_refuses_the_stylizers(tmp_path, monkeypatch, capsys):
    exported = {}
    monkeypatch.setattr(savedmodel, "export_features", lambda *args: exported.update(args=args) or Path(args[0]))
    assert export_cli("--output", tmp_path / "f", "--weights", "random", "--preset", "paper", "--seed", "4") == 0
    assert exported["args"][1:] == (tfstyle.preset("paper").layers_in_use(), "random", "paper", 4)
    assert export_cli("--output", tmp_path / "f", "--weights", "random", "--pooling", "avg", "--init", "noise") == 1
    assert "--init, --pooling: stylizer settings" in capsys.readouterr().err


def test_export_and_run_flags_live_in_one_process():
    from tfstyle.cli import export, run

    assert export.FLAGS is not run.FLAGS and "output" in export.FLAGS and "output" in run.FLAGS


@pytest.mark.slow
def test_cli_process_error_is_one_line_without_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "tfstyle.export", "--output", str(tmp_path / "x"), "--weights", str(tmp_path / "none.h5")],
        env=ENV, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("tfstyle: error: VGG16 weights file not found") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr and not (tmp_path / "x").exists()


@pytest.mark.slow
def test_cli_process_writes_an_export(tmp_path):
    output = tmp_path / "saved_models" / "vgg16_features"
    done = subprocess.run(
        [sys.executable, "-m", "tfstyle.export", "--output", str(output), "--weights", "random", "--layers", "conv1_1"],
        env=ENV, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and f"wrote the feature extractor to {output}" in done.stdout
    assert json.loads((output / INFO_FILE).read_text())["layers"] == ["block1_conv1"]
