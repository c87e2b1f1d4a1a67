"""``python -m tfstyle.batch``: the command line of :mod:`tfstyle.cli.batch`."""

from tfstyle.cli.batch import entry_point

if __name__ == "__main__":
    entry_point()
