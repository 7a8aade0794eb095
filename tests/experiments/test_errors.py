"""One-line error messages."""

from experiments.errors import MAX_QUOTED, one_line, quoted_input


def test_one_line_keeps_the_first_line_and_names_the_type():
    error = ValueError("first\nsecond")
    assert one_line(error) == "ValueError: first"
    assert one_line(error, with_type=False) == "first"
    assert one_line(KeyboardInterrupt()) == "KeyboardInterrupt"
    assert one_line(KeyboardInterrupt(), with_type=False) == "KeyboardInterrupt"


def test_quoted_input_is_cut_and_escaped():
    shown = quoted_input("\x1b[31mred\u202e" + "x" * 1_000_000)
    assert shown.startswith("\\u001b[31mred\\u202e") and shown.endswith("...")
    assert len(shown) <= MAX_QUOTED + 3
    assert quoted_input("plain") == "plain"


def test_one_line_escapes_and_bounds_any_message():
    line = one_line(ValueError("bad \x1b]0;title\x07 " + "y" * 5000))
    assert "\x1b" not in line and "\x07" not in line and len(line) < 1100
