"""Temporal consistency and speed of video mode (docs/video.md): the warping error of Lai et al.
(ECCV 2018) and the mean style loss of per-frame stylization vs video mode, and frames per minute.

    TFSTYLE_VGG16_WEIGHTS=... python -m tools.bench.video CLIP STYLE OUT.json [--size 256]

Modes: ``video`` (video mode, ``--passes``), ``independent`` (``tfstyle.stylize`` on each frame),
``warm`` (γ = 0: each frame only started from the previous one warped); ``video2`` is video mode with
two passes; with ``--model`` (a fast stylizer), ``fast`` (each frame through it alone) and
``fast_video`` (video mode starting from its pictures, ``init`` model). Speeds are per frame
optimization (a frame of a later pass counts again). ``style_loss_of_frames`` is every mode's mean
style loss evaluated afresh on its frames (a fast frame has no run to report one).

    python -m tools.bench.video CLIP STYLE OUT.json --model saved_models/starry_night --modes fast,fast_video,video
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from pathlib import Path

import keras
import numpy as np

import tfstyle
from tfstyle.clips import io
from tfstyle.clips.config import VideoConfig
from tfstyle.clips.flow import warping_error
from tfstyle.clips.stylize import FrameReport, stylize_video
from tfstyle.inputs.images import resize
from tfstyle.inputs.prepare import prepare_images
from tfstyle.loop.optimize import feature_model_for_run
from tfstyle.network import speed
from tfstyle.objective.whole import objective


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("clip")
    parser.add_argument("style")
    parser.add_argument("out")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--first", type=int, default=40)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--temporal_weight", type=float, default=VideoConfig().temporal_weight)
    parser.add_argument("--later_learning_rate", type=float, default=None)
    parser.add_argument("--modes", default="video,independent,warm")
    parser.add_argument("--frames_out", default="")
    parser.add_argument("--model", default=None, help="a fast stylizer, for the modes fast and fast_video")
    args = parser.parse_args()
    config = tfstyle.preset("default").override(image_size=args.size, iterations=args.iterations, seed=0, model=args.model)
    clip, fps = io.read_clip(args.clip)
    size = io.even_size(clip[0].shape, args.size)
    contents = [resize(frame, size) for frame in clip]
    results: dict = {"size": list(size), "frames": len(clip), "first_iterations": args.first, "iterations": args.iterations,
                     "model": args.model}  # fmt: skip
    model = tfstyle.build_feature_model(config.layers_in_use(), config.weights, config.seed)
    for mode in args.modes.split(","):
        reports: list = []
        start = time.perf_counter()
        if mode == "independent":
            frames = []
            for content in contents:
                t0 = time.perf_counter()
                result = tfstyle.stylize(content, args.style, config.override(iterations=args.first), feature_model=model)
                frames.append(np.clip(np.rint(result.image), 0, 255))
                reports.append({"seconds": time.perf_counter() - t0, "style": result.final_losses["style"], "temporal": 0.0})
        elif mode == "fast":
            frames = list(stylize_video(contents, None, config, on_frame=partial(record, reports)))
        else:
            video = VideoConfig(
                temporal_weight=0.0 if mode == "warm" else args.temporal_weight, first_frame_iterations=args.first,
                later_learning_rate=args.later_learning_rate, passes=2 if mode == "video2" else 1,
            )  # fmt: skip
            frames = list(
                stylize_video(
                    contents, args.style, config.override(init="model") if mode == "fast_video" else config, video,
                    feature_model=model, on_frame=partial(record, reports),
                )
            )  # fmt: skip
        seconds = time.perf_counter() - start
        last = {r.get("index", n): r for n, r in enumerate(reports)}  # each frame's report of its last pass
        style_losses = [last[i].get("style", np.nan) for i in range(len(frames))]
        results[mode] = {
            "warping_error": warping_error(frames, contents),
            "mean_style_loss": float(np.mean(style_losses)),
            "style_loss_of_frames": style_loss_of(frames, contents, args.style, config, model),
            "seconds": seconds,
            "first_frame_seconds": reports[0]["seconds"],
            "later_frame_seconds": float(np.mean([r["seconds"] for r in reports[1:]])),
            "flow_seconds": reports[-1].get("flow_seconds", 0.0),
            "flow_waited": reports[-1].get("flow_waited", 0.0),
            "frames": reports,
        }
        if args.frames_out:
            folder = Path(args.frames_out) / mode
            folder.mkdir(parents=True, exist_ok=True)
            for index, frame in enumerate(frames):
                tfstyle.save_image(frame, folder / io.frame_name(index))
        Path(args.out).write_text(json.dumps(results, indent=1))
        print(mode, {k: v for k, v in results[mode].items() if k != "frames"}, flush=True)


def record(reports: list, r: FrameReport) -> None:
    """A frame's report as the results keep it (a fast frame has no losses)."""
    reports.append({"seconds": r.seconds, "flow_seconds": r.flow_seconds, "flow_waited": r.flow_waited,
                    "pass": r.pass_number, "index": r.index, **r.losses})  # fmt: skip


def style_loss_of(frames: list, contents: list, style: str, config: tfstyle.StyleConfig, model: keras.Model) -> float:
    """The mean style loss of ``frames`` (each against its content frame), as the runs compute it."""
    sized = config.override(image_size=max(contents[0].shape[:2]))
    run_model = feature_model_for_run(model, sized)
    precision = speed.resolve_precision(sized.precision, "/CPU:0")
    losses = []
    for frame, content in zip(frames, contents):
        content_image, style_image = prepare_images(content, style, sized)
        goal = objective(run_model, content_image[None], style_image, sized.override(precision=precision))
        losses.append(float(np.mean(goal(np.asarray(frame, np.float32)[None])["style"].numpy())))
    return float(np.mean(losses))


if __name__ == "__main__":
    main()
