"""One-line error messages."""

from experiments.errors import one_line


def test_one_line_keeps_the_first_line_and_names_the_type():
    error = ValueError("first\nsecond")
    assert one_line(error) == "ValueError: first"
    assert one_line(error, with_type=False) == "first"
    assert one_line(KeyboardInterrupt()) == "KeyboardInterrupt"
    assert one_line(KeyboardInterrupt(), with_type=False) == "KeyboardInterrupt"
