"""Checkers for config values: each returns the normalised value or raises ConfigError.

A checker is a function ``(value, key path) -> value``; its error is one line
``<key path>: <what is wrong>, got <value as written in TOML>``.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import field
from typing import Any

from experiments.errors import quoted_input

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
INT64_MAX = 2**63 - 1  # TOML integers are 64-bit; larger ones cannot size or seed anything
MAX_CELLS = 1000  # every cell is built and checked by validate, which must stay fast
NAME_MAX, PATH_MAX = 255, 4096  # bytes of a path component and of a path (Linux)


class ConfigError(ValueError):
    """An invalid config; the message is one line starting with the offending key path."""

    def __init__(self, key: str, problem: str):
        key = quoted_input(key)  # a key path can hold any characters a TOML key can
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key, self.problem = key, problem

    def __reduce__(self):
        # Rebuild from (key, problem), so the error survives process and Dask boundaries.
        return type(self), (self.key, self.problem)


def show(value: Any) -> str:
    """A value as it would be written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # JSON string escapes are valid TOML basic-string escapes
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, float):
        return "inf" if value == math.inf else "-inf" if value == -math.inf else repr(value)
    if isinstance(value, dict):
        return "a table"
    return repr(value)


# ---------------------------------------------------------------------------------------
# Value checkers: (value, key path) -> normalised value, or ConfigError
# ---------------------------------------------------------------------------------------

Checker = Callable[[Any, str], Any]


def fail(path: str, problem: str, value: Any) -> ConfigError:
    return ConfigError(path, f"{problem}, got {quoted_input(show(value))}")


def integer(low: int | None = None) -> Checker:
    def check(value: Any, path: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise fail(path, "must be an integer", value)
        if low is not None and value < low:
            raise fail(path, f"must be >= {low}", value)
        if value > INT64_MAX:
            raise fail(path, f"must be <= {INT64_MAX} (a 64-bit integer)", value)
        return value
    return check


def real(low: float = -math.inf, high: float = math.inf, *, low_open: bool = False,
         high_open: bool = False, allow_inf: bool = False) -> Checker:
    """Number in the interval; ints are accepted, bools are not."""
    closed_high = not high_open and (math.isfinite(high) or allow_inf)
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{']' if closed_high else ')'}"

    def check(value: Any, path: str) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise fail(path, "must be a number", value)
        if math.isnan(value) or (math.isinf(value) and not allow_inf):
            raise fail(path, "must be a finite number", value)
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if too_low or too_high:
            raise fail(path, f"must be in {interval}", value)
        return float(value)
    return check


def positive() -> Checker:
    return real(0.0, math.inf, low_open=True)


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise fail(path, "must be true or false", value)
    return value


def choice(options: tuple[str, ...]) -> Checker:
    def check(value: Any, path: str) -> str:
        if value not in options or not isinstance(value, str):
            raise fail(path, f"must be one of {', '.join(map(show, options))}", value)
        return value
    return check


def text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise fail(path, "must be a string", value)
    return value


def identifier(value: Any, path: str) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise fail(path, "must be 1-100 letters, digits, '.', '_' or '-', starting with a "
                    "letter or digit", value)
    return value


def list_of(element: Checker, allow_scalar: bool = False) -> Checker:
    """A non-empty list (stored as a tuple), or with ``allow_scalar`` also one value."""
    def check(value: Any, path: str) -> Any:
        if allow_scalar and not isinstance(value, list):
            return element(value, path)
        if not isinstance(value, list) or not value:
            raise fail(path, "must be a non-empty list", value)
        return tuple(element(v, f"{path}[{i}]") for i, v in enumerate(value))
    return check


def setting(default: Any, check: Checker) -> Any:
    """A settings-dataclass field with its default and its checker (in the metadata)."""
    return field(default=default, metadata={"check": check})


def integer_list(low: int) -> Checker:
    """A non-empty list of distinct integers >= ``low``, sorted, stored as a tuple."""
    def check(value: Any, path: str) -> tuple[int, ...]:
        values = list_of(integer(low))(value, path)
        if len(set(values)) != len(values):
            raise fail(path, "values must be distinct", value)
        return tuple(sorted(values))
    return check


def grid_values(value: list, check: Checker, path: str) -> tuple[Any, ...]:
    """A grid axis: a non-empty list of distinct values, each checked by ``check``."""
    if not value:
        raise ConfigError(path, "empty list; give at least one value")
    values = tuple(check(v, f"{path}[{i}]") for i, v in enumerate(value))
    seen = set()  # a set: linear in the number of values (a grid may be long)
    for i, v in enumerate(values):
        if v in seen:
            raise fail(f"{path}[{i}]", "duplicate grid value", v)
        seen.add(v)
    return values


def check_cell_count(grid: dict[str, tuple[Any, ...]], path: str = "data") -> None:
    """Refuse a grid of more than :data:`MAX_CELLS` cells (the product of its axes' lengths)."""
    n_cells = math.prod(len(values) for values in grid.values())
    if n_cells > MAX_CELLS:
        sizes = " x ".join(f"{len(v)} {k}" for k, v in grid.items())
        raise ConfigError(path, f"the grid has {n_cells:,} cells ({sizes}), more than "
                          f"{MAX_CELLS:,}; split the experiment into several configs")


def check_path_length(path: str | os.PathLike[str], key: str, what: str) -> None:
    """Refuse a path the system cannot look up (a component over :data:`NAME_MAX` bytes or
    the whole over :data:`PATH_MAX`), before any lookup raises ``File name too long``."""
    raw = os.fsencode(os.path.abspath(path))
    if len(raw) >= PATH_MAX or max(map(len, raw.split(b"/"))) > NAME_MAX:
        raise ConfigError(key, f"{what} '{quoted_input(os.fspath(path))}' is too long: a path "
                          f"may have {PATH_MAX - 1} bytes, a file or folder name {NAME_MAX}")


def table(raw: Any, path: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise fail(path, f"must be a table ([{path}])", raw)
    return raw


def reject_unknown(raw: dict[str, Any], allowed: Any, path: str) -> None:
    for key in raw:
        if key not in allowed:
            where = f"{path}.{key}" if path else key
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            what = "key" if path else "section"
            raise ConfigError(where, f"unknown {what}{hint}; allowed: {', '.join(allowed)}")


# ---------------------------------------------------------------------------------------
# Writing resolved configs
# ---------------------------------------------------------------------------------------


def listify(value: Any) -> Any:
    """Tuples (as stored in settings) back to lists, recursively."""
    return [listify(v) for v in value] if isinstance(value, tuple) else value


def dump_toml(tables: dict[str, Any], prefix: str = "") -> str:
    """Nested dicts of plain values as TOML tables (``[a]``, ``[a.b]``)."""
    lines: list[str] = []
    for table, content in tables.items():
        header = f"{prefix}{table}"
        lines.append(f"[{header}]")
        lines.extend(f"{key} = {show(value)}" for key, value in content.items()
                     if not isinstance(value, dict))
        lines.append("")
        nested = {k: v for k, v in content.items() if isinstance(v, dict)}
        if nested:
            lines.append(dump_toml(nested, prefix=f"{header}."))
    return "\n".join(lines).rstrip("\n") + "\n"
