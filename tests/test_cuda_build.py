"""CUDA standalone: code generation and an nvcc compile of a representative network.

No GPU is needed to compile (GPU detection is off; C++17; cuRAND from the
nvidia-curand wheel). Running the binary needs a GPU: without one, run() says so.
"""

import shutil

import numpy as np
import pytest
from brian2 import Hz, SpikeMonitor, StateMonitor, mV, ms

import dgnsim
from dgnsim.brian.backend import gpu_available


@pytest.mark.cuda_build
def test_cuda_code_generation_and_compile():
    assert shutil.which("nvcc") or shutil.os.path.exists("/usr/local/cuda/bin/nvcc"), \
        "nvcc (CUDA toolkit) is required for the CUDA build test"
    with dgnsim.Simulation("cuda_standalone", seed=1) as sim:
        src = sim.add(dgnsim.poisson_input(50, 20 * Hz, 100 * ms, seed=2, name="input"))
        grp = sim.add(dgnsim.make_group("dgn", 100, {"noise_sigma": 1 * mV, "I_ext": np.linspace(0, 5, 100) * mV},
                                        name="neurons"))
        sim.add(dgnsim.connect(src, grp, p=0.2, seed=3, w=3 * mV, c=0.2, delay=1 * ms, name="syn"))
        spikes = sim.add(SpikeMonitor(grp, name="spikes"))
        sim.add(StateMonitor(grp, ["v", "g"], record=[0, 1], name="trace"))
        sim.build(100 * ms)
        assert (sim.directory / "main").is_file(), "nvcc produced no binary"
        assert any(sim.directory.glob("code_objects/*.cu"))
        if gpu_available():
            sim.run()
            assert len(spikes.i[:]) > 0
        else:
            with pytest.raises(dgnsim.BackendError, match="needs a GPU"):
                sim.run()
