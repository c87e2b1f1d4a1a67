"""Reproduce Yu & Chang's experiments and claims with tfstyle, and write docs/paper/REPORT.md
(tools/paper/reproduce.py says what it runs)."""

from absl import app

from tools.paper.reproduce import main

app.run(main)
