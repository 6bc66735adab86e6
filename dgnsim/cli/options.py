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
    """Raise ``UsageError("<option>: must be <expected>, got <got>")`` unless ``ok``.

    Parameters
    ----------
    option : str
        The option's name as the user wrote it (``"--epochs"``).
    ok : bool
        Whether the value is acceptable.
    expected : str
        What the option must be (``"an integer >= 1"``).
    got : object
        The value given.

    Raises
    ------
    UsageError
        If not ``ok``.
    """
    if not ok:
        raise UsageError(f"{option}: must be {expected}, got {got!r}")


def count(option: str, value: int | None, minimum: int = 1) -> int | None:
    """``value`` if it is an integer >= ``minimum``.

    Parameters
    ----------
    option : str
        The option's name, for the message.
    value : int or None
        The value given; None (an option not given) passes.
    minimum : int
        The smallest accepted value.

    Returns
    -------
    int or None
        ``value``.

    Raises
    ------
    UsageError
        If ``value`` is below ``minimum``.
    """
    if value is not None:
        check(option, value >= minimum, f"an integer >= {minimum}", value)
    return value


def number(option: str, text: str, *, minimum: float | None = None) -> float:
    """``text`` as a finite number (>= ``minimum`` if given).

    Parameters
    ----------
    option : str
        The option's name, for the message.
    text : str
        The value as given.
    minimum : float, optional
        The smallest accepted value.

    Returns
    -------
    float
        The number.

    Raises
    ------
    UsageError
        If ``text`` is not a number, not finite or below ``minimum``.
    """
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
    a command that fails later leaves nothing behind.

    Parameters
    ----------
    path : str or path-like
        The output folder.
    option : str
        The option's name, for the message.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    UsageError
        Naming ``option``, if the folder cannot be created or written into.
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
