"""Bad input is refused with a message that names the problem."""

import numpy as np
import pytest
from brian2 import Hz, Quantity, ms, mV, second

import dgnsim


def test_bare_number_for_a_voltage_is_refused():
    with pytest.raises(TypeError, match=r"v_th.*bare number.*mV"):
        dgnsim.make_group("lif", 3, {"v_th": -50})


def test_wrong_unit_is_refused():
    with pytest.raises(ValueError, match=r"tau_mem.*ms"):
        dgnsim.make_group("lif", 3, {"tau_mem": 20 * mV})


def test_negative_time_constant_is_refused():
    with pytest.raises(ValueError, match=r"tau_syn: must be positive"):
        dgnsim.make_group("dgn", 3, {"tau_syn": -5 * ms})


def test_time_step_too_coarse_is_refused():
    with pytest.raises(ValueError, match=r"dt=.*too coarse.*tau_syn"):
        dgnsim.make_group("lif", 3, {"tau_syn": 1 * ms}, dt=1 * ms)


def test_unknown_parameter_and_model():
    with pytest.raises(ValueError, match=r"no parameter\(s\) \['tau_m'\]"):
        dgnsim.make_group("lif", 3, {"tau_m": 10 * ms})
    with pytest.raises(ValueError, match="unknown model"):
        dgnsim.make_group("dgm", 3)


def test_nan_and_shape_are_refused():
    with pytest.raises(ValueError, match="NaN or Inf"):
        dgnsim.make_group("lif", 3, {"I_ext": np.array([1, np.nan, 2]) * mV})
    with pytest.raises(ValueError, match=r"3 values.*shape \(2,\)"):
        dgnsim.make_group("lif", 3, {"I_ext": np.array([1, 2]) * mV})


def test_shared_parameter_cannot_vary_per_neuron():
    with pytest.raises(ValueError, match="shared"):
        dgnsim.make_group("dgn", 3, {"tau_mem": np.array([10, 20, 30]) * ms})


def test_synapse_checks():
    g = dgnsim.make_group("lif", 3)
    with pytest.raises(ValueError, match=r"no parameter\(s\) \['c'\]"):
        dgnsim.connect(g, g, p=0.5, seed=1, c=0.1)
    with pytest.raises(TypeError, match=r"w.*bare number"):
        dgnsim.connect(g, g, p=0.5, seed=1, w=2)
    with pytest.raises(ValueError, match="needs a seed"):
        dgnsim.connect(g, g, p=0.5)
    with pytest.raises(ValueError, match="2 values for 3 synapses"):
        dgnsim.connect(g, g, i=[0, 1, 2], j=[1, 2, 0], delay=[1, 2] * ms)
    with pytest.raises(ValueError, match="finite and not negative"):
        dgnsim.connect(g, g, i=[0, 1], j=[1, 2], delay=[1, -2] * ms)
    with pytest.raises(TypeError, match="delay"):
        dgnsim.connect(g, g, i=[0], j=[1], delay=[1.0])
    syn = dgnsim.connect(g, g, i=[0, 1], j=[1, 2], delay=[1, 2] * ms)  # one delay per synapse
    assert np.allclose(syn.delay[:] / ms, [1, 2])


def test_simulation_checks():
    with pytest.raises(ValueError, match="device"):
        dgnsim.Simulation("gpu")
    with pytest.raises(TypeError, match="dt"):
        dgnsim.Simulation("numpy", dt=0.1)
    with pytest.raises(ValueError, match="rate"):
        dgnsim.poisson_input(3, -1 * Hz, 1 * second, seed=0)


def test_command_line_quantities_are_refused_as_bad_input():
    """Text from the command line raises ValueError (exit status 2), never TypeError (a bug)."""
    from dgnsim.core.quantities import parse_quantity

    with pytest.raises(ValueError) as bare:
        parse_quantity("--input-rate", "20", Hz, "Hz")
    assert str(bare.value) == "--input-rate: a bare number (20) where a quantity in Hz is needed; write e.g. 20Hz"
    with pytest.raises(ValueError, match=r"^--dt: expected a quantity in ms, got 1\. \* mvolt"):
        parse_quantity("--dt", "1mV", second, "ms")
    with pytest.raises(ValueError, match=r"^--dt: cannot read 'fast'; write e.g. 10ms$"):
        parse_quantity("--dt", "fast", second, "ms")
    assert parse_quantity("--gate", "0.5", Quantity(1.0), "1") == 0.5  # dimensionless: a bare number is right
