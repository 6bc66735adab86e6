"""
A stability check: paper A's variance against Monte-Carlo
=========================================================

Paper A's linear-noise approximation gives the stationary membrane variance of a DGN driven by
noisy inputs :math:`I_i = \\mu_i + \\sigma_i \\xi` (one shared white noise),

.. math::

   \\langle \\delta V^2 \\rangle_\\mathrm{DGN} = \\frac{[\\sum_i \\sigma_i (W_i - C_i V_{ss})]^2}{2 G_0},
   \\qquad
   \\langle \\delta V^2 \\rangle_\\mathrm{LIF} = \\frac{[\\sum_i W_i \\sigma_i]^2}{2 g_l},

with :math:`G_0 = g_l + \\sum_i C_i \\mu_i` (:doc:`/guide/analyses`). First one parameter set by
hand: is it stable, and how much noise does the gate remove? Then
:func:`dgnsim.analysis.stability.check` draws parameter sets in the stated regime, simulates each
as many independent trials (all sets in one group, one build) and asks whether the analytic
variance lies in the 99 % interval of the estimate. The full check (200 sets × 2000 trials, C++
standalone) is ``dgnsim stability check``; here 10 sets × 200 trials on numpy.
"""

import matplotlib.pyplot as plt
import numpy as np
from brian2 import ms, mV

from dgnsim.analysis import stability

# %%
# One parameter set: two inputs, the gate's conductances of the sign of the weights.
inputs = dict(
    mu=[1.0, 0.5], sigma=[0.2, 0.1] * ms**0.5, W=[0.5, 0.25] * mV / ms, C=[0.05, 0.02] / ms, g_l=1 / (20 * ms)
)
dgn = stability.linear_noise_dgn(**inputs)
lif = stability.linear_noise_lif(inputs["mu"], inputs["sigma"], inputs["W"], inputs["g_l"])
print(
    f"DGN: V_ss = {float(dgn.v_ss / mV):.2f} mV, G0 = {float(dgn.G0 * ms):.3f}/ms, "
    f"std = {float(dgn.std / mV):.3f} mV (weak-noise ratio {dgn.weak_noise:.1e})"
)
print(f"LIF with the same W, sigma: std = {float(lif.std / mV):.3f} mV")
print(
    f"variance ratio DGN/LIF: {stability.variance_ratio(**inputs):.3f}; "
    f"compensation holds: {stability.noise_compensation(inputs['W'], inputs['C']).holds}"
)

# %%
# The check on drawn parameter sets (runtime target, one build per model).
report = stability.check(samples=10, seed=0, trials=200, device="numpy", dt=0.05 * ms)
for model, s in report.summary.items():
    print(
        f"{model}: {s['passed']}/{s['sets']} sets inside the 99 % interval, "
        f"median |error| {100 * s['median_abs_rel_error']:.1f} %"
    )

# %%
# Each set's estimate with its 99 % interval against the analytic variance (on the diagonal).
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, model in zip(axes, ("lif", "dgn")):
    rows = [r for r in report.rows if r.model == model]
    a = np.array([r.analytic_var for r in rows])
    est = np.array([r.estimate_var for r in rows])
    err = np.array([[r.estimate_var - r.ci_low for r in rows], [r.ci_high - r.estimate_var for r in rows]])
    colors = ["tab:green" if r.passed else "tab:red" for r in rows]
    ax.errorbar(a, est, yerr=err, fmt="none", ecolor="0.6")
    ax.scatter(a, est, c=colors, s=15, zorder=3)
    lim = [0, 1.1 * max(a.max(), est.max())]
    ax.plot(lim, lim, "k--", lw=0.8)
    ax.set_xlabel("analytic variance (mV²)")
    ax.set_title(f"{model}: {sum(r.passed for r in rows)}/{len(rows)} inside")
axes[0].set_ylabel("Monte-Carlo estimate (mV²)")
fig.tight_layout()
plt.show()
