"""python -m tools.paper --quick: every experiment runs on the real images and weights, and the
report has each section with its table, every figure it links, and TensorBoard event files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

SECTIONS = (
    "## Verdicts",
    "## Machine",
    "## The yardstick",
    "## What the paper says, and what it leaves unsaid",
    "## The printed learning rate, 0.00001",
    "## Figure 9:",
    "## Figure 10:",
    "## Figure 11:",
    "## The paper's conclusions and drawbacks, measured",
    "## Claim 1: fewer layers",
    "## Claim 2: starting from the content image",
    "## Optimizers:",
)
EXPERIMENT_LOGS = ("fig9", "fig10", "fig11", "conclusions", "claim1_layers", "claim2_init_paper", "claim2_init_default",
                   "optimizers", "figures")  # fmt: skip

pytestmark = pytest.mark.real_weights


@pytest.fixture(scope="module")
def quick_report(real_weights, shared_images, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("paper")
    env = {**os.environ, "TFSTYLE_VGG16_WEIGHTS": real_weights, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-m", "tools.paper", "--quick", "--out", str(out), "--images", str(shared_images)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def test_the_report_has_every_section_in_order_each_experiment_with_a_table(quick_report):
    report = (quick_report / "REPORT.md").read_text(encoding="utf-8")
    positions = [report.find(heading) for heading in SECTIONS]
    assert -1 not in positions, [h for h, p in zip(SECTIONS, positions) if p == -1]
    assert positions == sorted(positions)
    experiments = re.split(r"^## ", report, flags=re.M)[1:]
    for body in experiments:
        if body.startswith(("Figure", "Claim", "Optimizers", "The printed", "The paper's conclusions")):
            assert "|---|" in body, body[:80]
    assert report.count("**Verdict on claim") == 4  # each claim: in the summary and in its section
    assert "python -m tools.paper --quick" in report
    assert "could not be reproduced from the text" not in report and "learning rate=0.00001" in report
    assert "| mean |Δpixel|" not in report  # a | inside a header must be escaped, or it splits the cell
    assert "| CPU |" in report and "| cores usable |" in report and "| load average" in report


def test_every_linked_figure_exists_and_is_a_png(quick_report):
    report = (quick_report / "REPORT.md").read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert len(links) >= 10
    for link in links:
        path = quick_report / link
        assert path.is_file(), link
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", link


def test_every_experiment_wrote_tensorboard_event_files(quick_report):
    logdir = quick_report / "tensorboard"
    for experiment in EXPERIMENT_LOGS:
        events = list((logdir / experiment).rglob("events.out.tfevents.*"))
        assert events, f"no event files under {logdir / experiment}"
