"""tools/paper/runs.py: run labels become safe TensorBoard folder names, and the plans are sane."""

from __future__ import annotations

from tools.paper import runs as paper_runs


def test_a_run_label_becomes_a_folder_name_without_spaces_or_separators():
    assert paper_runs.safe_name("Gatys layers (timing)") == "Gatys_layers_timing"
    assert paper_runs.safe_name("a=1e+10_b=10 / tubingen") == "a=1e_10_b=10_tubingen"


def test_every_plan_snapshots_in_order_and_the_quick_one_is_smaller():
    for plan in (paper_runs.FULL, paper_runs.QUICK):
        assert list(plan.snapshots) == sorted(set(plan.snapshots))
        assert plan.init_iterations == plan.optimizer_iterations == plan.snapshots[1]
    assert paper_runs.QUICK.size < paper_runs.FULL.size and paper_runs.QUICK.snapshots < paper_runs.FULL.snapshots
