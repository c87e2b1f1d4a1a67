"""Make the README's pictures, and measure the numbers quoted beside them.

    python -m tools.pictures.readme                    # both parts (about 15 minutes on 2 CPU cores)
    python -m tools.pictures.readme --part controls    # the creative controls: 256 px, the default preset
    python -m tools.pictures.readme --part results     # the results table: the CLI at 512 px, timed

- **controls** (README "Creative controls"): ``tfstyle.stylize`` with ``preset("default")`` at 256
  px and one control changed, exactly what ``python -m tfstyle.run --image_size 256`` plus the
  flags shown does; writes docs/images/controls/*.jpg and prints the distances the README quotes.
- **results** (README "Results"): ``python -m tfstyle.run`` in a fresh process per command, at its
  default 512 px; writes docs/images/*.jpg and prints each command's summary line and wall time.

Needs the ImageNet VGG16 weights ($TFSTYLE_VGG16_WEIGHTS or keras' download) and ../shared/images.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

import tfstyle  # noqa: E402
from tfstyle.controls import color  # noqa: E402
from tfstyle.inputs.prepare import prepare_images  # noqa: E402
from tfstyle.objective.losses import gram_matrix  # noqa: E402
from tools import ROOT, SHARED_IMAGES  # noqa: E402

TUBINGEN, GOLDEN_GATE = SHARED_IMAGES / "content" / "tubingen.jpg", SHARED_IMAGES / "content" / "golden_gate.jpg"
STARRY, SCREAM = SHARED_IMAGES / "style" / "starry_night.jpg", SHARED_IMAGES / "style" / "the_scream.jpg"
CONTROLS = ROOT / "docs" / "images" / "controls"
SKY_MASK = CONTROLS / "sky.png"  # the first style's region in the masks example (made once from the photo)


def controls() -> None:
    """The creative-control pictures (256 px, default preset, one control each) and their numbers."""
    base = tfstyle.preset("default").override(image_size=256)
    model = tfstyle.build_feature_model(base.layers_in_use(), base.weights)

    def make(name: str, content: Path, style, **changes) -> tfstyle.Result:
        options = {key: changes.pop(key) for key in ("style_masks", "content_mask") if key in changes}
        config = base.override(**changes)
        own_model = model if config.pooling == "max" else None  # avg pooling builds its own
        result = tfstyle.stylize(str(content), style, config, feature_model=own_model, **options)
        tfstyle.save_image(result.image, CONTROLS / f"{name}.jpg")
        print(f"{name}: {result.iterations} iterations in {result.seconds:.1f} s; final losses "
              f"content {result.final_losses['content']:.2g}, style {result.final_losses['style']:.2g}", flush=True)
        return result

    plain = make("tubingen_starry", TUBINGEN, str(STARRY))
    make("tubingen_scream", TUBINGEN, str(SCREAM))
    make("tubingen_blend", TUBINGEN, [str(STARRY), str(SCREAM)], style_blend_weights=(0.5, 0.5))

    scaled = {1.0: plain.image}
    for scale in (0.5, 2.0):
        scaled[scale] = make(f"tubingen_scale_{scale:g}", TUBINGEN, str(STARRY), style_scale=scale).image
    style_scale_table(base, scaled)

    content = prepare_images(str(TUBINGEN), str(STARRY), base)[0]
    luminance = make("tubingen_luminance", TUBINGEN, str(STARRY), preserve_colors="luminance").image
    histogram = make("tubingen_histogram", TUBINGEN, str(STARRY), preserve_colors="histogram").image
    for label, image in (("luminance", luminance), ("histogram", histogram), ("none", plain.image)):
        chroma, moved, mean_colour = colour_distances(image, content)
        print(f"  colours, {label}: chroma {chroma:.2g} grey levels from the photo's, luminance moved {moved:.3g}, "
              f"mean colour {mean_colour:.2g} from the photo's", flush=True)

    with tempfile.TemporaryDirectory() as folder:
        sky = np.asarray(Image.open(SKY_MASK).convert("L"))
        ground = Path(folder) / "ground.png"
        Image.fromarray(255 - sky).save(ground)
        make("golden_gate_masks", GOLDEN_GATE, [str(STARRY), str(SCREAM)], style_masks=[str(SKY_MASK), str(ground)])

    avg = make("tubingen_avg", TUBINGEN, str(STARRY), pooling="avg")
    make("tubingen_avg_balanced", TUBINGEN, str(STARRY), pooling="avg", style_layer_weights=(1.0, 1.0, 7e8))
    for label, result in (("max", plain), ("avg", avg)):
        starts = ", ".join(f"{name} {result.initial_losses[f'style/{name}']:.2g}" for name in base.style_terms())
        print(f"  pooling {label}: style losses at the start {starts}", flush=True)

    noisy = make("tubingen_noise_0.5", TUBINGEN, str(STARRY), noise_blend=0.5)
    for label, result in (("noise_blend 0.5", noisy), ("from the content", plain)):
        print(f"  {label}: final content loss {result.final_losses['content']:.2g}, "
              f"style loss {result.final_losses['style']:.2g}", flush=True)


def style_scale_table(config: tfstyle.StyleConfig, outputs: dict[float, np.ndarray]) -> None:
    """‖G − A‖/‖A‖ at conv3_3 between each output and the painting at each scale (the README's table)."""
    model = tfstyle.build_feature_model(["block3_conv3"], config.weights)

    def gram(image: np.ndarray):
        return gram_matrix(model(np.asarray(image, np.float32)[None])["block3_conv3"])[0].numpy()

    paintings = {
        scale: gram(prepare_images(str(TUBINGEN), str(STARRY), config.override(style_scale=scale))[1])
        for scale in outputs
    }
    print("  style scale: rows the output's scale, columns the painting's, ‖G − A‖/‖A‖ at conv3_3", flush=True)
    for made_at, image in sorted(outputs.items()):
        g = gram(image)
        cells = "  ".join(f"{np.linalg.norm(g - a) / np.linalg.norm(a):.2f}" for _, a in sorted(paintings.items()))
        print(f"    {made_at:g}: {cells}", flush=True)


def colour_distances(image: np.ndarray, content: np.ndarray) -> tuple[float, float, float]:
    """(chroma, luminance, mean colour) distances in grey levels: the mean |Δ| of the I and Q
    channels (YIQ), the mean |ΔY|, and the length of the difference of the mean RGB colours."""
    out, photo = color.rgb_to_yiq(image), color.rgb_to_yiq(content)
    chroma = float(np.mean(np.abs(out[..., 1:] - photo[..., 1:])))
    moved = float(np.mean(np.abs(out[..., 0] - photo[..., 0])))
    mean_colour = float(np.linalg.norm(image.reshape(-1, 3).mean(0) - content.reshape(-1, 3).mean(0)))
    return chroma, moved, mean_colour


def results() -> None:
    """The README's results table: each command in a fresh process, at 512 px."""
    images = ROOT / "docs" / "images"
    commands = [
        (TUBINGEN, STARRY, [], "tubingen_starry_night.jpg"),
        (GOLDEN_GATE, SCREAM, [], "golden_gate_the_scream.jpg"),
        (TUBINGEN, STARRY, ["--preset", "paper"], "tubingen_starry_night_paper.jpg"),
        (TUBINGEN, STARRY, ["--preset", "gatys"], "tubingen_starry_night_gatys.jpg"),
    ]
    for content, style, flags, output in commands:
        argv = [sys.executable, "-m", "tfstyle.run", f"--content={content}", f"--style={style}",
                f"--output={images / output}", "--overwrite", "--print_every=0", *flags]  # fmt: skip
        load = os.getloadavg()[0]
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        summary = done.stdout.strip().splitlines()[-1]
        print(f"{' '.join(flags) or 'default'}: {summary}; process wall time {time.perf_counter() - start:.1f} s "
              f"(1-minute load {load:.2f} at the start)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("all", "controls", "results"), default="all")
    args = parser.parse_args(argv)
    if args.part in ("all", "controls"):
        controls()
    if args.part in ("all", "results"):
        results()
    return 0


if __name__ == "__main__":
    sys.exit(main())
