"""Yu & Chang's experiments and claims reproduced with tfstyle (``python -m tools.paper``, its command
line in :mod:`tools.paper.reproduce`), written to docs/paper/REPORT.md: the runs and their plan
(:mod:`~tools.paper.runs`), the figures, conclusions and what the paper leaves unsaid
(:mod:`~tools.paper.experiments`), its two claims and the optimizers (:mod:`~tools.paper.claims`),
the readings of its learning rate (:mod:`~tools.paper.readings`), and measuring, plotting and the
Markdown (:mod:`~tools.paper.measure`, :mod:`~tools.paper.figures`, :mod:`~tools.paper.report`).
"""
