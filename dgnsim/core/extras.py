"""Optional dependencies: a clear message naming the extra that installs what is missing.

The core install (``pip install dgnsim``) runs models, builds and the bridge; sweeps on
Dask and Zarr, training and NIR need extras. Their modules are imported only where they
are used, and :func:`require_extra` is called first so that a user without them reads
which extra to install rather than a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

from importlib.util import find_spec

__all__ = ["require_extra"]


def _installed(name: str) -> bool:
    try:
        return find_spec(name) is not None
    except (ImportError, ValueError):  # a finder refuses it, or a broken half-import
        return False


def require_extra(extra: str, *modules: str) -> None:
    """Raise ImportError naming ``extra`` when any of ``modules`` is not installed.

    Parameters
    ----------
    extra : str
        The name of the extra that installs the modules (``pip install 'dgnsim[EXTRA]'``).
    *modules : str
        Top-level module names that must be importable; found, not imported.

    Raises
    ------
    ImportError
        When a module is missing; the message names the extra and every missing module.
    """
    missing = [name for name in modules if not _installed(name)]
    if missing:
        raise ImportError(
            f"this needs the '{extra}' extra: pip install 'dgnsim[{extra}]' (missing: {', '.join(missing)})"
        )
