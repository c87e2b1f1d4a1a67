"""The command lines: flags generated from :class:`tfstyle.StyleConfig`, and the commands run, export and batch."""
