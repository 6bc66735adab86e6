"""CUDA standalone: code generation and an nvcc compile of a representative network, and,
on a machine with a GPU (marker ``gpu``), its spikes against C++ standalone.

No GPU is needed to compile (GPU detection is off; C++17; cuRAND from the
nvidia-curand wheel). Running the binary needs a GPU: without one, run() says so.
On a GPU machine ``benchmarks/gpu/run.sh`` runs ``pytest -m gpu`` with the GPU's compute
capability and id in ``DGNSIM_CUDA_COMPUTE_CAPABILITY`` and ``DGNSIM_CUDA_GPU_ID``.
"""

import os
import shutil

import numpy as np
import pytest
from brian2 import Hz, SpikeMonitor, StateMonitor, ms, mV, prefs

import dgnsim
from dgnsim.brian.backend import gpu_available


@pytest.mark.slow
@pytest.mark.cuda_build
def test_cuda_code_generation_and_compile():
    assert shutil.which("nvcc") or shutil.os.path.exists("/usr/local/cuda/bin/nvcc"), (
        "nvcc (CUDA toolkit) is required for the CUDA build test"
    )
    with dgnsim.Simulation("cuda_standalone", seed=1) as sim:
        src = sim.add(dgnsim.poisson_input(50, 20 * Hz, 100 * ms, seed=2, name="input"))
        grp = sim.add(
            dgnsim.make_group("dgn", 100, {"noise_sigma": 1 * mV, "I_ext": np.linspace(0, 5, 100) * mV}, name="neurons")
        )
        sim.add(dgnsim.connect(src, grp, p=0.2, seed=3, w=3 * mV, c=0.2, delay=1 * ms, name="syn"))
        sim.add(SpikeMonitor(grp, name="spikes"))
        sim.add(StateMonitor(grp, ["v", "g"], record=[0, 1], name="trace"))
        sim.build(100 * ms)
        assert (sim.directory / "main").is_file(), "nvcc produced no binary"
        assert any(sim.directory.glob("code_objects/*.cu"))
        if not gpu_available():
            with pytest.raises(dgnsim.BackendError, match="needs a GPU"):
                sim.run()


def _this_gpu() -> None:
    """The GPU that run.sh detected, on top of dgnsim's CUDA set-up (which assumes 8.0, GPU 0)."""
    cb = prefs.devices.cuda_standalone.cuda_backend
    if os.environ.get("DGNSIM_CUDA_COMPUTE_CAPABILITY"):
        cb.compute_capability = float(os.environ["DGNSIM_CUDA_COMPUTE_CAPABILITY"])
    if os.environ.get("DGNSIM_CUDA_GPU_ID"):
        cb.gpu_id = int(os.environ["DGNSIM_CUDA_GPU_ID"])


def _frozen_noise_network(device):
    """A DGN network whose randomness is all drawn in numpy (frozen noise), so every backend
    simulates the same network and must give the same spikes. The drive (I_ext up to 25 mV
    against a threshold 15 mV above rest, plus the input) makes about half the neurons fire."""
    duration = 200 * ms
    with dgnsim.Simulation(device, seed=1) as sim:
        if device == "cuda_standalone":
            _this_gpu()
        table = dgnsim.frozen_noise(100, duration, sim.dt, seed=4)
        src = sim.add(dgnsim.poisson_input(50, 20 * Hz, duration, seed=2, name="input"))
        grp = sim.add(
            dgnsim.make_group(
                "dgn",
                100,
                {"noise_sigma": 2 * mV, "I_ext": np.linspace(0, 25, 100) * mV},
                noise_table=table,
                name="neurons",
            )
        )
        sim.add(dgnsim.connect(src, grp, p=0.2, seed=3, w=3 * mV, c=0.2, delay=1 * ms, name="syn"))
        spikes = sim.add(SpikeMonitor(grp, name="spikes"))
        sim.build(duration)
        try:
            sim.run()
        except RuntimeError as exc:  # the binary failed: Brian2 printed its output (captured above)
            pytest.fail(
                f"{device} binary failed in {sim.directory}: {exc} (CUDA error or driver too old? "
                "see the captured stdout)"
            )
        print(
            f"{device}: {len(spikes.i[:])} spikes, build {sim.timings.get('compile_s', 0):.1f} s, "
            f"network {sim.timings.get('network_s', 0):.3f} s ({sim.directory})"
        )
        return np.array(spikes.i[:]), np.array(spikes.t[:] / ms)


def _first_difference(a, b):
    """Index of the first spike (i, t) that differs between two sorted trains, or None."""
    n = min(len(a[0]), len(b[0]))
    differ = np.flatnonzero((a[0][:n] != b[0][:n]) | (np.abs(a[1][:n] - b[1][:n]) > 1e-9))
    if len(differ):
        return int(differ[0])
    return n if len(a[0]) != len(b[0]) else None


@pytest.mark.gpu
@pytest.mark.cuda_build
def test_cuda_standalone_gives_the_spikes_of_cpp_standalone():
    i_cuda, t_cuda = _frozen_noise_network("cuda_standalone")
    i_cpp, t_cpp = _frozen_noise_network("cpp_standalone")
    assert len(i_cpp) > 50, f"cpp_standalone gave only {len(i_cpp)} spikes: the network is too quiet to compare"
    order_cuda, order_cpp = np.lexsort((i_cuda, t_cuda)), np.lexsort((i_cpp, t_cpp))
    cuda = (i_cuda[order_cuda], t_cuda[order_cuda])
    cpp = (i_cpp[order_cpp], t_cpp[order_cpp])
    first = _first_difference(cuda, cpp)
    if first is not None:

        def show(train):
            return f"(neuron {train[0][first]}, {train[1][first]:.1f} ms)" if first < len(train[0]) else "(none)"

        pytest.fail(
            f"cuda_standalone: {len(i_cuda)} spikes, cpp_standalone: {len(i_cpp)}; the spike trains "
            f"differ from spike {first} on (in time order): cuda {show(cuda)}, cpp {show(cpp)}; "
            f"{first} spikes identical before it"
        )
    print(f"cuda_standalone and cpp_standalone: the same {len(i_cpp)} spikes (neuron and time)")
