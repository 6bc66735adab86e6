"""dgnsim's vectorised threshold template against Brian2's own, on cpp_standalone.

Brian2's threshold loop is the reference: each case is built twice, once with the block
template (what :func:`dgnsim.make_group` does on cpp_standalone) and once with Brian2's
template, and the spikes and custom events must be the same, index for index and step for
step. The groups have sizes that are not multiples of the block (64), refractoriness,
a custom event, and a condition that draws random numbers (which must draw the same ones).
"""

import numpy as np
import pytest
from brian2 import EventMonitor, Hz, NeuronGroup, SpikeMonitor, ms, mV
from brian2.devices.cpp_standalone import CPPStandaloneCodeObject

import dgnsim
from dgnsim.brian.codeobject import BlockThresholdCodeObject, use_block_threshold

DURATION = 200 * ms


def _threshold_code(sim, group) -> str:
    """The generated C++ of the group's spike threshold."""
    name = group.thresholder["spike"].name
    return (sim.directory / "code_objects" / f"{name}_codeobject.cpp").read_text()


def _model_network(model, n, block):
    with dgnsim.Simulation("cpp_standalone", seed=5) as sim:
        params = {"I_ext": np.linspace(0, 8, n) * mV}
        if model == "lif":
            params["tau_ref"] = 2 * ms  # refractory: the template also writes not_refractory and lastspike
        grp = sim.add(dgnsim.make_group(model, n, params, events={"near": "v > v_th - 3*mV"}, name="neurons"))
        if not block:
            for thresholder in grp.thresholder.values():
                thresholder.codeobj_class = None  # Brian2's own template
        src = sim.add(dgnsim.poisson_input(50, 40 * Hz, DURATION, seed=1, name="input"))
        weights = {"w": 6 * mV, "c": 0.2} if model == "dgn" else {"w": 6 * mV}
        sim.add(dgnsim.connect(src, grp, p=0.3, seed=2, name="syn", **weights))
        spikes = sim.add(SpikeMonitor(grp, name="spikes"))
        near = sim.add(EventMonitor(grp, "near", name="near"))
        sim.build(DURATION)
        sim.run()
        code = _threshold_code(sim, grp)
        return (np.array(spikes.i[:]), np.array(spikes.t[:] / ms), np.array(near.i[:]), np.array(near.t[:] / ms), code)


@pytest.mark.standalone
@pytest.mark.parametrize(("model", "n"), [("lif", 130), ("dgn", 200), ("dgn", 7)])
def test_block_threshold_gives_brian2s_spikes_and_events(model, n):
    block = _model_network(model, n, block=True)
    stock = _model_network(model, n, block=False)
    assert "_block_cond" in block[4] and "_block_cond" not in stock[4]
    assert len(stock[0]) > 10 and len(stock[2]) > len(stock[0]), "too few spikes or events to compare"
    if n > 64:
        assert stock[0].max() >= 64, "no spike beyond the first block"
    for a, b in zip(block[:4], stock[:4]):
        np.testing.assert_array_equal(a, b)


def _random_threshold(block):
    with dgnsim.Simulation("cpp_standalone", seed=11) as sim:
        grp = sim.add(NeuronGroup(150, "rate : Hz", threshold="rand() < rate*dt", name="poissonish"))
        grp.rate = np.linspace(5, 200, 150) * Hz
        if block:
            assert use_block_threshold(grp)
        spikes = sim.add(SpikeMonitor(grp, name="spikes"))
        sim.build(DURATION)
        sim.run()
        code = _threshold_code(sim, grp)
        return np.array(spikes.i[:]), np.array(spikes.t[:] / ms), code


@pytest.mark.standalone
def test_a_random_condition_draws_the_same_numbers():
    block_i, block_t, code = _random_threshold(block=True)
    stock_i, stock_t, _ = _random_threshold(block=False)
    assert "_block_cond" in code
    assert len(stock_i) > 500
    np.testing.assert_array_equal(block_i, stock_i)
    np.testing.assert_array_equal(block_t, stock_t)


def test_other_devices_keep_brian2s_threshold():
    with dgnsim.Simulation("numpy") as sim:
        grp = sim.add(dgnsim.make_group("lif", 10, events={"near": "v > v_th - 3*mV"}))
        assert all(t.codeobj_class is None for t in grp.thresholder.values())
        assert not use_block_threshold(grp)
        sim.build(1 * ms)
        sim.run()
    assert issubclass(BlockThresholdCodeObject, CPPStandaloneCodeObject)
