"""One-line error messages: what results.csv, metrics.json and the CLI show of an exception."""

from __future__ import annotations


def one_line(error: BaseException, *, with_type: bool = True) -> str:
    """``ErrorType: first line of the message`` (only the first line with ``with_type=False``).

    The CLI prints config and input errors without the type (the message already names the
    key); recorded fit failures keep it (``LinAlgError: singular matrix``).
    """
    lines = str(error).strip().splitlines()
    if not with_type:
        return lines[0] if lines else type(error).__name__
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
