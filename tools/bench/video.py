"""Temporal consistency and speed of video mode (docs/video.md): the warping error of Lai et al.
(ECCV 2018) and the mean style loss of per-frame stylization vs video mode, and frames per minute.

    TFSTYLE_VGG16_WEIGHTS=... python -m tools.bench.video CLIP STYLE OUT.json [--size 256]

Modes: ``video`` (video mode, ``--passes``), ``independent`` (``tfstyle.stylize`` on each frame),
``warm`` (γ = 0: each frame only started from the previous one warped); ``video2`` is video mode with
two passes. Speeds are per frame optimization (a frame of a later pass counts again).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import tfstyle
from tfstyle.inputs.images import resize
from tfstyle.video import io
from tfstyle.video.config import VideoConfig
from tfstyle.video.flow import warping_error
from tfstyle.video.stylize import stylize_video


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
    args = parser.parse_args()
    config = tfstyle.preset("default").override(image_size=args.size, iterations=args.iterations, seed=0)
    clip, fps = io.read_clip(args.clip)
    size = io.even_size(clip[0].shape, args.size)
    contents = [resize(frame, size) for frame in clip]
    results: dict = {"size": list(size), "frames": len(clip), "first_iterations": args.first, "iterations": args.iterations}
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
        else:
            video = VideoConfig(
                temporal_weight=0.0 if mode == "warm" else args.temporal_weight, first_frame_iterations=args.first,
                later_learning_rate=args.later_learning_rate, passes=2 if mode == "video2" else 1,
            )  # fmt: skip
            frames = list(
                stylize_video(
                    contents, args.style, config, video, feature_model=model,
                    on_frame=lambda r, reports=reports: reports.append(
                        {"seconds": r.seconds, "style": r.losses["style"], "temporal": r.losses["temporal"],
                         "flow_seconds": r.flow_seconds, "flow_waited": r.flow_waited, "pass": r.pass_number,
                         "index": r.index}
                    ),
                )
            )  # fmt: skip
        seconds = time.perf_counter() - start
        last = {r.get("index", n): r for n, r in enumerate(reports)}  # each frame's report of its last pass
        style_losses = [last[i]["style"] for i in range(len(frames))]
        results[mode] = {
            "warping_error": warping_error(frames, contents),
            "mean_style_loss": float(np.mean(style_losses)),
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


if __name__ == "__main__":
    main()
