"""``python -m tfstyle.train``: the command line of :mod:`tfstyle.cli.train`."""

from tfstyle.cli.train import entry_point

if __name__ == "__main__":
    entry_point()
