"""The project's own tools, beside the library and not shipped with it (the wheel holds ``tfstyle`` only).

Run from the repository root, each as a module:

- ``python -m tools.bench``: how fast tfstyle is against the compute floor and a PyTorch peer
  (docs/performance.md); its measures, peers and memory and video benchmarks are the modules of
  :mod:`tools.bench`, and every run's records are in tools/bench/results/.
- ``python -m tools.paper``: Yu & Chang's experiments and claims, written to docs/paper/REPORT.md.
- ``python -m tools.pictures.readme``, ``.video_gif``, ``.web_screenshot``: the README's and docs' pictures.

Shared by the benchmark and the paper: :mod:`tools.yardstick`, the one fixed measure of how
stylized and how faithful an image is, and :mod:`tools.machine`, what a number was measured on.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository
SHARED_IMAGES = ROOT.parent / "shared" / "images"  # the shared photos and paintings (content/, style/)
