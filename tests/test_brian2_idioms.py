"""Brian2's idioms inside :class:`dgnsim.Simulation`: names from the caller, collected objects,
a rebuilt network that reuses its binary, and the noise switch."""

import numpy as np
import pytest
from brian2 import Hz, NeuronGroup, PoissonInput, SpikeMonitor, StateMonitor, ms, mV

import dgnsim
from dgnsim import Simulation

TAU = 10 * ms  # a module-level constant, as in a plain Brian2 script


def plain_script(device):
    """A plain Brian2 script: constants as Python variables, its own group and monitors."""
    with Simulation(device, dt=0.1 * ms) as sim:
        kick = 0.0  # noqa: F841 - read by run_regularly's code (zero keeps the closed form below)
        G = NeuronGroup(3, "dv/dt = (drive - v)/TAU : 1", threshold="v > 1", reset="v = 0", method="exact")
        drive = 2.0  # noqa: F841 - read by the equations, resolved when the network is built
        G.run_regularly("v += kick", dt=1 * ms)
        spikes = SpikeMonitor(G)
        trace = StateMonitor(G, "v", record=[0])
        sim.build(30 * ms)
        sim.run()
        return np.array(spikes.t / ms), np.array(trace.v[0])


@pytest.mark.standalone
def test_plain_brian2_script_runs_unchanged_on_numpy_and_cpp_standalone():
    t_numpy, v_numpy = plain_script("numpy")
    t_cpp, v_cpp = plain_script("cpp_standalone")
    # closed form: v = drive (1 - exp(-t/tau)) crosses 1 at tau ln 2 = 6.93 ms, i.e. in the update
    # of step 69 (recorded at t = 6.9 ms); after the reset to 0 each cycle takes ceil(69.3) = 70 steps
    steps = int(np.ceil(10 * np.log(2) / 0.1))
    expected = (steps * np.arange(1, 5) - 1) * 0.1
    assert len(t_numpy) == 3 * 4
    assert np.allclose(np.unique(t_numpy), expected, atol=1e-9)
    assert np.array_equal(t_numpy, t_cpp)
    assert np.allclose(v_numpy, v_cpp, rtol=0, atol=1e-12)


def test_explicit_namespace_wins_over_the_callers():
    TAU = 1 * ms
    with Simulation("numpy", namespace={"TAU": 10 * ms}) as sim:
        G = NeuronGroup(1, "dv/dt = (1 - v)/TAU : 1", method="exact")
        sim.build(10 * ms)
        sim.run()
        assert float(G.v[0]) == pytest.approx(1 - np.exp(-1), rel=1e-9)
    assert 1 * ms == TAU


def test_objects_created_in_the_block_are_collected():
    with Simulation("numpy") as sim:
        G = dgnsim.make_group("lif", 2, {"I_ext": 30 * mV})
        monitor = SpikeMonitor(G)  # never passed to sim.add
        sim.build(50 * ms)
        sim.run()
        assert monitor.num_spikes > 0


def test_objects_of_an_earlier_simulation_are_not_collected():
    with Simulation("numpy"):
        old = dgnsim.make_group("lif", 2, name="old")
    with Simulation("numpy") as sim:
        sim.add(dgnsim.make_group("lif", 2, name="new"))
        sim.build(1 * ms)
        assert [o.name for o in sim.network.objects if o.name in ("old", "new")] == ["new"]
    assert old.name == "old"


def _poisson_network():
    with Simulation("cpp_standalone") as sim:
        G = sim.add(dgnsim.make_group("lif", 10, name="g"))
        drive = sim.add(PoissonInput(G, "I", 5, 10 * Hz, weight=1 * mV))
        sim.build(20 * ms)
        assert drive.name == "poissoninput"
        return sim.directory, dict(sim.timings)


@pytest.mark.standalone
def test_an_identical_network_rebuilt_in_the_same_process_reuses_its_binary():
    first, _ = _poisson_network()
    second, timings = _poisson_network()
    assert second == first
    assert timings["reused"] is True and timings["compile_s"] == 0.0


def test_noise_cannot_be_switched_on_after_creation():
    with Simulation("numpy"):
        quiet = dgnsim.make_group("lif", 2)
        with pytest.raises(AttributeError, match="noise_sigma=.*make_group"):
            quiet.noise_sigma = 2 * mV
        noisy = dgnsim.make_group("lif", 2, {"noise_sigma": 0 * mV})
        noisy.noise_sigma = 2 * mV
        assert np.allclose(noisy.noise_sigma[:] / mV, 2.0)


def test_runtime_is_brian2s_name_for_the_runtime_target():
    with Simulation("runtime") as sim:
        G = NeuronGroup(1, "dv/dt = -v/TAU : 1", method="exact")
        G.v = 1
        sim.build(10 * ms)
        sim.run()
        assert float(G.v[0]) == pytest.approx(np.exp(-1), rel=1e-9)


def test_one_simulation_at_a_time_per_process():
    """Brian2's device and scope are the process's: another thread waits while a Simulation is open,
    and the lock is given back when the block ends, also by an exception."""
    import threading

    from dgnsim.brian.backend import BRIAN2_LOCK

    def free_elsewhere() -> bool:
        result = []

        def probe():
            got = BRIAN2_LOCK.acquire(blocking=False)
            if got:
                BRIAN2_LOCK.release()
            result.append(got)

        thread = threading.Thread(target=probe)
        thread.start()
        thread.join()
        return result[0]

    with Simulation("numpy"):
        assert not free_elsewhere()
        with Simulation("numpy"):  # re-entrant in its own thread
            pass
        assert not free_elsewhere()
    assert free_elsewhere()
    with pytest.raises(RuntimeError, match="inside"), Simulation("numpy"):
        raise RuntimeError("inside")
    assert free_elsewhere()
