"""``python -m tfstyle.web``: the command line of :mod:`tfstyle.cli.web`."""

from tfstyle.cli.web import entry_point

if __name__ == "__main__":
    entry_point()
