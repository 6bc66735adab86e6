"""Is my parameter set stable, and how much noise does the gate remove?

Copy this file and edit the inputs below (paper A's linear-noise setting: input i has
mean mu_i, noise amplitude sigma_i, weight w_i = W_i tau_mem and conductance
c_i = C_i tau_mem). It prints

1. the steady state V_ss, the effective leak G0 and whether it is stable (G0 > 0);
2. paper A's stationary variance for the DGN and for a LIF with the same weights and
   noise, their ratio (how much noise the gate removes) and whether the noise-
   compensation condition holds (C_i with the sign of W_i);
3. how good the linear-noise approximation is here (q^2/(2 G0), and the exact Ito
   value) and how far V_ss sits below the threshold in standard deviations;
4. a Brian2 Monte-Carlo check of both variances (99 % intervals from independent trials).

Run: python studies/stability_check.py  (about 20 s on the runtime target).
"""

import numpy as np
from brian2 import ms, mV, volt

from dgnsim.analysis.stability import (
    diffusion_parameters,
    linear_noise_dgn,
    linear_noise_lif,
    monte_carlo,
    noise_compensation,
    variance_ratio,
)

# ---- your parameter set -------------------------------------------------------
TAU_MEM = 20 * ms  # 1/g_l
MU = np.array([1.0, 0.5, 2.0])  # input means (dimensionless trace levels)
SIGMA = np.array([0.3, 0.2, 0.4]) * ms**0.5  # input noise amplitudes
w = np.array([2.0, -1.0, 1.5]) * mV  # w_i = W_i tau_mem
c = np.array([0.5, -0.2, 0.3])  # c_i = C_i tau_mem
NOISE = "shared"  # one shared xi (paper A) or "independent"
THRESHOLD_DISTANCE = 15 * mV  # v_th - v_rest
TRIALS, DEVICE = 2000, "numpy"  # "cpp_standalone" for many trials
# --------------------------------------------------------------------------------

W, C, g_l = w / TAU_MEM, c / TAU_MEM, 1 / TAU_MEM
dgn = linear_noise_dgn(MU, SIGMA, W, C, g_l, NOISE)
lif = linear_noise_lif(MU, SIGMA, W, g_l, NOISE)
print(
    f"V_ss = {dgn.v_ss / mV:.3f} mV above rest, G0 = {dgn.G0 * ms:.4f}/ms (tau_eff = {1 / dgn.G0 / ms:.2f} ms): stable"
)
print(
    f"stationary std: DGN {np.sqrt(dgn.variance) / mV:.4f} mV, LIF {np.sqrt(lif.variance) / mV:.4f} mV; "
    f"variance ratio DGN/LIF = {variance_ratio(MU, SIGMA, W, C, g_l, NOISE):.3f}"
)
comp = noise_compensation(W, C)
print(f"noise compensation (C_i with the sign of W_i): {comp.holds} (per input: {comp.per_input.tolist()})")
print(
    f"linear-noise error q^2/(2 G0) = {dgn.weak_noise:.2e} (exact Ito variance / linear-noise = "
    f"{float(dgn.variance_ito / dgn.variance):.4f})"
)
print(
    f"V_ss is {(THRESHOLD_DISTANCE - dgn.v_ss) / np.sqrt(dgn.variance):.1f} std below the threshold "
    "(> 5: subthreshold, the formulas apply)"
)

# Monte-Carlo: DGN (dgn_diffusion, gate noise included) and LIF, threshold far away.
p = {**diffusion_parameters(MU, SIGMA, W, C, g_l, NOISE), "v_th": 1 * volt}
span = np.ceil(float(1 / dgn.G0 / (0.05 * ms))) * 0.05 * ms
mc = monte_carlo(
    "dgn_diffusion", p, TRIALS, burn_in=4 * span, spacing=span, dt=0.05 * ms, device=DEVICE, seed=1, initial_v=dgn.v_ss
)
lo, hi = mc.stats.variance_ci[0] / (mV**2 / volt**2)
print(
    f"DGN Monte-Carlo variance {mc.stats.variance[0] * 1e6:.5f} mV^2, 99 % CI [{lo:.5f}, {hi:.5f}]; "
    f"analytic {dgn.variance / mV**2:.5f}"
)
span = np.ceil(float(TAU_MEM / (0.05 * ms))) * 0.05 * ms
mc = monte_carlo(
    "lif",
    {"tau_mem": TAU_MEM, "I_ext": lif.v_ss, "noise_sigma": np.sqrt(lif.variance), "v_th": 1 * volt},
    TRIALS,
    burn_in=4 * span,
    spacing=span,
    dt=0.05 * ms,
    device=DEVICE,
    seed=2,
    initial_v=lif.v_ss,
)
lo, hi = mc.stats.variance_ci[0] / (mV**2 / volt**2)
print(
    f"LIF Monte-Carlo variance {mc.stats.variance[0] * 1e6:.5f} mV^2, 99 % CI [{lo:.5f}, {hi:.5f}]; "
    f"analytic {lif.variance / mV**2:.5f}"
)
