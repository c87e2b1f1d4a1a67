"""What every command line does before its work: TensorFlow's CPU kernels and one-line warnings."""

from __future__ import annotations

import os
import warnings

import pytest

from tfstyle.cli import common
from tfstyle.errors import ConfigError
from tfstyle.network import speed


def test_a_library_warning_is_one_line_on_stderr(capsys, monkeypatch):
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # restored after the test
    common.import_tensorflow_quietly()
    monkeypatch.setattr(speed, "cpu_flags", lambda: {"avx2"})
    monkeypatch.setattr(speed, "onednn_enabled", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = common._one_line_warning
        speed.resolve_precision("bfloat16", "/device:CPU:0")
    err = capsys.readouterr().err
    assert err.startswith("tfstyle: warning: precision bfloat16 on a CPU without native bfloat16")
    assert err.count("\n") == 1


@pytest.mark.parametrize("preset, expected", [(None, "1"), ("0", "0")])
def test_the_command_lines_turn_onednn_on_unless_told_otherwise(monkeypatch, preset, expected):
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    monkeypatch.setattr(common.platform, "machine", lambda: "x86_64")
    if preset is None:
        monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    else:
        monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", preset)
    common.import_tensorflow_quietly()
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == expected


def test_an_existing_output_is_refused_unless_overwrite_or_resume_says_so(tmp_path):
    output = tmp_path / "out.png"
    common.check_not_replacing(output, overwrite=False, resume=False)  # nothing there yet
    output.write_bytes(b"earlier")
    with pytest.raises(ConfigError, match="out.png exists; --overwrite replaces it"):
        common.check_not_replacing(output, overwrite=False, resume=False)
    common.check_not_replacing(output, overwrite=True, resume=False)
    common.check_not_replacing(output, overwrite=False, resume=True)  # continues the run that wrote it


class _Bar:
    closed = False

    def close(self) -> None:
        self.closed = True


def test_a_stopped_command_clears_its_bar_then_says_one_line(capsys):
    bar = _Bar()
    assert common.stopped(KeyboardInterrupt(), [bar], "interrupted; finished frames are kept") == 130
    assert bar.closed and capsys.readouterr().err == "\ninterrupted; finished frames are kept\n"
    bar = _Bar()
    assert common.stopped(ConfigError("`image_size` is too large"), [bar], "unused") == 1
    assert bar.closed and capsys.readouterr().err == "tfstyle: error: --image_size is too large\n"
