"""The command line, ``python -m tfstyle.run``: real runs, flags, and one clear line for every bad input.

Most cases run in-process through :func:`tfstyle.run.cli` (parse + main, returning the exit status);
a few are real subprocesses to prove the end-to-end behaviour (exit codes, no traceback, Ctrl-C).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import half_masks, helpfull_entries
from PIL import Image

from tfstyle.cli import run as tfrun
from tfstyle.inputs.images import load_image
from tfstyle.network import speed

FAST = ["--weights", "random", "--image_size", "32", "--iterations", "2", "--print_every", "0"]


@pytest.fixture(autouse=True)
def fresh_flags_and_quiet_tf():
    """Each in-process run starts from unparsed flags; TF's retracing warnings (many runs in one
    process, never in the real one-run CLI) are kept off stderr so it holds only what the CLI says."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    yield
    logger.setLevel(level)
    if tfrun.FLAGS.is_parsed():
        tfrun.FLAGS.unparse_flags()


def cli(*args) -> int:
    return tfrun.cli(["tfstyle", *map(str, args)])


def base_args(content, style) -> list[str]:
    return ["--content", str(content), "--style", str(style), *FAST]


def error_line(err: str) -> str:
    """The CLI's one line on stderr: no traceback, nothing else."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert lines[0].startswith("tfstyle: error: "), lines[0]
    return lines[0]


def stray_files(folder: Path, keep: set[str]) -> list[str]:
    """Files in ``folder`` other than ``keep``: outputs or temp files a failed run must not leave."""
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and p.name not in keep)


def run_subprocess(python, args, cwd, timeout=120) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [python, "-m", "tfstyle.run", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout,
    )  # fmt: skip


# --- real end-to-end runs (subprocess) -------------------------------------------------------------


@pytest.mark.slow
def test_end_to_end_run_writes_default_output_intermediates_and_summary(python, tmp_path, content_path, style_path):
    args = ["--content", content_path, "--style", style_path, *FAST, "--print_every", "1", "--save_every", "1"]
    proc = run_subprocess(python, args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "tfstyle: error" not in proc.stderr  # (a GPU may log here)
    output = tmp_path / "content_stylized.png"
    lines = proc.stdout.splitlines()
    assert [line.split()[1] for line in lines[:2]] == ["1/2", "2/2"]
    assert re.fullmatch(
        rf"wrote {re.escape(str(output))} \(32x24\): 2 iterations in [\d.]+ s \([\d.]+ it/s\) on [A-Z]+:\d+; "
        r"content \S+, style \S+",
        lines[-1],
    ), lines[-1]
    for path in (output, tmp_path / "content_stylized_1.png", tmp_path / "content_stylized_2.png"):
        assert load_image(path).shape == (24, 32, 3)
    assert stray_files(tmp_path, {"content.png", "style.png", output.name, "content_stylized_1.png", "content_stylized_2.png"}) == []


@pytest.mark.slow
def test_helpfull_exits_zero_and_every_flag_has_help(python, tmp_path):
    proc = run_subprocess(python, ["--helpfull"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    listed = helpfull_entries(proc.stdout, tfrun.__name__)
    ours = [flag.name for flag in tfrun.FLAGS.get_flags_for_module(tfrun.__name__)]
    assert {"content", "style", "output", "weights", "image_size", "save_every"} <= set(ours)
    for name in ours:
        assert name in listed, f"--{name} missing from --helpfull"
        assert listed[name].strip(), f"--{name} has no help text"
    assert "(no help available)" not in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("module", ["tfstyle.run", "tfstyle.export", "tfstyle.batch"])
def test_help_into_a_pipe_closed_early_exits_without_a_traceback(python, tmp_path, module):
    # `python -m tfstyle.run --help | head -1`, made certain: the reader is gone before the help is written.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen([python, "-m", module, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env)
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, err.decode()


@pytest.mark.slow
@pytest.mark.parametrize("case", ["missing_content", "corrupt_weights", "missing_flag"])
def test_bad_input_in_a_real_process_prints_one_line_and_no_traceback(python, tmp_path, content_path, style_path, case):
    args = base_args(content_path, style_path)
    if case == "missing_content":
        args += ["--content", tmp_path / "nope.jpg"]
        expected = "content image not found"
    elif case == "corrupt_weights":
        (tmp_path / "bad.h5").write_bytes(b"not an hdf5 file" * 10)
        args += ["--weights", tmp_path / "bad.h5"]
        expected = "could not read VGG16 weights"
    else:
        args = args[2:]  # no --content
        expected = "--content"
    proc = run_subprocess(python, args, cwd=tmp_path)
    assert proc.returncode == 1
    assert expected in error_line(proc.stderr)
    assert stray_files(tmp_path, {"content.png", "style.png", "bad.h5"}) == []


@pytest.fixture
def sigint_reaches_children():
    """A child inherits an ignored SIGINT (as in a shell's background job without job control), a
    handler it does not: with one installed here, the CLI under test gets Ctrl-C however pytest runs."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.slow
@pytest.mark.usefixtures("sigint_reaches_children")
def test_ctrl_c_saves_a_complete_image_and_exits_130(python, tmp_path, content_path, style_path):
    output = tmp_path / "out.png"
    args = [*base_args(content_path, style_path), "--iterations", "100000", "--optimizer", "adam",
            "--print_every", "1", "--output", output]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(
        [python, "-m", "tfstyle.run", *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        first = proc.stdout.readline()
        assert first.startswith("iteration"), first + proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)  # a harness limit: CI shares 2 cores
    finally:
        watchdog.cancel()
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert re.search(r"interrupted after \d+ iterations; saved the current image to .*out\.png", err), err
    with Image.open(output) as pil:
        pil.load()  # the whole file decodes
        assert pil.size == (32, 24)
    assert stray_files(tmp_path, {"content.png", "style.png", "out.png"}) == []


# --- in-process runs that succeed --------------------------------------------------------------------


def test_flagfile_supplies_the_flags(tmp_path, content_path, style_path, capsys):
    output = tmp_path / "from_flagfile.jpg"
    flagfile = tmp_path / "run.flags"
    flagfile.write_text(
        "\n".join([f"--content={content_path}", f"--style={style_path}", f"--output={output}", *FAST]) + "\n"
    )
    assert cli(f"--flagfile={flagfile}") == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.startswith(f"wrote {output} (32x24): 2 iterations")
    assert load_image(output).shape == (24, 32, 3)


@pytest.mark.slow
def test_later_flags_override_the_flagfile(tmp_path, content_path, style_path, capsys):
    flagfile = tmp_path / "run.flags"
    flagfile.write_text(f"--content={content_path}\n--style={style_path}\n--iterations=50\n")
    assert cli(f"--flagfile={flagfile}", *FAST, "--iterations", "1") == 0
    assert ": 1 iteration in " in capsys.readouterr().out  # the flag given last, in the singular


def test_preset_and_flags_build_the_config(content_path, style_path):
    tfrun.parse_flags(["tfstyle", "--content", str(content_path), "--style", str(style_path),
                       "--preset", "paper", "--iterations", "3", "--style_layers", "conv1_1,conv2_1",
                       "--style_layer_weights", "0.25,0.75"])  # fmt: skip
    config = tfrun.config_from_flags()
    assert (config.optimizer, config.normalization, config.iterations) == ("sgd", "paper", 3)
    assert config.style_layers == ("block1_conv1", "block2_conv1")
    assert config.style_layer_weights == (0.25, 0.75)


def test_default_output_is_a_png_beside_the_content():
    assert tfrun.default_output("photos/cat.jpg") == Path("photos/cat_stylized.png")
    assert tfrun.default_output("cat") == Path("cat_stylized.png")


def test_nan_loss_exits_nonzero_and_saves_the_last_finite_image(tmp_path, content_path, style_path, capsys):
    output = tmp_path / "out.png"
    code = cli(*base_args(content_path, style_path), "--iterations", "20", "--optimizer", "adam",
               "--content_weight", "1e38", "--output", output)  # fmt: skip
    assert code == 1
    line = error_line(capsys.readouterr().err)
    assert re.search(r"the loss became (inf|nan) at iteration \d+", line), line
    assert f"saved it to {output}" in line
    image = load_image(output)
    assert image.shape == (24, 32, 3) and np.all(np.isfinite(image))
    assert stray_files(tmp_path, {"content.png", "style.png", "out.png"}) == []


def test_ctrl_c_before_the_first_iteration_exits_130_without_traceback(tmp_path, content_path, style_path, capsys, monkeypatch):
    import tfstyle

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tfstyle, "stylize", interrupted)
    assert cli(*base_args(content_path, style_path)) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "was not written" in err
    assert stray_files(tmp_path, {"content.png", "style.png"}) == []


def test_help_exits_zero_in_process(capsys):
    assert cli("--help") == 0
    assert "--helpfull" in capsys.readouterr().out


# --- every bad input: one line, exit 1, nothing written ------------------------------------------------


def _truncated(path: Path, suffix: str, array: np.ndarray) -> Path:
    whole = path.with_name(f"whole{suffix}")
    Image.fromarray(array).save(whole)
    path = path.with_suffix(suffix)
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    whole.unlink()
    return path


def _text_file(path: Path) -> Path:
    path.write_text("hello, I am not a picture\n")
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def _thin_image(path: Path) -> Path:
    Image.new("RGB", (200, 10), (90, 120, 200)).save(path)
    return path


# id: (extra args given (tmp_path, content, style), fragments expected in the error line)
BAD_INPUTS = {
    "missing content": (lambda t, c, s: ["--content", t / "nope.png"], ["content image not found", "nope.png"]),
    "missing content in a missing folder": (
        lambda t, c, s: ["--content", t / "nodir" / "nope.png"], ["content image not found"]),
    "missing style": (lambda t, c, s: ["--style", t / "nope.jpg"], ["style image not found", "nope.jpg"]),
    "content not an image": (lambda t, c, s: ["--content", _text_file(t / "notes.png")], ["is not an image"]),
    "style not an image": (lambda t, c, s: ["--style", _text_file(t / "notes.txt")], ["style image", "is not an image"]),
    "truncated content jpeg": (
        lambda t, c, s: ["--content", _truncated(t / "half", ".jpg", load_image(c).astype(np.uint8))],
        ["content image", "corrupt or truncated"]),
    "truncated style png": (
        lambda t, c, s: ["--style", _truncated(t / "half", ".png", load_image(s).astype(np.uint8))],
        ["style image", "corrupt or truncated"]),
    "content is a directory": (lambda t, c, s: ["--content", _folder(t / "photos")], ["is a directory"]),
    "style is a directory": (lambda t, c, s: ["--style", _folder(t / "paintings")], ["style image", "is a directory"]),
    "unknown style layer": (lambda t, c, s: ["--style_layers", "conv1_1,conv9_9"], ["unknown VGG16 layer 'conv9_9'"]),
    "unknown content layer": (lambda t, c, s: ["--content_layers", "block3_pool"], ["unknown VGG16 layer"]),
    "too few style layer weights": (
        lambda t, c, s: ["--style_layers", "conv1_1,conv2_1", "--style_layer_weights", "1"],
        ["1 style layer weights given for 2 style layers"]),
    "too many content layer weights": (
        lambda t, c, s: ["--content_layer_weights", "1,1,1"], ["3 content layer weights", "one weight per layer"]),
    "negative layer weight": (lambda t, c, s: ["--style_layer_weights=1,-1,1"], ["each of --style_layer_weights must be at least 0, got -1"]),
    "negative style weight": (lambda t, c, s: ["--style_weight=-1"], ["--style_weight must be at least 0"]),
    "negative content weight": (lambda t, c, s: ["--content_weight=-0.5"], ["--content_weight must be at least 0"]),
    "negative tv weight": (lambda t, c, s: ["--tv_weight=-1"], ["--tv_weight must be at least 0"]),
    "zero iterations": (lambda t, c, s: ["--iterations", "0"], ["--iterations must be a positive whole number"]),
    "negative iterations": (lambda t, c, s: ["--iterations=-3"], ["--iterations must be a positive whole number"]),
    "zero image size": (lambda t, c, s: ["--image_size", "0"], ["--image_size must be a positive whole number"]),
    "negative image size": (lambda t, c, s: ["--image_size=-32"], ["--image_size must be a positive whole number"]),
    "zero learning rate": (lambda t, c, s: ["--learning_rate", "0"], ["--learning_rate must be greater than 0"]),
    "tile overlap without a tile": (lambda t, c, s: ["--tile_overlap", "8"], ["a --tile_overlap needs a --tile"]),
    "negative print_every": (lambda t, c, s: ["--print_every=-1"], ["--print_every must be 0 or more"]),
    "negative save_every": (lambda t, c, s: ["--save_every=-5"], ["--save_every must be 0 or more"]),
    "output in a missing folder": (
        lambda t, c, s: ["--output", t / "nodir" / "out.png"], ["output folder", "does not exist"]),
    "output with an unknown extension": (lambda t, c, s: ["--output", t / "out.xyz"], ["no image extension"]),
    "output PIL cannot write": (lambda t, c, s: ["--output", t / "out.psd"], ["no image extension"]),
    "output without extension": (lambda t, c, s: ["--output", t / "out"], ["no image extension"]),
    "output is a directory": (lambda t, c, s: ["--output", _folder(t / "results")], ["is a directory"]),
    "output is the content": (lambda t, c, s: ["--output", c], ["is the content image"]),
    "output is the style": (lambda t, c, s: ["--output", s], ["is the style image"]),
    "non-number layer weight": (lambda t, c, s: ["--style_layer_weights", "1,x,1"], ["'x' is not a number"]),
    "non-number flag": (lambda t, c, s: ["--content_weight", "lots"], ["flag --content_weight=lots: 'lots' is not a number"]),
    "non-integer iterations": (lambda t, c, s: ["--iterations", "1e3"], ["flag --iterations=1e3: '1e3' is not a whole number"]),
    "unknown flag": (lambda t, c, s: ["--colour", "red"], ["colour"]),
    "unknown optimizer": (lambda t, c, s: ["--optimizer", "rmsprop"], ["optimizer"]),
    "unknown preset": (lambda t, c, s: ["--preset", "picasso"], ["preset"]),
    "positional argument": (lambda t, c, s: ["extra.png"], ["unexpected argument(s): extra.png"]),
    "image too small for the deepest layer": (
        lambda t, c, s: ["--image_size", "8"], ["8x6 pixels", "after scaling to --image_size 8", "block5_conv3", "at least 16 pixels",
                                             "raise --image_size"]),
    "thin image too small": (
        lambda t, c, s: ["--content", _thin_image(t / "thin.png")], ["content image is 32x2 pixels", "at least 16"]),
    "missing weights file": (
        lambda t, c, s: ["--weights", t / "vgg16.h5"], ["VGG16 weights file not found", "vgg16.h5"]),
    "weights path is a directory": (
        lambda t, c, s: ["--weights", _folder(t / "weights")], ["VGG16 weights path is not a file"]),
    "corrupt weights file": (
        lambda t, c, s: ["--weights", _text_file(t / "vgg16.h5")], ["could not read VGG16 weights"]),
    "missing init image": (lambda t, c, s: ["--init", t / "start.png"], ["init image not found", "--init takes"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_prints_one_error_line_and_writes_nothing(case, tmp_path, content_path, style_path, capsys):
    make_args, fragments = BAD_INPUTS[case]
    before = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    inputs = (content_path.read_bytes(), style_path.read_bytes())
    args = [*base_args(content_path, style_path), *make_args(tmp_path, content_path, style_path)]
    made = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert cli(*args) == 1
    captured = capsys.readouterr()
    line = error_line(captured.err)
    for fragment in fragments:
        assert fragment in line, line
    assert "wrote" not in captured.out
    assert stray_files(tmp_path, before | made) == []
    assert (content_path.read_bytes(), style_path.read_bytes()) == inputs


def test_missing_content_names_it(content_path, style_path, capsys):
    args = base_args(content_path, style_path)
    index = args.index("--content")
    del args[index : index + 2]
    assert cli(*args) == 1
    line = error_line(capsys.readouterr().err)
    assert "--content" in line and "must have a value" in line


def test_neither_style_nor_model_is_one_line_naming_both(content_path, style_path, capsys):
    args = base_args(content_path, style_path)
    index = args.index("--style")
    del args[index : index + 2]
    assert cli(*args) == 1
    assert error_line(capsys.readouterr().err) == "tfstyle: error: give a --style (a painting), or a --model for a fast stylizer's picture"


def test_model_alone_writes_the_fast_picture_at_the_image_size(tmp_path, content_path, fast_model, capsys):
    output = tmp_path / "fast.png"
    assert cli("--content", str(content_path), "--model", str(fast_model), "--output", str(output), "--image_size", "30") == 0
    assert max(load_image(output).shape[:2]) == 30
    precision = speed.resolve_precision("auto", "/device:CPU:0")
    assert f"with the fast stylizer {fast_model.name} ({precision}) in" in capsys.readouterr().out


def test_model_with_style_refines_the_fast_picture(tmp_path, content_path, style_path, fast_model, capsys):
    output = tmp_path / "refined.png"
    assert cli(*base_args(content_path, style_path), "--model", str(fast_model), "--output", str(output)) == 0
    assert output.is_file()


def test_a_bad_model_is_one_line_and_writes_nothing(tmp_path, content_path, capsys):
    output = tmp_path / "fast.png"
    assert cli("--content", str(content_path), "--model", str(tmp_path), "--output", str(output)) == 1
    assert "is not a fast stylizer (not a tfstyle export)" in error_line(capsys.readouterr().err)
    assert not output.exists()


def test_error_before_the_run_keeps_an_existing_output(tmp_path, content_path, style_path, capsys):
    output = tmp_path / "keep.png"
    Image.new("RGB", (5, 5), (1, 2, 3)).save(output)
    before = output.read_bytes()
    assert cli(*base_args(content_path, style_path), "--output", output, "--style_layers", "conv9_9") == 1
    error_line(capsys.readouterr().err)
    assert output.read_bytes() == before


def test_an_existing_output_is_kept_unless_overwrite_is_given(tmp_path, content_path, style_path, capsys):
    output = tmp_path / "earlier.png"
    Image.new("RGB", (5, 5), (1, 2, 3)).save(output)
    before = output.read_bytes()
    assert cli(*base_args(content_path, style_path), "--output", output) == 1
    line = error_line(capsys.readouterr().err)
    assert f"{output} exists" in line and "--overwrite" in line
    assert output.read_bytes() == before
    assert cli(*base_args(content_path, style_path), "--output", output, "--overwrite") == 0
    assert Image.open(output).size != (5, 5)


# --- the creative controls ------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path, content, style_a, style_b):
    """The images and half masks as files, and a function that runs the CLI in-process on them."""
    from tfstyle.cli import run as tfrun

    paths = {}
    left, right = half_masks(96, 128)
    for name, image in (("content", content), ("a", style_a), ("b", style_b), ("left", left), ("right", right)):
        paths[name] = tmp_path / f"{name}.png"
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(paths[name])
    paths["out"] = tmp_path / "out.png"

    def cli(*args) -> int:
        try:
            return tfrun.cli(["tfstyle", "--content", str(paths["content"]), "--output", str(paths["out"]),
                              "--weights", "random", "--image_size", "48", "--iterations", "2", "--print_every", "0",
                              *map(str, args)])  # fmt: skip
        finally:
            tfrun.FLAGS.unparse_flags()

    paths["cli"] = cli
    return paths


@pytest.mark.slow
def test_cli_runs_with_every_control(files, capsys):
    status = files["cli"](
        "--style", f"{files['a']},{files['b']}", "--style_blend_weights", "3,1", "--style_scale", "0.8",
        "--preserve_colors", "luminance", "--content_mask", files["left"], "--style_masks", f"{files['left']},{files['right']}",
        "--pooling", "avg", "--noise_blend", "0.2",
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    assert Image.open(files["out"]).size == (48, 36)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--style", "{a},{b}", "--style_blend_weights", "1,2,3"], "3 style blend weights given for 2 style"),
        (["--style", "{a},{b}", "--style_masks", "{left}"], "1 style mask(s) given for 2 style"),
        (["--style", "{a}", "--style_masks", "{a}"], "style mask is 48x64 pixels but the content image is 48x36"),
        (["--style", "{a}", "--content_mask", "{out}.missing.png"], "content mask not found"),
        (["--style", "{a},{a}.missing.png"], "style image not found"),
        (["--style", "{a}", "--style_blend_weights", "x"], "flag --style_blend_weights=x: 'x' is not a number"),
        (["--style", "{a}", "--style_scale", "0"], "--style_scale must be greater than 0"),
        (["--style", "{a}", "--noise_blend", "2"], "--noise_blend must be between 0 and 1"),
        (["--style", "{a}", "--pooling", "min"], "--pooling"),
    ],
)
def test_cli_errors_are_one_line(files, capsys, args, message):
    assert files["cli"](*(arg.format(**files) for arg in args)) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("tfstyle: error: ") and "Traceback" not in err, err
    assert message in lines[0]
    assert not files["out"].exists()
