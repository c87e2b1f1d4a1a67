"""How fast and how good the fast stylizer is (issue 37, "Measure it"): its speed against the
50-step optimization and a PyTorch peer, its quality and refinement against the optimization.

    python -m tools.bench.fast                                   # speed, 512 px, tools/bench/results/fast_<kind>.json
    python -m tools.bench.fast --model saved_models/the_scream --style ../shared/images/style/the_scream.jpg
    python -m tools.bench.fast --quality saved_models/starry_night --style ../shared/images/style/starry_night.jpg \\
        --pictures /tmp/fast_pictures                            # quality and refinement on the held-out photos
    python -m tools.bench.fast --quick                           # every part, tiny: random weights, 64 px, one round

**Speed** (the default): the photo (``--content``, longest side ``--size``) through the fast
stylizer as ``python -m tfstyle.run --model`` runs it (:class:`tfstyle.FastStylizer` on the
SavedModel: from the file, and from the prepared array), through the raw Keras network in a
``tf.function`` (its trained weights restored), and through the PyTorch peer's network
(tools/bench/peer_fast_torch.py: float32, and bfloat16 under autocast, each in the memory format
and thread count, all usable cores or one, measured fastest first; ``--torch_compile`` also
compiled, its compile time counted apart); the default 50-step
optimization of the same photo (``tfstyle.stylize``, the default preset, its feature model from
``feature_model_for_run`` reused: warm calls); and one training step on a batch of 4 crops of 192
px (``Training._train_step``, warm) in float32 and ``auto`` precision against the peer's in
float32 and bfloat16. Each number is the median of warm calls; tfstyle's block and then the peer's
(its OpenMP threads spin into whatever runs next) are repeated ``--rounds`` times, and each ratio
is the median of the rounds' ratios. The load average is recorded: the machine may be shared.

**Quality** (``--quality MODEL``): on each of ``--photos`` (default: the shipped models' held-out
photos) at ``--size``, the content and the style prepared as ``tfstyle.stylize`` prepares them, the
neutral yardstick (tools/yardstick.py, Gatys et al.'s layers, none of which the default preset
optimizes) of the fast result and of the 50-step optimization (cached in ``--cache`` by photo,
style and settings: reruns skip it), their ratios (goal: ≤ 1.25 each), and the ratio of the default
objective itself (what the network was trained on and the optimization minimized); and **refinement**: Adam
steps of the default objective from the fast result (``stylize(..., start_image=fast)``) until
both distances are at most the optimization's (goal: ≤ 10), the yardstick read after every step,
at most ``--refine_most``. ``--pictures DIR``: photo | 50 steps | fast | fast + k steps, side by side.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tfstyle.cli.common import use_onednn  # light: TensorFlow is not imported yet

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
use_onednn()  # measure what the command lines run

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

import tfstyle  # noqa: E402
from tfstyle.config import StyleConfig, preset  # noqa: E402
from tfstyle.errors import TfstyleError  # noqa: E402
from tfstyle.fast.network import stylize_any_size, transform_network  # noqa: E402
from tfstyle.fast.stylizer import FastStylizer, export  # noqa: E402
from tfstyle.inputs import images as imageio  # noqa: E402
from tfstyle.inputs.prepare import prepare_images  # noqa: E402
from tfstyle.loop.optimize import feature_model_for_run  # noqa: E402
from tfstyle.network import speed  # noqa: E402
from tfstyle.objective.whole import make_loss_fn  # noqa: E402
from tfstyle.training.config import TrainConfig  # noqa: E402
from tfstyle.training.loop import Training  # noqa: E402
from tfstyle.training.photos import Photos  # noqa: E402
from tools import ROOT, SHARED_IMAGES  # noqa: E402
from tools.bench import peer_fast_torch as peer  # noqa: E402
from tools.bench.steps import torch_weights  # noqa: E402
from tools.machine import cpu_model, load_average, machine  # noqa: E402
from tools.yardstick import NEUTRAL, Yardstick  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CONTENT = SHARED_IMAGES / "content" / "tubingen.jpg"
STYLE = SHARED_IMAGES / "style" / "starry_night.jpg"
PHOTOS = ROOT.parent / "shared" / "photos"
# The photos the shipped models' training held out (TrainConfig.holdout, chosen by its seed).
CACHE = Path(tempfile.gettempdir()) / "tfstyle_fast_bench"
HELD_OUT = ("lomiri16_free_by_peter_nerlich.jpg", "lomiri16_greentock_by_peter_nerlich.jpg", "skimage_chelsea.jpg", "sklearn_china.jpg")
GOALS = {"speedup": 100.0, "stretch_s": 0.3, "inference_vs_peer": 0.85, "training_vs_peer": 1.0, "quality_ratio": 1.25, "refine_steps": 10}
Timed = Callable[[], object]


# --- Timing ---------------------------------------------------------------------------------------


def timed_calls(fn: Timed, calls: int) -> list[float]:
    """Seconds of each of ``calls`` calls of ``fn`` (warm: the caller warms it up)."""
    seconds = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


def peer_settings() -> list[tuple[str, int]]:
    """The peer's (memory format, threads) to choose from: PyTorch's OpenMP threads on all usable
    cores, and on one (on a shared, loaded machine a thread that waits for a descheduled one at
    every barrier can make a call many times slower)."""
    return [(name, threads) for name in peer.MEMORY_FORMATS for threads in sorted({1, peer.usable_cores()})]


def fastest_setting(make: Callable[[str], Timed], calls: int) -> tuple[tuple[str, int], dict[str, float]]:
    """The (memory format, threads) of :func:`peer_settings` whose warm calls of ``make(format)`` are
    the fastest, and each one's median. A setting whose first warm call already takes three times
    the best median so far is not timed further (its one call is its median)."""
    medians: dict[tuple[str, int], float] = {}
    for memory_format, threads in peer_settings():
        torch.set_num_threads(threads)
        fn = make(memory_format)
        fn()  # warm up
        first = timed_calls(fn, 1)
        if medians and first[0] > 3 * min(medians.values()):
            medians[(memory_format, threads)] = first[0]
            continue
        medians[(memory_format, threads)] = float(np.median(first + timed_calls(fn, calls - 1)))
    return min(medians, key=medians.__getitem__), {f"{f}, {t} thread(s)": v for (f, t), v in medians.items()}


def machine_kind(fields: dict[str, str] | None = None) -> str:
    """A file-name slug of the CPU: ``AMD EPYC (family 25, model 17)`` → ``amd_epyc_f25_m17``."""
    name = cpu_model(fields if fields is not None else speed.cpuinfo())
    name = re.sub(r"\(family (\d+), model (\d+)\)", r"f\1 m\2", name)
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "unknown"


def keras_network(model: Path) -> keras.Model:
    """The Keras transform network of a fast-stylizer SavedModel, its trained weights restored."""
    checkpoint = str(model / "variables" / "variables")
    kernels = [shape for _, shape in tf.train.list_variables(checkpoint) if len(shape) == 4 and shape[:3] == [9, 9, 3]]
    if not kernels:
        raise TfstyleError(f"{model} holds no transform network (no 9x9 convolution of RGB)")
    network = transform_network(kernels[0][3])
    tf.train.Checkpoint(network=network).read(checkpoint).assert_existing_objects_matched()
    return network


def photo_crops(photo: np.ndarray, batch: int, size: int, seed: int = 0) -> np.ndarray:
    """``batch`` random ``size``-pixel square crops of ``photo`` (one training batch for both sides)."""
    rng = np.random.default_rng(seed)
    height, width = photo.shape[:2]
    corners = [(rng.integers(0, height - size + 1), rng.integers(0, width - size + 1)) for _ in range(batch)]
    return np.stack([photo[y : y + size, x : x + size] for y, x in corners]).astype(np.float32)


# --- Speed ----------------------------------------------------------------------------------------


def speed_run(args: argparse.Namespace, config: StyleConfig, model: Path) -> dict:
    """Every timing of the speed benchmark, its medians and ratios (module docstring)."""
    stylizer, float32 = FastStylizer.load(model), FastStylizer.load(model, "float32")
    photo = imageio.resize_longest_side(imageio.load_image(str(args.content)), args.size)
    network = keras_network(model)
    width = network.get_layer("down1").filters
    keras_fn = tf.function(lambda x: stylize_any_size(network, x), autograph=False)
    photo_tensor = tf.constant(photo[None])
    tf_calls: dict[str, Timed] = {
        f"fast, from the file (as tfstyle.run --model: auto, {stylizer.precision})": lambda: stylizer(
            str(args.content), image_size=args.size
        ),
        "fast, on the array, float32 (the SavedModel's signature)": lambda: float32(photo),
        "fast, Keras network in a tf.function, float32": lambda: keras_fn(photo_tensor).numpy(),
    }
    if stylizer.precision != "float32":
        tf_calls[f"fast, on the array, auto ({stylizer.precision})"] = lambda: stylizer(photo)

    def peer_inference(precision: str, compile: bool = False) -> Callable[[str], Timed]:
        def make(memory_format: str) -> Timed:
            net = peer.transform_network(width, memory_format, weights_of=network)  # its pictures are tfstyle's
            run, tensor = peer.PeerStylizer(net, precision, compile), peer.to_tensor(photo, memory_format)
            return lambda: run(tensor)

        return make

    # The training step: the same batch of crops for both sides.
    train = TrainConfig(network_width=width, batch=args.batch, crop_size=args.crop)
    crops = photo_crops(photo, train.batch, train.crop_size)
    style_image = imageio.load_image(str(args.style), "style image")
    trainings = {
        precision: Training(style_image, Photos((str(args.content),)), train, config.override(precision=precision))
        for precision in ("float32", "auto")
    }
    auto_runs = speed.resolve_precision("auto", "/device:CPU:0")
    batch = tf.constant(crops)

    def train_step(training: Training) -> Timed:
        return lambda: {k: float(v) for k, v in training._train_step(batch).items()}

    for name, training in trainings.items():
        tf_calls[f"training step, {name}" + (f" ({auto_runs})" if name == "auto" else "")] = train_step(training)
    weights_file = torch_weights(config.weights, config.layers_in_use())
    peer_style = trainings["float32"].style[0].numpy()

    def peer_training(precision: str, compile: bool = False) -> Callable[[str], Timed]:
        def make(memory_format: str) -> Timed:
            net = peer.transform_network(width, memory_format)
            run = peer.PeerTraining(net, peer_style, config, weights_file, train.step_size, precision, memory_format, compile)
            tensor = peer.to_tensor(crops, memory_format)
            return lambda: run.step(tensor)

        return make

    peer_makers = {
        "peer inference, float32": peer_inference("float32"),
        "peer inference, bfloat16": peer_inference("bfloat16"),
        "peer training step, float32": peer_training("float32"),
        "peer training step, bfloat16": peer_training("bfloat16"),
    }
    if speed.bfloat16_missing():
        peer_makers = {k: v for k, v in peer_makers.items() if not k.endswith("bfloat16")}
    out: dict = {"photo": f"{args.content} at {photo.shape[1]}x{photo.shape[0]}", "network_width": width, "usable cores": peer.usable_cores(),
                 "training batch": f"{train.batch} crops of {train.crop_size} px", "settings": {}, "compile_s": {}}  # fmt: skip

    print("warming up (first calls trace and compile) ...", flush=True)
    for fn in tf_calls.values():
        fn(), fn()
    # The same network: the peer, given tfstyle's weights, makes tfstyle's picture (grey levels apart).
    same = peer.PeerStylizer(peer.transform_network(width, weights_of=network))(peer.to_tensor(photo))
    out["peer picture vs tfstyle's, max grey levels apart"] = float(
        np.max(np.abs(same.permute(0, 2, 3, 1).numpy() - keras_fn(photo_tensor).numpy()))
    )
    peer_calls: dict[str, tuple[int, Timed]] = {}  # name → (threads, the call)
    for name, make in peer_makers.items():
        (chosen, threads), medians = fastest_setting(make, max(1, min(args.train_calls if "training" in name else args.calls, 3)))
        out["settings"][name] = {"chosen": {"memory_format": chosen, "threads": threads}, "medians": medians}
        torch.set_num_threads(threads)
        fn = make(chosen)
        fn()  # warm up
        peer_calls[f"{name} ({chosen}, {threads} thread(s))"] = (threads, fn)
    if args.torch_compile:
        for name, make in (("peer inference, float32", peer_inference("float32", compile=True)),
                           ("peer training step, float32", peer_training("float32", compile=True))):  # fmt: skip
            chosen, threads = out["settings"][name]["chosen"]["memory_format"], out["settings"][name]["chosen"]["threads"]
            torch.set_num_threads(threads)
            compiled = make(chosen)
            out["compile_s"][name] = timed_calls(compiled, 1)[0]
            peer_calls[f"{name} ({chosen}, {threads} thread(s)), torch.compile"] = (threads, compiled)
    features = feature_model_for_run(None, config)
    optimize = lambda: tfstyle.stylize(str(args.content), str(args.style), config, feature_model=features)  # noqa: E731
    optimize()  # the first call builds and traces: timed calls are the second and later
    name_opt = f"optimization, {config.iterations} steps (default preset, {auto_runs})"

    rounds: dict[str, list[list[float]]] = {name: [] for name in [*tf_calls, name_opt, *peer_calls]}
    loads = []
    for index in range(args.rounds):
        print(f"round {index + 1} of {args.rounds} (load {load_average()})", flush=True)
        loads.append(os.getloadavg())
        for name, fn in tf_calls.items():
            rounds[name].append(timed_calls(fn, args.train_calls if name.startswith("training") else args.calls))
        rounds[name_opt].append(timed_calls(optimize, 1))
        for name, (threads, fn) in peer_calls.items():
            torch.set_num_threads(threads)
            rounds[name].append(timed_calls(fn, args.train_calls if "training" in name else args.calls))
    out["rounds"] = rounds
    out["load_per_round"] = loads
    out["median_s"] = {name: float(np.median([s for block in blocks for s in block])) for name, blocks in rounds.items()}
    out["ratios"] = ratios(rounds, name_opt)
    return out


def _round_medians(blocks: list[list[float]]) -> np.ndarray:
    return np.array([np.median(block) for block in blocks])


def ratios(rounds: dict[str, list[list[float]]], optimization: str) -> dict[str, dict]:
    """Each comparison's ratio, the median of the rounds' (``value`` and ``per_round``), and its goal."""

    def find(prefix: str) -> str | None:
        return next((name for name in rounds if name.startswith(prefix) and "torch.compile" not in name), None)

    def ratio(a: str | None, b: str | None, goal: float, better: str, best_of: Sequence[str | None] = ()) -> dict | None:
        if a is None or b is None:
            return None
        denominator = _round_medians(rounds[b])
        for other in best_of:  # the peer at its best: the faster of its variants in each round
            if other is not None:
                denominator = np.minimum(denominator, _round_medians(rounds[other]))
        per_round = _round_medians(rounds[a]) / denominator
        value = float(np.median(per_round))
        met = value >= goal if better == "higher" else value <= goal
        return {"value": value, "per_round": per_round.tolist(), "goal": f"{'≥' if better == 'higher' else '≤'} {goal:g}", "met": met}

    from_file, keras_name = find("fast, from the file"), find("fast, Keras")
    f32, auto = find("fast, on the array, float32"), find("fast, on the array, auto") or find("fast, on the array, float32")
    peer_f32, peer_bf16 = find("peer inference, float32"), find("peer inference, bfloat16")
    compiled = next((n for n in rounds if n.startswith("peer inference") and "torch.compile" in n), None)
    train_f32, train_auto = find("training step, float32"), find("training step, auto")
    peer_train_f32, peer_train_bf16 = find("peer training step, float32"), find("peer training step, bfloat16")
    compiled_train = next((n for n in rounds if n.startswith("peer training") and "torch.compile" in n), None)
    out = {
        "optimization / fast (from the file)": ratio(optimization, from_file, GOALS["speedup"], "higher"),
        "fast float32 / peer float32": ratio(f32, peer_f32, GOALS["inference_vs_peer"], "lower"),
        "fast auto / peer at its best": ratio(auto, peer_f32, GOALS["inference_vs_peer"], "lower", (peer_bf16, compiled)),
        "fast Keras / peer float32": ratio(keras_name, peer_f32, GOALS["inference_vs_peer"], "lower"),
        "training float32 / peer float32": ratio(train_f32, peer_train_f32, GOALS["training_vs_peer"], "lower"),
        "training auto / peer at its best": ratio(
            train_auto, peer_train_f32, GOALS["training_vs_peer"], "lower", (peer_train_bf16, compiled_train)
        ),
    }
    return {name: value for name, value in out.items() if value is not None}


def speed_markdown(out: dict) -> str:
    s = out["speed"]
    lines = [
        f"# The fast stylizer's speed: {out['machine']['CPU']}",
        "",
        f"`{out['command']}` at {out['when']}; {s['photo']}; network width {s['network_width']}; "
        f"training: {s['training batch']}; {s['usable cores']} usable cores. Model: `{out['model']}`.",
        f"Load average (1, 5, 15 min) before: {out['load_before']}, after: {out['load_after']} (the machine may be shared).",
        "",
        "| what | median of warm calls |",
        "| --- | --- |",
        *[f"| {name} | {_seconds(value)} |" for name, value in s["median_s"].items()],
        "",
        "| ratio (median of the rounds') | value | goal | met |",
        "| --- | --- | --- | --- |",
        *[
            f"| {name} | {r['value']:.3g}× (rounds: {', '.join(f'{v:.3g}' for v in r['per_round'])}) | {r['goal']} | "
            f"{'yes' if r['met'] else '**no**'} |"
            for name, r in s["ratios"].items()
        ],
        "",
        f"Stretch goal, the fast picture from the file in under {GOALS['stretch_s']} s: "
        f"{_seconds(next((v for k, v in s['median_s'].items() if k.startswith('fast, from the file')), float('nan')))}.",
        "",
        "The peer's memory formats and threads, median of warm calls (the fastest taken): "
        + "; ".join(f"{n}: {', '.join(f'{k} {_seconds(v)}' for k, v in f['medians'].items())}" for n, f in s["settings"].items()),
    ]
    if s["compile_s"]:
        lines.append("torch.compile's first call (compiling): " + "; ".join(f"{n} {_seconds(v)}" for n, v in s["compile_s"].items()))
    lines += ["", "Machine: " + "; ".join(f"{k}: {v}" for k, v in out["machine"].items()), ""]
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


# --- Quality --------------------------------------------------------------------------------------


def cached_optimization(photo: Path, style: Path, config: StyleConfig, features: keras.Model, cache: Path) -> np.ndarray:
    """The ``config`` optimization of ``photo`` in ``style``'s manner, from ``cache`` when it holds it
    (keyed by both files' bytes and the settings), else run and stored there."""
    key = hashlib.sha256()
    for path in (photo, style):
        key.update(hashlib.sha256(path.read_bytes()).digest())
    key.update(json.dumps(config.to_dict(), sort_keys=True).encode())
    key.update(os.environ.get("TFSTYLE_VGG16_WEIGHTS", "").encode())
    path = cache / f"{photo.stem}_{style.stem}_{key.hexdigest()[:16]}.npy"
    if path.exists():
        return np.load(path)
    start = time.perf_counter()
    image = tfstyle.stylize(str(photo), str(style), config, feature_model=features).image
    print(f"  optimized {photo.name} in {time.perf_counter() - start:.1f} s (cached in {path})", flush=True)
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.npy")
    np.save(partial, image)
    os.replace(partial, path)
    return image


class _Refinement(tfstyle.Callback):
    """Reads the yardstick after every step; stops once both distances are at most ``target``'s."""

    def __init__(self, yardstick: Yardstick, target: tuple[float, float], start: tuple[float, float]):
        self.yardstick, self.target = yardstick, target
        self.curve: list[tuple[int, float, float]] = []
        self.reached: int | None = None
        # Each distance's own first step at or below the target (0: the start already is).
        self.first: dict[str, int | None] = {name: 0 if d <= t else None for name, d, t in zip(("style", "content"), start, target)}
        self.image: np.ndarray | None = None

    def on_step(self, step: tfstyle.Step) -> bool:
        image = step.image.numpy()[0]
        d_style, d_content = self.yardstick.distances(image)
        self.curve.append((step.iteration, d_style, d_content))
        self.image = image
        for name, distance, target in (("style", d_style, self.target[0]), ("content", d_content, self.target[1])):
            if distance <= target and self.first[name] is None:
                self.first[name] = step.iteration
        if d_style <= self.target[0] and d_content <= self.target[1]:
            self.reached = step.iteration
        return self.reached is not None


def refine(
    photo: Path, style: Path, config: StyleConfig, features: keras.Model, fast: np.ndarray, yardstick: Yardstick,
    target: tuple[float, float], start: tuple[float, float], most: int,
) -> _Refinement:
    """Adam steps of ``config``'s objective from ``fast`` (whose distances are ``start``) until the
    yardstick reaches ``target`` (at most ``most``)."""
    watch = _Refinement(yardstick, target, start)
    tfstyle.stylize(str(photo), str(style), config.override(iterations=most), feature_model=features, start_image=fast, callbacks=[watch])
    return watch


def quality_run(args: argparse.Namespace, config: StyleConfig, model: Path, photos: list[Path]) -> dict:
    """The yardstick of the fast result and the optimization on each photo, and the refinement (module docstring)."""
    stylizer = FastStylizer.load(model)
    features = feature_model_for_run(None, config)
    credits = photo_credits(photos)
    rows = {}
    for photo in photos:
        print(f"{photo.name} ...", flush=True)
        content, style_image = prepare_images(str(photo), str(args.style), config)
        assert isinstance(style_image, np.ndarray)  # one style
        yardstick = Yardstick(content, style_image, config.weights, NEUTRAL)
        optimized = cached_optimization(photo, Path(args.style), config, features, Path(args.cache))
        start = time.perf_counter()
        fast = stylizer(content)  # the prepared photo: the pixels `tfstyle.run --model --image_size` makes
        fast_s = time.perf_counter() - start
        (opt_style, opt_content), (fast_style, fast_content) = yardstick.batch_distances([optimized, fast])
        objective = make_loss_fn(features, content, style_image, config)  # the default preset's own loss, as trained on
        opt_total, fast_total = (float(tf.reduce_sum(objective(image[None])["total"])) for image in (optimized, fast))
        target = (opt_style, opt_content)
        if fast_style <= opt_style and fast_content <= opt_content:
            steps: int | None = 0
            first: dict[str, int | None] = {"style": 0, "content": 0}
            refined, curve = fast, []
        else:
            start_distances = (fast_style, fast_content)
            watch = refine(photo, Path(args.style), config, features, fast, yardstick, target, start_distances, args.refine_most)
            steps, refined, curve, first = watch.reached, watch.image if watch.image is not None else fast, watch.curve, watch.first
        rows[photo.name] = {
            "size": f"{content.shape[1]}x{content.shape[0]}",
            "credit": credits.get(photo.name, ""),
            "optimization": {"style": opt_style, "content": opt_content},
            "fast": {"style": fast_style, "content": fast_content, "seconds": fast_s},
            "fast / optimization": {"style": fast_style / opt_style, "content": fast_content / opt_content,
                                    "objective": fast_total / opt_total},
            "refinement steps": steps,
            "refinement steps, each distance alone": first,
            "refinement curve (step, style, content)": curve,
        }
        print(
            f"  style {fast_style:.4f} (optimization {opt_style:.4f}, {fast_style / opt_style:.2f}x), content {fast_content:.4f} "
            f"({opt_content:.4f}, {fast_content / opt_content:.2f}x); refined to the optimization's in "
            f"{steps if steps is not None else f'more than {args.refine_most}'} steps",
            flush=True,
        )
        if args.pictures:
            k = f"{steps} steps" if steps is not None else f"{args.refine_most} steps (not reached)"
            panels = [("photo", content), (f"optimization, {config.iterations} steps", optimized), ("fast", fast), (f"fast + {k}", refined)]
            save_pictures(Path(args.pictures), f"{photo.stem}_{Path(args.style).stem}", panels)
    return rows


def photo_credits(photos: Sequence[Path]) -> dict[str, str]:
    """Each photo's credit (copyright, licence) from a ``SOURCES.tsv`` beside it, where there is one."""
    credits: dict[str, str] = {}
    for sources in {p.parent / "SOURCES.tsv" for p in photos}:
        if sources.exists():
            with sources.open(encoding="utf-8") as handle:
                for row in csv.DictReader(handle, delimiter="\t"):
                    credits[row["file"]] = ", ".join(v for v in (row.get("copyright"), row.get("license")) if v)
    return credits


def save_pictures(folder: Path, stem: str, panels: Sequence[tuple[str, np.ndarray]]) -> None:
    """Each panel as ``stem_<n>_<label>.png``, and all side by side with captions as ``stem.jpg``."""
    folder.mkdir(parents=True, exist_ok=True)
    images = [imageio.to_pil(pixels) for _, pixels in panels]
    for index, ((label, _), image) in enumerate(zip(panels, images)):
        image.save(folder / f"{stem}_{index}_{re.sub(r'[^a-z0-9]+', '_', label.lower()).strip('_')}.png")
    height, width, caption = images[0].height, images[0].width, 28
    sheet = Image.new("RGB", (width * len(images), height + caption), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=18)
    for index, ((label, _), image) in enumerate(zip(panels, images)):
        sheet.paste(image, (index * width, caption))
        draw.text((index * width + 6, 4), label, fill="black", font=font)
    sheet.save(folder / f"{stem}.jpg", quality=90)


def quality_markdown(out: dict) -> str:
    rows = out["quality"]
    lines = [
        f"# The fast stylizer's quality: `{out['model']}`, {Path(out['style']).name}",
        "",
        f"`{out['command']}` at {out['when']}, on {out['machine']['CPU']} ({out['precision']}). The neutral yardstick "
        "(tools/yardstick.py: Gatys et al.'s layers, ↓ for both); the refinement: Adam steps of the default objective "
        f"from the fast result until both distances are at most the {out['iterations']}-step optimization's.",
        "",
        "| photo | size | style: fast / optimization | content: fast / optimization | the default objective: fast / optimization "
        "| refinement steps (style alone, content alone) | credit |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in rows.items():
        ratio = r["fast / optimization"]
        alone = r["refinement steps, each distance alone"]
        steps = ", ".join(str(k) if k is not None else f"> {out['refine_most']}" for k in (r["refinement steps"], alone["style"], alone["content"]))
        steps = steps.replace(", ", " (", 1) + ")"
        lines.append(
            f"| {name} | {r['size']} | {r['fast']['style']:.4f} / {r['optimization']['style']:.4f} = **{ratio['style']:.2f}** | "
            f"{r['fast']['content']:.4f} / {r['optimization']['content']:.4f} = **{ratio['content']:.2f}** | "
            f"{ratio.get('objective', float('nan')):.2f} | {steps} | {r['credit']} |"
        )
    lines += ["", f"Goals: each ratio ≤ {GOALS['quality_ratio']}, refinement ≤ {GOALS['refine_steps']} steps.", ""]
    return "\n".join(lines)


# --- The command line ----------------------------------------------------------------------------


def quick_inputs(folder: Path) -> tuple[Path, Path, list[Path], Path]:
    """Tiny random inputs for ``--quick``: a photo, a painting, two held-out photos and a random-weight model."""
    rng = np.random.default_rng(0)
    paths = []
    for name, shape in (("photo", (48, 64)), ("painting", (64, 64)), ("held_a", (64, 48)), ("held_b", (40, 64))):
        path = folder / f"{name}.png"
        Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    model = export(transform_network(4), folder / "random_model", {"steps": 0}, tflite=False)
    return paths[0], paths[1], paths[2:], model


def record_flags(parser: argparse.ArgumentParser) -> None:
    """``--cache`` (the optimizations judged against) and ``--results``: shared with tools.bench.photo_count."""
    parser.add_argument("--cache", default=None, help=f"the optimizations judged against are cached here (default: {CACHE})")
    parser.add_argument("--results", default=None, help="where the JSON and markdown go (default tools/bench/results; --quick: a temp folder)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench.fast", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(ROOT / "saved_models" / "starry_night"), help="the fast stylizer timed")
    parser.add_argument("--content", default=str(CONTENT), help="the photo timed")
    parser.add_argument("--style", default=str(STYLE), help="the painting (of the model): the optimization's and training's style")
    parser.add_argument("--size", type=int, default=512, help="longest side of the photos")
    parser.add_argument("--rounds", type=int, default=3, help="tfstyle's block and the peer's, this many times")
    parser.add_argument("--calls", type=int, default=10, help="inference calls timed per block")
    parser.add_argument("--train_calls", type=int, default=3, help="training steps timed per block")
    parser.add_argument("--batch", type=int, default=TrainConfig().batch, help="training step: crops per batch")
    parser.add_argument("--crop", type=int, default=TrainConfig().crop_size, help="training step: crop side")
    parser.add_argument("--torch_compile", action="store_true", help="also the peer under torch.compile (compile time apart)")
    parser.add_argument("--quality", default=None, metavar="MODEL", help="measure this model's quality and refinement instead")
    parser.add_argument("--photos", default=None, help="--quality's photos: comma-separated paths (default: the held-out ones)")
    parser.add_argument("--pictures", default=None, metavar="DIR", help="--quality: write the pictures side by side here")
    parser.add_argument("--refine_most", type=int, default=30, help="--quality: at most this many refinement steps")
    record_flags(parser)
    parser.add_argument("--kind", default=None, help="the machine kind in the file names (default: from the CPU's name)")
    parser.add_argument("--quick", action="store_true", help="tiny: random weights and model, 64 px, one round, a few steps")
    args = parser.parse_args(argv)
    config = preset("default")
    tf.get_logger().setLevel("ERROR")
    if args.quick:
        folder = Path(tempfile.mkdtemp(prefix="fast_bench_"))
        args.content, args.style, held, model = quick_inputs(folder)
        args.size, args.rounds, args.calls, args.train_calls, args.batch, args.crop = 64, 1, 1, 1, 2, 32
        args.refine_most, args.cache = 3, args.cache or str(folder / "cache")
        args.results = args.results or str(folder / "results")
        args.model = str(model)
        if args.quality:
            args.quality = str(model)
        args.photos = args.photos or ",".join(map(str, held))
        config = config.override(weights="random", iterations=3)
    config = config.override(image_size=args.size)
    args.cache = args.cache or str(CACHE)
    results = Path(args.results or RESULTS)
    kind = args.kind or machine_kind()
    out: dict = {
        "command": "python -m tools.bench.fast " + " ".join(argv if argv is not None else sys.argv[1:]),
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "load_before": load_average(),
    }
    try:
        if args.quality:
            photos = [Path(p) for p in args.photos.split(",")] if args.photos else [PHOTOS / name for name in HELD_OUT]
            out.update(model=args.quality, style=str(args.style), precision=speed.resolve_precision(config.precision, "/device:CPU:0"),
                       iterations=config.iterations, refine_most=args.refine_most)  # fmt: skip
            out["quality"] = quality_run(args, config, Path(args.quality), photos)
            stem = f"fast_quality_{Path(args.quality).name}_{kind}"
        else:
            out["model"] = args.model
            out["speed"] = speed_run(args, config, Path(args.model))
            stem = f"fast_{kind}"
    except (TfstyleError, FileNotFoundError) as err:
        print(f"tools.bench.fast: error: {err}", file=sys.stderr)
        return 1
    out["load_after"] = load_average()
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{stem}.json").write_text(json.dumps(out, indent=1, default=str) + "\n", encoding="utf-8")
    summary = quality_markdown(out) if args.quality else speed_markdown(out)
    (results / f"{stem}.md").write_text(summary, encoding="utf-8")
    print(summary)
    print(f"written: {results / stem}.json and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
