"""``python -m tfstyle.video``: the command line of :mod:`tfstyle.cli.video`."""

from tfstyle.cli.video import entry_point

if __name__ == "__main__":
    entry_point()
