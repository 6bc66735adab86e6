"""The ``dgnsim`` command line (also ``python -m dgnsim``).

Every module in :mod:`dgnsim.cli.commands` is one sub-command. Bad input (a ValueError such
as :class:`~dgnsim.cli.options.UsageError`, or a path that is missing or not permitted)
exits with status 2 and a one-line message naming the option; any other exception is a bug
in dgnsim and exits with status 1 and its traceback; Ctrl-C exits with status 130. Nothing
half-written is left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import pkgutil
import signal
import sys
import threading
import traceback

from dgnsim.brian.backend import BackendError
from dgnsim.cli import commands
from dgnsim.cli.options import UsageError

__all__ = ["UsageError", "build_parser", "main"]

#: Exceptions that report bad input or an environment that cannot do what was asked
#: (BackendError: e.g. no GPU; FloatingPointError: training diverged, lower --lr).
EXPECTED_ERRORS = (
    ValueError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    FileExistsError,
    PermissionError,
    BackendError,
    FloatingPointError,
)


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{commands.__name__}.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dgnsim``, one sub-command per module of :mod:`dgnsim.cli.commands`.

    Each module gives ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args)``; the CLI
    reference in the documentation is generated from this parser.

    Returns
    -------
    argparse.ArgumentParser
        The parser; its parsed arguments carry the sub-command's ``handler``.
    """
    parser = argparse.ArgumentParser(prog="dgnsim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(handler=module.run)
    return parser


@contextlib.contextmanager
def _ctrl_c_interrupts():
    """While a command runs, SIGINT raises KeyboardInterrupt, whatever handler was there.

    Importing brian2 installs a handler that calls the one it replaced; where that was not a
    function (SIGINT ignored, as for a background job) the call raises TypeError, which torch's
    operators turn into "unsupported operand type(s)". Brian2's handler would also stop a
    running simulation early and let the command write its truncated results.
    """
    import brian2  # noqa: F401 - it replaces the SIGINT handler when first imported

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def main(argv=None) -> int:
    """Run the command line and return its exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success (or the sub-command's own status), 2 for bad input (a one-line message
        naming the option on stderr), 130 on Ctrl-C, 1 for a bug (with its traceback).

    Raises
    ------
    SystemExit
        From argparse, with status 2, for arguments it cannot parse (and 0 for ``--help``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    name = f"dgnsim {args.command}"
    try:
        with _ctrl_c_interrupts():
            return int(args.handler(args) or 0)
    except KeyboardInterrupt as exc:  # a message, where there is one, says what is saved and how to resume
        print(f"{name}: {str(exc) or 'interrupted; finished outputs are kept, nothing half-written'}", file=sys.stderr)
        return 130
    except EXPECTED_ERRORS as exc:
        print(f"{name}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except Exception:
        print(
            f"{name}: internal error, a bug in dgnsim (not in your input); please report it with this traceback:",
            file=sys.stderr,
        )
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
