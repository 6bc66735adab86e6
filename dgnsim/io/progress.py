"""Progress bars on stderr that also read well in a log file.

On a terminal :func:`progress_bar` is an ordinary tqdm bar, redrawn in place. When the
stream is not a terminal (a log file, a pipe, a batch job) a redrawn bar would fill the log
with carriage returns, so each refresh is written as one plain line instead, at most every
:data:`LOG_INTERVAL_S` seconds (plus the first and the last state of each bar).
"""

from __future__ import annotations

import sys

from tqdm import tqdm

#: Seconds between two progress lines when the stream is not a terminal.
LOG_INTERVAL_S = 15.0


class _Lines:
    """A stream for tqdm that turns each in-place redraw into one complete line."""

    def __init__(self, stream):
        self._stream = stream
        self.encoding = getattr(stream, "encoding", None) or "utf-8"

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()  # tqdm writes "\r<status><padding>", and "\n" at close
        if line:
            self._stream.write(line + "\n")

    def flush(self) -> None:
        self._stream.flush()


def progress_bar(
    iterable=None, *, desc: str, unit: str, total: int | None = None, enabled: bool = True, file=None
) -> tqdm:
    """A tqdm bar over ``iterable`` (or of ``total`` steps, advanced with ``update``).

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over; None for a bar advanced by hand (give ``total``).
    desc, unit : str
        Text before the bar, and the name of one step ("file", "sample").
    total : int, optional
        Number of steps (default ``len(iterable)`` where it has one).
    enabled : bool
        False: no output at all.
    file : text stream, optional
        Where to write (default ``sys.stderr``). Off a terminal: plain lines, no ``'\\r'``,
        at most every :data:`LOG_INTERVAL_S` seconds.
    """
    file = sys.stderr if file is None else file
    is_terminal = bool(getattr(file, "isatty", lambda: False)())
    if is_terminal:
        return tqdm(iterable, desc=desc, unit=unit, total=total, disable=not enabled, file=file)
    return tqdm(
        iterable,
        desc=desc,
        unit=unit,
        total=total,
        disable=not enabled,
        file=_Lines(file),
        mininterval=LOG_INTERVAL_S,
        maxinterval=LOG_INTERVAL_S,
        ascii=True,
    )
