"""``dgn_activity`` against an independent numpy implementation of the same scheme.

The reference below is written from the equations and the 'sequential' method's
definition (dgnsim/integration.py docstring), not from generated code: per step the
synaptic current decays exactly, the gate takes an exponential-Euler step towards
alpha*clip(tanh(beta (v - v_rest) - gamma), 0, 1) using the previous v, then v takes an
exponential-Euler step towards v_rest + I/(1 + g) + I_ext with the new gate; spikes
(v >= v_th) are detected, input spikes then add w to I, and spiking neurons reset.
"""

import numpy as np
from brian2 import SpikeGeneratorGroup, SpikeMonitor, StateMonitor, ms, mV

import dgnsim

DT, STEPS = 0.1, 3000  # ms


def reference(i_ext, w, input_steps, alpha, beta, gamma):
    n = len(i_ext)
    tau_m, tau_g, tau_s = 20.0, 100.0, 5.0
    v_rest, v_th, v_reset = -65.0, -50.0, -70.0
    v, g, cur = np.full(n, v_rest), np.zeros(n), np.zeros(n)
    vs, spikes = [], []
    input_at = set(input_steps)
    for step in range(STEPS):
        cur = cur * np.exp(-DT / tau_s)
        drive = alpha * np.clip(np.tanh(beta * (v - v_rest) - gamma), 0, 1)
        g = drive + (g - drive) * np.exp(-DT / tau_g)
        target = v_rest + cur / (1 + g) + i_ext
        v = target + (v - target) * np.exp(-DT / tau_m)
        fired = v >= v_th
        spikes += [(k, step) for k in np.flatnonzero(fired)]
        if step in input_at:
            cur = cur + w
        v = np.where(fired, v_reset, v)
        vs.append(v.copy())
    return np.array(vs).T, spikes


def test_dgn_activity_matches_numpy_reference():
    n = 4
    i_ext = np.array([5.0, 14.0, 16.0, 25.0])
    alpha, beta, gamma = np.array([0.1, 0.5, 1.0, 2.0]), 0.5, 0.0
    input_steps = np.arange(100, STEPS, 150)
    with dgnsim.Simulation("numpy", dt=DT * ms) as sim:
        grp = sim.add(dgnsim.make_group("dgn_activity", n, {"I_ext": i_ext * mV, "alpha": alpha}))
        src = sim.add(SpikeGeneratorGroup(1, np.zeros(len(input_steps), int), input_steps * DT * ms))
        sim.add(dgnsim.connect(src, grp, i=np.zeros(n, int), j=np.arange(n), w=8 * mV))
        mon = sim.add(StateMonitor(grp, "v", record=True, when="end"))
        spk = sim.add(SpikeMonitor(grp))
        sim.build(STEPS * DT * ms)
        sim.run()
        v_sim, sp_i, sp_t = mon.v[:] / mV, np.asarray(spk.i[:]), np.asarray(spk.t[:] / ms)
    v_ref, spikes_ref = reference(i_ext, 8.0, input_steps, alpha, beta, gamma)
    np.testing.assert_allclose(v_sim, v_ref, rtol=0, atol=1e-9)
    ref_i = np.array([k for k, _ in spikes_ref])
    ref_t = np.array([s for _, s in spikes_ref]) * DT
    order = np.lexsort((sp_i, sp_t))
    np.testing.assert_array_equal(sp_i[order], ref_i[np.lexsort((ref_i, ref_t))])
    np.testing.assert_allclose(np.sort(sp_t), np.sort(ref_t), atol=1e-9)
    assert len(sp_i) > 20  # the comparison covers spikes and resets
