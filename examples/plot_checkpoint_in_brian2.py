"""
A trained checkpoint, run in Brian2
===================================

``checkpoints/`` holds small networks trained on spoken digits (FSDD) with the PyTorch surrogate
(one hidden layer of 128, 320 input channels, :doc:`/guide/training`).
:func:`dgnsim.interop.bridge.load_surrogate` reads one (checked against its manifest);
:func:`~dgnsim.interop.bridge.run_brian2` builds the same network of dgnsim's groups and synapses
in Brian2, all samples as copies of the network in one build, and
:func:`~dgnsim.interop.bridge.compare` checks the hidden spike trains against PyTorch's, sample
by sample (:doc:`/guide/bridge`). The inputs are FSDD test samples where the data set is found
(``$DGNSIM_FSDD`` or ``../shared/data/fsdd``), else random spikes.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from dgnsim.interop import bridge

CHECKPOINT = "dgn"  # a folder of checkpoints/: change this one name to run another network
SAMPLES = 8


def _checkout() -> Path:
    here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "checkpoints").is_dir():
            return folder
    raise FileNotFoundError("checkpoints/ not found above this script")


net, manifest = bridge.load_surrogate(_checkout() / "checkpoints" / CHECKPOINT)
n_in = manifest["layers"]["input"]
print(
    f"{CHECKPOINT}: model {manifest['model']}, {n_in}-{manifest['layers']['hidden']}-"
    f"{manifest['layers']['output']}, recurrent: {manifest['layers']['recurrent']}"
)

try:
    from dgnsim.fsdd.data import load_fsdd

    data = load_fsdd()
    pick = np.linspace(0, len(data.test_y) - 1, SAMPLES).astype(int)  # the files are sorted by digit
    x, labels = data.test_x[pick], data.test_y[pick]
    print(f"inputs: {SAMPLES} FSDD test samples, digits {labels.tolist()}")
except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
    rng = np.random.default_rng(0)
    x, labels = (rng.random((SAMPLES, 100, n_in)) < 0.05).astype(np.uint8), None
    print(f"inputs: random spikes (no FSDD here: {exc})")

# %%
# PyTorch and Brian2 (the runtime target here; ``"cpp_standalone"`` builds once for all samples).
ref = bridge.run_torch(net, x)
b2 = bridge.run_brian2(net, x, "numpy")
agreement = bridge.compare(ref, b2, labels)
print(
    f"identical hidden spike trains: {agreement.spike_identical}/{agreement.n}; "
    f"same class: {agreement.class_identical}/{agreement.n}; "
    f"largest logit difference {agreement.max_logit_difference_mv:.1e} mV"
)
if labels is not None:
    print(f"accuracy on these samples: PyTorch {agreement.torch_accuracy:.2f}, Brian2 {agreement.brian2_accuracy:.2f}")

# %%
# The hidden layer's spikes for the first sample: PyTorch (dots) and Brian2 (rings) coincide.
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [3, 1]})
t_ref, i_ref = np.nonzero(ref.spikes[0])
t_b2, i_b2 = np.nonzero(b2.spikes[0])
ax0.plot(t_ref, i_ref, ".", ms=3, color="k", label="PyTorch")
ax0.plot(t_b2, i_b2, "o", ms=5, mfc="none", color="tab:orange", label="Brian2")
ax0.set_xlabel("time step (1 ms)")
ax0.set_ylabel("hidden neuron")
ax0.legend(loc="upper right")
ax1.barh(np.arange(10), b2.logits[0], color="tab:orange")
ax1.set_yticks(range(10))
ax1.set_xlabel("logit (mV)")
ax1.set_ylabel("digit")
fig.tight_layout()
plt.show()
