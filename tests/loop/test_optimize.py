"""The optimization loop on random weights and tiny images: optimizers, inits, callbacks, failures.

Every run sets all the settings it depends on, so tuning the defaults does not change these tests.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from threadpoolctl import threadpool_info

import tfstyle.loop.optimize as optimize
from tfstyle.config import StyleConfig
from tfstyle.errors import ImageError, NonFiniteLossError, StyleInterrupted
from tfstyle.inputs.images import load_image, resize
from tfstyle.inputs.prepare import initial_image, prepare_images
from tfstyle.loop.callbacks import Callback, Step
from tfstyle.loop.optimize import Result, stylize
from tfstyle.objective.whole import make_loss_fn

# Learning rates that move random-weights activations (~1e2) at a sensible pace on 32-pixel images.
LEARNING_RATES = {"sgd": 1e-3, "adam": 4.0, "lbfgs": None}

BASE = StyleConfig(
    content_layers=("conv2_2",),
    style_layers=("conv1_2", "conv2_2", "conv3_3"),
    content_layer_weights=None,
    style_layer_weights=None,
    content_weight=1.0,
    style_weight=1.0,
    tv_weight=0.0,
    normalization="mean",
    init="content",
    optimizer="adam",
    learning_rate=LEARNING_RATES["adam"],
    iterations=5,
    image_size=32,
    seed=0,
    weights="random",
    precision="float32",
)


def config(**changes) -> StyleConfig:
    if "optimizer" in changes and "learning_rate" not in changes:
        changes["learning_rate"] = LEARNING_RATES[changes["optimizer"]]
    return BASE.override(**changes)


def run(content_array, style_array, random_model, callbacks=(), **changes) -> Result:
    return stylize(content_array, style_array, config(**changes), callbacks=callbacks, feature_model=random_model)


def prepared(content_array, style_array, **changes) -> tuple[np.ndarray, np.ndarray]:
    return prepare_images(content_array, style_array, config(**changes))


def _losses_of(model, content, style, image):
    """The losses of ``image`` under BASE, computed outside stylize."""
    loss_fn = make_loss_fn(model, content, style, BASE)
    return {k: v.numpy() for k, v in loss_fn(image[None]).items()}


def assert_pixels_in_range(image: np.ndarray) -> None:
    assert np.all(np.isfinite(image))
    assert image.min() >= 0.0
    assert image.max() <= 255.0


# --- optimizers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "lbfgs"])
def test_each_optimizer_lowers_the_total_loss(content_array, style_array, random_model, optimizer):
    result = run(content_array, style_array, random_model, optimizer=optimizer, iterations=6)
    assert result.iterations == 6
    assert len(result.history["total"]) == 6
    assert result.final_losses["total"] < 0.7 * result.initial_losses["total"]
    # The style term is what moves an image that starts at the content.
    assert result.final_losses["style"] < result.initial_losses["style"]
    assert result.final_losses["content"] > 0.0
    assert_pixels_in_range(result.image)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "lbfgs"])
def test_initial_losses_are_the_start_images(content_array, style_array, random_model, optimizer):
    """SGD and Adam take them from their first step (no extra pass), L-BFGS from a pass of its own."""
    result = run(content_array, style_array, random_model, optimizer=optimizer, iterations=2)
    content, style = prepared(content_array, style_array)
    expected = _losses_of(random_model, content, style, content)  # init "content": the start is the content
    for name, value in result.initial_losses.items():
        assert value == pytest.approx(float(expected[name][0]), rel=1e-5, abs=1e-3), name
    if optimizer != "lbfgs":  # the first iteration's losses are the start image's
        assert result.history["total"][0] == result.initial_losses["total"]


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "lbfgs"])
def test_a_start_image_whose_loss_is_already_non_finite_says_so(content_array, style_array, random_model, optimizer):
    # b = 1e38: the style loss of the content image overflows float32 before any step is taken.
    with pytest.raises(NonFiniteLossError, match="loss of the starting image is already inf") as error:
        run(content_array, style_array, random_model, optimizer=optimizer, style_weight=1e38)
    assert error.value.result.iterations == 0
    assert error.value.result.initial_losses["total"] == np.inf


def test_lbfgs_runs_its_blas_on_one_thread_and_gives_the_threads_back(content_array, style_array, random_model):
    """OpenBLAS's threads, spinning after L-BFGS-B's BLAS calls, slowed TensorFlow's evaluations
    (tools/bench/results/run_g.md)."""

    def blas_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    before, during = blas_threads(), []
    run(content_array, style_array, random_model, callbacks=[lambda step: during.append(blas_threads())], optimizer="lbfgs", iterations=2)
    assert during == [{1}, {1}]
    assert blas_threads() == before


def test_paper_normalization_with_sgd_lowers_the_total_loss(content_array, style_array, random_model):
    # The plain sums are ~1e16 here: gradient descent needs a tiny step.
    result = run(content_array, style_array, random_model, normalization="paper", optimizer="sgd", learning_rate=1e-11)
    assert result.final_losses["total"] < 0.8 * result.initial_losses["total"]
    assert np.all(np.diff(result.history["total"]) < 0)


def test_result_describes_the_run(content_array, style_array, random_model):
    cfg = config(iterations=2)
    result = stylize(content_array, style_array, cfg, feature_model=random_model)
    assert result.image.dtype == np.float32
    assert result.image.shape == (24, 32, 3)  # 48x64 content, longer side scaled to image_size 32
    assert result.config is cfg
    assert result.iterations == 2
    assert result.seconds > 0
    assert "CPU" in result.device or "GPU" in result.device
    keys = {"total", "content", "style", "tv", "content/block2_conv2"} | {
        f"style/{name}" for name in ("block1_conv2", "block2_conv2", "block3_conv3")
    }
    assert set(result.initial_losses) == set(result.final_losses) == keys
    assert set(result.history) == keys | {"seconds"}
    assert all(len(values) == 2 for values in result.history.values())


@pytest.mark.parametrize("optimizer, learning_rate", [("sgd", 1.0), ("adam", 100.0), ("lbfgs", None)])
def test_pixels_stay_in_0_255_even_with_huge_steps(content_array, style_array, random_model, optimizer, learning_rate):
    images = []
    result = run(
        content_array,
        style_array,
        random_model,
        callbacks=[lambda step: images.append(step.image.numpy())],
        optimizer=optimizer,
        learning_rate=learning_rate,
        style_weight=1e3,
        iterations=3,
    )
    assert_pixels_in_range(result.image)
    for image in images:
        assert_pixels_in_range(image)
    # The steps are big enough to push pixels onto the bounds (the scaled content has none there).
    at_bounds = (result.image == 0.0) | (result.image == 255.0)
    assert at_bounds.mean() > 0.01


# --- inits -----------------------------------------------------------------------------------------


def test_content_init_starts_exactly_at_the_content_image(content_array, style_array, random_model):
    content, style = prepared(content_array, style_array)
    start = initial_image("content", content, style)
    np.testing.assert_array_equal(start, content)
    assert start is not content  # a copy: the optimization must not write into the content image
    result = run(content_array, style_array, random_model, init="content", iterations=1)
    assert result.initial_losses["content"] == 0.0
    assert result.history["content"][0] == 0.0  # SGD/Adam record the loss of the image they step from


def test_noise_init_is_seeded_uniform_noise(content_array, style_array):
    content, style = prepared(content_array, style_array)
    first = initial_image("noise", content, style, seed=3)
    again = initial_image("noise", content, style, seed=3)
    other = initial_image("noise", content, style, seed=4)
    assert first.shape == content.shape
    assert first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert 0.0 <= first.min() < 10.0 and 245.0 < first.max() <= 255.0
    assert abs(first.mean() - 127.5) < 5


@pytest.mark.slow
def test_noise_init_runs_are_reproducible_and_start_from_the_seeded_noise(content_array, style_array, random_model):
    first = run(content_array, style_array, random_model, init="noise", seed=1, iterations=2)
    again = run(content_array, style_array, random_model, init="noise", seed=1, iterations=2)
    np.testing.assert_array_equal(first.image, again.image)
    assert first.initial_losses == again.initial_losses
    assert first.initial_losses["content"] > 0.0
    # The seed's noise, not the content, is where it starts.
    content, style = prepared(content_array, style_array)
    start = initial_image("noise", content, style, seed=1)
    assert first.initial_losses == pytest.approx(
        {k: float(np.mean(v)) for k, v in _losses_of(random_model, content, style, start).items()}, rel=1e-5
    )


def test_style_init_is_the_style_image_at_the_content_size(content_array, style_array):
    content, style = prepared(content_array, style_array)
    start = initial_image("style", content, style)
    assert start.shape == content.shape
    np.testing.assert_allclose(start, resize(style, content.shape[:2]))
    assert np.abs(start - content).mean() > 20


def test_image_path_init_is_that_image_at_the_content_size(content_array, style_array, tmp_path):
    content, style = prepared(content_array, style_array)
    path = tmp_path / "start.png"
    picture = np.zeros((10, 20, 3), np.uint8)
    picture[:, 10:] = 200
    Image.fromarray(picture).save(path)
    start = initial_image(str(path), content, style)
    assert start.shape == content.shape
    np.testing.assert_allclose(start, resize(load_image(path), content.shape[:2]))


def test_image_path_init_is_used_by_stylize(content_array, style_array, random_model, content_path):
    # Starting from the content image's own file gives the same pixels as the content: CL = 0.
    from_file = run(content_array, style_array, random_model, init=str(content_path), iterations=1)
    assert from_file.initial_losses["content"] == 0.0
    assert from_file.initial_losses["style"] > 0.0


def test_missing_init_image_is_an_image_error_listing_the_choices(content_array, style_array, tmp_path):
    content, style = prepared(content_array, style_array)
    with pytest.raises(ImageError, match="content, noise, style, model or an image path"):
        initial_image(str(tmp_path / "missing.png"), content, style)


# --- layers in use ---------------------------------------------------------------------------------


def test_zero_weight_layers_are_not_computed(content_array, style_array, random_model):
    result = run(
        content_array,
        style_array,
        random_model,
        content_layers=("conv2_2", "conv3_3"),
        content_layer_weights=(1.0, 0.0),
        style_layers=("conv1_2", "conv3_3", "conv5_3"),
        style_layer_weights=(1.0, 0.0, 0.0),
        iterations=1,
    )
    layer_keys = {key for key in result.history if "/" in key}
    assert layer_keys == {"content/block2_conv2", "style/block1_conv2"}


def test_a_zero_content_weight_computes_no_content_layer(content_array, style_array, random_model):
    result = run(content_array, style_array, random_model, content_weight=0.0, iterations=1)
    assert not [key for key in result.history if key.startswith("content/")]
    assert result.final_losses["content"] == 0.0


def test_stylize_builds_a_feature_model_of_only_the_layers_in_use(content_array, style_array, monkeypatch):
    built = []

    def recording_build(config):
        model = real_build(config)
        built.append(model)
        return model

    real_build = optimize.feature_model_for
    monkeypatch.setattr(optimize, "feature_model_for", recording_build)
    cfg = config(
        content_layers=("conv1_1", "conv4_2"),
        content_layer_weights=(1.0, 0.0),
        style_layers=("conv1_2", "conv5_1"),
        style_layer_weights=(1.0, 0.0),
        iterations=1,
    )
    stylize(content_array, style_array, cfg)
    (model,) = built
    assert set(model.output) == {"block1_conv1", "block1_conv2"}
    assert [layer.name for layer in model.layers][-1] == "block1_conv2"  # nothing deeper is run


def test_a_given_feature_model_is_used_instead_of_building_one(content_array, style_array, random_model, monkeypatch):
    def no_build(*args, **kwargs):
        raise AssertionError("stylize built a model although one was given")

    monkeypatch.setattr(optimize, "feature_model_for", no_build)
    result = run(content_array, style_array, random_model, iterations=1)
    assert result.iterations == 1


# --- callbacks -------------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_callbacks_are_called_every_iteration(content_array, style_array, random_model, optimizer):
    steps: list[Step] = []
    result = run(content_array, style_array, random_model, callbacks=[steps.append], optimizer=optimizer, iterations=4)
    assert [step.iteration for step in steps] == [1, 2, 3, 4]
    assert all(step.iterations == 4 for step in steps)
    assert [step.losses["total"] for step in steps] == list(result.history["total"])
    assert tuple(steps[-1].image.shape) == (1, *result.image.shape)
    np.testing.assert_array_equal(steps[-1].image.numpy()[0], result.image)
    seconds = [step.seconds for step in steps]
    assert seconds == sorted(seconds) and seconds[0] > 0


@pytest.mark.parametrize("optimizer", ["sgd", "lbfgs"])
def test_a_callback_returning_true_stops_the_run(content_array, style_array, random_model, optimizer):
    steps: list[Step] = []

    def stop_at_two(step: Step) -> bool:
        steps.append(step)
        return step.iteration == 2

    result = run(content_array, style_array, random_model, callbacks=[stop_at_two], optimizer=optimizer, iterations=10)
    assert result.iterations == 2
    assert [step.iteration for step in steps] == [1, 2]
    assert len(result.history["total"]) == 2
    np.testing.assert_array_equal(steps[-1].image.numpy()[0], result.image)


def test_callback_objects_get_start_and_end(content_array, style_array, random_model):
    class Watcher(Callback):
        def __init__(self):
            self.events = []

        def on_start(self, iterations):
            self.events.append(("start", iterations))

        def on_step(self, step):
            self.events.append(("step", step.iteration))

        def on_end(self, step):
            self.events.append(("end", step.iteration))

    watcher = Watcher()
    run(content_array, style_array, random_model, callbacks=[watcher], iterations=2)
    assert watcher.events == [("start", 2), ("step", 1), ("step", 2), ("end", 2)]


# --- failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "lbfgs"])
def test_a_non_finite_loss_raises_with_the_last_finite_image(content_array, style_array, random_model, optimizer):
    # a = 1e38: CL = 0 at the content image keeps the first loss finite; any move overflows float32.
    content, _ = prepared(content_array, style_array)
    with pytest.raises(NonFiniteLossError, match="learning_rate") as error:
        run(content_array, style_array, random_model, optimizer=optimizer, content_weight=1e38, iterations=5)
    result = error.value.result
    assert np.all(np.isfinite(result.image))
    assert np.isfinite(result.final_losses["total"])
    np.testing.assert_array_equal(result.image, content)  # the only image with a finite loss
    assert result.iterations < 5


def test_nan_pixels_under_a_finite_loss_stop_the_run_with_the_last_finite_image(
    content_array, style_array, random_model, monkeypatch
):
    """A NaN gradient under a finite loss writes NaN pixels, and VGG16's ReLU and max pooling keep
    the next loss finite. The run must stop, not return NaN pixels."""
    calls = tf.Variable(0)
    exact_gradient = optimize.speed.gradient

    def nan_from_the_third_step(tape, total, image, precision):
        calls.assign_add(1)
        gradient = exact_gradient(tape, total, image, precision)
        return tf.where(calls >= 3, tf.fill(tf.shape(gradient), np.nan), gradient)

    monkeypatch.setattr(optimize.speed, "gradient", nan_from_the_third_step)
    seen: list[np.ndarray] = []
    with pytest.raises(NonFiniteLossError) as error:
        run(content_array, style_array, random_model, callbacks=[lambda step: seen.append(step.image.numpy()[0])])
    result = error.value.result
    assert result.iterations == 2
    assert np.all(np.isfinite(result.history["total"]))
    assert_pixels_in_range(result.image)
    assert len(seen) == 2 and all(np.all(np.isfinite(image)) for image in seen)
    np.testing.assert_array_equal(result.image, seen[-1])  # the last image before the NaN update


def test_adam_takes_the_same_steps_whatever_the_scale_of_the_loss(content_array, style_array, random_model):
    """The paper's plain sums scaled by 1e15 make gradients whose squares overflow float32 (Adam's
    running mean of g²); tfstyle's Adam follows the gradient over its first-step RMS, so the run is
    the unscaled one's."""
    plain = dict(normalization="paper", optimizer="adam", iterations=5)
    small = run(content_array, style_array, random_model, **plain)
    huge = run(content_array, style_array, random_model, content_weight=1e15, style_weight=1e15, **plain)
    assert huge.initial_losses["total"] > 1e30 and np.isfinite(huge.final_losses["total"])
    assert huge.final_losses["total"] < 0.8 * huge.initial_losses["total"]
    moved = np.abs(small.image - prepared(content_array, style_array)[0]).mean()
    apart = np.abs(huge.image - small.image)
    assert moved > 2 and apart.mean() < 1e-3 and apart.max() < 0.5  # grey levels: round-off


def test_non_finite_loss_keeps_the_image_whose_loss_was_last_recorded(content_array, style_array, random_model):
    """A blow-up after some good steps: the result is the image of the last finite (recorded) loss."""
    seen: list[np.ndarray] = []
    with pytest.raises(NonFiniteLossError) as error:
        # Adam's tiny steps keep a·CL finite for a few iterations before it overflows.
        run(
            content_array,
            style_array,
            random_model,
            callbacks=[lambda step: seen.append(step.image.numpy()[0])],
            optimizer="adam",
            learning_rate=1e-3,
            content_weight=1e38,
            iterations=20,
        )
    result = error.value.result
    assert result.iterations >= 2, "the overflow should come after some finite steps"
    assert np.all(np.isfinite(result.history["total"]))
    assert np.all(np.isfinite(result.image))
    # Each step is recorded with the loss of the image it started from, and the callback sees the
    # image after the step: the last finite loss belongs to the image seen one callback earlier.
    assert result.final_losses["total"] == pytest.approx(result.history["total"][-1], rel=1e-5)
    np.testing.assert_array_equal(result.image, seen[-2])


def test_keyboard_interrupt_raises_style_interrupted_with_the_current_image(content_array, style_array, random_model):
    steps: list[Step] = []

    def interrupt_at_three(step: Step) -> None:
        steps.append(step)
        if step.iteration == 3:
            raise KeyboardInterrupt

    with pytest.raises(StyleInterrupted) as error:
        run(content_array, style_array, random_model, callbacks=[interrupt_at_three], iterations=10)
    assert isinstance(error.value, KeyboardInterrupt)
    result = error.value.result
    assert result.iterations == 3
    np.testing.assert_array_equal(result.image, steps[-1].image.numpy()[0])
    assert_pixels_in_range(result.image)


def test_keyboard_interrupt_during_lbfgs_keeps_the_accepted_image(content_array, style_array, random_model):
    steps: list[Step] = []

    def interrupt_at_two(step: Step) -> None:
        steps.append(step)
        if step.iteration == 2:
            raise KeyboardInterrupt

    with pytest.raises(StyleInterrupted) as error:
        run(content_array, style_array, random_model, callbacks=[interrupt_at_two], optimizer="lbfgs", iterations=10)
    np.testing.assert_array_equal(error.value.result.image, steps[-1].image.numpy()[0])


def test_a_content_image_too_small_for_the_deepest_layer_is_an_image_error(content_array, style_array):
    # conv5_3 needs 16 pixels a side; 48x64 scaled to a longer side of 20 is 15x20.
    cfg = config(style_layers=("conv1_2", "conv5_3"), image_size=20)
    with pytest.raises(ImageError) as error:
        stylize(content_array, style_array, cfg)
    message = str(error.value)
    assert "content image" in message and "15" in message
    assert "16 pixels" in message
    assert "block5_conv3" in message


def test_a_style_image_too_small_after_scaling_is_an_image_error(content_array):
    narrow_style = np.full((200, 6, 3), 128, np.uint8)  # scaled to the content's area, still 6 wide
    cfg = config(style_layers=("conv1_2", "conv4_1"), image_size=32)
    with pytest.raises(ImageError, match="style image.*8 pixels"):
        stylize(content_array, narrow_style, cfg)


def test_an_image_of_exactly_the_minimum_size_runs(random_model):
    square = np.random.default_rng(0).uniform(0, 255, (40, 40, 3)).astype(np.float32)
    cfg = config(content_layers=("conv5_3",), style_layers=("conv1_2",), image_size=16, iterations=1)
    result = stylize(square, square, cfg, feature_model=random_model)
    assert result.image.shape == (16, 16, 3)


def test_the_style_image_is_scaled_to_the_content_area(content_array):
    content, style = prepare_images(content_array, np.zeros((300, 100, 3), np.uint8), config(image_size=32))
    assert content.shape == (24, 32, 3)
    assert style.shape[0] / style.shape[1] == pytest.approx(3.0, rel=0.1)
    assert style.shape[0] * style.shape[1] == pytest.approx(24 * 32, rel=0.1)


def test_a_run_ready_feature_model_paints_the_same_pixels_without_being_converted_again(
    content_array, style_array, conversions
):
    from tfstyle.network.features import build_feature_model

    cfg = BASE.override(precision="float32", convolutions="forward")
    plain = stylize(content_array, style_array, cfg, feature_model=build_feature_model(cfg.layers_in_use(), "random", seed=0))
    ready = optimize.feature_model_for_run(None, cfg)
    assert conversions == ["forward", "forward"]  # the plain model's, in its run, and this one
    reused = [stylize(content_array, style_array, cfg, feature_model=ready) for _ in range(2)]
    assert conversions == ["forward", "forward"]  # none more
    for result in reused:  # the same weights in the same form: the same arithmetic
        np.testing.assert_array_equal(result.image, plain.image)


def test_runs_share_a_run_ready_model_exactly_when_what_builds_it_is_the_same():
    config = StyleConfig(weights="random", precision="float32")
    key = optimize.run_model_key
    assert key(config) == key(config.override(iterations=7, learning_rate=3.0, content_weight=2.0))
    for change in ({"precision": "bfloat16"}, {"pooling": "avg"}, {"convolutions": "conv2d"}, {"jit": True},
                   {"device": "/CPU:1"}, {"seed": 1}, {"style_layers": ("block1_conv1",)}):  # fmt: skip
        assert key(config.override(**change)) != key(config), change
    imagenet = config.override(weights="imagenet")
    assert key(imagenet) == key(imagenet.override(seed=1))  # the seed only draws random weights
