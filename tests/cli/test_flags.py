"""The command lines' flags: generated from StyleConfig's fields, defaulting to the default preset,
turned into a config by one function, listed in groups, and documented in docs/command-line.md."""

from __future__ import annotations

import dataclasses
import re

import pytest
from conftest import ROOT, helpfull_entries

from tfstyle.cli import batch, beam, export, run, video, web
from tfstyle.cli import flags as cli_flags
from tfstyle.cli.common import style_paths
from tfstyle.cli.flags import FIELDS, flag_name, flag_text, to_flag
from tfstyle.cli.reference import page
from tfstyle.cli.run import FLAGS, config_from_flags, parse_flags
from tfstyle.config import StyleConfig, preset
from tfstyle.errors import ConfigError
from tfstyle.settings import GROUPS

PAGE = ROOT / "docs" / "command-line.md"
COMMANDS = {"run": run, "export": export, "batch": batch, "beam": beam, "video": video, "web": web}
# The settings each command takes (run: every one).
SETTINGS = {
    "run": set(FIELDS),
    "export": {*export.FEATURE_SETTINGS, *export.STYLIZER_SETTINGS},
    "batch": set(FIELDS) - {"device"},  # its own --devices decides where
    "web": {"weights", "device", "precision"},  # for every run; the page chooses the rest
    "beam": set(FIELDS),  # --device is the workers'
    "video": set(FIELDS),
}


@pytest.fixture(autouse=True)
def unparsed():
    yield
    for module in COMMANDS.values():
        if module.FLAGS.is_parsed():
            module.FLAGS.unparse_flags()


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def own_help(flag) -> str:
    """A flag's help without the ``<a|b>: `` absl puts before an enum's."""
    return re.sub(r"^<[^>]*>: ", "", flag.help)


# --- generated from the fields ------------------------------------------------------------------------


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_setting_is_a_flag_with_the_fields_help_and_the_default_presets_value(command):
    values, defaults = COMMANDS[command].FLAGS, preset("default")
    assert defaults == StyleConfig()
    for field in SETTINGS[command]:
        flag = values[flag_name(field)]
        described = FIELDS[field]
        assert own_help(flag).startswith(flag_text(described.help)), field
        assert flag.default == to_flag(field, getattr(defaults, field)), field
        if described.choices and not described.other:  # the constants of config.py (export narrows optimizer)
            assert set(flag.parser.enum_values) <= set(described.choices), field
            assert command == "export" or tuple(flag.parser.enum_values) == described.choices, field
    left_out = set(FIELDS) - SETTINGS[command]
    assert not {flag_name(field) for field in left_out} & set(values), "a setting the command does not take has a flag"


def test_documented_flag_names_keep_working():
    assert flag_name("tile_size") == "tile"
    run.parse_flags(["tfstyle", "--content=c.png", "--style=s.png", "--tile=64", "--nojit", "--content_layers=conv1_1,conv2_1"])
    config = cli_flags.config_from_flags(run.FLAGS)
    assert (config.tile_size, config.jit, config.content_layers) == (64, False, ("block1_conv1", "block2_conv1"))
    run.parse_flags(["tfstyle", "--content=c.png", "--style=s.png", "--tile=0"])
    assert cli_flags.config_from_flags(run.FLAGS).tile_size is None


def test_one_function_turns_flags_into_a_config_for_every_command():
    for module in COMMANDS.values():
        assert module.config_from_flags is cli_flags.config_from_flags
        others = [
            name
            for name, value in vars(module).items()
            if "config" in name and callable(value) and value is not cli_flags.config_from_flags
        ]
        assert others == [], f"{module.__name__} has its own flags-to-config function: {others}"
    settings = ["--preset=paper", "--iterations=7", "--style_layers=conv1_1,conv2_1", "--style_layer_weights=0.25,0.75",
                "--tile=64", "--tile_overlap=8", "--nojit", "--preserve_colors=histogram", "--style_weight=3"]  # fmt: skip
    run.parse_flags(["tfstyle", "--content=c.png", "--style=s.png", *settings])
    batch.COMMAND.parse(["tfstyle-batch", "--content_dir=photos", "--style=s.png", "--output_dir=out", *settings])
    want = preset("paper").override(
        iterations=7, style_layers=("conv1_1", "conv2_1"), style_layer_weights=(0.25, 0.75), tile_size=64,
        tile_overlap=8, jit=False, preserve_colors="histogram", style_weight=3.0,
    )  # fmt: skip
    assert cli_flags.config_from_flags(run.FLAGS) == cli_flags.config_from_flags(batch.FLAGS) == want
    export.COMMAND.parse(
        ["tfstyle.export", "--output=out", "--stylizer", "--preset=gatys", "--style_layers=conv1_1", "--init=style"]
    )
    assert cli_flags.config_from_flags(export.FLAGS) == preset("gatys").override(style_layers=("conv1_1",), init="style")


def test_a_parse_that_failed_half_way_leaves_no_flag_set_for_the_next(capsys):
    """absl leaves the flags it read before the bad one set: the next in-process command line must
    not inherit them (here ``--stylizer``)."""
    bad = ["tfstyle.export", "--output=out", "--stylizer", "--init=photo.png"]
    assert export.COMMAND.cli(lambda argv: 0, bad) == 1
    assert "--init=photo.png" in capsys.readouterr().err
    export.COMMAND.parse(["tfstyle.export", "--output=out"])
    assert export.FLAGS.stylizer is False


def test_flags_not_given_keep_the_presets_values():
    run.parse_flags(["tfstyle", "--content=c.png", "--style=s.png", "--preset=gatys"])
    assert cli_flags.config_from_flags(run.FLAGS) == preset("gatys")  # iterations 300, not the 50 shown as default


@pytest.mark.parametrize(
    "command, args, message",
    [
        ("batch", ["--style_weight=lots"], "flag --style_weight=lots: 'lots' is not a number"),
        ("batch", ["--iterations=2.5"], "flag --iterations=2.5: '2.5' is not a whole number"),
        ("batch", ["--style_blend_weights=1,x"], "flag --style_blend_weights=1,x: 'x' is not a number"),
        ("batch", ["--tile_overlap=8"], "a --tile_overlap needs a --tile"),
        ("batch", ["--scales=3", "--iterations=2"], "--scales 3 needs at least 3 --iterations"),
        ("export", ["--stylizer", "--init=photo.png"], "value should be one of <content|noise|style>"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_flag(command, args, message, tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    base = {
        "batch": ["--content_dir", str(tmp_path / "photos"), "--style", "s.png", "--output_dir", str(tmp_path / "out")],
        "export": ["--output", str(tmp_path / "out"), "--weights", "random"],
    }[command]
    assert COMMANDS[command].cli(["tfstyle", *base, *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tfstyle: error: ") and err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize(
    "command, args, message",
    [
        ("run", ["--iterations=0"], "--iterations must be a positive whole number, got 0"),
        ("run", ["--noise_blend=2"], "--noise_blend must be between 0 and 1, got 2"),
        ("run", ["--tile=-1"], "--tile must be a positive whole number (or 0: off), got -1"),
        ("run", ["--save_every=-5"], "--save_every must be 0 or more, got -5"),
        ("batch", ["--batch_size=0"], "--batch_size must be a positive whole number, got 0"),
        ("web", ["--port=70000"], "--port must be from 0 to 65535, got 70000"),
        ("web", ["--max_upload_mb=0"], "--max_upload_mb must be greater than 0, got 0"),
        ("video", ["--passes=0"], "--passes must be a positive whole number, got 0"),
    ],
)
def test_a_number_out_of_its_bounds_fails_as_the_flags_are_parsed_in_the_settings_words(command, args, message, capsys):
    with pytest.raises(SystemExit) as stop:
        COMMANDS[command].COMMAND.parse(["tfstyle", *args])
    assert stop.value.code == 1
    assert capsys.readouterr().err == f"tfstyle: error: {message}\n"


def test_the_flags_bounds_are_the_settings_and_off_is_taken():
    for name, described in FIELDS.items():
        parser = run.FLAGS[flag_name(name)].parser
        if described.kind in (int, float) and not described.many:
            assert parser.bounds == described.bounds, name
    run.parse_flags(["tfstyle", "--content=c.png", "--style=s.png", "--tile=0", "--print_every=0", "--checkpoint_every=0"])
    assert cli_flags.config_from_flags(run.FLAGS).tile_size is None


# --- errors name fields; the command lines name flags -------------------------------------------------------


def test_flag_text_writes_settings_as_their_flags():
    assert flag_text("raise `image_size` or use `tile_size` 256") == "raise --image_size or use --tile 256"
    assert flag_text("`not_a_setting` stays, and so does image_size without backticks") == (
        "`not_a_setting` stays, and so does image_size without backticks"
    )
    assert flag_text("one of `content_dir`, `pattern` and `list_file`") == (  # find_images' arguments: batch flags
        "one of --content_dir, --content_glob and --content_list"
    )


def test_library_errors_name_fields_and_the_command_line_flags(capsys):
    with pytest.raises(ConfigError, match="a `tile_overlap` needs a `tile_size`"):
        StyleConfig(tile_overlap=8)
    with pytest.raises(ConfigError, match="`noise_blend` must be between 0 and 1"):
        StyleConfig(noise_blend=2.0)
    assert run.cli(["tfstyle", "--content=c.png", "--style=s.png", "--tile_overlap=8"]) == 1
    assert capsys.readouterr().err == "tfstyle: error: a --tile_overlap needs a --tile\n"


# --- the help --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", list(COMMANDS))
def test_help_opens_with_usage_and_lists_the_flags_in_groups_with_defaults(command, capsys):
    module = COMMANDS[command]
    assert module.cli(["tfstyle", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m tfstyle.{command} ")
    assert not re.search(r":(class|mod|func):|``", out), "no Sphinx markup in the help"
    headings = [line[:-1] for line in out.splitlines() if line and not line.startswith(" ") and line.endswith(":")]
    assert headings == [group for group in GROUPS if group in headings], "groups in order"
    assert headings[0] == "inputs and output"
    defaults = preset("default")
    for field in SETTINGS[command]:
        flag = module.FLAGS[flag_name(field)]
        listed = re.search(rf"^  --(\[no\])?{flag_name(field)}\b(.*)$", out, flags=re.M)
        assert listed, f"--{flag_name(field)} missing from --help"
        group = FIELDS[field].group
        assert out.rindex(f"\n{group}:\n", 0, listed.start()) > max(
            (out.rfind(f"\n{other}:\n", 0, listed.start()) for other in GROUPS if other != group), default=-1
        ), f"--{flag_name(field)} is not under {group}"
        if getattr(defaults, field) is not None or FIELDS[field].off is not None:
            assert f"(default: {flag.default_as_str[1:-1]})" in listed[2], field
    assert "--helpfull" in out


@pytest.mark.parametrize("command", list(COMMANDS))
def test_helpfull_lists_every_flag_as_absl_does(command, capsys):
    assert COMMANDS[command].cli(["tfstyle", "--helpfull"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m tfstyle.{command} ")
    listed = {entry.name for _, entries in COMMANDS[command].COMMAND.entries() for entry in entries}
    assert set(helpfull_entries(out, COMMANDS[command].__name__)) == listed


# --- the reference page ------------------------------------------------------------------------------------


def test_the_reference_page_is_what_the_generator_writes():
    assert PAGE.read_text(encoding="utf-8") == page(), "run: python -m tfstyle.cli.reference > docs/command-line.md"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_flag_of_helpfull_is_in_the_reference_with_its_default_choices_and_help(command, capsys):
    module = COMMANDS[command]
    assert module.cli(["tfstyle", "--helpfull"]) == 0
    entries = helpfull_entries(capsys.readouterr().out, module.__name__)
    text = PAGE.read_text(encoding="utf-8")
    section = text.split(f"\n## `python -m tfstyle.{command}`\n")[1].split("\n## ")[0]
    assert len(entries) > 5
    for name, listed in entries.items():
        line = re.search(
            rf"^- \*\*`--(\[no\])?{name}(=(?P<hint>[^`]*))?`\*\*(?P<note> \((?:required|default: `[^`]*`)\))?: (?P<help>.*)$",
            section,
            flags=re.M,
        )
        assert line, f"--{name} is missing from the reference"
        help_ = line["help"].replace("\\*", "*").replace("\\<", "<")
        assert squash(help_) in squash(listed), f"--{name}: the reference's help differs from --helpfull's"
        default = re.search(r"\(default: '(.*?)'\)", listed)
        if default and line["note"] != " (required)":
            assert line["note"] == f" (default: `{default[1]}`)", name
        choices = re.match(r"<([^>]*)>: ", listed)
        if choices:
            assert line["hint"] == choices[1], name


# --- settings of the creative controls and of speed ------------------------------------------------------


def test_cli_flags_build_the_config():
    from tfstyle.cli import run as tfrun

    try:
        tfrun.FLAGS(["tfstyle", "--content", "c.png", "--style", "a.png,b.png", "--style_blend_weights", "1,3",
                     "--style_scale", "2", "--preserve_colors", "histogram", "--pooling", "avg", "--noise_blend", "0.5"])  # fmt: skip
        config = tfrun.config_from_flags()
    finally:
        tfrun.FLAGS.unparse_flags()
    assert config.style_blend_weights == (0.25, 0.75) and config.style_scale == 2.0
    assert (config.preserve_colors, config.pooling, config.noise_blend) == ("histogram", "avg", 0.5)
    assert style_paths("a.png, b.png") == ["a.png", "b.png"]


def test_the_cli_flags_set_the_speed_fields(tmp_path):
    parse_flags(["tfstyle", "--content=c.jpg", "--style=s.jpg", "--precision=bfloat16", "--nojit", "--scales=2"])
    try:
        config = config_from_flags()
    finally:
        FLAGS.unparse_flags()
    assert (config.precision, config.jit, config.scales) == ("bfloat16", False, 2)
    parse_flags(["tfstyle", "--content=c.jpg", "--style=s.jpg", "--jit"])
    try:
        assert config_from_flags().jit is True
    finally:
        FLAGS.unparse_flags()


def test_no_flag_belongs_to_two_settings_classes():
    names = [cli_flags.flag_name(f.name) for of in cli_flags.SETTINGS_CLASSES for f in dataclasses.fields(of)]
    assert len(names) == len(set(names))
