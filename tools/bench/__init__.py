"""The benchmark (``python -m tools.bench``, its command line in :mod:`tools.bench.bench`) and what it
measures with: the floor and the step table (:mod:`~tools.bench.steps`), time to quality
(:mod:`~tools.bench.quality`), whole runs (:mod:`~tools.bench.runs`), a look inside a step
(:mod:`~tools.bench.profile`), and its peers (:mod:`~tools.bench.peer_torch`,
:mod:`~tools.bench.peer_tutorial`). Beside it, two benchmarks of their own: peak memory with and
without tiles (``python -m tools.bench.tile_memory``), video mode (``python -m tools.bench.video``), and
the fast stylizer against the optimization and its PyTorch peer of the same architecture
(``python -m tools.bench.fast``, :mod:`~tools.bench.peer_fast_torch`).
Every run's records: tools/bench/results/.
"""
