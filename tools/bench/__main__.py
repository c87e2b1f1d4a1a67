"""``python -m tools.bench``: the benchmark's command line (:mod:`tools.bench.bench`)."""

import sys

from tools.bench.bench import main

sys.exit(main())
