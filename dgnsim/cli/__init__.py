"""The ``dgnsim`` command line (also ``python -m dgnsim``).

Every module in :mod:`dgnsim.cli.commands` is one sub-command. Bad input exits with
status 2 and a one-line message; nothing half-written is left behind.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from dgnsim.cli import commands


class UsageError(ValueError):
    """Bad input from the command line."""


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{commands.__name__}.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dgnsim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(handler=module.run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("dgnsim: interrupted; finished outputs are kept, nothing half-written", file=sys.stderr)
        return 130
    except (ValueError, TypeError, FileNotFoundError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"dgnsim {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
