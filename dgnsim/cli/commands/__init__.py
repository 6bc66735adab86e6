"""Sub-commands of the ``dgnsim`` command line; each module here is one sub-command.

A module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``;
:mod:`dgnsim.cli` finds them all.
"""
