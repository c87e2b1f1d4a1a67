"""the bench's quality measures: seconds to the tutorial peer's quality on the neutral
yardstick, tfstyle against the PyTorch peer like for like; and whether reduced precision gives the
same result (the bench's docstring says how each is measured).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import tfstyle
from tfstyle.config import StyleConfig, preset
from tfstyle.inputs.prepare import prepare_images
from tfstyle.loop.optimize import feature_model_for_run, run_model_key
from tfstyle.network import speed
from tfstyle.network.features import build_feature_model, resolve_weights
from tfstyle.objective.whole import make_loss_fn
from tools import SHARED_IMAGES
from tools.bench.peer_tutorial import TutorialPeer
from tools.bench.steps import CONTENT, STYLE, TorchPeer, torch_weights
from tools.yardstick import NEUTRAL, NEUTRAL_MARKDOWN, Yardstick

LossFn = Callable[[tf.Tensor], dict]  # images → {"total": ..., ...}, as make_loss_fn's

# --- Time to quality ----------------------------------------------------------------------------


class Clock:
    """Seconds since it was made, less the time spent in its :meth:`stopped` blocks (where the
    yardstick measures an image): one clock for tfstyle's runs and the peers' alike."""

    def __init__(self) -> None:
        self.start, self.paused = time.perf_counter(), 0.0

    def seconds(self) -> float:
        return time.perf_counter() - self.start - self.paused

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        pause = time.perf_counter()
        try:
            yield
        finally:
            self.paused += time.perf_counter() - pause


class _Measure(tfstyle.Callback):
    """Every ``every`` iterations (and at the end) puts the full-size image on the yardstick, with
    the clock stopped meanwhile; notes when each target (D_s, D_c) is first reached, and stops the
    run at target ``stop_on`` (None: never)."""

    def __init__(self, every: int, yardstick: Yardstick, targets: dict[str, dict], stop_on: str | None = None):
        self.every, self.yardstick, self.targets, self.stop_on = every, yardstick, targets, stop_on
        self.clock = Clock()
        self.curve: list[tuple] = []
        self.reached: dict[str, tuple[int, float]] = {}
        self.image = None

    def on_step(self, step: tfstyle.Step) -> bool:
        seconds = self.clock.seconds()
        with self.clock.stopped():
            self.image = step.image.numpy()[0]
            if self.image.shape == self.yardstick.shape:  # not a coarse pass of coarse-to-fine
                d_style, d_content = self.yardstick.distances(self.image)
                self.curve.append((step.iteration, seconds, d_style, d_content))
                note_reached(self.reached, self.targets, (step.iteration, seconds), d_style, d_content)
        return self.stop_on in self.reached


def note_reached(
    reached: dict[str, tuple[int, float]], targets: dict[str, dict], at: tuple[int, float], d_style: float, d_content: float
) -> None:
    """Notes ``at`` (step, seconds) in ``reached`` for each target (D_s, D_c) first met by ``d_style``
    and ``d_content``, for tfstyle's runs and the PyTorch peer's alike."""
    for name, target in targets.items():
        if name not in reached and d_style <= target["style"] and d_content <= target["content"]:
            reached[name] = at


# The layers of the tutorial itself (VGG19 names there; the same names exist in VGG16).
TUTORIAL_CONTENT_LAYERS = ("block5_conv2",)
TUTORIAL_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")


def peer_quality(
    content: np.ndarray, style: np.ndarray, layers: tuple[Sequence[str], Sequence[str]], weights: str,
    yardstick: Yardstick, steps: int, every: int,
) -> dict:
    """The peer's (D_s, D_c) along ``steps`` steps on ``layers`` (content, style), and its time from
    its first step to step ``steps`` (its extractor and targets are made before the clock starts;
    the yardstick's evaluations are not counted)."""
    peer = TutorialPeer(content, style, list(layers[0]), list(layers[1]), resolve_weights(weights))
    clock, curve = Clock(), []
    for step in range(1, steps + 1):
        peer.step()
        if step % every == 0 or step == steps:
            seconds = clock.seconds()
            with clock.stopped():
                curve.append((step, seconds, *yardstick.distances(peer.image)))
    step, seconds, d_style, d_content = curve[-1]
    return {
        "steps": steps, "seconds": seconds, "style": d_style, "content": d_content, "curve": curve,
        "own_quality_first": own_quality_first(curve), "per_layer": yardstick.per_layer(peer.image),
        "image": peer.image,
    }  # fmt: skip


def own_quality_first(curve: Sequence[tuple], within: float = 0.01) -> tuple[int, float]:
    """(step, seconds) at which a curve of (step, seconds, D_s, D_c) first comes within ``within``
    (1 %) of its own last point in both distances: when the peer had its final quality, rather than
    when its fixed number of steps ended (sampled at the curve's steps)."""
    *_, final_style, final_content = curve[-1]
    first = first_within(curve, final_style, final_content, within)
    assert first is not None  # the last point is within
    return first


def first_within(curve: Sequence[tuple], style: float, content: float, within: float = 0.01) -> tuple[int, float] | None:
    """The first (step, seconds) of a curve of (step, seconds, D_s, D_c) within ``within`` (1 %)
    of the distances (``style``, ``content``) in both, or None."""
    return next(
        ((step, seconds) for step, seconds, s, c in curve if s <= (1 + within) * style and c <= (1 + within) * content),
        None,
    )


def against_torch(runs: dict[str, dict]) -> dict[str, dict]:
    """Like for like, for each PyTorch peer run among ``runs`` (the default objective) and each of
    tfstyle's runs of that objective to its end (``FULL_RUNS``; the others stop at a target): the
    quality both reached (the worse of their final distances, each), and when each first came
    within 1 % of it, on the neutral yardstick. After 50 steps either side's distances move by
    round-off-driven amounts, so neither side's own end is the target."""
    comparison: dict[str, dict] = {}
    for peer_name, peer in runs.items():
        if not peer_name.startswith("PyTorch peer"):
            continue
        comparison[peer_name] = {}
        for name, ours in runs.items():
            if name not in FULL_RUNS:
                continue
            quality = (max(peer["final_style"], ours["final_style"]), max(peer["final_content"], ours["final_content"]))
            comparison[peer_name][name] = {
                "quality": quality,
                "PyTorch first": first_within(peer["curve"], *quality),
                "tfstyle first": first_within(ours["curve"], *quality),
            }
    return comparison


def torch_quality(
    content: np.ndarray, style: np.ndarray, config: StyleConfig, weights_file: str, precision: str,
    yardstick: Yardstick, targets: dict[str, dict], every: int,
) -> dict:
    """The PyTorch peer on ``config``'s objective for its iterations: (D_s, D_c) every ``every``
    steps and when it first reached each target. Its clock starts with its network loaded and its
    imports done, as tfstyle's does: its targets and steps are counted, as tfstyle's are."""
    from tools.bench.peer_torch import feature_network, preload_imports  # only where TorchPeer is: PyTorch is the bench extra

    network = feature_network(weights_file, config)
    preload_imports()  # else the first run's first step would count torch.optim's import of torch._dynamo
    clock, curve, reached = Clock(), [], {}
    peer = TorchPeer(content, style, config, weights_file, precision=precision, network=network)
    for step in range(1, config.iterations + 1):
        peer.step()
        if step % every == 0 or step == config.iterations:
            seconds = clock.seconds()
            with clock.stopped():
                d_style, d_content = yardstick.distances(peer.pixels)
                curve.append((step, seconds, d_style, d_content))
                note_reached(reached, targets, (step, seconds), d_style, d_content)
    return {"precision": precision, "iterations": config.iterations, "seconds": curve[-1][1], "final_style": curve[-1][2],
            "final_content": curve[-1][3], "reached": reached, "curve": curve}  # fmt: skip


def tfstyle_quality(
    content: np.ndarray, style: np.ndarray, config: StyleConfig, model: keras.Model, measure: _Measure
) -> dict:
    """Run ``config`` (the clock starts when ``measure`` was made) until its iterations end or it
    reaches every target; (D_s, D_c) along the way and when each target was reached."""
    result = tfstyle.stylize(content, style, config, callbacks=[measure], feature_model=model)
    if not measure.curve or measure.curve[-1][0] != result.iterations:  # e.g. L-BFGS-B stopped by itself
        seconds = measure.clock.seconds()
        measure.curve.append((result.iterations, seconds, *measure.yardstick.distances(result.image)))
        measure.image = result.image
    return {
        "stopped": result.stopped,
        "iterations": result.iterations,
        "seconds": measure.curve[-1][1],
        "final_style": measure.curve[-1][2],
        "final_content": measure.curve[-1][3],
        "final_losses": result.final_losses,
        "reached": measure.reached,
        "curve": measure.curve,
        "per_layer": measure.yardstick.per_layer(measure.image),
    }

# The tutorial's objective in tfstyle's terms: its layers, a = 1e4, b = 1e-2 with equal style layer
# weights and the same mean-normalized losses; without its TV term (an L1 TV tfstyle does not have).
TUTORIAL_OBJECTIVE = {
    "content_layers": TUTORIAL_CONTENT_LAYERS, "style_layers": TUTORIAL_STYLE_LAYERS,
    "content_weight": 1e4, "style_weight": 1e-2, "tv_weight": 0.0,
}  # fmt: skip
QUALITY_RUNS = {  # name → changes to the default preset at --sizes
    # What a user gets: the whole default command, and the same in float32.
    "default command": {},
    "default, float32": {"precision": "float32"},
    "default, float32 winograd": {"precision": "float32", "convolutions": "winograd"},  # its compiling counted
    # The other optimizers and coarse-to-fine on the default preset's objective.
    "default, sgd": {"optimizer": "sgd", "iterations": 200},
    "default, lbfgs": {"optimizer": "lbfgs", "iterations": 100},
    "default, scales 2": {"scales": 2, "iterations": 100},
    "default, scales 3": {"scales": 3, "iterations": 100},
    # The tutorial's own objective optimized by tfstyle: the peer's loss, tfstyle's machinery.
    "tutorial objective, adam float32": {**TUTORIAL_OBJECTIVE, "precision": "float32", "iterations": 600},
    "tutorial objective, adam bfloat16": {**TUTORIAL_OBJECTIVE, "precision": "bfloat16", "iterations": 800},
    "tutorial objective, lbfgs bfloat16": {**TUTORIAL_OBJECTIVE, "precision": "bfloat16", "optimizer": "lbfgs", "iterations": 600},
    "tutorial objective, adam bfloat16, scales 2": {**TUTORIAL_OBJECTIVE, "precision": "bfloat16", "scales": 2, "iterations": 800},
}
# These run to their end (what the command does); the others stop once they reach STOP_ON's quality.
FULL_RUNS = ("default command", "default, float32", "default, float32 winograd")
STOP_ON = "peer on the tutorial layers"


def quality_at(
    size: int, weights: str, runs: dict[str, dict], peer_steps: int, every: int, peer_layers: Sequence[str],
    save: Path | None = None, peers: dict[str, dict] | None = None, torch_iterations: int | None = None,
    rounds: int = 1,
) -> dict:
    """The peer's quality after ``peer_steps`` steps (on the default preset's layers and/or the
    tutorial's own; taken from ``peers``, an earlier run's results, where given), then each tfstyle
    run's time to reach it, and the PyTorch peer's on the default objective (for its iterations, or
    ``torch_iterations``); ``rounds`` times, tfstyle and PyTorch taking turns to go first."""
    config = preset("default").override(image_size=size, weights=weights)
    content, style = prepare_images(CONTENT, STYLE, config)
    # Feature models, loaded before the clocks start in the form each run computes (as the PyTorch
    # peer's network is loaded in its memory format), one per run_model_key.
    models: dict[tuple, keras.Model] = {}
    yardstick = Yardstick(content, style, weights, NEUTRAL)
    layer_sets = {
        "preset": (config.content_layers, config.style_layers),
        "tutorial": (TUTORIAL_CONTENT_LAYERS, TUTORIAL_STYLE_LAYERS),
    }
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
    results: dict = {"yardstick": NEUTRAL_MARKDOWN}
    for name in peer_layers:
        if peers and f"peer on the {name} layers" in peers:
            peer = {**peers[f"peer on the {name} layers"], "reused": True}
            peer.setdefault("own_quality_first", own_quality_first(peer["curve"]))
            results[f"peer on the {name} layers"] = peer
            continue
        peer = peer_quality(content, style, layer_sets[name], weights, yardstick, peer_steps, every * 10)
        if save is not None:
            tfstyle.save_image(peer.pop("image"), save / f"peer_{name}_layers_{size}px_{peer_steps}_steps.png")
        peer.pop("image", None)
        results[f"peer on the {name} layers"] = peer
        first = peer["own_quality_first"]
        print(
            f"{size} px peer on the {name} layers: {peer_steps} steps in {peer['seconds']:.1f} s, "
            f"D_s {peer['style']:.4g}, D_c {peer['content']:.4g} (first reached at step {first[0]}, {first[1]:.1f} s)",
            flush=True,
        )
    targets = {key: value for key, value in results.items() if key.startswith("peer on")}

    def ours() -> dict[str, dict]:
        done = {}
        for name, changes in runs.items():
            stop_on = STOP_ON if name not in FULL_RUNS and STOP_ON in targets else None
            run_config = config.override(**changes)
            key = run_model_key(run_config)
            if key not in models:
                models[key] = feature_model_for_run(None, run_config)
            measure = _Measure(every, yardstick, targets, stop_on)
            run = tfstyle_quality(content, style, run_config, models[key], measure)
            if save is not None:
                tfstyle.save_image(measure.image, save / f"tfstyle_{name.replace(' ', '_')}_{size}px.png")
            done[name] = run
            print(
                f"{size} px {name}: {run['iterations']} iterations in {run['seconds']:.1f} s, "
                f"final D_s {run['final_style']:.4g}, D_c {run['final_content']:.4g}",
                flush=True,
            )
            _print_verdicts(run["reached"], targets)
        return done

    def theirs() -> dict[str, dict]:
        done: dict[str, dict] = {}
        if TorchPeer is None:
            return done
        weights_file = torch_weights(weights, config.layers_in_use())
        torch_config = config.override(iterations=torch_iterations or config.iterations)
        for precision in ("float32", "bfloat16") if speed.cpu_has_bf16() else ("float32",):
            run = torch_quality(content, style, torch_config, weights_file, precision, yardstick, targets, every)
            done[f"PyTorch peer, default objective, {precision}"] = run
            print(
                f"{size} px PyTorch peer, default objective, {precision}: {run['iterations']} steps in {run['seconds']:.1f} s, "
                f"final D_s {run['final_style']:.4g}, D_c {run['final_content']:.4g}",
                flush=True,
            )
            _print_verdicts(run["reached"], targets)
        return done

    # Round after round, tfstyle and PyTorch take turns going first, so a host that drifts over
    # minutes favours neither side; the first round's are "runs", the later ones "later rounds".
    for index in range(rounds):
        sides = (ours, theirs) if index % 2 == 0 else (theirs, ours)
        done = {**sides[0](), **sides[1]()}
        if TorchPeer is not None:
            one_round = {"runs": done, "against PyTorch": against_torch(done)}
            _print_against_torch(size, one_round["against PyTorch"])
        else:
            one_round = {"runs": done}
        if index == 0:
            results.update(one_round)
        else:
            results.setdefault("later rounds", []).append(one_round)
    if rounds > 1 and TorchPeer is not None:
        results["ratios"] = round_ratios([results, *results["later rounds"]])
        for peer_name, ratios in results["ratios"].items():
            for name, each in ratios.items():
                listed = ", ".join(f"{ratio:.2f}" for ratio in each)
                print(f"{size} px {name} against the {peer_name}, {rounds} rounds: {listed}; median {np.median(each):.2f}x")
    return results


def round_ratios(rounds: Sequence[dict]) -> dict[str, dict[str, list[float]]]:
    """tfstyle's time over PyTorch's to the quality both reached, per peer and run, one per round."""
    ratios: dict[str, dict[str, list[float]]] = {}
    for done in rounds:
        for peer_name, pairs in done["against PyTorch"].items():
            for name, pair in pairs.items():
                ratios.setdefault(peer_name, {}).setdefault(name, []).append(pair_ratio(pair))
    return ratios


def pair_ratio(pair: dict) -> float:
    """Like for like: tfstyle's seconds to the quality both reached over PyTorch's."""
    return pair["tfstyle first"][1] / pair["PyTorch first"][1]


def _print_against_torch(size: int, comparison: dict[str, dict]) -> None:
    for peer_name, pairs in comparison.items():
        for name, pair in pairs.items():
            (peer_step, peer_s), (step, seconds) = pair["PyTorch first"], pair["tfstyle first"]
            print(
                f"{size} px {name} against the {peer_name}: the quality both reach (D_s {pair['quality'][0]:.4g}, "
                f"D_c {pair['quality'][1]:.4g}) within 1 % in {seconds:.1f} s (iteration {step}) against {peer_s:.1f} s "
                f"(step {peer_step}): {pair_ratio(pair):.2f}x",
                flush=True,
            )


def _print_verdicts(reached: dict[str, tuple[int, float]], targets: dict[str, dict]) -> None:
    """When a run reached each peer's quality, and how much sooner than the peer first had it."""
    for key, target in targets.items():
        when = reached.get(key)
        peer_seconds = target["own_quality_first"][1]
        verdict = (
            f"reached in {when[1]:.1f} s (iteration {when[0]}), {peer_seconds / when[1]:.1f}x sooner than the peer "
            f"first had it ({peer_seconds:.1f} s)"
            if when
            else "not reached"
        )
        print(f"    quality of the {key}: {verdict}", flush=True)


# --- Reduced precision: the same result? ---------------------------------------------------------


PAIRS = (("tubingen.jpg", "starry_night.jpg"), ("golden_gate.jpg", "the_scream.jpg"))
PRECISION_RUNS = {  # name → changes to the default preset; float32 is the reference
    "float32": {"precision": "float32", "jit": False},
    "bfloat16": {"precision": "bfloat16", "jit": False},
    "float32+xla": {"precision": "float32", "jit": True},  # the same arithmetic, other round-off
}


def precision_check(
    size: int, weights: str, save: Path | None = None, iterations: int | None = None, pairs: Sequence[tuple[str, str]] = PAIRS
) -> dict:
    """The default preset on each of ``pairs`` in float32, bfloat16 and float32 with XLA from the same start.

    Every final image is evaluated by the float32 objective, so the losses compare; the float32
    run is the reference for the relative differences and the mean |Δ pixel|. float32 with XLA
    does the same arithmetic in another order: how far round-off alone moves a run.
    """
    results = {}
    base = preset("default").override(image_size=size, weights=weights)
    base = base.override(iterations=iterations or base.iterations)
    model = build_feature_model(base.layers_in_use(), weights)
    reduced_model = speed.with_precision(model, "bfloat16")  # the one stylize builds, for the gradients
    for content_name, style_name in pairs:
        pair = f"{Path(content_name).stem} × {Path(style_name).stem}"
        content, style = prepare_images(SHARED_IMAGES / "content" / content_name, SHARED_IMAGES / "style" / style_name, base)
        evaluate = make_loss_fn(model, content, style, base.override(precision="float32"))
        runs, images = {}, {}
        for name, changes in PRECISION_RUNS.items():
            result = tfstyle.stylize(content, style, base.override(**changes), feature_model=model)
            losses = {k: float(v[0]) for k, v in evaluate(result.image[None]).items() if "/" not in k}
            images[name] = result.image
            runs[name] = {"seconds": result.seconds, "iterations": result.iterations, "float32_losses": losses}
        reduced = make_loss_fn(reduced_model, content, style, base.override(precision="bfloat16"))
        gradient_error = {
            where: relative_gradient_error(reduced, evaluate, image)
            for where, image in (("photo", content), ("float32 result", images["float32"]))
        }
        print(
            f"{size} px {pair}: bfloat16's image gradient is "
            + ", ".join(f"{100 * error:.1f} % off float32's at the {where}" for where, error in gradient_error.items()),
            flush=True,
        )
        reference = runs["float32"]["float32_losses"]
        for name, run in runs.items():
            run["relative_difference"] = {k: run["float32_losses"][k] / reference[k] - 1 for k in ("total", "content", "style")}
            run["mean_abs_pixel_difference"] = float(np.mean(np.abs(images[name] - images["float32"])))
            run["mean_abs_pixel_change"] = float(np.mean(np.abs(images[name] - content)))
            print(
                f"{size} px {pair} {name:12}: {run['seconds']:6.1f} s, float32-evaluated total "
                f"{run['float32_losses']['total']:.4g} ({100 * run['relative_difference']['total']:+.1f} %), content "
                f"{100 * run['relative_difference']['content']:+.1f} %, style {100 * run['relative_difference']['style']:+.1f} %, "
                f"|Δ pixel| to float32 {run['mean_abs_pixel_difference']:.2f} (moved {run['mean_abs_pixel_change']:.1f} from the photo)",
                flush=True,
            )
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            side_by_side = np.concatenate([images["float32"], images["bfloat16"]], axis=1)
            tfstyle.save_image(side_by_side, save / f"precision_{Path(content_name).stem}_{size}px.jpg")
        results[pair] = {**runs, "bfloat16_gradient_error": gradient_error}
    return results


def relative_gradient_error(approximate_loss: LossFn, exact_loss: LossFn, image: np.ndarray) -> float:
    """||g̃ - g|| / ||g|| for the gradients of the two objectives' totals at ``image``."""

    def gradient(loss_fn: LossFn) -> np.ndarray:
        pixels = tf.constant(image[None], tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(pixels)
            total = tf.reduce_sum(loss_fn(pixels)["total"])
        return tape.gradient(total, pixels).numpy()

    exact = gradient(exact_loss)
    return float(np.linalg.norm(gradient(approximate_loss) - exact) / np.linalg.norm(exact))
