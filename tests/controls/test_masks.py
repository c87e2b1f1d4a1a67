"""The creative controls: several styles and their blend, style scale, colour preservation, masks,
average pooling and the noise blend. Each one is measured moving the output the way it should.

Random VGG16 weights and 24-64 pixel images unless a test says otherwise; every run sets all the
settings it depends on.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import synthetic_image
from PIL import Image

import tfstyle.loop.optimize as optimize
from tfstyle.config import StyleConfig
from tfstyle.controls import color, masks
from tfstyle.errors import ConfigError, ImageError
from tfstyle.inputs.prepare import initial_image, prepare_images
from tfstyle.loop.callbacks import Callback
from tfstyle.loop.optimize import stylize
from tfstyle.network.features import build_feature_model
from tfstyle.objective.losses import content_loss, gram_matrix, masked_gram_matrix
from tfstyle.objective.whole import make_loss_fn

BASE = StyleConfig(
    content_layers=("conv2_2",),
    style_layers=("conv1_2", "conv2_2"),
    content_layer_weights=None,
    style_layer_weights=None,
    content_weight=1.0,
    style_weight=1.0,
    normalization="mean",
    init="content",
    optimizer="adam",
    learning_rate=4.0,
    iterations=8,
    image_size=48,
    seed=0,
    weights="random",
    precision="float32",
)
LAYER = "block1_conv2"  # full resolution: masks need no resizing to compare with it
H, W = 36, 48  # the content images below at image_size 48


@pytest.fixture(scope="module")
def model():
    return build_feature_model(("conv1_2", "conv2_2", "conv3_3"), weights="random", seed=0)


@pytest.fixture(scope="module")
def content() -> np.ndarray:
    return synthetic_image(48, 64, seed=1).astype(np.float32)


@pytest.fixture(scope="module")
def style_a() -> np.ndarray:
    return synthetic_image(64, 48, seed=2).astype(np.float32)


@pytest.fixture(scope="module")
def style_b() -> np.ndarray:
    """Another painting, in blues, with finer structure."""
    image = synthetic_image(96, 96, seed=5).astype(np.float32)
    return image * np.array([0.3, 0.5, 1.0], np.float32)


def run(content, style, model, **changes):
    options = {k: changes.pop(k) for k in ("content_mask", "style_masks") if k in changes}
    return stylize(content, style, BASE.override(**changes), feature_model=model, **options)


def features(model, image: np.ndarray, layer: str = LAYER) -> tf.Tensor:
    return model(tf.constant(np.asarray(image, np.float32)[None]))[layer]


def gram_distance(a: tf.Tensor, b: tf.Tensor) -> float:
    """‖a − b‖ / ‖b‖ of two Gram matrices."""
    return float(tf.norm(a - b) / tf.norm(b))


def half_masks(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """White on the left half (255), and its inverse."""
    left = np.zeros((height, width), np.float32)
    left[:, : width // 2] = 255.0
    return left, 255.0 - left


# --- several styles ----------------------------------------------------------------------------------


def test_blend_weights_one_zero_equal_the_single_style(content, style_a, style_b, model):
    alone_a = run(content, style_a, model).image
    alone_b = run(content, style_b, model).image
    assert np.array_equal(run(content, [style_a, style_b], model, style_blend_weights=(1, 0)).image, alone_a)
    assert np.array_equal(run(content, [style_a, style_b], model, style_blend_weights=(0, 1)).image, alone_b)
    assert np.array_equal(run(content, [style_a], model).image, alone_a)  # a list of one is one style


def test_blend_target_is_the_weighted_sum_of_the_styles_grams(content, style_a, style_b, model):
    cfg = BASE.override(style_blend_weights=(7, 3))
    assert cfg.style_blend_weights == pytest.approx((0.7, 0.3))
    content_image, (a, b) = prepare_images(content, [style_a, style_b], cfg)
    loss_fn = make_loss_fn(model, content_image, [a, b], cfg)
    image = tf.constant(content_image[None])
    target = 0.7 * gram_matrix(features(model, a)) + 0.3 * gram_matrix(features(model, b))
    expected = tf.reduce_mean(tf.square(gram_matrix(features(model, content_image)) - target))
    assert float(loss_fn(image)[f"style/{LAYER}"][0]) == pytest.approx(float(expected), rel=1e-5)


def test_blend_weights_move_the_output_toward_the_heavier_style(content, style_a, style_b, model):
    grams = {}
    for weights in ((0.9, 0.1), (0.1, 0.9)):
        out = run(content, [style_a, style_b], model, style_blend_weights=weights, iterations=15).image
        grams[weights] = gram_matrix(features(model, out))
    content_image, (a, b) = prepare_images(content, [style_a, style_b], BASE)
    gram_a, gram_b = gram_matrix(features(model, a)), gram_matrix(features(model, b))
    assert gram_distance(grams[0.9, 0.1], gram_a) < gram_distance(grams[0.1, 0.9], gram_a)
    assert gram_distance(grams[0.1, 0.9], gram_b) < gram_distance(grams[0.9, 0.1], gram_b)


def test_blend_weights_must_match_the_styles(content, style_a, style_b, model):
    with pytest.raises(ConfigError, match="3 style blend weights given for 2 style"):
        run(content, [style_a, style_b], model, style_blend_weights=(1, 1, 1))
    with pytest.raises(ConfigError, match="positive sum"):
        BASE.override(style_blend_weights=(0, 0))
    with pytest.raises(ConfigError, match="at least 0"):
        BASE.override(style_blend_weights=(1, -1))
    with pytest.raises(ImageError, match="empty"):
        run(content, [], model)


# --- style scale ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_style_scale_scales_the_style_images_pixel_count(content, style_a, scale):
    content_image, style_image = prepare_images(content, style_a, BASE.override(style_scale=scale))
    ratio = style_image.shape[0] * style_image.shape[1] / (content_image.shape[0] * content_image.shape[1])
    assert ratio == pytest.approx(scale**2, rel=0.05)


def test_style_scale_too_small_says_so(content, style_a):
    with pytest.raises(ImageError, match="`style_scale` 0.05"):
        prepare_images(content, style_a, BASE.override(style_scale=0.05, style_layers=("conv3_3",)))


def test_paper_normalization_rescales_a_scaled_styles_grams_to_the_outputs_pixel_count(content, style_a, model):
    cfg = BASE.override(normalization="paper", style_scale=2.0)
    content_image, style_image = prepare_images(content, style_a, cfg)
    loss_fn = make_loss_fn(model, content_image, style_image, cfg)
    out = features(model, content_image)
    positions = out.shape[1] * out.shape[2]
    target = gram_matrix(features(model, style_image), "mean") * positions  # a plain sum over the output's positions
    expected = tf.reduce_sum(tf.square(gram_matrix(out, "paper") - target))
    assert float(loss_fn(tf.constant(content_image[None]))[f"style/{LAYER}"][0]) == pytest.approx(float(expected), rel=1e-3)


@pytest.mark.real_weights
def test_the_output_takes_the_paintings_statistics_at_its_style_scale(real_weights, shared_images):
    """Real weights, 96 px: the output made at style_scale s is closer (relative Gram distance at
    conv1_2, conv3_3, conv5_3) to the painting scaled by s than to it scaled by the other s'."""
    cfg = StyleConfig(image_size=96, iterations=20, weights=real_weights, precision="float32")
    feature_model = build_feature_model(cfg.layers_in_use(), real_weights)
    content_path, style_path = shared_images / "content" / "tubingen.jpg", shared_images / "style" / "starry_night.jpg"
    scales = (0.5, 2.0)
    outputs, targets = {}, {}
    for scale in scales:
        scaled = cfg.override(style_scale=scale)
        outputs[scale] = feature_model(stylize(content_path, style_path, scaled, feature_model=feature_model).image[None])
        targets[scale] = feature_model(prepare_images(content_path, style_path, scaled)[1][None])
    for layer in feature_model.output:
        for made, other in (scales, scales[::-1]):
            gram = gram_matrix(outputs[made][layer])
            own = gram_distance(gram, gram_matrix(targets[made][layer]))
            assert own < gram_distance(gram, gram_matrix(targets[other][layer])), (layer, made)


# --- colour preservation -----------------------------------------------------------------------------


def chroma(image: np.ndarray) -> np.ndarray:
    return color.rgb_to_yiq(image)[..., 1:]


def test_luminance_keeps_the_contents_chroma_and_changes_its_luminance(content, style_b, model):
    content_image, _ = prepare_images(content, style_b, BASE)
    plain = run(content, style_b, model, iterations=15).image
    kept = run(content, style_b, model, iterations=15, preserve_colors="luminance").image
    assert np.abs(chroma(plain) - chroma(content_image)).mean() > 5.0  # the blue style recolours...
    assert np.abs(chroma(kept) - chroma(content_image)).mean() < 1.0  # ...unless the colours are kept
    assert np.abs(color.luminance(kept) - color.luminance(content_image)).mean() > 2.0  # the style is there


def test_luminance_callbacks_see_the_image_in_the_contents_colours(content, style_b, model):
    seen = []
    config = BASE.override(preserve_colors="luminance", iterations=3)
    result = stylize(content, style_b, config, feature_model=model, callbacks=[lambda step: seen.append(step.image.numpy())])
    content_image, _ = prepare_images(content, style_b, BASE)
    assert len(seen) == 3 and np.allclose(seen[-1][0], result.image)
    assert np.abs(chroma(seen[0][0]) - chroma(content_image)).mean() < 1.0


def test_histogram_keeps_the_contents_colours(content, style_b, model):
    content_image, _ = prepare_images(content, style_b, BASE)
    mean = content_image.reshape(-1, 3).mean(0)
    plain = run(content, style_b, model, iterations=15).image
    kept = run(content, style_b, model, iterations=15, preserve_colors="histogram").image
    drift_plain = np.linalg.norm(plain.reshape(-1, 3).mean(0) - mean)
    drift_kept = np.linalg.norm(kept.reshape(-1, 3).mean(0) - mean)
    assert drift_kept < 0.5 * drift_plain
    assert np.abs(kept - content_image).mean() > 2.0  # the style still applies


# --- masks ---------------------------------------------------------------------------------------------


def test_masked_gram_with_a_full_mask_is_the_gram_and_with_a_half_mask_the_halfs():
    feats = tf.random.stateless_normal([2, 6, 8, 4], seed=[1, 2])
    ones = tf.ones([6, 8])
    for normalization in ("mean", "paper"):
        np.testing.assert_allclose(
            masked_gram_matrix(feats, ones, normalization), gram_matrix(feats, normalization), rtol=1e-5, atol=1e-5
        )
    left = np.zeros((6, 8), np.float32)
    left[:, :4] = 1
    np.testing.assert_allclose(masked_gram_matrix(feats, left), gram_matrix(feats[:, :, :4]), rtol=1e-5, atol=1e-6)


def test_content_loss_mask_counts_only_the_white_positions():
    feats, target = tf.random.stateless_normal([1, 6, 8, 4], seed=[3, 4]), tf.zeros([1, 6, 8, 4])
    np.testing.assert_allclose(content_loss(feats, target, mask=tf.ones([6, 8])), content_loss(feats, target), rtol=1e-6)
    left = np.zeros((6, 8), np.float32)
    left[:, :4] = 1
    half = tf.concat([feats[:, :, :4], tf.zeros([1, 6, 4, 4])], axis=2)
    np.testing.assert_allclose(content_loss(feats, target, mask=left), content_loss(half, target), rtol=1e-6)


def test_layer_masks_match_the_feature_maps_of_an_odd_sized_image(model):
    image = np.zeros((37, 53, 3), np.float32)
    outputs = model(tf.constant(image[None]))
    per_layer = masks.layer_masks(np.ones((37, 53), np.float32), outputs)
    for name, tensor in outputs.items():
        assert tuple(per_layer[name].shape) == tuple(tensor.shape[1:3]), name


def test_style_mask_leaves_the_outside_near_the_content(content, style_b, model):
    """Style only on the left half: the right half's style statistics stay near the content's."""
    left, right = half_masks(H, W)
    content_image, _ = prepare_images(content, style_b, BASE)
    out = run(content, style_b, model, iterations=15, style_masks=[left]).image
    unmasked = run(content, style_b, model, iterations=15).image
    layer_left, layer_right = left / 255.0, right / 255.0

    def change(image, region):  # how far the region's Gram moved from the content's
        before = masked_gram_matrix(features(model, content_image), region)
        return gram_distance(masked_gram_matrix(features(model, image), region), before)

    assert change(out, layer_left) > 0.2  # styled inside the mask
    assert change(out, layer_right) < 0.25 * change(out, layer_left)  # near the content outside
    assert change(out, layer_right) < 0.25 * change(unmasked, layer_right)  # the mask is what kept it


def test_two_styles_each_in_its_region(content, style_a, style_b, model):
    left, right = half_masks(H, W)
    out = run(content, [style_a, style_b], model, iterations=20, style_masks=[left, right]).image
    _, (a, b) = prepare_images(content, [style_a, style_b], BASE)
    gram_a, gram_b = gram_matrix(features(model, a)), gram_matrix(features(model, b))
    out_features = features(model, out)
    gram_left, gram_right = masked_gram_matrix(out_features, left / 255.0), masked_gram_matrix(out_features, right / 255.0)
    assert gram_distance(gram_left, gram_a) < gram_distance(gram_left, gram_b)
    assert gram_distance(gram_right, gram_b) < gram_distance(gram_right, gram_a)


def test_content_mask_frees_the_black_region_for_the_style(content, style_b, model):
    left, right = half_masks(H, W)
    content_image, _ = prepare_images(content, style_b, BASE)
    cfg = dict(iterations=15, content_weight=1e5)  # random-weight Grams are huge: a = 1e5 balances b = 1
    out = run(content, style_b, model, content_mask=left, **cfg).image
    unmasked = run(content, style_b, model, **cfg).image
    moved = np.abs(out - content_image).mean(axis=-1)
    moved_unmasked = np.abs(unmasked - content_image).mean(axis=-1)
    half = W // 2
    assert moved[:, half:].mean() > 1.5 * moved[:, :half].mean()  # the unkept right half moves more
    assert moved[:, half:].mean() > 1.5 * moved_unmasked[:, half:].mean()


def test_mask_errors_are_clear(content, style_a, style_b, model, tmp_path):
    left, _ = half_masks(H, W)
    with pytest.raises(ConfigError, match="1 style mask.* for 2 style"):
        run(content, [style_a, style_b], model, style_masks=[left])
    with pytest.raises(ImageError, match="style mask is 50x50 pixels but the content image is 48x36"):
        run(content, style_a, model, style_masks=np.zeros((50, 50)))
    with pytest.raises(ImageError, match="black everywhere"):
        run(content, style_a, model, style_masks=[np.zeros((48, 64))])
    corrupt = tmp_path / "mask.png"
    corrupt.write_bytes(b"not a png")
    with pytest.raises(ImageError, match="content mask"):
        run(content, style_a, model, content_mask=corrupt)


def test_masks_read_from_files_any_size_with_the_aspect(content, style_a, model, tmp_path):
    left, _ = half_masks(96, 128)
    path = tmp_path / "left.png"
    Image.fromarray(left.astype(np.uint8)).convert("RGB").save(path)
    loaded = masks.load_mask(path, (24, 32))
    assert loaded.shape == (24, 32) and loaded[:, :15].min() > 0.99 and loaded[:, 17:].max() < 0.01
    assert run(content, style_a, model, iterations=1, style_masks=str(path)).iterations == 1


# --- pooling -------------------------------------------------------------------------------------------


def test_avg_pooling_replaces_max_pooling_with_the_same_weights():
    layers = ("conv1_2", "conv3_3")
    max_model = build_feature_model(layers, weights="random", seed=0)
    avg_model = build_feature_model(layers, weights="random", seed=0, pooling="avg")
    kinds = {type(layer) for layer in avg_model.layers}
    assert keras.layers.AveragePooling2D in kinds and keras.layers.MaxPooling2D not in kinds
    image = tf.constant(synthetic_image(32, 32, seed=3)[None].astype(np.float32))
    max_out, avg_out = max_model(image), avg_model(image)
    np.testing.assert_array_equal(max_out["block1_conv2"], avg_out["block1_conv2"])  # before any pooling
    assert not np.allclose(max_out["block3_conv3"], avg_out["block3_conv3"])
    with pytest.raises(ConfigError, match="pooling"):
        build_feature_model(layers, weights="random", pooling="min")


def test_avg_pooling_config_changes_the_result(content, style_a, monkeypatch):
    built = []
    real_build = optimize.build_feature_model

    def recording_build(*args, **kwargs):
        built.append(kwargs.get("pooling"))
        return real_build(*args, **kwargs)

    monkeypatch.setattr(optimize, "build_feature_model", recording_build)
    cfg = BASE.override(iterations=3, image_size=32)
    with_max, with_avg = (stylize(content, style_a, cfg.override(pooling=p)).image for p in ("max", "avg"))
    assert built == ["max", "avg"] and not np.allclose(with_max, with_avg)


# --- noise blend ---------------------------------------------------------------------------------------


def test_noise_blend_mixes_the_start_with_seeded_white_noise(content, style_a):
    noise = initial_image("noise", content, style_a, seed=3)
    assert np.array_equal(initial_image("content", content, style_a, seed=3, noise_blend=0.0), content)
    np.testing.assert_allclose(initial_image("content", content, style_a, seed=3, noise_blend=1.0), noise, atol=1e-4)
    np.testing.assert_allclose(
        initial_image("content", content, style_a, seed=3, noise_blend=0.25), 0.75 * content + 0.25 * noise, atol=1e-3
    )
    with pytest.raises(ConfigError, match="between 0 and 1"):
        BASE.override(noise_blend=1.5)


def test_more_noise_starts_and_ends_further_from_the_content(content, style_a, model):
    results = [run(content, style_a, model, noise_blend=t, iterations=5) for t in (0.0, 0.3, 0.7)]
    starts = [r.initial_losses["content"] for r in results]
    ends = [r.final_losses["content"] for r in results]
    assert starts[0] == 0 and starts[0] < starts[1] < starts[2]
    assert ends[0] < ends[1] < ends[2]


# --- together ------------------------------------------------------------------------------------------


def test_a_batch_with_the_controls_gives_each_image_what_it_gets_alone(content, style_a, style_b, model):
    left, right = half_masks(H, W)
    contents = [content, synthetic_image(48, 64, seed=7).astype(np.float32)]
    options = dict(
        style_blend_weights=(0.6, 0.4), style_scale=0.8, pooling="max", noise_blend=0.1, iterations=4,
        style_masks=[left, right], content_mask=left,
    )  # fmt: skip
    batch = run(contents, [style_a, style_b], model, **options).image
    assert batch.shape == (2, H, W, 3)
    for index, image in enumerate(contents):
        alone = run(image, [style_a, style_b], model, **options).image
        np.testing.assert_allclose(batch[index], alone, rtol=0, atol=2e-2)


def test_a_batch_keeps_each_images_own_colours(style_b, model):
    contents = [synthetic_image(48, 64, seed=seed).astype(np.float32) for seed in (1, 7)]
    batch = run(contents, style_b, model, iterations=4, preserve_colors="luminance").image
    for index, image in enumerate(contents):
        content_image, _ = prepare_images(image, style_b, BASE)
        assert np.abs(chroma(batch[index]) - chroma(content_image)).mean() < 1.0


class _Recorder(Callback):
    def set_run(self, run):
        self.run = run


def test_run_info_names_every_style(content, style_a, style_b, model, tmp_path):
    paths = []
    for name, image in (("first", style_a), ("second", style_b)):
        paths.append(tmp_path / f"{name}.png")
        Image.fromarray(image.astype(np.uint8)).save(paths[-1])
    recorder = _Recorder()
    stylize(content, paths, BASE.override(iterations=1), feature_model=model, callbacks=[recorder])
    assert recorder.run.style_name == "first+second"


# --- the command line -----------------------------------------------------------------------------------


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


def test_cli_runs_with_every_control(files, capsys):
    status = files["cli"](
        "--style", f"{files['a']},{files['b']}", "--style_blend_weights", "3,1", "--style_scale", "0.8",
        "--preserve_colors", "luminance", "--content_mask", files["left"], "--style_masks", f"{files['left']},{files['right']}",
        "--pooling", "avg", "--noise_blend", "0.2",
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    assert Image.open(files["out"]).size == (48, 36)


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
    assert tfrun.style_paths("a.png, b.png") == ["a.png", "b.png"]


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


def test_the_stylizer_export_bakes_in_pooling_and_refuses_the_other_controls(tmp_path, monkeypatch):
    from tfstyle.pipelines import savedmodel

    for changes in (dict(preserve_colors="luminance"), dict(style_scale=2.0), dict(noise_blend=0.5)):
        with pytest.raises(ConfigError, match=f"cannot bake in {next(iter(changes))}"):
            savedmodel.export_stylizer(tmp_path / "stylizer", BASE.override(**changes))
    asked = []

    def no_build(*args, **kwargs):
        asked.append(kwargs.get("pooling"))
        raise RuntimeError("stop here")

    monkeypatch.setattr(savedmodel, "build_feature_model", no_build)
    with pytest.raises(RuntimeError, match="stop here"):
        savedmodel.export_stylizer(tmp_path / "stylizer", BASE.override(pooling="avg"))
    assert asked == ["avg"]
