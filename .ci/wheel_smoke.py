"""Run by wheel_smoke.sh in a fresh venv, in a temporary folder: the installed wheel works alone."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

repo, wheel = Path(sys.argv[1]).resolve(), Path(sys.argv[2])


def check(condition, message):
    if not condition:
        sys.exit(f"wheel smoke: FAILED: {message}")


# the wheel carries every subpackage and every model file of the checkout
names = set(zipfile.ZipFile(wheel).namelist())
packages = [p.parent.relative_to(repo) for p in (repo / "dgnsim").rglob("__init__.py")]
for package in packages:
    check(f"{package.as_posix()}/__init__.py" in names, f"subpackage {package} missing from the wheel")
for model in (repo / "equations").glob("*.toml"):
    check(f"dgnsim/equations/{model.name}" in names, f"model file {model.name} missing from the wheel")
check("dgnsim/py.typed" in names, "py.typed missing")

import dgnsim  # noqa: E402

check(repo not in Path(dgnsim.__file__).resolve().parents, f"dgnsim imported from the checkout: {dgnsim.__file__}")
models = dgnsim.list_models()
expected = sorted(p.stem for p in (repo / "equations").glob("*.toml"))
check(models == expected, f"list_models() = {models}, expected {expected}")
print(f"wheel smoke: dgnsim {dgnsim.__version__} from {Path(dgnsim.__file__).parent}; models {models}")


def dgnsim_cli(*args):
    res = subprocess.run(["dgnsim", *args], capture_output=True, text=True)
    check(res.returncode == 0, f"dgnsim {' '.join(args)} exited {res.returncode}: {res.stderr[-2000:]}")
    return res.stdout


listing = dgnsim_cli("models", "--json")
check({m["name"] for m in json.loads(listing)} == set(expected), "dgnsim models lists other models")

spikes = {}
for device in ("numpy", "cpp_standalone"):
    out = Path(f"simulate_{device}")
    summary = json.loads(
        dgnsim_cli(
            "simulate",
            "--model",
            "dgn",
            "--neurons",
            "20",
            "--duration",
            "200ms",
            "--device",
            device,
            "--noise",
            "1mV",
            "--w",
            "4mV",
            "--input-rate",
            "30Hz",
            "--out",
            str(out),
            "--json",
        )
    )
    data = np.load(out / "simulation.npz")
    spikes[device] = (data["spike_i"], data["spike_t_s"])
    check(summary["spikes"] > 0, f"simulate on {device}: no spikes")
    print(f"wheel smoke: simulate dgn on {device}: {summary['spikes']} spikes")
check(
    np.array_equal(spikes["numpy"][0], spikes["cpp_standalone"][0])
    and np.allclose(spikes["numpy"][1], spikes["cpp_standalone"][1], rtol=0, atol=1e-12),
    "numpy and cpp_standalone spikes differ",
)

user = Path("my_models/my_lif.toml")
user.parent.mkdir()
text = (Path(dgnsim.core.models.builtin_dir()) / "lif.toml").read_text()
user.write_text(text.replace('name = "lif"', 'name = "my_lif"').replace("value = 20.0", "value = 12.0"))
summary = json.loads(
    dgnsim_cli(
        "simulate",
        "--model",
        str(user),
        "--neurons",
        "10",
        "--duration",
        "100ms",
        "--device",
        "numpy",
        "--w",
        "4mV",
        "--input-rate",
        "30Hz",
        "--out",
        "simulate_user",
        "--json",
    )
)
check(summary["model"] == "my_lif", f"user model ran as {summary['model']}")
print(f"wheel smoke: user model {user} by path: {summary['spikes']} spikes")

loaded = [m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)]
from_checkout = [f for f in loaded if repo in Path(f).resolve().parents]
check(not from_checkout, f"imported from the checkout: {from_checkout[:5]}")
print("wheel smoke: passed")
