"""
A DGN population and its gate
=============================

200 Dynamic Gated Neurons receive spikes from 400 Poisson sources. Every input spike jumps two
traces of the neuron it reaches: the input current ``I`` by the synapse's weight ``w`` and the
gate ``g`` by its conductance ``c``. The gate multiplies the distance to ``E_gate``, so more
input means a faster leak (:doc:`/models/generated/dgn`). The network is compiled once for C++
standalone and run twice, without and with the gate (``c`` as a run argument: no recompilation).
"""

import matplotlib.pyplot as plt
from brian2 import Hz, SpikeMonitor, StateMonitor, ms, mV

import dgnsim

N, DURATION = 200, 400 * ms
with dgnsim.Simulation("cpp_standalone", dt=0.1 * ms, seed=1) as sim:
    inp = dgnsim.poisson_input(400, 15 * Hz, DURATION, seed=2)
    dgn = dgnsim.make_group("dgn", N, {"tau_mem": 20 * ms})
    syn = dgnsim.connect(inp, dgn, p=0.25, seed=3, w=3 * mV, c=0.0)
    spikes = SpikeMonitor(dgn)
    state = StateMonitor(dgn, ["v", "g"], record=[0, 1, 2])
    sim.build(DURATION)
    runs = {}
    for c in (0.0, 0.05):
        sim.run({syn.c: c})
        runs[c] = dict(
            t=state.t / ms,
            v=state.v / mV,
            g=state.g[:],
            i=spikes.i[:],
            st=spikes.t / ms,
            rate=spikes.num_spikes / (N * float(DURATION)),
        )
    print(
        f"compiled once: {sim.timings['compile_s']:.1f} s (reused: {sim.timings['reused']}); "
        f"one run: {sim.timings['run_s']:.2f} s"
    )

for c, r in runs.items():
    print(f"c = {c}: mean rate {r['rate']:.1f} Hz, mean gate of neuron 0: {r['g'][0].mean():.2f}")

# %%
# Without the gate (left) and with it (right): the gate opens with the input and pulls the
# membrane towards ``E_gate`` (here the resting potential), so the neurons fire less and their
# membrane forgets faster.
fig, axes = plt.subplots(3, 2, figsize=(9, 7), sharex=True, sharey="row")
for col, (c, r) in enumerate(runs.items()):
    axes[0, col].plot(r["st"], r["i"], "|", ms=2, color="k")
    axes[0, col].set_title(f"c = {c}: {r['rate']:.1f} Hz")
    axes[1, col].plot(r["t"], r["v"][0], lw=0.8)
    axes[2, col].plot(r["t"], r["g"][0], lw=0.8, color="tab:orange")
axes[0, 0].set_ylabel("neuron")
axes[1, 0].set_ylabel("v (mV), neuron 0")
axes[2, 0].set_ylabel("gate g, neuron 0")
for ax in axes[2]:
    ax.set_xlabel("time (ms)")
fig.tight_layout()
plt.show()
