"""The core install without extras: everything but sweeps, training and NIR imports and runs,
and what needs an extra says which one.

Each case runs in a new interpreter whose first import finder refuses the extras' modules
(``import`` and ``importlib.util.find_spec`` fail as if they were not installed), as in a
fresh ``pip install dgnsim``.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from dgnsim.core.extras import require_extra

EXTRAS = ("dask", "distributed", "xarray", "zarr", "torch", "safetensors", "nir", "nirtorch")
SPEC = Path(__file__).parent.parent / "examples" / "sweeps" / "dgn_gate.toml"


def _without_extras(code: str) -> subprocess.CompletedProcess:
    prelude = (
        "import sys\n"
        "class Absent:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {EXTRAS!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Absent())\n"
    )
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=120)


def test_require_extra_names_the_extra_and_every_missing_module():
    require_extra("sweep", "numpy", "json")  # present: nothing happens
    with pytest.raises(
        ImportError, match=r"'sweep' extra: pip install 'dgnsim\[sweep\]' \(missing: no_such_a, no_such_b\)"
    ):
        require_extra("sweep", "numpy", "no_such_a", "no_such_b")


def test_core_modules_and_the_whole_command_line_import_without_extras():
    done = _without_extras(
        "import dgnsim, dgnsim.interop.bridge, dgnsim.interop.study, dgnsim.sweep, dgnsim.analysis\n"
        "from dgnsim.cli import main\n"
        "assert main(['models']) == 0\n"
        "print('ok')\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("ok")
    assert "dgn" in done.stdout


def test_what_needs_the_sweep_extra_says_so_before_running():
    done = _without_extras(
        "from dgnsim.core.parallel import map_points\n"
        "from dgnsim.sweep import run_sweep, open_sweep\n"
        "assert map_points(lambda batch: [2 * p for p in batch], [1, 2]) == [2, 4]  # in this process: no extra\n"
        "for call in (lambda: map_points(len, [1], workers=2), lambda: run_sweep('x.toml', 'x.zarr'),\n"
        "             lambda: open_sweep('x.zarr')):\n"
        "    try:\n"
        "        call()\n"
        "    except ImportError as exc:\n"
        "        print(exc)\n"
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 3
    assert all("pip install 'dgnsim[sweep]'" in line for line in lines), lines
    assert "missing: dask, distributed" in lines[0]


def test_the_sweep_and_nir_commands_name_their_extra(tmp_path):
    done = _without_extras(
        "import sys\n"
        "from dgnsim.cli import main\n"
        f"sys.exit(main(['sweep', {str(SPEC)!r}, '--out', {str(tmp_path / 'out.zarr')!r}]))\n"
    )
    assert done.returncode == 2
    assert "pip install 'dgnsim[sweep]'" in done.stderr
    assert not (tmp_path / "out.zarr").exists()
    done = _without_extras(
        "import sys\n"
        "from dgnsim.cli import main\n"
        f"sys.exit(main(['nir', 'run', 'g.nir', '--input', 'x.npy', '--out', {str(tmp_path / 'nir')!r}]))\n"
    )
    assert done.returncode == 2
    assert "pip install 'dgnsim[nir]'" in done.stderr
