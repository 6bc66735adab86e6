"""benchmarks/gpu/: everything of the GPU run that can be checked without a GPU.

* the wheel lists match what the target machine lacks (from the packages' own metadata);
* the fetched wheels cover the lists for CPython 3.12 and 3.13 and stay under 60 MiB, and
  install, with no index, into a temporary target (these two skip, saying so, until
  ``benchmarks/gpu/fetch_wheels.sh`` has filled ``benchmarks/gpu/wheels/``);
* install.sh makes a venv that sees the machine's packages and holds dgnsim;
* the benchmark's budget logic, and its CPU path at a small size (JSON fields, plot).

The CPU dry run of the whole script is a command (minutes, so not a test here)::

    PYTHON=python3 benchmarks/gpu/run.sh --dry-run /tmp/gpu-dry-run
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename

REPO = Path(__file__).resolve().parent.parent
GPU = REPO / "benchmarks" / "gpu"
WHEELS = GPU / "wheels"
PYTHONS = ("3.12", "3.13")
NOT_FETCHED = "benchmarks/gpu/wheels/ not fetched: run benchmarks/gpu/fetch_wheels.sh (needs the package index)"


def _requirements(name: str) -> list[Requirement]:
    lines = (re.sub(r"#.*", "", line).strip() for line in (GPU / name).read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def _names(reqs) -> set[str]:
    return {canonicalize_name(r.name) for r in reqs}


def _target_has() -> set[str]:
    line = next(line for line in (GPU / "requirements.txt").read_text().splitlines() if "target-has:" in line)
    return {canonicalize_name(n) for n in line.split("target-has:")[1].split()}


def _closure(roots) -> set[str]:
    """The distributions that ``roots`` need on Linux, from the metadata installed here."""
    env = {"sys_platform": "linux", "platform_system": "Linux", "extra": ""}
    seen, todo = set(), [canonicalize_name(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for spec in metadata.requires(name) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate(env):
                todo.append(canonicalize_name(req.name))
    return seen


def _fetched() -> bool:
    return (WHEELS / "MANIFEST.txt").is_file()


def _bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", GPU / "bench_gpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the wheel lists -------------------------------------------------------------------------


def test_required_wheels_are_what_the_target_lacks():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    core = [Requirement(d).name for d in pyproject["project"]["dependencies"]]
    required, plot = _names(_requirements("requirements.txt")), _names(_requirements("requirements-plot.txt"))
    target = _closure(_target_has())
    # dgnsim's core dependencies (matplotlib apart: only the plot needs it), brian2cuda, pytest
    needed = _closure([n for n in core if n != "matplotlib"] + ["brian2cuda", "pytest"]) - target
    assert required - {"setuptools"} == needed - {"setuptools"}, (
        f"requirements.txt lists {sorted(required)}; the target lacks {sorted(needed)}"
    )
    # setuptools: dgnsim's build requirement, with its floor (the machine's may be older)
    build = Requirement(pyproject["build-system"]["requires"][0])
    listed = {r.name: r for r in _requirements("requirements.txt")}["setuptools"]
    assert str(build.specifier) == str(listed.specifier)
    assert plot == _closure(["matplotlib"]) - target - required, sorted(_closure(["matplotlib"]) - target - required)


def test_pins_match_brian2cuda_and_the_cuda_extra():
    listed = {canonicalize_name(r.name): r for r in _requirements("requirements.txt")}
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    cuda = {
        canonicalize_name(Requirement(d).name): Requirement(d)
        for d in pyproject["project"]["optional-dependencies"]["cuda"]
    }
    for name in ("brian2", "brian2cuda"):
        assert str(listed[name].specifier) == str(cuda[name].specifier)
    pin = next(Requirement(d) for d in metadata.requires("brian2cuda") if d.startswith("brian2"))
    assert str(pin.specifier) == str(listed["brian2"].specifier)
    # brian2 itself says which Python it needs: the wheel folder serves 3.12 and 3.13
    requires_python = metadata.metadata("brian2")["Requires-Python"]
    assert all(v in SpecifierSet(requires_python) for v in PYTHONS)


# -- the fetched wheels ------------------------------------------------------------------------


def _wheel_for(req: Requirement, python: str) -> str | None:
    cp = "cp" + python.replace(".", "")
    for path in WHEELS.glob("*.whl"):
        name, version, _, tags = parse_wheel_filename(path.name)
        if name != canonicalize_name(req.name) or not req.specifier.contains(version, prereleases=True):
            continue
        if any(t.interpreter == cp or (t.platform == "any" and t.interpreter.startswith("py3")) for t in tags):
            return path.name
    return None


@pytest.mark.skipif(not _fetched(), reason=NOT_FETCHED)
def test_fetched_wheels_cover_the_lists_and_fit():
    missing = [
        f"{r} (CPython {py})"
        for name in ("requirements.txt", "requirements-plot.txt", "requirements-bootstrap.txt")
        for r in _requirements(name)
        for py in PYTHONS
        if _wheel_for(r, py) is None
    ]
    assert not missing, f"no wheel for: {missing}; rerun benchmarks/gpu/fetch_wheels.sh"
    manifest = [line.split() for line in (WHEELS / "MANIFEST.txt").read_text().splitlines()]
    assert {m[0] for m in manifest} == {p.name for p in WHEELS.glob("*.whl")}
    assert all((WHEELS / name).stat().st_size == int(size) for name, size, _ in manifest)
    total = sum(int(size) for _, size, _ in manifest)
    assert total < 60 * 2**20, f"{total / 2**20:.1f} MiB of wheels: over 60 MiB"


def _pip_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # the wheel folder only: no index or find-links of this machine
    return env


@pytest.mark.skipif(not _fetched(), reason=NOT_FETCHED)
def test_wheels_install_with_no_index_into_a_temporary_target(tmp_path):
    reqs = ["-r", str(GPU / "requirements.txt"), "-r", str(GPU / "requirements-plot.txt")]
    pip = [
        sys.executable,
        "-m",
        "pip",
        "--disable-pip-version-check",
        "install",
        "--no-index",
        "--find-links",
        str(WHEELS),
        "--no-deps",
        "--only-binary=:all:",
    ]
    # CPython 3.13: resolution only (no 3.13 interpreter needed)
    out = subprocess.run(
        [
            *pip,
            "--dry-run",
            "--target",
            str(tmp_path / "py313"),
            "--python-version",
            "3.13",
            "--implementation",
            "cp",
            "--platform",
            "manylinux_2_28_x86_64",
            "--platform",
            "manylinux_2_17_x86_64",
            "--platform",
            "manylinux2014_x86_64",
            *reqs,
        ],
        capture_output=True,
        text=True,
        env=_pip_env(),
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "brian2-2.10.1" in out.stdout
    # this Python: a real install, then the imports come from the target
    target = tmp_path / "target"
    out = subprocess.run(
        [*pip, "--quiet", "--target", str(target), *reqs], capture_output=True, text=True, env=_pip_env(), timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
    check = (
        "import brian2, brian2cuda, matplotlib, pytest, tqdm\n"
        "for m in (brian2, brian2cuda, matplotlib, pytest, tqdm): print(m.__name__, m.__version__, m.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(target)},
    )
    assert out.returncode == 0, out.stderr
    lines = dict((line.split()[0], line.split()[1:]) for line in out.stdout.splitlines())
    assert lines["brian2"][0] == "2.10.1" and lines["brian2cuda"][0] == "1.0b1"
    assert all(path.startswith(str(target)) for _, path in lines.values()), out.stdout


# -- the scripts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("script", ["run.sh", "install.sh", "fetch_wheels.sh"])
def test_scripts_are_executable_strict_bash(script):
    path = GPU / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    text = path.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0


def test_run_script_without_an_output_folder_says_how_to_call_it():
    out = subprocess.run([str(GPU / "run.sh")], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "usage" in out.stderr


def test_install_script_reuses_the_machines_packages_and_installs_dgnsim(tmp_path):
    """This venv as "the machine": nothing to install but dgnsim, whose imports then work."""
    venv = tmp_path / "venv"
    env = {**os.environ, "PYTHON": sys.executable}
    if not _fetched():  # install.sh refuses to start without wheels; one is enough when all is satisfied
        pytest.skip(NOT_FETCHED)
    out = subprocess.run(
        [str(GPU / "install.sh"), str(venv), "--no-cuda"], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Successfully installed" not in out.stdout.split("dgnsim from")[0], "installed wheels the machine has"
    check = "import dgnsim, brian2, brian2cuda, numpy; print(dgnsim.__file__, brian2.__version__)"
    run = subprocess.run([str(venv / "bin" / "python"), "-c", check], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(str(REPO / "dgnsim")) and "2.10.1" in run.stdout


# -- the benchmark -------------------------------------------------------------------------------


def test_cpu_duration_is_capped_by_neuron_steps():
    bench = _bench()
    assert bench.cpu_duration(1.0, 10_000, 1e-4, 2e9) == 1.0
    assert bench.cpu_duration(1.0, 1_000_000, 1e-4, 2e9) == pytest.approx(0.2)
    assert bench.cpu_duration(1.0, 10**9, 1e-4, 2e9) == 0.01  # never below 10 ms


def test_prediction_and_speedup_from_a_smaller_size():
    bench = _bench()
    prev = [
        {
            "size": 10_000,
            "model": "lif",
            "device": d,
            "duration_s": 1.0,
            "status": "ok",
            "build": {"compile_s": 30.0, "network_setup_s": 1.0, "codegen_s": 1.0, "build_s": 32.0},
            "run": {"network_s": loop, "process_s": loop + 0.5, "network_s_per_bio_s": loop},
        }
        for d, loop in (("cuda_standalone", 0.5), ("cpp_standalone", 2.0))
    ]
    configs = [
        {"size": 1_000_000, "model": "lif", "device": "cuda_standalone", "duration_s": 1.0},
        {"size": 1_000_000, "model": "lif", "device": "cpp_standalone", "duration_s": 0.2},
    ]
    build, runs = bench.predict_size(prev, configs)
    assert build == pytest.approx(30 + 2 * 100)  # compile once, the rest linear in n
    assert runs == pytest.approx((50 + 0.5 * 10) + (50 + 2.0 * 100 * 0.2))
    assert bench.speedups(prev) == [
        {"size": 10_000, "model": "lif", "cpp_s_per_bio_s": 2.0, "cuda_s_per_bio_s": 0.5, "cuda_speedup": 4.0}
    ]


def _fake_binary(directory: Path, script: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "main").write_text("#!/usr/bin/env bash\n" + script)
    (directory / "main").chmod(0o755)


def test_run_binary_reads_the_binarys_clock_and_counts(tmp_path):
    """As a standalone binary leaves them: last_run_info.txt, and int32 arrays named with a hash."""
    _fake_binary(
        tmp_path,
        'd=${2%/}; echo "0.25 1" > $d/last_run_info.txt\n'
        'printf "\\x07\\x00\\x00\\x00" > $d/_array_spikes_N_123\n'
        'printf "\\xe8\\x03\\x00\\x00" > $d/_array_syn_N_456\n',
    )
    run = _bench().run_binary(str(tmp_path), timeout_s=30)
    assert run["network_s"] == 0.25 and run["completed_fraction"] == 1.0
    assert run["spikes"] == 7 and run["synapses"] == 1000 and run["process_s"] > 0
    assert not any((tmp_path / "results").iterdir())  # the results are removed


def test_run_binary_failure_names_the_error(tmp_path):
    _fake_binary(
        tmp_path,
        'echo "starting"\necho "ERROR: cudaSetDevice(0) failed: CUDA driver version is insufficient"\nexit 255\n',
    )
    with pytest.raises(RuntimeError, match=r"exited with 255: ERROR: cudaSetDevice\(0\) failed"):
        _bench().run_binary(str(tmp_path), timeout_s=30)
    _fake_binary(tmp_path, "exec sleep 30\n")
    with pytest.raises(subprocess.TimeoutExpired):
        _bench().run_binary(str(tmp_path), timeout_s=0.5)


def test_bench_out_of_budget_skips_with_the_reason_and_still_writes_json(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            str(GPU / "bench_gpu.py"),
            "--cpu-only",
            "--sizes",
            "1000",
            "10000",
            "--budget-s",
            "1",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads((tmp_path / "gpu_bench.json").read_text())
    assert data["status"] == "partial" and data["results"] == []
    assert [s["size"] for s in data["skipped"]] == [1000, 10000]
    assert "time budget" in data["skipped"][0]["reason"]
    assert data["plot"] == {"skipped": "no results"}


@pytest.mark.slow
@pytest.mark.standalone
def test_bench_cpu_path_builds_runs_and_plots(tmp_path):
    env = {**os.environ, "DGNSIM_BUILD_DIR": str(tmp_path / "builds")}
    out = subprocess.run(
        [
            sys.executable,
            str(GPU / "bench_gpu.py"),
            "--cpu-only",
            "--sizes",
            "1000",
            "--duration",
            "20ms",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ran   cpp_standalone" in out.stdout  # progress lines
    data = json.loads((tmp_path / "out" / "gpu_bench.json").read_text())
    assert data["status"] == "complete" and data["errors"] == [] and data["skipped"] == []
    assert data["settings"]["devices"] == ["cpp_standalone"] and data["settings"]["dt_ms"] == 0.1
    assert {"cpus", "python", "brian2", "brian2cuda"} <= set(data["machine"])
    assert sorted(r["model"] for r in data["results"]) == ["dgn", "lif"]
    for r in data["results"]:
        assert r["status"] == "ok" and r["size"] == 1000 and r["duration_s"] == pytest.approx(0.02)
        assert r["build"]["compile_s"] > 0 and r["build"]["build_s"] >= r["build"]["compile_s"]
        assert r["build"]["concurrent_builds"] == 2 and r["build"]["peak_rss_mb"] > 0
        run = r["run"]
        assert 0 < run["network_s"] <= run["process_s"] and run["completed_fraction"] == 1.0
        assert 90_000 < run["synapses"] < 110_000  # 400 sources x 1000 targets x p = 0.25
        assert run["spikes"] >= 0 and run["network_s_per_bio_s"] == pytest.approx(run["network_s"] / 0.02)
    assert data["speedup"] == []
    for ext, magic in (("png", b"\x89PNG"), ("pdf", b"%PDF")):
        assert (tmp_path / "out" / f"gpu_bench.{ext}").read_bytes()[:4] == magic
    assert not (tmp_path / "builds").exists() or not any((tmp_path / "builds").glob("cpp_standalone-*"))
