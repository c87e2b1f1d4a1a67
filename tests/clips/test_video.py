"""Video: DIS flow, reliability masks, warping, the temporal loss, clips in and out, resume, and
the command line's one-line errors (tiny clips, random weights)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

pytest.importorskip("cv2")
pytest.importorskip("imageio_ffmpeg")

from scipy.ndimage import gaussian_filter  # noqa: E402

from tfstyle.clips import clip as cliplib  # noqa: E402
from tfstyle.clips import io  # noqa: E402
from tfstyle.clips.clip import passes_folder, stylize_clip, work_folder  # noqa: E402
from tfstyle.clips.config import VideoConfig  # noqa: E402
from tfstyle.clips.flow import dis_flow, reliability, warp, warping_error  # noqa: E402
from tfstyle.clips.stylize import stylize_video  # noqa: E402
from tfstyle.clips.temporal import long_term_weights, short_term_loss  # noqa: E402
from tfstyle.config import preset  # noqa: E402
from tfstyle.errors import ConfigError, ImageError  # noqa: E402
from tfstyle.inputs.images import resize, save_image  # noqa: E402

CONFIG = preset("default").override(weights="random", image_size=48, iterations=3, seed=3)


def photo(height: int = 64, width: int = 128, seed: int = 0) -> np.ndarray:
    """A smooth random 'photo' with texture at several scales, [0, 255]."""
    rng = np.random.default_rng(seed)
    image = gaussian_filter(rng.uniform(0, 255, (height, width, 3)), (1.5, 1.5, 0)) + gaussian_filter(
        rng.uniform(0, 255, (height, width, 3)), (6, 6, 0)
    )
    return ((image - image.min()) / (image.max() - image.min()) * 255).astype(np.float32)


def pan(frames: int = 4, shift: int = 3, size: int = 48, patch: bool = False) -> list[np.ndarray]:
    """A photo panned ``shift`` pixels a frame (the content moves left), optionally with a grey patch moving down."""
    scene = photo(size, size + shift * frames)
    clip = []
    for t in range(frames):
        frame = scene[:, shift * t : shift * t + size].copy()
        if patch:
            frame[4 + 2 * t : 14 + 2 * t, 20:30] = 128
        clip.append(frame)
    return clip


def test_dis_recovers_a_known_shift_within_half_a_pixel():
    frames = pan(2, shift=3, size=64)
    flow = dis_flow(frames[1], frames[0])  # frame 1 → frame 0: (+3, 0)
    inner = flow[8:-8, 8:-8]
    assert abs(np.median(inner[..., 0]) - 3) < 0.5 and abs(np.median(inner[..., 1])) < 0.5
    assert np.mean(np.abs(inner[..., 0] - 3) < 0.5) > 0.9


def test_the_reliability_is_0_on_the_disoccluded_strip_and_1_elsewhere():
    backward = np.zeros((20, 30, 2), np.float32)
    backward[..., 0] = 4  # frame i → i−1: the right 4 columns of frame i were not in frame i−1
    forward = -backward
    c = reliability(backward, forward)
    assert np.all(c[:, -4:] == 0) and np.all(c[:, :-4] == 1)


def test_warping_with_an_integer_flow_is_exact():
    image = photo(16, 20)
    flow = np.zeros((16, 20, 2), np.float32)
    flow[..., 0], flow[..., 1] = 2, -1
    warped = warp(image, flow).numpy()
    assert np.array_equal(warped[1:, :-2], image[:-1, 2:])


def test_the_temporal_loss_weighs_by_the_reliability_and_counts_each_pixel_once():
    x, w = np.full((1, 2, 2, 3), 2.0, np.float32), np.zeros((1, 2, 2, 3), np.float32)
    c = np.array([[1, 0], [1, 1]], np.float32)
    assert float(short_term_loss(x, w, c)[0]) == pytest.approx(4 * 3 / 4)
    first, second = long_term_weights([c, np.ones_like(c)])
    assert np.array_equal(first, c) and np.array_equal(second, 1 - c)


@pytest.mark.slow
def test_the_temporal_loss_lowers_the_warping_error():
    clip = pan(4, shift=2, patch=True)
    without = stylized_pan(clip, VideoConfig(temporal_weight=0.0, first_frame_iterations=8))
    with_it = stylized_pan(clip, VideoConfig(temporal_weight=1e12, first_frame_iterations=8))
    assert warping_error(with_it, clip) < warping_error(without, clip)


def stylized_pan(clip: list[np.ndarray], video: VideoConfig) -> list[np.ndarray]:
    """``clip`` stylized with ``video``'s temporal settings, 8 steps a frame at a step size that moves
    tiny random-weight frames visibly: what the flicker tests compare."""
    return list(stylize_video(clip, photo(40, 40, seed=9), CONFIG.override(iterations=8, learning_rate=8.0), video))


def test_a_video_file_round_trip_keeps_the_frames_size_and_rate(tmp_path):
    clip = pan(5, size=32)
    path = io.write_video(clip, tmp_path / "clip.mp4", fps=12.5)
    frames, fps = io.read_clip(path)
    assert len(frames) == 5 and frames[0].shape == (32, 32, 3) and fps == pytest.approx(12.5)
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no temporary left


def test_a_gif_round_trip(tmp_path):
    io.write_video(pan(3, size=16), tmp_path / "clip.gif", fps=10)
    frames, fps = io.read_clip(tmp_path / "clip.gif")
    assert len(frames) == 3 and fps == pytest.approx(10)


def test_a_written_video_follows_the_umask_as_images_do(tmp_path):
    previous = os.umask(0o022)
    try:
        video = io.write_video(pan(2, size=16), tmp_path / "clip.gif", fps=10)
        image = save_image(photo(16, 16), tmp_path / "frame.png")
    finally:
        os.umask(previous)
    assert (video.stat().st_mode & 0o777) == (image.stat().st_mode & 0o777) == 0o644


def write_frames(folder: Path, clip: list[np.ndarray]) -> Path:
    folder.mkdir()
    for index, frame in enumerate(clip):
        save_image(frame, folder / f"f{index:03d}.png")
    return folder


@pytest.mark.slow
def test_a_folder_of_frames_and_resume_reproduces_the_next_frame(tmp_path):
    source = write_frames(tmp_path / "in", pan(4, size=32))
    style = photo(32, 32, seed=5)
    whole = stylize_clip(source, style, tmp_path / "all", CONFIG, VideoConfig(temporal_weight=10.0))
    assert whole.stylized == 4 and len(list((tmp_path / "all").glob("frame_*.png"))) == 4
    assert (tmp_path / "all.flow").is_dir()
    partial = tmp_path / "part"
    partial.mkdir()
    for name in ("frame_00001.png", "frame_00002.png"):
        (partial / name).write_bytes((tmp_path / "all" / name).read_bytes())
    resumed = stylize_clip(source, style, partial, CONFIG, VideoConfig(temporal_weight=10.0), resume=True)
    assert (resumed.stylized, resumed.resumed) == (2, 2)
    for name in ("frame_00003.png", "frame_00004.png"):
        assert (partial / name).read_bytes() == (tmp_path / "all" / name).read_bytes()


@pytest.mark.slow
def test_a_video_output_is_written_whole_and_its_work_folder_removed(tmp_path):
    source = io.write_video(pan(3, size=32), tmp_path / "in.webm", fps=8)
    summary = stylize_clip(source, photo(32, 32), tmp_path / "out.mp4", CONFIG)
    frames, fps = io.read_clip(summary.output)
    assert len(frames) == 3 and fps == pytest.approx(8) and not work_folder(summary.output).exists()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.mp4", "clip not found"),
        (lambda d: (d / "empty").mkdir() or d / "empty", "has no frames"),
        (lambda d: (d / "bad.mp4").write_bytes(b"not a video") and d / "bad.mp4", "cannot read the video"),
    ],
)
def test_bad_clips_are_one_line_errors(tmp_path, make, message):
    with pytest.raises(ImageError, match=message):
        io.read_clip(make(tmp_path))


def test_frames_of_different_sizes_are_refused(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    save_image(photo(16, 16), folder / "a.png")
    save_image(photo(16, 20), folder / "b.png")
    with pytest.raises(ImageError, match="differ in size"):
        io.read_clip(folder)


def test_unknown_and_unwritable_outputs_are_refused_before_any_work(tmp_path):
    with pytest.raises(ImageError, match="unknown video format"):
        io.check_output(tmp_path / "out.xyz")
    with pytest.raises(ImageError, match="does not exist"):
        io.check_output(tmp_path / "no" / "out.mp4")
    (tmp_path / "somefile.txt").write_text("")
    with pytest.raises(ImageError, match="output folder .*somefile.txt is a file, not a folder"):
        io.check_output(tmp_path / "somefile.txt" / "out.mp4")
    with pytest.raises(ImageError, match="cannot be made: .*somefile.txt is a file, not a folder"):
        io.check_output(tmp_path / "somefile.txt" / "sub" / "out.mp4")


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (["--content=missing.mp4"], "clip not found"),
        (["--content=IN", "--output=out.xyz"], "unknown video format"),
    ],
)
def test_the_command_line_says_what_is_wrong_in_one_line(tmp_path, args, message):
    source = io.write_video(pan(2, size=16), tmp_path / "in.mp4", fps=8)
    argv = [a.replace("IN", str(source)) for a in args]
    if not any(a.startswith("--output") for a in argv):
        argv.append(f"--output={tmp_path / 'out.mp4'}")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    style = tmp_path / "style.png"
    save_image(photo(16, 16), style)
    done = subprocess.run(
        [sys.executable, "-m", "tfstyle.video", f"--style={style}", "--weights=random", "--image_size=32", *argv],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not (tmp_path / "out.mp4").exists() and not (tmp_path / "out.mp4.frames").exists()


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_frames_and_no_half_video(tmp_path):
    source = io.write_video(pan(3, size=32), tmp_path / "in.mp4", fps=8)
    output = tmp_path / "out.mp4"

    def stop_after_two(report):
        if report.index == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stylize_clip(source, photo(32, 32), output, CONFIG, on_frame=stop_after_two)
    assert not output.exists()
    kept = sorted(p.name for p in work_folder(output).iterdir())
    assert kept == [cliplib.SETTINGS_RECORD, "frame_00001.png"]  # frame 2 was being reported
    summary = stylize_clip(source, photo(32, 32), output, CONFIG, resume=True)
    assert (summary.resumed, summary.stylized) == (1, 2) and len(io.read_clip(output)[0]) == 3


@pytest.mark.slow
def test_the_command_writes_the_video_and_the_tensorboard_log(tmp_path, capsys):
    from tfstyle.cli import video

    source = io.write_video(pan(2, size=32), tmp_path / "in.gif", fps=5)
    style = save_image(photo(16, 16), tmp_path / "style.png")
    argv = [f"--content={source}", f"--style={style}", f"--output={tmp_path / 'out.gif'}", f"--logdir={tmp_path / 'logs'}"]
    assert video.cli(["tfstyle", *argv, "--weights=random", "--image_size=32", "--iterations=2"]) == 0
    frames, fps = io.read_clip(tmp_path / "out.gif")
    assert len(frames) == 2 and fps == pytest.approx(5)
    assert list((tmp_path / "logs").glob("events.out.tfevents.*"))
    assert "2 frames stylized" in capsys.readouterr().out


@pytest.mark.slow
def test_the_command_keeps_an_existing_output_unless_told_to_replace_it(tmp_path, capsys):
    from tfstyle.cli import video

    source = io.write_video(pan(2, size=32), tmp_path / "in.gif", fps=5)
    style = save_image(photo(16, 16), tmp_path / "style.png")
    earlier = io.write_video(pan(3, size=16), tmp_path / "out.gif", fps=5)
    frames = tmp_path / "frames"
    frames.mkdir()
    save_image(photo(16, 16), frames / io.frame_name(0))
    kept = earlier.read_bytes(), (frames / io.frame_name(0)).read_bytes()
    argv = ["tfstyle", f"--content={source}", f"--style={style}", "--weights=random", "--image_size=32", "--iterations=2"]
    for output, existing in ((earlier, earlier), (frames, frames / io.frame_name(0))):
        assert video.cli([*argv, f"--output={output}"]) == 1
        line = capsys.readouterr().err.strip()
        assert "\n" not in line and f"{existing} exists" in line and "--overwrite" in line
    assert (earlier.read_bytes(), (frames / io.frame_name(0)).read_bytes()) == kept
    assert video.cli([*argv, f"--output={earlier}", "--overwrite"]) == 0
    assert len(io.read_clip(earlier)[0]) == 2


# --- one compiled step; multi-pass ----------------------------------------------------------------------


@pytest.mark.slow
def test_one_traced_step_serves_every_frame(monkeypatch):
    from tfstyle.clips import stylize

    steps = []

    class Recorded(stylize.FrameStep):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            steps.append(self)

    monkeypatch.setattr(stylize, "FrameStep", Recorded)
    frames = list(stylize_video(pan(4, size=32), photo(32, 32), CONFIG, VideoConfig(passes=2)))
    assert len(frames) == 4 and len(steps) == 1
    assert steps[0].goal._value_and_gradient.experimental_get_tracing_count() == 1  # 4 + 3 frames, one trace
    # the update step: one for the first frame's learning rate and one for the later frames' (no retracing per frame)
    assert len(steps[0].descents) == 2


@pytest.mark.slow
def test_a_second_pass_gives_a_warping_error_no_higher_than_one_pass():
    clip = pan(4, shift=2, patch=True)
    one = stylized_pan(clip, VideoConfig(temporal_weight=1e4, first_frame_iterations=8))
    two = stylized_pan(clip, VideoConfig(temporal_weight=1e4, first_frame_iterations=8, passes=2))
    assert warping_error(two, clip) <= warping_error(one, clip)


@pytest.mark.slow
def test_more_passes_alternate_directions_and_write_the_video(tmp_path):
    source = io.write_video(pan(3, size=32), tmp_path / "in.mp4", fps=8)
    reports = []
    summary = stylize_clip(source, photo(32, 32), tmp_path / "out.mp4", CONFIG, VideoConfig(passes=3), on_frame=reports.append)
    assert [(r.pass_number, r.index) for r in reports] == [(1, 0), (1, 1), (1, 2), (2, 1), (2, 0), (3, 1), (3, 2)]
    frames, fps = io.read_clip(summary.output)
    assert len(frames) == 3 and fps == pytest.approx(8) and not work_folder(summary.output).exists()


@pytest.mark.slow
def test_a_resume_goes_on_inside_the_pass_that_was_stopped(tmp_path):
    source = write_frames(tmp_path / "in", pan(3, size=32))
    style, video = photo(32, 32, seed=5), VideoConfig(temporal_weight=10.0, passes=3)
    whole = stylize_clip(source, style, tmp_path / "all", CONFIG, video)
    assert (whole.stylized, whole.resumed) == (7, 0) and not passes_folder(tmp_path / "all").exists()

    def stop_in_the_second_pass(report):
        if (report.pass_number, report.index) == (2, 1):  # pass 2 is frames 2, 1 (indices 1, 0); saved, then reported
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stylize_clip(source, style, tmp_path / "part", CONFIG, video, on_frame=stop_in_the_second_pass)
    kept = passes_folder(tmp_path / "part")
    assert sorted(str(p.relative_to(kept)) for p in kept.rglob("*.png")) == [
        "pass1/frame_00001.png", "pass1/frame_00002.png", "pass1/frame_00003.png", "pass2/frame_00002.png",
    ]  # fmt: skip
    reports = []
    resumed = stylize_clip(source, style, tmp_path / "part", CONFIG, video, resume=True, on_frame=reports.append)
    assert (resumed.stylized, resumed.resumed) == (3, 4)
    assert [(r.pass_number, r.index) for r in reports] == [(2, 0), (3, 1), (3, 2)]
    for name in ("frame_00001.png", "frame_00002.png", "frame_00003.png"):
        assert (tmp_path / "part" / name).read_bytes() == (tmp_path / "all" / name).read_bytes()
    assert not kept.exists()


def test_resumed_frames_that_do_not_fit_the_passes_are_refused():
    clip, style = pan(3, size=32), photo(32, 32)
    with pytest.raises(ConfigError, match="a list of frames per pass"):
        next(stylize_video(clip, style, CONFIG, done=[clip[0]]))  # one pass's frames, not wrapped in a list
    with pytest.raises(ConfigError, match="do not fit"):  # pass 2 started before pass 1 finished
        next(stylize_video(clip, style, CONFIG, VideoConfig(passes=2), done=[[clip[0]], [clip[1]]]))


@pytest.mark.slow
def test_a_one_frame_clip_takes_any_number_of_passes():
    frames = list(stylize_video([photo(32, 32)], photo(32, 32, seed=2), CONFIG, VideoConfig(passes=3)))
    assert len(frames) == 1 and frames[0].shape == (48, 48, 3)  # CONFIG.image_size


# --- resuming ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_resuming_with_other_settings_says_which_in_one_line(tmp_path, capsys):
    from tfstyle.cli import video as command

    source = io.write_video(pan(3, size=32), tmp_path / "in.mp4", fps=8)
    style, output = save_image(photo(16, 16), tmp_path / "style.png"), tmp_path / "out.mp4"

    def stop_after_the_first(report):
        if report.index == 1:  # frame 1 is saved, frame 2 is being reported
            raise KeyboardInterrupt

    small = CONFIG.override(image_size=32, iterations=1)
    with pytest.raises(KeyboardInterrupt):
        stylize_clip(source, style, output, small, on_frame=stop_after_the_first)
    with pytest.raises(ConfigError, match=r"made with other settings: `image_size` 32 \(now 24\)"):
        stylize_clip(source, style, output, small.override(image_size=24), resume=True)
    argv = ["tfstyle", f"--content={source}", f"--style={style}", f"--output={output}", "--weights=random", "--seed=3"]
    assert command.cli([*argv, "--image_size=24", "--iterations=1", "--resume"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "`image_size` 32 (now 24)" in err.replace("--image_size", "`image_size`"), err
    assert sorted(p.name for p in work_folder(output).glob("*.png")) == ["frame_00001.png"]  # kept for a resume


def test_resumed_frames_of_another_size_are_refused_before_any_work():
    with pytest.raises(ConfigError, match="the resumed frames are 48x48 but this run's are 32x32"):
        next(stylize_video(pan(3, size=32), photo(16, 16), CONFIG.override(image_size=32), done=[[photo(48, 48)]]))


def test_resuming_a_finished_video_does_nothing_and_says_so(tmp_path, monkeypatch, capsys):
    from tfstyle.cli import video as command

    output = io.write_video(pan(2, size=16), tmp_path / "out.gif", fps=5)
    before = output.read_bytes()
    monkeypatch.setattr(cliplib, "stylize_video", lambda *a, **k: pytest.fail("a finished video is not made again"))
    summary = stylize_clip(tmp_path / "in.gif", photo(16, 16), output, CONFIG, resume=True)
    assert summary.complete and summary.stylized == 0 and summary.fps == pytest.approx(5)
    style = save_image(photo(16, 16), tmp_path / "style.png")
    argv = ["tfstyle", f"--content={output}", f"--style={style}", f"--output={output}", "--weights=random", "--resume"]
    assert command.cli(argv) == 0
    assert "is already complete; nothing to resume" in capsys.readouterr().out
    assert output.read_bytes() == before


def test_resuming_a_finished_folder_of_frames_does_nothing(tmp_path, monkeypatch):
    source = write_frames(tmp_path / "in", pan(2, size=16))
    done = tmp_path / "out"
    done.mkdir()
    for index in range(2):
        save_image(photo(16, 16), done / io.frame_name(index))
    monkeypatch.setattr(cliplib, "stylize_video", lambda *a, **k: pytest.fail("finished frames are not made again"))
    summary = stylize_clip(source, photo(16, 16), done, CONFIG.override(image_size=16), resume=True)
    assert summary.complete and (summary.stylized, summary.resumed) == (0, 2)


# --- a fast stylizer (--model) -----------------------------------------------------------------------------


def test_without_a_style_each_frame_is_the_fast_stylizers_picture(fast_model):
    from tfstyle.fast.stylizer import FastStylizer

    clip = pan(3, size=33)  # an odd size: frames are scaled to even sides first
    frames = list(stylize_video(clip, None, preset("default").override(model=str(fast_model), image_size=32)))
    assert len(frames) == 3 and all(frame.shape == (32, 32, 3) for frame in frames)
    fast = FastStylizer.load(fast_model)
    for frame, content in zip(frames, clip):
        np.testing.assert_array_equal(frame, fast(resize(content, (32, 32))))


def test_fast_frames_to_a_folder_resume_from_the_first_missing_one(tmp_path, fast_model):
    source = write_frames(tmp_path / "in", pan(3, size=32))
    config = preset("default").override(model=str(fast_model), image_size=32)
    whole = stylize_clip(source, None, tmp_path / "all", config)
    assert whole.stylized == 3 and not (tmp_path / "all.flow").exists(), "no flow without the temporal refinement"
    partial = tmp_path / "part"
    partial.mkdir()
    (partial / "frame_00001.png").write_bytes((tmp_path / "all" / "frame_00001.png").read_bytes())
    resumed = stylize_clip(source, None, partial, config, resume=True)
    assert (resumed.stylized, resumed.resumed) == (2, 1)
    for name in ("frame_00002.png", "frame_00003.png"):
        assert (partial / name).read_bytes() == (tmp_path / "all" / name).read_bytes()


def test_with_a_style_and_init_model_frames_start_from_the_fast_picture_where_the_flow_is_unreliable(fast_model, monkeypatch):
    """Frame 1 starts from its fast picture; a later frame from the previous one warped, and from its
    own fast picture where the flow cannot say (the strip that pans into view on the right)."""
    from tfstyle.clips import stylize as stylizelib
    from tfstyle.fast.stylizer import FastStylizer

    starts = []

    def optimize(self, i, start, config, callbacks):  # no optimization: the start is the frame
        starts.append(np.asarray(start, np.float32))
        return np.clip(np.rint(start), 0, 255).astype(np.float32), {"total": 0.0, "style": 0.0, "temporal": 0.0}

    monkeypatch.setattr(stylizelib.FrameStep, "optimize", optimize)
    clip = pan(2, shift=4, size=32)
    config = CONFIG.override(image_size=32, model=str(fast_model), init="model")
    list(stylize_video(clip, photo(32, 32), config, VideoConfig(lookback=(1,))))
    fast = FastStylizer.load(fast_model)
    np.testing.assert_array_equal(starts[0], fast(clip[0]))
    np.testing.assert_allclose(starts[1][:, -3:], fast(clip[1])[:, -3:], atol=1e-3)  # disoccluded: the fast picture
    assert np.abs(starts[1][:, :-6] - fast(clip[1])[:, :-6]).mean() > 1, "elsewhere the previous frame warped"


def test_more_passes_without_a_style_and_neither_style_nor_model_are_config_errors(fast_model):
    with pytest.raises(ConfigError, match="`passes` are the optimization's"):
        list(stylize_video(pan(2, size=16), None, CONFIG.override(model=str(fast_model)), VideoConfig(passes=2)))
    with pytest.raises(ConfigError, match="give a `style`"):
        list(stylize_video(pan(2, size=16), None, CONFIG))


def test_the_command_with_a_model_alone_writes_the_fast_video(tmp_path, capsys, fast_model):
    from tfstyle.cli import video

    source = io.write_video(pan(2, size=32), tmp_path / "in.gif", fps=5)
    assert video.cli(["tfstyle", f"--content={source}", f"--model={fast_model}", f"--output={tmp_path / 'out.gif'}",
                      "--image_size=32"]) == 0  # fmt: skip
    frames, fps = io.read_clip(tmp_path / "out.gif")
    assert len(frames) == 2 and frames[0].shape == (32, 32, 3) and fps == pytest.approx(5)
    assert "2 frames stylized" in capsys.readouterr().out and not work_folder(tmp_path / "out.gif").exists()


def test_the_command_says_in_one_line_when_the_model_is_bad_or_neither_is_given(tmp_path, capsys):
    from tfstyle.cli import video

    source = io.write_video(pan(2, size=16), tmp_path / "in.gif", fps=5)
    style = save_image(photo(16, 16), tmp_path / "style.png")
    output = tmp_path / "out.gif"
    for args, message in [
        ([], "give a --style (a painting), or a --model"),
        ([f"--model={tmp_path / 'none'}"], "model folder not found"),
        ([f"--model={tmp_path / 'none'}", f"--style={style}"], "model folder not found"),
    ]:
        assert video.cli(["tfstyle", f"--content={source}", f"--output={output}", "--image_size=32", *args]) == 1
        line = capsys.readouterr().err.strip()
        assert "\n" not in line and line.startswith("tfstyle: error: ") and message in line, line
        assert not output.exists() and not work_folder(output).exists(), "nothing written"
