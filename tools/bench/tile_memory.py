"""Peak memory against image size, with and without tiles: the numbers of docs/performance.md,
"Peak memory and tiling".

    python -m tools.bench.tile_memory          # 512, 1024, 2048 px; untiled and tiled
    python -m tools.bench.tile_memory --runs 1024:0,1024:512 --precision bfloat16
    python -m tools.bench.tile_memory --quick  # 128 px, untiled and tiles of 64 (seconds)

Each run is a fresh process that builds the default preset's feature model (random weights: the
memory does not depend on their values; float32 unless ``--precision``), notes its resident
memory, runs ``tfstyle.stylize`` on
the shared tubingen/starry_night images at ``--image_size`` (``tile_size`` = the tile, 0 for none)
and reports its peak resident memory (VmHWM) next to ``tfstyle.network.memory.run_bytes``'s estimate.
Prints a Markdown table (and the JSON lines with ``--json``). The load average is printed too:
the times depend on it, the memory does not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from tools import SHARED_IMAGES

ONE_RUN = r"""
import json, os, sys, time
import tensorflow as tf
import tfstyle
from tfstyle.network import memory

def status(key):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(key))

size, tile, iterations, content, style, precision = int(sys.argv[1]), int(sys.argv[2]) or None, int(sys.argv[3]), *sys.argv[4:]
config = tfstyle.preset("default").override(
    weights="random", image_size=size, iterations=iterations, tile_size=tile, precision=precision
)
model = tfstyle.build_feature_model(config.layers_in_use(), "random")
model(tf.zeros([1, 32, 32, 3]))
base = status("VmRSS")
start = time.perf_counter()
result = tfstyle.stylize(content, style, config, feature_model=model)
height, width = result.image.shape[:2]
estimate = memory.run_bytes((height, width), config.layers_in_use(), 1, tile, list(config.content_terms()))
print("RESULT " + json.dumps({"size": size, "tile": tile, "shape": [height, width], "base": base, "peak": status("VmHWM"),
                             "estimate": estimate, "seconds": round(time.perf_counter() - start, 1)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="512:0,1024:0,2048:0,512:256,1024:512,2048:512",
                        help="comma-separated SIZE:TILE pairs (TILE 0: untiled)")
    parser.add_argument("--iterations", type=int, default=2, help="the peak comes in the first step")
    parser.add_argument("--content", default=str(SHARED_IMAGES / "content" / "tubingen.jpg"))
    parser.add_argument("--style", default=str(SHARED_IMAGES / "style" / "starry_night.jpg"))
    parser.add_argument("--precision", default="float32", help="the feature model's precision (float32, bfloat16, ...)")
    parser.add_argument("--quick", action="store_true", help="128 px, untiled and tiles of 64")
    parser.add_argument("--json", help="also write the results here, one JSON object a line")
    args = parser.parse_args()
    runs = "128:0,128:64" if args.quick else args.runs
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    results = []
    print(f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    for pair in runs.split(","):
        size, tile = pair.split(":")
        done = subprocess.run(
            [sys.executable, "-c", ONE_RUN, size, tile, str(args.iterations), args.content, args.style, args.precision],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode or not lines:
            sys.exit(f"the run {pair} failed:\n{done.stderr[-2000:]}")
        results.append(json.loads(lines[0][len("RESULT ") :]))
        print(f"{pair} done", file=sys.stderr)
    gib = 1024**3
    print("| image | tiles | peak RSS | the run's own | estimate | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        height, width = r["shape"]
        print(
            f"| {width}x{height} | {r['tile'] or '-'} | {r['peak'] / gib:.2f} GiB | {(r['peak'] - r['base']) / gib:.2f} GiB "
            f"| {r['estimate'] / gib:.2f} GiB | {r['seconds']:.0f} |"
        )
    if args.json:
        Path(args.json).write_text("".join(json.dumps(r) + "\n" for r in results))


if __name__ == "__main__":
    main()
