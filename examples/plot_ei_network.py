"""
An E/I network: dgnsim groups and plain Brian2 objects together
================================================================

An excitatory population of DGN neurons (:func:`dgnsim.make_group`) and an inhibitory population
written as plain Brian2 equations, driven by a Brian2 ``PoissonGroup``, connected by
:func:`dgnsim.connect` (the DGN's synapse) and by plain ``Synapses``. Everything created inside
the ``with`` block is collected when the network is built, as Brian2's ``run()`` collects it; the
names in the Brian2 equations (``tau_i``, ``v_th_i``) resolve from this script, as in
``brian2.run()``.
"""

import matplotlib.pyplot as plt
from brian2 import Hz, NeuronGroup, PoissonGroup, PopulationRateMonitor, SpikeMonitor, Synapses, ms, mV

import dgnsim

N_E, N_I, DURATION = 400, 100, 500 * ms
tau_i, v_th_i = 10 * ms, -50 * mV  # used by name in the inhibitory equations

with dgnsim.Simulation("numpy", dt=0.1 * ms, seed=4) as sim:
    drive = PoissonGroup(200, rates=20 * Hz)  # plain Brian2
    exc = dgnsim.make_group("dgn", N_E)  # dgnsim
    inh = NeuronGroup(
        N_I, "dv/dt = (-65*mV - v)/tau_i : volt", threshold="v > v_th_i", reset="v = -65*mV", method="exact"
    )  # plain Brian2
    inh.v = -65 * mV
    drive_e = dgnsim.connect(drive, exc, p=0.5, seed=1, w=2.5 * mV, c=0.05)
    e_e = dgnsim.connect(exc, exc, p=0.05, seed=2, w=0.5 * mV, c=0.02)
    drive_i = Synapses(drive, inh, on_pre="v_post += 1*mV")
    drive_i.connect(p=0.2)
    e_i = Synapses(exc, inh, on_pre="v_post += 2*mV")
    e_i.connect(p=0.1)
    i_e = Synapses(inh, exc, on_pre="I_post -= 2*mV; g_post += 0.1")  # inhibition also opens the gate
    i_e.connect(p=0.2)
    spikes_e, spikes_i = SpikeMonitor(exc), SpikeMonitor(inh)
    rate_e, rate_i = PopulationRateMonitor(exc), PopulationRateMonitor(inh)
    sim.build(DURATION)
    sim.run()
    print(
        f"excitatory: {spikes_e.num_spikes / N_E / float(DURATION):.1f} Hz, "
        f"inhibitory: {spikes_i.num_spikes / N_I / float(DURATION):.1f} Hz"
    )
    t_e, i_e_idx, t_i, i_i_idx = spikes_e.t / ms, spikes_e.i[:], spikes_i.t / ms, spikes_i.i[:]
    t_rate = rate_e.t / ms
    r_e = rate_e.smooth_rate(width=5 * ms) / Hz
    r_i = rate_i.smooth_rate(width=5 * ms) / Hz

# %%
# Raster (excitatory below, inhibitory above) and the smoothed population rates.
fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
ax0.plot(t_e, i_e_idx, "|", ms=1.5, color="tab:blue")
ax0.plot(t_i, i_i_idx + N_E, "|", ms=1.5, color="tab:red")
ax0.set_ylabel("neuron (E, then I)")
ax1.plot(t_rate, r_e, color="tab:blue", label="E (DGN, dgnsim)")
ax1.plot(t_rate, r_i, color="tab:red", label="I (plain Brian2)")
ax1.set_xlabel("time (ms)")
ax1.set_ylabel("rate (Hz)")
ax1.legend(loc="upper right")
fig.tight_layout()
plt.show()
