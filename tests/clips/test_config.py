"""The video settings: VideoConfig's defaults and its one-line errors naming the setting, and the
video command's flags generated from its fields."""

from __future__ import annotations

import dataclasses
import re

import pytest

from tfstyle.cli import video
from tfstyle.cli.flags import flag_text, settings_from_flags
from tfstyle.clips.config import VideoConfig
from tfstyle.errors import ConfigError


def test_the_defaults_are_one_streaming_pass_with_the_long_term_loss():
    config = VideoConfig()
    assert (config.passes, config.lookback, config.flow, config.temporal_weight) == (1, (1, 2, 4), "dis", 3e3)


def test_lookback_is_kept_sorted_without_repeats_and_a_string_works():
    assert VideoConfig(lookback=(4, 1, 1)).lookback == (1, 4)
    assert VideoConfig(lookback="2,1").lookback == (1, 2)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"temporal_weight": -1.0}, "`temporal_weight` must be at least 0, got -1"),
        ({"lookback": (0, 1)}, "each of `lookback` must be a positive whole number, got 0"),
        ({"lookback": ()}, "`lookback` needs at least one frame distance"),
        ({"flow": "farneback"}, "unknown `flow` 'farneback'; choose one of: dis"),
        ({"first_frame_iterations": 0}, "`first_frame_iterations` must be a positive whole number"),
        ({"later_learning_rate": 0.0}, "`later_learning_rate` must be greater than 0, got 0"),
        ({"passes": 0}, "`passes` must be a positive whole number"),
    ],
)
def test_a_bad_setting_is_one_clear_line_naming_it(change, message):
    with pytest.raises(ConfigError, match=message):
        VideoConfig(**change)


def test_each_video_setting_is_a_flag_of_the_video_command_with_the_fields_help_and_default():
    for field in dataclasses.fields(VideoConfig):
        flag = video.FLAGS[field.name]
        assert re.sub(r"^<[^>]*>: ", "", flag.help).startswith(flag_text(field.metadata["help"])), field.name
        default = field.default
        assert flag.default == (list(default) if isinstance(default, tuple) else default), field.name


def test_the_flags_given_become_the_video_config(tmp_path):
    video.COMMAND.parse(["tfstyle", "--content=c.mp4", "--style=s.png", "--output=o.mp4", "--passes=3", "--lookback=1,2"])
    try:
        assert settings_from_flags(video.FLAGS, VideoConfig) == VideoConfig(passes=3, lookback=(1, 2))
    finally:
        video.FLAGS.unparse_flags()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--passes=0"], "tfstyle: error: --passes must be a positive whole number, got 0"),
        (["--lookback=1,x"], "'x' is not a whole number"),
        (["--later_learning_rate=-1"], "tfstyle: error: --later_learning_rate must be greater than 0, got -1"),
    ],
)
def test_a_bad_video_flag_is_one_line_naming_the_flag(args, message, capsys):
    base = ["--content=c.mp4", "--style=s.png", "--output=o.mp4"]
    assert video.cli(["tfstyle", *base, *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tfstyle: error: ") and err.count("\n") == 1 and message in err, err
