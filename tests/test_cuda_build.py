"""CUDA standalone: code generation and an nvcc compile of a representative network, and,
on a machine with a GPU (marker ``gpu``), its spikes against C++ standalone.

No GPU is needed to compile (GPU detection is off; C++17; cuRAND from the
nvidia-curand wheel). Running the binary needs a GPU: without one, run() says so.
"""

import shutil

import numpy as np
import pytest
from brian2 import Hz, SpikeMonitor, StateMonitor, mV, ms

import dgnsim
from dgnsim.brian.backend import gpu_available


@pytest.mark.slow
@pytest.mark.cuda_build
def test_cuda_code_generation_and_compile():
    assert shutil.which("nvcc") or shutil.os.path.exists("/usr/local/cuda/bin/nvcc"), \
        "nvcc (CUDA toolkit) is required for the CUDA build test"
    with dgnsim.Simulation("cuda_standalone", seed=1) as sim:
        src = sim.add(dgnsim.poisson_input(50, 20 * Hz, 100 * ms, seed=2, name="input"))
        grp = sim.add(dgnsim.make_group("dgn", 100, {"noise_sigma": 1 * mV, "I_ext": np.linspace(0, 5, 100) * mV},
                                        name="neurons"))
        sim.add(dgnsim.connect(src, grp, p=0.2, seed=3, w=3 * mV, c=0.2, delay=1 * ms, name="syn"))
        sim.add(SpikeMonitor(grp, name="spikes"))
        sim.add(StateMonitor(grp, ["v", "g"], record=[0, 1], name="trace"))
        sim.build(100 * ms)
        assert (sim.directory / "main").is_file(), "nvcc produced no binary"
        assert any(sim.directory.glob("code_objects/*.cu"))
        if not gpu_available():
            with pytest.raises(dgnsim.BackendError, match="needs a GPU"):
                sim.run()


def _frozen_noise_network(device):
    """A DGN network whose randomness is all drawn in numpy (frozen noise), so every backend
    simulates the same network and must give the same spikes."""
    duration = 200 * ms
    with dgnsim.Simulation(device, seed=1) as sim:
        table = dgnsim.frozen_noise(100, duration, sim.dt, seed=4)
        src = sim.add(dgnsim.poisson_input(50, 20 * Hz, duration, seed=2, name="input"))
        grp = sim.add(dgnsim.make_group("dgn", 100, {"noise_sigma": 1 * mV, "I_ext": np.linspace(0, 5, 100) * mV},
                                        noise_table=table, name="neurons"))
        sim.add(dgnsim.connect(src, grp, p=0.2, seed=3, w=3 * mV, c=0.2, delay=1 * ms, name="syn"))
        spikes = sim.add(SpikeMonitor(grp, name="spikes"))
        sim.build(duration)
        sim.run()
        return np.array(spikes.i[:]), np.array(spikes.t[:] / ms)


@pytest.mark.gpu
@pytest.mark.cuda_build
def test_cuda_standalone_gives_the_spikes_of_cpp_standalone():
    i_cuda, t_cuda = _frozen_noise_network("cuda_standalone")
    i_cpp, t_cpp = _frozen_noise_network("cpp_standalone")
    assert len(i_cpp) > 50
    order_cuda, order_cpp = np.lexsort((i_cuda, t_cuda)), np.lexsort((i_cpp, t_cpp))
    np.testing.assert_array_equal(i_cuda[order_cuda], i_cpp[order_cpp])
    np.testing.assert_allclose(t_cuda[order_cuda], t_cpp[order_cpp], rtol=0, atol=1e-9)
