"""
A noise study of the trained network, on one build
==================================================

:func:`dgnsim.interop.study.study` builds the bridged network of a checkpoint once in C++
standalone, with the model's membrane-noise term, and runs every noise level and noise seed as
a run of the same binary with run arguments (:doc:`/guide/study`). Here: the committed delayed
DGN (``checkpoints/dgn``) on 60 FSDD test samples, four noise amplitudes, two seeds each. At
0 mV the hidden spikes equal PyTorch's on every sample.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from brian2 import mV

from dgnsim.fsdd.data import load_fsdd
from dgnsim.interop import bridge
from dgnsim.interop.study import study

CHECKPOINT = "dgn"
SAMPLES = 60


def _checkout() -> Path:
    here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "checkpoints").is_dir():
            return folder
    raise FileNotFoundError("checkpoints/ not found above this script")


net, manifest = bridge.load_surrogate(_checkout() / "checkpoints" / CHECKPOINT)
data = load_fsdd()  # $DGNSIM_FSDD or ../shared/data/fsdd
pick = np.linspace(0, len(data.test_y) - 1, SAMPLES).astype(int)  # the files are sorted by digit
result = study(
    net, data.test_x[pick], data.test_y[pick], noise=[0 * mV, 8 * mV, 16 * mV, 32 * mV], noise_seeds=2, progress=False
)
levels = result.by_study()["noise"]
print(f"binaries compiled for the study: {result.builds}")
for level in levels:
    print(
        f"sigma {level.number:4g} mV: accuracy {level.accuracy:.3f}, identical to PyTorch: {level.identical.mean():.2f}"
    )

# %%
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot([lv.number for lv in levels], [100 * lv.accuracy for lv in levels], "o-")
ax.set_xlabel("membrane noise sigma (mV)")
ax.set_ylabel("test accuracy (%)")
ax.set_ylim(0, 102)
ax.set_title(f"checkpoints/{CHECKPOINT}, {SAMPLES} FSDD test samples, 2 noise seeds", fontsize=9)
fig.tight_layout()
plt.show()
