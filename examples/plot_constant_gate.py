"""
A constant gate: closed form against simulation
===============================================

With its gate held at a constant level :math:`g`, the DGN's membrane is linear:

.. math::

   \\tau_\\mathrm{mem}\\,\\dot v = v_\\mathrm{rest} - v + g\\,(E_\\mathrm{gate} - v) + I_\\mathrm{ext},
   \\qquad v(t) = v_\\infty + (v_0 - v_\\infty)\\,e^{-t(1+g)/\\tau_\\mathrm{mem}},

with :math:`v_\\infty = (v_\\mathrm{rest} + g E_\\mathrm{gate} + I_\\mathrm{ext})/(1+g)`. The default
``sequential`` method takes the gated membrane by forward Euler (paper A's discrete form), whose
exact solution is :math:`v_n - v_\\infty = \\rho^n (v_0 - v_\\infty)` with
:math:`\\rho = 1 - \\Delta t\\,(1+g)/\\tau_\\mathrm{mem}`; ``method="exponential_euler"`` follows the
continuous solution. The gate is held by making its time constant very long and setting its
initial value per neuron; spikes are switched off by a high threshold.
"""

import matplotlib.pyplot as plt
import numpy as np
from brian2 import StateMonitor, ms, mV, second

import dgnsim

gates = np.array([0.0, 1.0, 4.0, 9.0])
DT, DURATION, TAU, DRIVE = 0.1 * ms, 60 * ms, 20 * ms, 10 * mV
params = {
    "tau_mem": TAU,
    "tau_syn": 1e5 * second,
    "v_th": 1e3 * mV,
    "I_ext": np.full(len(gates), 10.0) * mV,
    "E_gate": -65 * mV,
}
traces = {}
for method in ("sequential", "exponential_euler"):
    with dgnsim.Simulation("numpy", dt=DT) as sim:
        group = dgnsim.make_group("dgn", len(gates), params, method=method)
        group.g = gates
        mon = StateMonitor(group, "v", record=True)
        sim.build(DURATION)
        sim.run()
        traces[method] = (mon.t / ms, mon.v / mV + 65)  # from rest

t = traces["sequential"][0]
steps = np.round(t / float(DT / ms))  # the monitor records at the start of a step: v after `steps` steps
v_inf = float(DRIVE / mV) / (1 + gates)  # from rest (E_gate = v_rest)
exact = v_inf[:, None] * (1 - np.exp(-t[None, :] * (1 + gates[:, None]) / float(TAU / ms)))
rho = 1 - float(DT / TAU) * (1 + gates)
discrete = v_inf[:, None] * (1 - rho[:, None] ** steps[None, :])

sim_seq, sim_exp = traces["sequential"][1], traces["exponential_euler"][1]
print(f"sequential against its closed form rho**n: max error {np.abs(sim_seq - discrete).max():.1e} mV")
print(f"exponential_euler against the ODE's solution: max error {np.abs(sim_exp - exact).max():.1e} mV")
print(f"sequential against the ODE's solution (the O(dt) of forward Euler): {np.abs(sim_seq - exact).max():.2f} mV")

# %%
# The simulated membranes (lines) on their closed forms (dots); the gate shortens the time
# constant to :math:`\tau_\mathrm{mem}/(1+g)` and pulls the steady state towards ``E_gate``.
fig, ax = plt.subplots(figsize=(7, 4))
for k, g in enumerate(gates):
    (line,) = ax.plot(t, sim_seq[k], lw=1.5, label=f"g = {g:g}")
    ax.plot(t[::20], exact[k, ::20], "o", ms=3, color=line.get_color())
ax.set_xlabel("time (ms)")
ax.set_ylabel("v - v_rest (mV)")
ax.set_title("held gate: simulation (lines), closed form (dots)")
ax.legend()
fig.tight_layout()
plt.show()
