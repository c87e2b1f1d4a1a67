"""How a fast stylizer's quality on photos it never saw depends on how many photos it trained on (issue 37).

    python -m tools.bench.photo_count --steps 600       # 8, 16 and 32 photos: tools/bench/results/fast_photo_count_<kind>.*
    python -m tools.bench.photo_count --quick           # tiny: random weights, 64 px, 3 steps

The training photos are the shared ones (``--photos``) less the four the shipped models hold out
(tools.bench.fast.HELD_OUT); the subsets are the first n of one seeded order of them, so each
smaller set is part of the larger ones. A model is trained on each with the same settings
(``tfstyle.train``'s defaults but ``--steps`` and ``--crop_size``; nothing held out inside, the
judged photos are set apart here), then judged as ``tools.bench.fast --quality`` judges a model, without
refinement: the neutral yardstick (Gatys et al.'s layers) of its picture of each held-out photo and
shared content photo, as a ratio to the 50-step optimization's (cached in ``--cache``; ≤ 1.25 is the goal).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf  # noqa: E402

from tfstyle.config import StyleConfig, preset  # noqa: E402
from tfstyle.errors import TfstyleError  # noqa: E402
from tfstyle.fast.stylizer import FastStylizer  # noqa: E402
from tfstyle.inputs.prepare import prepare_images  # noqa: E402
from tfstyle.loop.optimize import feature_model_for_run  # noqa: E402
from tfstyle.training.config import TrainConfig  # noqa: E402
from tfstyle.training.loop import train  # noqa: E402
from tfstyle.training.photos import Photos, find_photos  # noqa: E402
from tools import SHARED_IMAGES  # noqa: E402
from tools.bench import fast  # sets the environment before TensorFlow is imported
from tools.machine import load_average, machine  # noqa: E402
from tools.yardstick import NEUTRAL, Yardstick  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def subsets(photos: Sequence[str], counts: Sequence[int], seed: int) -> dict[int, list[str]]:
    """The first n photos of one ``seed``-ed order of ``photos``, for each n of ``counts``: nested sets."""
    order = [photos[i] for i in np.random.default_rng(seed).permutation(len(photos))]
    too_many = [n for n in counts if n > len(order)]
    if too_many:
        raise TfstyleError(f"only {len(order)} training photos, fewer than {too_many[0]}")
    return {n: sorted(order[:n]) for n in counts}


def judge(model: Path, style: Path, judged: Sequence[Path], config: StyleConfig, cache: Path) -> dict[str, dict[str, float]]:
    """The yardstick ratios fast / optimization, style and content, on each judged photo."""
    stylizer = FastStylizer.load(model)
    features = feature_model_for_run(None, config)
    rows = {}
    for photo in judged:
        content, style_image = prepare_images(str(photo), str(style), config)
        assert isinstance(style_image, np.ndarray)  # one style
        yardstick = Yardstick(content, style_image, config.weights, NEUTRAL)
        optimized = fast.cached_optimization(photo, style, config, features, cache)
        (opt_style, opt_content), (fast_style, fast_content) = yardstick.batch_distances([optimized, stylizer(content)])
        rows[photo.name] = {"style": fast_style / opt_style, "content": fast_content / opt_content}
    return rows


def markdown(out: dict) -> str:
    counts = list(out["runs"])
    photos = list(out["runs"][counts[0]]["ratios"])
    lines = [
        f"# Quality against the number of training photos: {Path(out['style']).name}, {out['steps']} steps",
        "",
        f"`{out['command']}` at {out['when']}, on {out['machine']['CPU']}. Each cell: the neutral yardstick's "
        "style / content distance of the fast picture as a ratio to the 50-step optimization's (↓; goal ≤ 1.25 each).",
        "",
        "| photo (never trained on) | " + " | ".join(f"{n} photos" for n in counts) + " |",
        "| --- |" + " --- |" * len(counts),
    ]
    for photo in photos:
        cells = [f"{out['runs'][n]['ratios'][photo]['style']:.2f} / {out['runs'][n]['ratios'][photo]['content']:.2f}" for n in counts]
        lines.append(f"| {photo} | " + " | ".join(cells) + " |")
    means = [out["runs"][n]["mean"] for n in counts]
    lines.append("| **geometric mean** | " + " | ".join(f"**{m['style']:.2f} / {m['content']:.2f}**" for m in means) + " |")
    minutes = ", ".join(f"{n}: {out['runs'][n]['minutes']:.0f} min" for n in counts)
    lines += ["", f"Training wall time ({minutes}); load average {out['load_before']} before, {out['load_after']} after.", ""]
    return "\n".join(lines)


def geometric_mean(ratios: dict[str, dict[str, float]]) -> dict[str, float]:
    return {k: float(np.exp(np.mean([np.log(r[k]) for r in ratios.values()]))) for k in ("style", "content")}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench.photo_count", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", default=str(fast.PHOTOS), help="the folder of training photos (the held-out ones are set apart)")
    parser.add_argument("--style", default=str(fast.STYLE), help="the painting")
    parser.add_argument("--counts", default="8,16,32", help="numbers of training photos, comma-separated")
    parser.add_argument("--steps", type=int, default=600, help="training steps of each model")
    parser.add_argument("--crop_size", type=int, default=192, help="training crops' side")
    parser.add_argument("--size", type=int, default=512, help="longest side of the judged pictures (and the style's scale)")
    parser.add_argument("--seed", type=int, default=0, help="the subsets' order, and each training's seed")
    parser.add_argument("--models", default=None, help="where the models go (default: a temporary folder, removed)")
    fast.record_flags(parser)
    parser.add_argument("--quick", action="store_true", help="tiny: random weights, 64 px, 3 steps")
    args = parser.parse_args(argv)
    tf.get_logger().setLevel("ERROR")
    config = preset("default").override(image_size=args.size, seed=args.seed)
    training = TrainConfig(steps=args.steps, crop_size=args.crop_size, holdout=0)
    scratch = Path(tempfile.mkdtemp(prefix="photo_count_"))
    judged = [Path(args.photos) / name for name in fast.HELD_OUT] + [SHARED_IMAGES / "content" / n for n in ("tubingen.jpg", "golden_gate.jpg")]
    if args.quick:
        args.photos, args.style, judged = quick_inputs(scratch)
        config = config.override(image_size=64, weights="random", iterations=3)
        training = TrainConfig(steps=3, batch=2, crop_size=32, network_width=4, holdout=0)
        args.counts, args.results = "2,4", args.results or str(scratch / "results")
    counts = [int(n) for n in args.counts.split(",")]
    models = Path(args.models) if args.models else scratch / "models"
    models.mkdir(parents=True, exist_ok=True)
    cache = Path(args.cache) if args.cache else fast.CACHE
    out: dict = {
        "command": "python -m tools.bench.photo_count " + " ".join(argv if argv is not None else sys.argv[1:]),
        "when": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "load_before": load_average(),
        "style": str(args.style), "steps": training.steps, "training": training.to_dict(), "runs": {},
    }  # fmt: skip
    try:
        found = find_photos(args.photos)
        held = {p.name for p in judged}
        pool = [p for p in found.paths if Path(p).name not in held]
        for n, chosen in subsets(pool, counts, args.seed).items():
            print(f"{n} photos: training {training.steps} steps ...", flush=True)
            start = time.perf_counter()
            model = train(args.style, Photos(tuple(chosen), 0), models / f"photos_{n}", training, config)
            minutes = (time.perf_counter() - start) / 60
            ratios = judge(model, Path(args.style), judged, config, cache)
            out["runs"][n] = {"photos": [Path(p).name for p in chosen], "minutes": minutes, "ratios": ratios, "mean": geometric_mean(ratios)}
            print(f"  {minutes:.1f} min; style / content ratios (geometric mean): {out['runs'][n]['mean']}", flush=True)
    except TfstyleError as err:
        print(f"tools.bench.photo_count: error: {err}", file=sys.stderr)
        return 1
    finally:
        if not args.models:
            shutil.rmtree(scratch / "models", ignore_errors=True)
    out["load_after"] = load_average()
    results = Path(args.results or RESULTS)
    results.mkdir(parents=True, exist_ok=True)
    stem = f"fast_photo_count_{fast.machine_kind()}"
    (results / f"{stem}.json").write_text(json.dumps(out, indent=1, default=str) + "\n", encoding="utf-8")
    (results / f"{stem}.md").write_text(markdown(out), encoding="utf-8")
    print(markdown(out))
    print(f"written: {results / stem}.json and .md")
    return 0


def quick_inputs(folder: Path) -> tuple[str, Path, list[Path]]:
    """Tiny random inputs for ``--quick``: a folder of 6 photos, a painting, and 2 photos to judge."""
    from PIL import Image

    rng = np.random.default_rng(0)
    (folder / "photos").mkdir()
    for index in range(6):
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(folder / "photos" / f"p{index}.png")
    paths = []
    for name in ("painting", "judged_a", "judged_b"):
        paths.append(folder / f"{name}.png")
        Image.fromarray(rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)).save(paths[-1])
    return str(folder / "photos"), paths[0], paths[1:]


if __name__ == "__main__":
    sys.exit(main())
