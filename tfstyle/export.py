"""``python -m tfstyle.export``: the command line of :mod:`tfstyle.cli.export`."""

from tfstyle.cli.export import entry_point

if __name__ == "__main__":
    entry_point()
