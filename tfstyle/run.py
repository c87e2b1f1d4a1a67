"""``python -m tfstyle.run``: the command line of :mod:`tfstyle.cli.run`."""

from tfstyle.cli.run import entry_point

if __name__ == "__main__":
    entry_point()
