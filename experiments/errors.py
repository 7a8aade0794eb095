"""One-line error messages: what results.csv, metrics.json and the CLI show of an exception.

User input quoted back in a message is cut to :data:`MAX_QUOTED` characters, and control
and formatting characters (terminal escape sequences, bidirectional overrides) are written
as ``\\u`` escapes with four hex digits, so that a message can neither flood nor rewrite
the terminal.
"""

from __future__ import annotations

import unicodedata

MAX_QUOTED = 80  # characters of user input quoted back in a message
MAX_MESSAGE = 1000  # characters of any one-line message


def escaped(text: str) -> str:
    """``text`` with control (Cc) and format (Cf: bidi overrides, zero-width) characters
    written as ``\\u`` and four hex digits."""
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf") else c
                   for c in text)


def quoted_input(text: str, limit: int = MAX_QUOTED) -> str:
    """User input as a message shows it: escaped, at most ``limit`` characters, ``...`` after
    a cut."""
    shown = escaped(text[: 2 * limit])
    return shown[:limit] + "..." if len(shown) > limit or len(text) > 2 * limit else shown


def one_line(error: BaseException, *, with_type: bool = True) -> str:
    """``ErrorType: first line of the message`` (only the first line with ``with_type=False``).

    The CLI prints config and input errors without the type (the message already names the
    key); recorded fit failures keep it (``LinAlgError: singular matrix``). The line is
    escaped and cut to :data:`MAX_MESSAGE` characters.
    """
    lines = str(error).strip().splitlines()
    first = quoted_input(lines[0], MAX_MESSAGE) if lines else ""
    if not with_type:
        return first or type(error).__name__
    return f"{type(error).__name__}: {first}" if first else type(error).__name__
