"""Running the ``dgnsim`` command from tests: in a new process (as a user does) or in this one."""

import contextlib
import io
import subprocess
import sys
import types


def in_subprocess(*args, **kw):
    """The command in a new process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "dgnsim", *args], capture_output=True, text=True, **kw)


def in_process(*args):
    """The command run by ``dgnsim.cli.main`` in this process (no interpreter start): its exit
    status and output, for the many bad-input cases."""
    from dgnsim.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())
