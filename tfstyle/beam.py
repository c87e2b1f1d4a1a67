"""``python -m tfstyle.beam``: the command line of :mod:`tfstyle.cli.beam` (needs ``pip install 'tfstyle[beam]'``)."""

from tfstyle.cli.beam import entry_point

if __name__ == "__main__":
    entry_point()
