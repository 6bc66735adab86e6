"""Checks of command-line options, done before any long work; each message names the option.

A failed check raises :class:`UsageError`, which the command line reports in one line with
exit status 2.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from dgnsim.core.quantities import parse_quantity as quantity  # noqa: F401 - the options' quantity reader


class UsageError(ValueError):
    """Bad input from the command line; the message names the option."""


def check(option: str, ok: bool, expected: str, got) -> None:
    """Raise ``UsageError("<option>: must be <expected>, got <got>")`` unless ``ok``."""
    if not ok:
        raise UsageError(f"{option}: must be {expected}, got {got!r}")


def count(option: str, value: int | None, minimum: int = 1) -> int | None:
    """``value`` if it is an integer >= ``minimum`` (None passes: an option not given)."""
    if value is not None:
        check(option, value >= minimum, f"an integer >= {minimum}", value)
    return value


def number(option: str, text: str, *, minimum: float | None = None) -> float:
    """``text`` as a finite number (>= ``minimum`` if given)."""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{option}: must be a number, got {text!r}") from None
    check(option, abs(value) < float("inf"), "finite", text)
    if minimum is not None:
        check(option, value >= minimum, f">= {minimum:g}", text)
    return value


def check_writable(path, option: str = "--out") -> Path:
    """Check that the output folder ``path`` can be created and written into, before long work.

    A file is created in it and removed again; so are the folders this check had to create, so
    a command that fails later leaves nothing behind. Raises UsageError naming ``option``.
    """
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".dgnsim-write-check."):
            pass
    except OSError as exc:
        raise UsageError(f"{option}: cannot create or write the folder {path}: {exc.strerror or exc}") from None
    finally:
        for p in missing:  # deepest first
            with contextlib.suppress(OSError):
                p.rmdir()
    return path
