"""
Gating responses: time constant and frequency response
======================================================

:mod:`dgnsim.analysis.gating` holds a neuron at operating points (a constant gate level, a
constant drive), simulates all of them in one build, and returns the simulated response beside
the analytic one of the model linearised from its file. For the DGN with a held gate :math:`g`
the effective time constant is :math:`\\tau_\\mathrm{mem}/(1+g)`: the gate makes the membrane
forget faster and pass higher frequencies, at a lower gain. The LIF is the reference without a
gate.
"""

import matplotlib.pyplot as plt
import numpy as np
from brian2 import Hz, mV

from dgnsim.analysis.gating import frequency_response, time_constants

gates = [0, 1, 2, 4, 9]
tau = time_constants("dgn", gates=gates, drive=10 * mV, method="exponential_euler")
for g, t_sim, t_th in zip(tau.gate, tau.tau_step_ms, tau.tau_ms):
    print(f"g = {g:g}: tau fitted {t_sim:.3f} ms, tau_mem/(1+g) = {t_th:.3f} ms")

freqs = [2, 5, 10, 20, 50, 100] * Hz
resp = frequency_response("dgn", freqs, gates=[0, 4], method="exponential_euler")
lif = frequency_response("lif", freqs, gates=[0], method="exponential_euler")
print(f"largest gain error: {np.max(np.abs(resp.gain_sim / resp.gain_analytic - 1)):.1e}")

# %%
# Left: the effective time constant against the gate level, simulated (dots) and analytic
# (line). Right: gain from ``I_ext`` to ``v`` against frequency.
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
ax0.plot(tau.gate, tau.tau_ms, "-", label="tau_mem/(1+g)")
ax0.plot(tau.gate, tau.tau_step_ms, "o", label="fitted to the step response")
ax0.set_xlabel("gate level g")
ax0.set_ylabel("effective time constant (ms)")
ax0.legend()
for k, g in enumerate(resp.gate):
    (line,) = ax1.loglog(resp.freq_hz, resp.gain_analytic[k], "-", label=f"DGN, g = {g:g}")
    ax1.loglog(resp.freq_hz, resp.gain_sim[k], "o", color=line.get_color())
ax1.loglog(lif.freq_hz, lif.gain_analytic[0], "k--", label="LIF")
ax1.set_xlabel("frequency (Hz)")
ax1.set_ylabel("gain (mV/mV)")
ax1.legend()
fig.tight_layout()
plt.show()
