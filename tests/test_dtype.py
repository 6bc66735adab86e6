"""float32 state as an option (``dtype=`` of make_group, connect and simulate).

The float32 group must store its variables in float32 (spike times stay float64), follow
the closed form of the model's discrete step to float32 precision on every backend, and
refuse a dtype that is not a floating-point type. The float64 default is unchanged
(the spike-for-spike tests elsewhere run in float64).
"""

import warnings

import numpy as np
import pytest
from brian2 import StateMonitor, mV

import dgnsim

STEPS = 400
I_EXT = 12.0  # mV


def _free_dgn(device, dtype):
    """A DGN neuron without input: v - v_rest = I_ext (1 - rho^n), rho = 1 - dt/tau_mem (gate at 0)."""
    with dgnsim.Simulation(device) as sim:
        grp = sim.add(dgnsim.make_group("dgn", 2, {"I_ext": I_EXT * mV}, name="neurons", dtype=dtype))
        mon = sim.add(StateMonitor(grp, "v", record=[0], name="trace", when="end"))
        sim.build(STEPS * sim.dt)
        sim.run()
        v = np.asarray(mon.v[0] / mV)
        dtypes = {name: grp.variables[name].dtype for name in ("v", "I", "g", "tau_mem", "lastspike")}
        directory = sim.directory
    return v, dtypes, directory


def _closed_form():
    rho = 1 - 0.1 / 20.0  # dt = 0.1 ms, tau_mem = 20 ms
    n = np.arange(1, STEPS + 1)
    return -65.0 + I_EXT * (1 - rho**n)


def test_float32_group_follows_the_closed_form_runtime():
    v, dtypes, _ = _free_dgn("numpy", np.float32)
    assert dtypes["v"] == np.float32 and dtypes["I"] == np.float32 and dtypes["g"] == np.float32
    assert dtypes["tau_mem"] == np.float32
    assert np.dtype(dtypes["lastspike"]) == np.float64  # spike times keep the clock's precision
    np.testing.assert_allclose(v, _closed_form(), rtol=0, atol=1e-4)  # float32: ~7 digits of 65 mV
    v64, d64, _ = _free_dgn("numpy", None)
    assert np.dtype(d64["v"]) == np.float64
    np.testing.assert_allclose(v64, _closed_form(), rtol=0, atol=1e-10)
    assert np.max(np.abs(v - v64)) > 0  # the float32 run really ran in float32


def test_float32_runs_without_brian2s_spurious_overflow_warning():
    """Brian2's check `np.abs(v) > 1e50` warns of an overflow for every float32 array; silenced."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        _free_dgn("numpy", np.float32)
    assert not [w for w in caught if "overflow" in str(w.message)]


@pytest.mark.standalone
def test_float32_group_cpp_standalone_generates_float_loops():
    v, _, directory = _free_dgn("cpp_standalone", np.float32)
    np.testing.assert_allclose(v, _closed_form(), rtol=0, atol=1e-4)
    code = next((directory / "code_objects").glob("neurons_stateupdater_codeobject*.cpp")).read_text()
    for var in ("v", "I", "g"):
        assert f"float* __restrict  _ptr_array_neurons_{var} " in code
    assert "double* __restrict  _ptr_array_neurons_lastspike " in code


def test_float32_synapses():
    with dgnsim.Simulation("numpy"):
        grp = dgnsim.make_group("dgn", 3)
        syn = dgnsim.connect(grp, grp, p=1.0, seed=0, dtype=np.float32, w=2 * mV, c=0.25)
        assert syn.variables["w"].dtype == np.float32 and syn.variables["c"].dtype == np.float32
        np.testing.assert_array_equal(np.asarray(syn.c[:]), np.float32(0.25))


@pytest.mark.parametrize("bad", [np.int32, "int64", bool, "not a type"])
def test_bad_dtype_is_refused_naming_the_option(bad):
    with dgnsim.Simulation("numpy"):
        with pytest.raises(TypeError, match="dtype"):
            dgnsim.make_group("lif", 2, dtype=bad)
        grp = dgnsim.make_group("lif", 2)
        with pytest.raises(TypeError, match="dtype"):
            dgnsim.connect(grp, grp, p=1.0, seed=0, dtype=bad)
