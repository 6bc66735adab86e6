"""Atomic file output: a result is either completely written or not there at all."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    A context manager: write the temporary file inside the ``with`` block; if the block
    raises, the temporary file is removed and ``path`` is left as it was. The parent folder is
    created if missing.

    Parameters
    ----------
    path : str or path-like
        The file to write.

    Yields
    ------
    pathlib.Path
        The temporary file (in ``path``'s folder, so the rename is atomic).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path, data) -> None:
    """Write ``data`` as indented JSON, atomically.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    data : object
        JSON data; numpy scalars and arrays and paths are converted.

    Raises
    ------
    TypeError
        If ``data`` holds a value that cannot be written as JSON (nothing is written).
    """
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=_jsonable) + "\n")


def write_text(path, text: str) -> None:
    """Write text, atomically.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    text : str
        Its content.
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_npz(path, **arrays) -> None:
    """Write numpy arrays to a compressed ``.npz``, atomically.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    **arrays : array_like
        The arrays, by the names they get in the file.
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
