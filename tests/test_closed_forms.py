"""Simulations against closed-form solutions (float64, runtime target)."""

import numpy as np
import pytest
from brian2 import StateMonitor, ms, mV, second

import dgnsim

DT = 0.1 * ms
DURATION = 100 * ms


def _trace(model, params, variables, *, method=None, init=None):
    with dgnsim.Simulation("numpy", dt=DT) as sim:
        g = sim.add(dgnsim.make_group(model, len(next(iter(params.values()))) if params else 1, params, method=method))
        for var, value in (init or {}).items():
            setattr(g, var, value)
        mon = sim.add(StateMonitor(g, variables, record=True, when="end"))
        sim.build(DURATION)
        sim.run()
        return np.asarray(mon.t[:] / second), {v: np.asarray(getattr(mon, v)[:]) for v in variables}


def _rel(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


def test_lif_step_current():
    """v(t) = v_rest + I_ext (1 - exp(-t/tau_mem)) for a current step at t = 0."""
    i_ext = np.array([5.0, 10.0, 20.0]) * mV
    tau = np.array([5.0, 20.0, 40.0]) * ms
    t, tr = _trace("lif", {"I_ext": i_ext, "tau_mem": tau, "v_th": np.full(3, 100.0) * mV}, ["v"])
    t_end = t + float(DT)  # 'end' records after the step
    for k in range(3):
        expected = -65e-3 + float(i_ext[k]) * (1 - np.exp(-t_end / float(tau[k])))
        assert _rel(tr["v"][k] + 65e-3, expected + 65e-3) < 1e-6


@pytest.mark.parametrize("method, exact", [("exponential_euler", True), ("sequential", False)])
def test_dgn_membrane_with_constant_gate(method, exact):
    """Constant gate g: tau_eff = tau_mem/(1+g), v_inf = (v_rest + g E_gate + I_ext)/(1+g).

    The gate is held constant by a trace time constant of 1e9 s. Exponential Euler is
    exact here; the default (paper A's) scheme is compared with its own closed form
    rho**n, rho = 1 - dt (1+g)/tau_mem, and with the continuous solution to O(dt).
    """
    gate = np.array([0.0, 0.5, 2.0, 5.0])
    i_ext = 12.0 * mV
    e_gate = -80.0
    with dgnsim.Simulation("numpy", dt=DT) as sim:
        grp = sim.add(
            dgnsim.make_group(
                "dgn",
                4,
                {"I_ext": np.full(4, 12.0) * mV, "tau_syn": 1e9 * second, "v_th": 100 * mV, "E_gate": e_gate * mV},
                method=method,
            )
        )
        grp.g = gate
        mon = sim.add(StateMonitor(grp, ["v", "g"], record=True, when="end"))
        sim.build(DURATION)
        sim.run()
        v, t = mon.v[:] / mV, mon.t[:] / ms + float(DT / ms)
    tau_eff = 20.0 / (1 + gate)
    v_inf = (-65.0 + gate * e_gate + float(i_ext / mV)) / (1 + gate)
    for k in range(4):
        continuous = v_inf[k] + (-65.0 - v_inf[k]) * np.exp(-t / tau_eff[k])
        if exact:
            assert _rel(v[k] - v_inf[k], continuous - v_inf[k]) < 1e-6
        else:
            rho = 1 - float(DT / ms) * (1 + gate[k]) / 20.0
            discrete = v_inf[k] + (-65.0 - v_inf[k]) * rho ** np.arange(1, len(t) + 1)
            assert _rel(v[k] - v_inf[k], discrete - v_inf[k]) < 1e-9
            # first order in dt: the error against the ODE is below dt/tau_eff
            assert _rel(v[k], continuous) < float(DT / ms) / tau_eff[k]
    # the gate matters: the four neurons relax at different rates
    assert np.ptp(v[:, 50]) > 1.0


def test_adaptive_threshold_decay():
    """alif: a(t) = a0 exp(-t/tau_adapt); multiscale: theta relaxes to v_th with tau_th."""
    t, tr = _trace("alif", {"v_th": np.full(2, 100.0) * mV}, ["a"], init={"a": np.array([1.0, 3.0])})
    t_end = t + float(DT)
    for k, a0 in enumerate([1.0, 3.0]):
        assert _rel(tr["a"][k], a0 * np.exp(-t_end / 0.2)) < 1e-6
    tau_th = np.array([20.0, 100.0]) * ms
    t, tr = _trace(
        "multiscale",
        {"tau_th": tau_th, "v_th": np.full(2, -50.0) * mV},
        ["theta"],
        init={"theta": np.array([-40.0, -30.0]) * mV},
    )
    for k, th0 in enumerate([-40e-3, -30e-3]):
        expected = -50e-3 + (th0 + 50e-3) * np.exp(-(t + float(DT)) / float(tau_th[k]))
        assert _rel(tr["theta"][k] + 50e-3, expected + 50e-3) < 1e-6
