"""
A small parameter sweep
=======================

:func:`dgnsim.sweep.run_sweep` runs one network over a grid of parameter values and writes the
points to a Zarr store as they finish (:doc:`/guide/sweeps`). The spec is the same as a TOML file
for ``dgnsim sweep`` (``examples/sweeps/dgn_gate.toml``), here as a dict: the DGN's firing rate
over its synaptic gate conductance ``c`` and its membrane time constant. On C++ standalone the
binary is built once and the points run on Dask workers as run arguments; on the runtime target
(here, to stay quick) they run one by one in this process through the same reductions. The store
opens as an xarray Dataset.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from dgnsim.sweep import open_sweep, parse_spec, run_sweep

spec = parse_spec(
    {
        "model": "dgn",
        "neurons": 100,
        "duration": "300 ms",
        "device": "numpy",
        "seed": 11,
        "input": {"sources": 100, "rate": "30 Hz", "p": 0.3},
        "synapse": {"w": "6 mV"},
        "grid": {"c": [0.0, 0.05, 0.1, 0.2, 0.4], "tau_mem": ["15 ms", "25 ms"]},
        "measure": {"quantities": ["rate", "v_mean"]},
    }
)
store = Path(tempfile.mkdtemp()) / "dgn_gate.zarr"
summary = run_sweep(spec, store, progress=False)
print(f"ran {summary.ran} points, {summary.failed} failed, in {summary.wall_s:.1f} s")
again = run_sweep(spec, store, progress=False)
print(f"the same sweep again: ran {again.ran}, skipped {again.skipped} (already in the store)")

ds = open_sweep(store)
print(ds.rate.where(ds.status == 1).to_series().unstack())

# %%
# The rate falls as the gate conductance grows: every input spike also opens the gate, which
# pulls the membrane back towards ``E_gate``.
fig, ax = plt.subplots(figsize=(6, 4))
for tau_mem in ds.tau_mem.values:
    ax.plot(ds.c.values, ds.rate.sel(tau_mem=tau_mem).values, "o-", label=f"tau_mem = {tau_mem:g} ms")
ax.set_xlabel("gate conductance c per spike")
ax.set_ylabel(f"firing rate ({ds.rate.attrs.get('units', 'Hz')})")
ax.legend()
fig.tight_layout()
plt.show()
