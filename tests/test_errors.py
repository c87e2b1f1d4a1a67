"""The errors a user can cause, and how a foreign error enters their one-line messages."""

from tfstyle.errors import first_line


def test_a_foreign_errors_first_line_enters_a_message():
    assert first_line(OSError("disk full\n  at line 3")) == "disk full"
    assert first_line(ValueError("  ")) == "ValueError"
