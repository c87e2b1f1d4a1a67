"""tfstyle's version, its one home: a leaf that pyproject.toml reads and any module may import."""

__version__ = "0.1.0"
