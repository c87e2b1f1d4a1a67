"""``tfstyle.beam``: the pipeline paints what ``tfstyle.batch`` and ``tfstyle.run`` paint, lists the
images that fail in its dead letter, skips what is done on a second run and counts it all; paths on
a filesystem that is not local work; the handler runs in a user's own ``RunInference`` pipeline as
docs/many-machines.md shows; and the command line's errors are one line.

Beam's local runner (FnApiRunner, set explicitly: the DirectRunner would first try to download the
Prism runner) runs the pipelines in this process, on tiny images with random weights.
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, synthetic_image
from PIL import Image

pytest.importorskip("apache_beam", reason="the beam extra is not installed: pip install -e '.[beam]'")

from apache_beam.io.filesystem import BeamIOError, FileMetadata, FileSystem  # noqa: E402

from tfstyle import NonFiniteLossError, WeightsError  # noqa: E402
from tfstyle.cli import batch as tfbatch  # noqa: E402
from tfstyle.cli import beam as tfbeam  # noqa: E402
from tfstyle.cli import run as tfrun  # noqa: E402
from tfstyle.cli.flags import config_from_flags, flag_text  # noqa: E402
from tfstyle.scale import beam  # noqa: E402
from tfstyle.scale.folder import output_names  # noqa: E402

SETTINGS = [
    "--weights", "random", "--image_size", "32", "--iterations", "2", "--precision", "float32",
    "--content_layers", "conv2_2", "--style_layers", "conv1_2,conv2_2",
]  # fmt: skip
RUNNER = ["--runner", beam.LOCAL_RUNNER]
GOOD = ["p0", "p1", "portrait", "sub/p0"]  # sub/p0 shares its name with p0: both outputs get a hash
BAD = {"garbage.jpg": "is not an image", "cut.png": "is corrupt or truncated", "sliver.png": "needs at least 2 pixels"}


def write_photos(folder: Path) -> None:
    """Three 4:3 photos (one in a subfolder, with a name another has), a portrait, and three that fail:
    no image, a PNG cut short, and a 2-pixel sliver too thin for the layers once scaled."""
    (folder / "sub").mkdir(parents=True)
    for seed, name in enumerate(["p0", "p1", "sub/p0"]):
        Image.fromarray(synthetic_image(48, 64, seed=seed)).save(folder / f"{name}.png")
    Image.fromarray(synthetic_image(64, 48, seed=5)).save(folder / "portrait.png")
    (folder / "garbage.jpg").write_bytes(b"this is no jpeg")
    Image.fromarray(synthetic_image(48, 64, seed=7)).save(folder / "cut.png")
    (folder / "cut.png").write_bytes((folder / "cut.png").read_bytes()[:200])
    Image.fromarray(synthetic_image(2, 64, seed=8)).save(folder / "sliver.png")


def pixels(path: Path | str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(beam.read_bytes(str(path)))))


def run_quietly(command, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = command.cli(argv)
    for module in (tfbatch, tfbeam):
        module.FLAGS.unparse_flags()
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The pipeline's first run over the photos (the command line), and its second (the library)."""
    root = tmp_path_factory.mktemp("beam")
    photos, style, out = root / "photos", root / "painting.png", root / "out"
    write_photos(photos)
    Image.fromarray(synthetic_image(40, 40, seed=9)).save(style)
    first = run_quietly(
        tfbeam, ["tfstyle-beam", f"--input={photos}/**", f"--style={style}", f"--output_dir={out}", *SETTINGS, *RUNNER]
    )
    written = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in out.glob("*.png")}
    listings = list(out.glob("_failed-*.txt"))
    tfbeam.parse_flags(["tfstyle-beam", "--input=x", "--style=x", "--output_dir=x", *SETTINGS])
    config = config_from_flags(tfbeam.FLAGS)
    tfbeam.FLAGS.unparse_flags()
    second = beam.run_pipeline(beam.StylizeFiles(f"{photos}/**", str(style), str(out), config), options=RUNNER)
    return {"root": root, "photos": photos, "style": style, "out": out, "first": first, "written": written,
            "second": second, "config": config, "listings": listings}  # fmt: skip


@pytest.mark.slow
def test_the_pipeline_paints_the_pixels_of_tfstyle_batch_and_tfstyle_run(runs, tmp_path):
    photos, style, out = runs["photos"], runs["style"], runs["out"]
    status, _, err = run_quietly(
        tfbatch, ["tfstyle-batch", "--content_glob", f"{photos}/**/*", "--style", str(style), "--output_dir", str(tmp_path),
                  "--batch_size", "1", *SETTINGS],
    )  # fmt: skip
    assert status == 1, err  # the same three fail
    batch_outputs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert (
        batch_outputs
        == sorted(p.name for p in out.glob("*.png"))
        == sorted(output_names([photos / f"{name}.png" for name in GOOD]))
    )
    assert len(batch_outputs) == 4 and sum(name.startswith("p0_") for name in batch_outputs) == 2
    for name in batch_outputs:
        assert np.array_equal(pixels(out / name), pixels(tmp_path / name)), name
    assert tfrun.cli(["tfstyle", f"--content={photos / 'p1.png'}", f"--style={style}", f"--output={tmp_path / 'run.png'}",
                      *SETTINGS]) == 0  # fmt: skip
    tfrun.FLAGS.unparse_flags()
    assert np.array_equal(pixels(out / "p1.png"), pixels(tmp_path / "run.png"))


@pytest.mark.slow
def test_failures_land_in_the_dead_letter_file_and_the_others_are_written(runs):
    status, stdout, stderr = runs["first"]
    assert status == 1
    assert stdout.startswith("4 stylized, 0 skipped, 3 failed in "), stdout
    assert stderr.strip().splitlines()[-1].startswith("tfstyle: error: 3 images failed (listed in ")
    (listing,) = runs["listings"]
    reasons = dict(line.split("\t") for line in listing.read_text().splitlines())
    assert sorted(Path(path).name for path in reasons) == sorted(BAD)
    for path, reason in reasons.items():
        assert BAD[Path(path).name] in reason, reason
        assert f"failed: {path}: {flag_text(reason)}" in stderr  # settings named as flags
    assert not list(runs["out"].glob(".*.tmp")) and not list(runs["out"].glob("beam-temp*"))


@pytest.mark.slow
def test_a_second_run_writes_nothing_new_and_counts_the_skips(runs):
    summary = runs["second"]
    assert (summary.stylized, summary.skipped, summary.failed) == (0, 4, 3)
    assert summary.seconds_per_image == 0.0  # nothing was stylized
    now = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in runs["out"].glob("*.png")}
    assert now == runs["written"]
    assert len(list(runs["out"].glob("_failed-*.txt"))) in (1, 2)  # a second list, unless in the same second
    assert len(beam.failure_lines(summary.failures)) == 3


# --- a filesystem that is not local -----------------------------------------------------------------------


class MemoryFileSystem(FileSystem):
    """``memtest://`` paths kept in a dict: a stand-in for gs:// or s3:// (no folders, prefix listings)."""

    FILES: dict[str, bytes] = {}

    @classmethod
    def scheme(cls):
        return "memtest"

    def join(self, basepath, *paths):
        return posixpath.join(basepath, *paths)

    def split(self, path):
        return posixpath.split(path)

    def mkdirs(self, path):
        pass

    def has_dirs(self):
        return False

    def _list(self, prefix):
        for path, data in list(self.FILES.items()):
            if path.startswith(prefix):
                yield FileMetadata(path, len(data))

    def create(self, path, mime_type="application/octet-stream", compression_type=None):
        files = self.FILES

        class Writer(io.BytesIO):
            def close(self):
                files[path] = self.getvalue()
                super().close()

        return Writer()

    def open(self, path, mime_type="application/octet-stream", compression_type=None):
        if path not in self.FILES:
            raise BeamIOError("not found", {path: FileNotFoundError(path)})
        return io.BytesIO(self.FILES[path])

    def copy(self, sources, destinations):
        for source, destination in zip(sources, destinations):
            self.FILES[destination] = self.FILES[source]

    def rename(self, sources, destinations):
        for source, destination in zip(sources, destinations):
            self.FILES[destination] = self.FILES.pop(source)

    def exists(self, path):
        return path in self.FILES

    def size(self, path):
        return len(self.FILES[path])

    def last_updated(self, path):
        return 0.0

    def checksum(self, path):
        return str(len(self.FILES[path]))

    def metadata(self, path):
        return FileMetadata(path, len(self.FILES[path]))

    def delete(self, paths):
        for path in paths:
            for name in [name for name in self.FILES if name == path or name.startswith(path.rstrip("/") + "/")]:
                del self.FILES[name]


@pytest.mark.slow
def test_inputs_style_and_outputs_on_another_filesystem(runs):
    files = MemoryFileSystem.FILES
    files.clear()
    for name in ("p1.png", "portrait.png", "garbage.jpg"):
        files[f"memtest://photos/{name}"] = (runs["photos"] / name).read_bytes()
    files["memtest://styles/painting.png"] = runs["style"].read_bytes()
    job = beam.StylizeFiles("memtest://photos/*", "memtest://styles/painting.png", "memtest://out", runs["config"])
    summary = beam.run_pipeline(job, options=RUNNER)
    assert (summary.stylized, summary.skipped, summary.failed) == (2, 0, 1)
    assert sorted(name for name in files if name.endswith(".png") and name.startswith("memtest://out/")) == [
        "memtest://out/p1.png", "memtest://out/portrait.png",
    ]  # fmt: skip
    for name in ("p1.png", "portrait.png"):
        assert np.array_equal(pixels(f"memtest://out/{name}"), pixels(runs["out"] / name)), name
    (line,) = beam.failure_lines(summary.failures)
    assert line.startswith("memtest://photos/garbage.jpg: content image memtest://photos/garbage.jpg is not an image")
    assert not [name for name in files if name.endswith(".tmp") or "beam-temp" in name]


def test_a_remote_weights_file_is_copied_once_per_machine():
    files = MemoryFileSystem.FILES
    url = f"memtest://models/{np.random.default_rng().integers(1 << 30)}/vgg16.h5"
    files[url] = b"weights"
    local = beam.local_weights(url)
    assert Path(local).read_bytes() == b"weights" and Path(local).name.endswith("vgg16.h5")
    files[url] = b"changed"
    assert beam.local_weights(url) == local and Path(local).read_bytes() == b"weights"
    Path(local).unlink()
    assert beam.local_weights("/some/local/vgg16.h5") == "/some/local/vgg16.h5"
    assert beam.local_weights("random") == "random"
    with pytest.raises(WeightsError, match="could not copy the VGG16 weights from memtest://models/none.h5"):
        beam.local_weights("memtest://models/none.h5")


def test_a_write_that_fails_leaves_no_temporary_file(tmp_path):
    beam.write_atomically(str(tmp_path / "a.png"), b"one")
    (tmp_path / "b.png").mkdir()
    with pytest.raises(Exception):  # noqa: B017 - whatever the filesystem raises for renaming onto a folder
        beam.write_atomically(str(tmp_path / "b.png"), b"two")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png"] and (tmp_path / "a.png").read_bytes() == b"one"


# --- the handler in a user's pipeline (docs/many-machines.md) ---------------------------------------------


@pytest.mark.slow
def test_the_handler_in_a_users_pipeline_as_the_docs_show_it(tmp_path, monkeypatch):
    from test_doc_examples import run_examples

    run_examples(ROOT / "docs" / "many-machines.md", ("## The handler in your own pipeline",), tmp_path, monkeypatch)
    assert sorted(p.name for p in tmp_path.glob("beam_*.png")) == ["beam_photo1.png", "beam_photo2.png"]
    assert sorted(p.name for p in (tmp_path / "stylized").iterdir()) == ["photo1.png", "photo2.png"]  # no failures
    for name in ("photo1", "photo2"):  # the same settings and seed: the same pixels both ways
        assert np.array_equal(pixels(tmp_path / f"beam_{name}.png"), pixels(tmp_path / "stylized" / f"{name}.png"))


# --- small parts ------------------------------------------------------------------------------------------


def test_the_handlers_model_is_in_the_form_its_runs_compute_so_no_image_converts_it_again():
    from tfstyle import StyleConfig
    from tfstyle.network import forms, speed

    config = StyleConfig(content_layers=("conv2_2",), style_layers=("conv1_2", "conv2_2"), weights="random",
                         image_size=32, iterations=2, precision="float32", convolutions="forward")  # fmt: skip
    model = beam.StyleModelHandler(synthetic_image(32, 32, seed=5), config).load_model()
    assert {type(layer) for layer in speed._convolutions(model.features)} == {forms.ForwardFormConv2D}
    assert speed.for_run(model.features, "float32", "/device:CPU:0", convolutions="forward") is model.features


def test_failure_reasons_are_one_line_and_tfstyles_own_messages_stand_alone():
    error = NonFiniteLossError("the loss became nan at iteration 3", None)
    trace = ["Traceback (most recent call last):\n", "  ...\n", f"tfstyle.errors.NonFiniteLossError: {error}\n"]
    assert beam.failure_reason(NonFiniteLossError, repr(error), trace) == "the loss became nan at iteration 3"
    assert beam.failure_reason(ValueError, "ValueError('x')", ["ValueError: bad\nvalue\n"]) == "ValueError: bad value"
    assert beam.failure_reason(KeyError, "KeyError('k')") == "KeyError: KeyError('k')"


def test_beam_options_pass_and_anything_else_is_unknown():
    assert (
        beam.unknown_options(["--runner=DataflowRunner", "--project", "p", "--temp_location=gs://b/t", "--save_main_session"])
        == []
    )
    assert beam.unknown_options(["--runner", "FlinkRunner", "--imag_size=64", "photo.jpg"]) == ["--imag_size=64", "photo.jpg"]


def test_output_names_hash_urls_as_they_are():
    names = output_names(["gs://a/photo.jpg", "gs://b/photo.jpg", "gs://a/other.jpg"])
    assert names[2] == "other.png" and names[0] != names[1] and all(n.startswith("photo_") for n in names[:2])
    assert output_names(["gs://b/photo.jpg", "gs://a/photo.jpg"]) == names[1::-1]


def test_command_line_errors_are_one_line(tmp_path, capsys):
    style = tmp_path / "painting.png"
    Image.fromarray(synthetic_image(40, 40, seed=9)).save(style)
    base = ["tfstyle-beam", f"--style={style}", f"--output_dir={tmp_path / 'out'}", *SETTINGS]
    for args, message in [
        ([f"--input={tmp_path}/none/*.jpg"], "no files match"),
        ([f"--input={style}", "--imag_size=64"], "not a tfstyle flag nor a Beam pipeline option: --imag_size=64"),
        ([f"--input={style}", "stray.jpg"], "not a tfstyle flag nor a Beam pipeline option: stray.jpg"),
        ([f"--input={style}", f"--style={tmp_path / 'no.png'}"], "style image not found"),
        ([f"--input={style}", f"--output_dir={style}"], "is a file"),
        ([f"--input={style}", "--weights", str(tmp_path / "none.h5")], "VGG16 weights file not found"),
        (["--input=memtest://nowhere/*.jpg"], "no files match memtest://nowhere/*.jpg"),
        (["--input=zz://bucket/*.jpg"], "cannot list zz://bucket/*.jpg"),
    ]:
        assert tfbeam.cli([*base, *args]) == 1, message
        tfbeam.FLAGS.unparse_flags()
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err.startswith("tfstyle: error: ") and message in err, err


def test_without_beam_one_line_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "apache_beam", None)  # import apache_beam raises ImportError
    assert tfbeam.cli(["tfstyle-beam", "--input=x", "--style=y", "--output_dir=z"]) == 1
    tfbeam.FLAGS.unparse_flags()
    assert capsys.readouterr().err.strip() == (
        "tfstyle: error: python -m tfstyle.beam needs Apache Beam: pip install 'tfstyle[beam]'"
    )


def test_a_folder_named_like_an_output_is_no_finished_image_but_a_failure(tmp_path):
    (tmp_path / "a_tubingen.png").mkdir()
    done = tmp_path / "b.png"
    done.write_bytes(b"png")
    skip = beam._SkipDone(overwrite=False)
    (blocked,) = skip.process(("photos/a/tubingen.jpg", str(tmp_path / "a_tubingen.png")))
    assert blocked.tag == beam.FAILED and "is a directory" in blocked.value[1]
    assert list(skip.process(("photos/b.jpg", str(done)))) == []  # a file is done: skipped
    assert list(skip.process(("photos/c.jpg", str(tmp_path / "c.png")))) == [("photos/c.jpg", str(tmp_path / "c.png"))]


# --- a fast stylizer (--model) -----------------------------------------------------------------------------


@pytest.mark.slow
def test_model_without_a_style_paints_what_tfstyle_batch_paints_and_a_rerun_skips(tmp_path, fast_model):
    photos, out = tmp_path / "photos", tmp_path / "out"
    write_photos(photos)
    argv = ["tfstyle-beam", f"--input={photos}/**", f"--model={fast_model}", f"--output_dir={out}", "--image_size=32", *RUNNER]
    status, stdout, stderr = run_quietly(tfbeam, argv)
    assert status == 1 and stdout.startswith("4 stylized, 0 skipped, 3 failed in "), (stdout, stderr)
    assert "needs at least 5 on each side" in stderr and "Traceback" not in stderr  # the sliver, too thin for the network
    status, _, _ = run_quietly(
        tfbatch, ["tfstyle-batch", "--content_glob", f"{photos}/**/*", "--model", str(fast_model), "--output_dir",
                  str(tmp_path / "batch"), "--image_size", "32"],
    )  # fmt: skip
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == sorted(p.name for p in (tmp_path / "batch").glob("*.png")) and len(names) == 4
    for name in names:
        assert np.array_equal(pixels(out / name), pixels(tmp_path / "batch" / name)), name
    assert Image.open(out / "portrait.png").size == (24, 32)
    status, stdout, _ = run_quietly(tfbeam, argv)
    assert stdout.startswith("0 stylized, 4 skipped, 3 failed in "), stdout


def test_the_fast_handler_paints_an_example_as_the_fast_stylizer_does(tmp_path, fast_model):
    from tfstyle import StyleConfig
    from tfstyle.fast.stylizer import FastStylizer

    path = tmp_path / "photo.png"
    Image.fromarray(synthetic_image(48, 64, seed=3)).save(path)
    handler = beam.FastModelHandler(StyleConfig(model=str(fast_model), image_size=32))
    model = handler.load_model()
    assert model is handler.load_model(), "one stylizer per worker process"
    (result,) = handler.run_inference([str(path)], model)
    assert result.example == str(path) and result.inference.shape == (24, 32, 3)
    np.testing.assert_array_equal(result.inference, FastStylizer.load(fast_model)(path, image_size=32))


def test_model_errors_are_one_line_before_the_pipeline_starts(tmp_path, capsys, fast_model):
    photo = tmp_path / "photo.png"
    Image.fromarray(synthetic_image(48, 64, seed=3)).save(photo)
    out = tmp_path / "out"
    base = ["tfstyle-beam", f"--input={photo}", f"--output_dir={out}", *SETTINGS]
    for args, message in [
        ([], "give a --style (a painting), or a --model"),
        ([f"--model={tmp_path / 'none'}"], "model folder not found"),
        ([f"--model={photo}"], "is not a folder"),
        (["--model=gs://bucket/models/starry_night"], "a fast stylizer is a shipped model's name or a local folder"),
        ([f"--model={fast_model}", f"--style={photo}", "--weights", str(tmp_path / "none.h5")], "VGG16 weights file not found"),
    ]:
        assert tfbeam.cli([*base, *args]) == 1, message
        tfbeam.FLAGS.unparse_flags()
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err.startswith("tfstyle: error: ") and message in err, err
        assert not out.exists(), "nothing written"


@pytest.mark.parametrize("fast", [False, True])
def test_both_handlers_take_one_image_at_a_time_and_refuse_inference_args_by_name(fast):
    from tfstyle.config import preset
    from tfstyle.errors import ConfigError

    config = preset("default")
    handler = beam.FastModelHandler(config.override(model="shipped")) if fast else beam.StyleModelHandler("s.png", config)
    assert handler.batch_elements_kwargs() == {"min_batch_size": 1, "max_batch_size": 1}
    assert handler.config.model == ("shipped" if fast else None)
    assert handler.get_num_bytes([b"abc", "de", np.zeros((2, 2, 3), np.float32)]) == 3 + 2 + 48
    assert handler.get_metrics_namespace() == "tfstyle_RunInference"
    handler.validate_inference_args(None)
    with pytest.raises(ConfigError, match=f"^{type(handler).__name__} takes no inference_args"):
        handler.validate_inference_args({"steps": 3})
