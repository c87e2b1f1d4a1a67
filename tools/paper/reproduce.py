"""Reproduce Yu & Chang's experiments and claims with tfstyle, and write docs/paper/REPORT.md.

    python -m tools.paper                       # the full run, 256 px (its outputs are committed)
    python -m tools.paper --quick --out /tmp/p  # every experiment at 64 px, a few iterations

Runs Figures 9, 10 and 11 (the printed learning rate under each reading of the text too), the
conclusions and drawbacks, the two claims (fewer layers; starting from the content image) and the
optimizers on the shared images, and writes the report, its PNG figures and TensorBoard event
files (``<out>/tensorboard``: every run's losses and images, and the figures; replaced on each run)
under ``--out``.
The runs and their plan are in ``runs.py``; the paper's figures, conclusions and what it leaves
unsaid in ``experiments.py``; its claims and the optimizers in ``claims.py``; measuring, plotting,
the readings of its learning rate and the Markdown in the other modules of this package.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from tools import ROOT, SHARED_IMAGES  # noqa: E402

# Every painting pair (Figures 12 and 13 are "more test cases"); the first runs every experiment.
PAIRS = (("tubingen.jpg", "starry_night.jpg"), ("golden_gate.jpg", "the_scream.jpg"),
         ("tubingen.jpg", "the_scream.jpg"), ("golden_gate.jpg", "starry_night.jpg"))  # fmt: skip
PHOTO_PAIR = ("tubingen.jpg", "golden_gate.jpg")  # a photograph as the style (drawback 2)

FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "Every experiment at 64 px with a few iterations (under two minutes on 2 cores).")
flags.DEFINE_string("out", str(ROOT / "docs" / "paper"), "Folder for REPORT.md, the figures and tensorboard/.")
flags.DEFINE_string("images", str(SHARED_IMAGES), "Folder with content/ and style/ images.")
flags.DEFINE_integer("image_size", None, "Longest side in pixels (default: 256, or 64 with --quick).")
flags.DEFINE_string("weights", "imagenet", "VGG16 weights: imagenet ($TFSTYLE_VGG16_WEIGHTS if set) or a path.")


def main(argv: list[str]) -> int:
    del argv
    import dataclasses

    import tensorflow as tf

    import tfstyle
    from tools.machine import load_average
    from tools.paper import claims, experiments, figures, measure, readings
    from tools.paper import runs as paper_runs
    from tools.paper.report import write_report
    from tools.yardstick import Yardstick

    tf.get_logger().setLevel("ERROR")  # tf.function's retracing warnings: each run traces its own step
    started, load_start = time.perf_counter(), load_average()
    plan = paper_runs.QUICK if FLAGS.quick else paper_runs.FULL
    if FLAGS.image_size:
        plan = dataclasses.replace(plan, size=FLAGS.image_size)
    out = Path(FLAGS.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    _clear_logs(out / "tensorboard", paper_runs.LOG_FOLDERS)
    images = Path(FLAGS.images)
    pairs = [
        measure.load_pair(images / "content" / content, images / "style" / style, plan.size)
        for content, style in PAIRS
    ]
    ctx = paper_runs.Context(
        plan=plan, out=out, logdir=out / "tensorboard", weights=FLAGS.weights, pairs=pairs,
        model=tfstyle.build_feature_model(tfstyle.preset("paper").layers_in_use(), FLAGS.weights), yardsticks={},
        photo_pair=measure.load_pair(images / "content" / PHOTO_PAIR[0], images / "content" / PHOTO_PAIR[1], plan.size),
    )  # fmt: skip
    fig9, fig9_runs = experiments.figure9(ctx)
    fig10, heavy = experiments.figure10(ctx, fig9_runs[0])
    fig11, grid = experiments.figure11(ctx)
    conclusions = experiments.conclusions(ctx, fig9_runs, heavy, grid)
    small = measure.load_pair(pairs[0].content_path, pairs[0].style_path, plan.readings_size)
    printed, reading_verdicts = readings.readings_section(
        ctx, small, Yardstick(small.content, small.style, FLAGS.weights), plan.readings_size, plan.snapshots
    )
    layers, layers_verdict = claims.claim_layers(ctx)
    inits, init_verdict = claims.claim_init(ctx, fig9_runs[0])
    optimizers, optimizer_verdict = claims.optimizers(ctx, fig9_runs[0])
    sections = [printed, fig9, fig10, fig11, conclusions, layers, inits, optimizers]
    figures.log_figures([path for section in sections for path in section.figures], ctx.logdir / "figures")
    unsaid = experiments.unsaid(ctx, fig9_runs[0], readings.verdict_sentence(reading_verdicts))
    header = _header(ctx, time.perf_counter() - started, load_start, load_average(),
                     [readings.verdict_sentence(reading_verdicts), layers_verdict, init_verdict, optimizer_verdict])  # fmt: skip
    report = write_report(out / "REPORT.md", header, [unsaid, *sections])
    print(f"wrote {report} in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


def _clear_logs(logdir: Path, folders: tuple[str, ...]) -> None:
    """Remove an earlier run's event files (only the folders this tool writes), so runs do not pile up."""
    import shutil

    for name in folders:
        if (logdir / name).is_dir():
            shutil.rmtree(logdir / name)


def _header(ctx, seconds: float, load_start: str, load_end: str, verdicts: list[str]) -> str:
    """Title, how to re-run, the machine, the yardstick and the verdicts."""
    from tools import yardstick
    from tools.machine import machine
    from tools.paper.report import markdown_table

    rows = [*machine().items(), ("load average at the start (1, 5, 15 min)", load_start),
            ("load average at the end", load_end), ("wall time of this run", f"{seconds / 60:.1f} min"),
            ("image size", f"{ctx.plan.size} px (longer side); the style scaled to the same pixel count")]  # fmt: skip
    command = "python -m tools.paper" + (" --quick" if FLAGS.quick else "")
    if FLAGS.image_size:
        command += f" --image_size {FLAGS.image_size}"
    run_as = " ".join(shlex.quote(a) for a in ["python", "-m", "tools.paper", *sys.argv[1:]])
    pairs = "; ".join(pair.name for pair in ctx.pairs)
    verdict_list = "\n".join(f"- {v}" for v in verdicts)
    return f"""# Reproducing Yu & Chang with tfstyle

Yu & Chang, *Study on Image Style Transfer: a refined neural algorithm based on CNN*, set out
*"to cut down the number of convolutional layers used and simplify the model, but with ideally
close performance"* (Abstract) and ask (Introduction) *"Is there any way we can skip some layers to
release the stress of computation?"* and, as Gatys et al. start from white noise, *"if we start
updating from one of the input images, will it run faster to achieve the goal"*. The paper reports
no time or memory; this report reads the two questions as claims, (1) a few chosen VGG16 layers
(conv1_2, conv3_3, conv5_3) instead of Gatys et al.'s set make style transfer cheaper at about the
same quality, and (2) starting the optimization from the content image instead of white noise gets
there faster, and tests both. It runs the paper's experiments (Figures 9, 10 and 11; Figures 12 and
13, *"more test cases"*, on the other shared pairs), tests its conclusions and drawbacks and compares
optimizers, on the shared images ({pairs}). Every number below was measured by the run that wrote
this file.

Re-run (from the repository root, with the VGG16 weights available; `--quick` does the same at
64 px in under two minutes):

```bash
export TFSTYLE_VGG16_WEIGHTS=$(../shared/tools/vgg16-weights)   # or let keras download them
{command}
tensorboard --logdir {os.path.relpath(ctx.logdir, ROOT) if ctx.logdir.is_relative_to(ROOT) else ctx.logdir}
```

This file was written by `{run_as}`.

## Verdicts

{verdict_list}

## Machine

{markdown_table(["", ""], rows)}

Every run computes in float32 (`precision="float32"`, also for the default preset, whose `auto`
would pick bfloat16 on some CPUs), so the numbers do not depend on the CPU's bfloat16 support. The
CPU may be shared with other work, so times can vary by ±10–20 % between runs; the load average
says how busy it was. Times are wall-clock seconds per iteration (median), memory is the resident set.

## The yardstick

{yardstick.MARKDOWN}
"""


if __name__ == "__main__":
    app.run(main)
