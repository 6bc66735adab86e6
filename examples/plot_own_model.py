"""
Your own model
==============

A model is a TOML file (:doc:`/guide/own_model`). Here a DGN whose gate has its own, slower time
constant ``tau_gate`` (the built-in ``dgn`` shares ``tau_syn`` between the input current and the
gate): the file is written to a folder, put on the model search path, checked as
``dgnsim check-model`` checks it, and simulated beside the built-in DGN.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from brian2 import Hz, StateMonitor, ms, mV

import dgnsim
from dgnsim.interop.model_check import check_model

MODEL = '''
name = "dgn_slowgate"
title = "DGN with a gate time constant of its own"
reference = "A user's variant of the dgn model (Bai, Wang, Yu, arXiv:2509.03281)."
method = "sequential"
update_order = ["I", "g", "v"]
equations = """
dv/dt = (v_rest - v + g*(E_gate - v) + I + I_ext)/tau_mem : volt (unless refractory)
dI/dt = -I/tau_syn : volt
dg/dt = -g/tau_gate : 1
"""
threshold = "v > v_th"
reset = "v = v_reset"
refractory = "tau_ref"
noise = { variable = "v", term = "noise_sigma*sqrt(2/tau_mem)*xi" }
initial = { v = "v_rest", I = "0*mV", g = "0" }

[parameters]
tau_mem = { value = 20.0, unit = "ms", scope = "shared", positive = true, doc = "Membrane time constant at zero gate." }
tau_syn = { value = 5.0, unit = "ms", scope = "shared", positive = true, doc = "Time constant of the input current." }
tau_gate = { value = 10.0, unit = "ms", scope = "shared", positive = true, doc = "Time constant of the gate." }
v_rest = { value = -65.0, unit = "mV", scope = "shared", doc = "Resting potential." }
E_gate = { value = -65.0, unit = "mV", scope = "shared", doc = "Reversal potential of the gate." }
v_th = { value = -50.0, unit = "mV", scope = "shared", doc = "Firing threshold." }
v_reset = { value = -65.0, unit = "mV", scope = "shared", doc = "Potential after a spike." }
tau_ref = { value = 0.0, unit = "ms", scope = "shared", nonnegative = true, doc = "Refractory period." }
I_ext = { value = 0.0, unit = "mV", scope = "neuron", learnable = true, doc = "External input." }
noise_sigma = { value = 0.0, unit = "mV", scope = "neuron", nonnegative = true, doc = "White-noise amplitude." }

[synapse]
model = """
w : volt
c : 1
"""
on_pre = """
I_post += w
g_post += c
"""
[synapse.parameters]
w = { value = 1.0, unit = "mV", doc = "Jump of the input current." }
c = { value = 0.1, unit = "1", nonnegative = true, doc = "Jump of the gate." }

[gating]
gate = "g"
gate_tau = "tau_gate"
strength = "c"
'''

folder = Path(tempfile.mkdtemp())
(folder / "dgn_slowgate.toml").write_text(MODEL)
dgnsim.add_model_path(folder)  # now found by name, beside the built-ins
spec = dgnsim.load_model("dgn_slowgate")
print(f"{spec.name}: state {spec.state_variables}, parameters {list(spec.parameters)}")

# %%
# The generic checks (``dgnsim check-model``): it loads, two targets give identical spikes, one
# torch step equals one Brian2 step, a bridged network is spike-exact. The command compares with
# C++ standalone by default; here the runtime targets, to stay quick.
for result in check_model("dgn_slowgate", device="numpy"):
    print(f"{'PASS' if result.passed else 'FAIL'}  {result.name:<10} {result.detail[:90]}")

# %%
# The same input into both models: the slow gate stays open between input bursts.
traces = {}
for name in ("dgn", "dgn_slowgate"):
    with dgnsim.Simulation("numpy", dt=0.1 * ms, seed=0) as sim:
        burst = dgnsim.poisson_input(50, 60 * Hz, 300 * ms, seed=1)
        group = dgnsim.make_group(name, 1, {"v_th": 0 * mV})  # subthreshold: watch v and g
        syn = dgnsim.connect(burst, group, p=1.0, seed=2, w=1 * mV, c=0.05)
        mon = StateMonitor(group, ["v", "g"], record=0)
        sim.build(300 * ms)
        sim.run()
        traces[name] = (mon.t / ms, mon.v[0] / mV, mon.g[0])

fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
for name, (t, v, g) in traces.items():
    ax0.plot(t, v, label=name)
    ax1.plot(t, g, label=name)
ax0.set_ylabel("v (mV)")
ax1.set_ylabel("gate g")
ax1.set_xlabel("time (ms)")
ax0.legend()
fig.tight_layout()
plt.show()
