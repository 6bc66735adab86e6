"""Every model on the runtime target and C++ standalone: identical spikes (noise included).

The network's randomness (connectivity, Poisson input, frozen noise) is drawn in numpy
from one seed, so both targets simulate the same network; the C++ build of each model
is compiled once and reused across the two runs that differ only in run arguments.
"""

import numpy as np
import pytest
from brian2 import Hz, SpikeMonitor, StateMonitor, ms, mV

import dgnsim

DURATION = 300 * ms
N = 20
SYNAPSE = {"w": 10 * mV, "c": 0.3}


def _network(sim, model):
    spec = dgnsim.load_model(model)
    table = dgnsim.frozen_noise(N, DURATION, sim.dt, seed=3)
    grp = sim.add(
        dgnsim.make_group(
            model, N, {"noise_sigma": 2 * mV, "I_ext": np.linspace(0, 4, N) * mV}, noise_table=table, name="neurons"
        )
    )
    src = sim.add(dgnsim.poisson_input(40, 30 * Hz, DURATION, seed=1, name="input"))
    weights = {k: v for k, v in SYNAPSE.items() if k in spec.synapse.parameters}
    sim.add(dgnsim.connect(src, grp, p=0.3, seed=2, delay=0.5 * ms, name="syn", **weights))
    spikes = sim.add(SpikeMonitor(grp, name="spikes"))
    trace = sim.add(StateMonitor(grp, "v", record=[0, N - 1], name="trace"))
    return grp, spikes, trace


def _run(device, model, extra_drive):
    out = []
    with dgnsim.Simulation(device, seed=7) as sim:
        grp, spikes, trace = _network(sim, model)
        sim.build(DURATION)
        for drive in (None, extra_drive):
            sim.run(None if drive is None else {grp.I_ext: drive})
            out.append((np.array(spikes.i[:]), np.asarray(spikes.t[:] / ms).copy(), np.asarray(trace.v[:] / mV).copy()))
        return out, dict(sim.timings)


@pytest.mark.standalone
@pytest.mark.parametrize("model", dgnsim.list_models())
def test_runtime_and_cpp_standalone_give_identical_spikes(model):
    drive = np.full(N, 6.0) * mV
    runtime, _ = _run("numpy", model, drive)
    cpp, _timings = _run("cpp_standalone", model, drive)
    for (i_rt, t_rt, v_rt), (i_cpp, t_cpp, v_cpp) in zip(runtime, cpp):
        assert len(i_rt) > 10, f"{model}: too few spikes ({len(i_rt)}) for a meaningful comparison"
        np.testing.assert_array_equal(i_rt, i_cpp)
        np.testing.assert_allclose(t_rt, t_cpp, rtol=0, atol=1e-9)
        np.testing.assert_allclose(v_rt, v_cpp, rtol=0, atol=1e-9)
    # the run arguments reached the binary: more drive, more spikes
    assert len(cpp[1][0]) > len(cpp[0][0])


@pytest.mark.standalone
def test_standalone_build_is_reused_by_content_hash():
    first, _t1 = _run("cpp_standalone", "lif", np.full(N, 1.0) * mV)
    second, t2 = _run("cpp_standalone", "lif", np.full(N, 1.0) * mV)
    assert t2["reused"] and t2["compile_s"] == 0.0
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a[0], b[0])
