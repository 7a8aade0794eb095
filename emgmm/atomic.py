"""Crash-safe file writes: the one owner of the temporary-file-and-rename pattern.

A file is written to a temporary file in the same directory and then renamed over its final
name with :func:`os.replace`, which is atomic on POSIX and Windows: a reader sees either the
old file, the complete new one, or nothing, never a truncated file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path



def _current_umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; restore at once
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; rename it to ``final`` on success.

    The temporary name keeps ``final``'s suffix (writers such as ``numpy.savez`` add one
    otherwise) and starts with a dot and contains ``.tmp``, so globbing for finished files
    never matches it. On an exception the temporary file is removed and ``final`` is left
    as it was.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}", dir=final.parent
    )
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp creates 0600; use the usual mode
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


def leftover_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Temporary files of :func:`atomic_path` left in ``directory`` by a killed writer."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob(".*.tmp*") if p.is_file())
