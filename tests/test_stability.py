"""Stochastic stability: closed forms, the Monte-Carlo machinery on known answers, bad input.

Every expected value here is a closed form (Ornstein-Uhlenbeck mean, variance,
correlation time; the stationary moments of a linear SDE and of its discrete scheme)
or an independent numpy simulation; none is copied from the code's output.
"""

import json

import numpy as np
import pytest
from brian2 import mV, ms, second, volt

from dgnsim.analysis import stability as stab
from dgnsim.cli import main as cli_main

SQ = ms ** 0.5


# ------------------------------------------------------------------ closed forms
def test_linear_noise_formulas_match_hand_computation():
    mu, sig = np.array([1.0, 0.5]), np.array([0.2, 0.1]) * SQ
    W, C, g_l = np.array([0.1, -0.05]) * mV / ms, np.array([0.02, -0.01]) / ms, 0.05 / ms
    G0 = 0.05 + 0.02 * 1 - 0.01 * 0.5  # 1/ms
    v_ss = (0.1 * 1 - 0.05 * 0.5) / G0  # mV
    shared = (0.2 * (0.1 - 0.02 * v_ss) + 0.1 * (-0.05 + 0.01 * v_ss)) ** 2 / (2 * G0)
    indep = (0.2**2 * (0.1 - 0.02 * v_ss) ** 2 + 0.1**2 * (-0.05 + 0.01 * v_ss) ** 2) / (2 * G0)
    r = stab.linear_noise_dgn(mu, sig, W, C, g_l, "shared")
    assert float(r.G0 * ms) == pytest.approx(G0)
    assert float(r.v_ss / mV) == pytest.approx(v_ss)
    assert float(r.variance / mV**2) == pytest.approx(shared)
    assert float(stab.linear_noise_dgn(mu, sig, W, C, g_l, "independent").variance / mV**2) == pytest.approx(indep)
    lif = stab.linear_noise_lif(mu, sig, W, g_l, "shared")
    assert float(lif.variance / mV**2) == pytest.approx((0.2 * 0.1 - 0.1 * 0.05) ** 2 / (2 * 0.05))
    assert float(lif.v_ss / mV) == pytest.approx(0.075 / 0.05)
    # Ito correction: (2 G0)/(2 G0 - q^2) with q = sum sigma_i C_i
    q2 = (0.2 * 0.02 - 0.1 * 0.01) ** 2
    assert float(r.variance_ito / r.variance) == pytest.approx(2 * G0 / (2 * G0 - q2))
    assert stab.noise_compensation(W, C).holds
    assert not stab.noise_compensation(W, -C).holds
    assert stab.variance_ratio(mu, sig, W, C, g_l) == pytest.approx(shared / float(lif.variance / mV**2))


def test_compensating_gate_removes_noise():
    mu, sig, W, g_l = [1.0, 1.0], [0.3, 0.3] * SQ, [0.1, 0.2] * mV / ms, 0.05 / ms
    ratio_with = stab.variance_ratio(mu, sig, W, [0.02, 0.04] / ms, g_l)
    ratio_against = stab.variance_ratio(mu, sig, W, [-0.005, -0.01] / ms, g_l)
    assert ratio_with < 1 < ratio_against


def test_seed_bound_is_the_ou_variance():
    # dv = -lambda (v - v*) dt + s dW: stationary variance s^2/(2 lambda)
    b = stab.seed_bound(2 * mV / second**0.5, 10 / second, 5 / second)
    assert float(b / mV**2) == pytest.approx(4 / 30)
    # a varying gate: the smallest gate seen
    b2 = stab.seed_bound(2 * mV / second**0.5, 10 / second, [9, 5, 7] / second)
    assert float(b2) == pytest.approx(float(b))


def test_discrete_variances_against_an_independent_numpy_scheme():
    rng = np.random.default_rng(1)
    tau, g, I, ns, ng, dt = 20.0, 1.0, 5.0, 1.0, 0.3, 0.5  # ms, 1, mV, mV, 1, ms
    v = np.full(100_000, I / (1 + g))
    for _ in range(400):  # Euler-Maruyama of dgn_diffusion, written out independently
        amp = np.abs(ns - ng * v) * np.sqrt(2 / tau)
        v = v + dt * (-(1 + g) * v + I) / tau + amp * np.sqrt(dt) * rng.standard_normal(v.size)
    expected = float(stab.discrete_variance_dgn_diffusion(tau * ms, g, I * mV, ns * mV, ng, 0 * mV, dt * ms) / mV**2)
    assert np.var(v) == pytest.approx(expected, rel=0.02)
    # and it differs from the continuous one by about G0 dt / 2
    cont = (ns - ng * I / (1 + g)) ** 2 / (1 + g) / (1 - ng**2 / (1 + g))
    assert expected / cont - 1 == pytest.approx((1 + g) / tau * dt / 2, rel=0.2)
    lif = float(stab.discrete_variance_lif(2 * mV, 10 * ms, 1 * ms) / mV**2)
    assert lif == pytest.approx(4 * 20 * np.tanh(0.05))


def test_independent_noise_decomposition_preserves_the_diffusion():
    mu, sig, W, C, g_l = [1.0, 2.0, 0.5], [0.1, 0.3, 0.2] * SQ, [0.1, -0.2, 0.05] * mV / ms, [0.01, 0.0, 0.03] / ms, 0.05 / ms
    p = stab.diffusion_parameters(mu, sig, W, C, g_l, "independent")
    k2 = 2 / float(p["tau_mem"] / ms)
    for V in (-3.0, 0.0, 4.0):  # mV
        direct = np.sum(np.array([0.1, 0.3, 0.2]) ** 2 * (np.array([0.1, -0.2, 0.05]) - np.array([0.01, 0, 0.03]) * V) ** 2)
        model = k2 * ((float(p["noise_sigma"] / mV) - p["noise_gate"] * V) ** 2 + float(p["noise_indep"] / mV) ** 2)
        assert model == pytest.approx(direct)


# ---------------------------------------------------- Monte-Carlo: known answers
@pytest.fixture(scope="module")
def ou():
    """A LIF with white noise is an OU process: mean I_ext, variance noise_sigma^2, tau_mem."""
    params = {"noise_sigma": [1.0, 2.0] * mV, "I_ext": [3.0, -2.0] * mV, "tau_mem": [10.0, 20.0] * ms,
              "v_th": 1 * volt}
    return stab.monte_carlo("lif", params, 2000, burn_in=100 * ms, spacing=5 * ms, samples=8, dt=0.1 * ms,
                            device="numpy", seed=3, initial_v=[3.0, -2.0] * mV)


def test_monte_carlo_recovers_ou_mean_and_variance(ou):
    st = ou.stats
    var_true = np.asarray(stab.discrete_variance_lif([1.0, 2.0] * mV, [10.0, 20.0] * ms, 0.1 * ms) / volt**2)
    mean_true = np.array([3e-3, -2e-3])
    assert np.all((st.variance_ci[:, 0] <= var_true) & (var_true <= st.variance_ci[:, 1]))
    assert np.all((st.mean_ci[:, 0] <= mean_true) & (mean_true <= st.mean_ci[:, 1]))
    # a formula a factor 2 off is rejected: the test can fail
    assert not np.any((st.variance_ci[:, 0] <= 2 * var_true) & (2 * var_true <= st.variance_ci[:, 1]))
    assert not np.any((st.variance_ci[:, 0] <= var_true / 2) & (var_true / 2 <= st.variance_ci[:, 1]))
    assert ou.spiking_trials.sum() == 0


def test_monte_carlo_recovers_ou_correlation_time(ou):
    for s, tau in enumerate((10e-3, 20e-3)):
        est = stab.autocorrelation_time(ou.samples[s], ou.sample_times * second)
        assert est == pytest.approx(tau, rel=0.1)


def test_interval_coverage_is_honest():
    """Across 40 independent sets of a known OU variance, a 90 % interval misses about 4."""
    rng = np.random.default_rng(0)
    v = rng.standard_normal((40, 300, 1)) * 2.0  # independent trials, variance 4
    st = stab.trial_statistics(v, level=0.90)
    misses = np.sum((st.variance_ci[:, 0] > 4) | (st.variance_ci[:, 1] < 4))
    assert 0 <= misses <= 10


def test_dgn_diffusion_linear_noise_and_where_it_breaks():
    """Weak gate noise: the paper's formula holds; strong gate noise: it is rejected while
    the exact Ito value of the discrete scheme is not."""
    common = dict(mu=[1.0, 1.0], W=[0.1, 0.15] * mV / ms, C=[0.02, 0.03] / ms, g_l=0.05 / ms)
    weak = dict(common, sigma=[0.3, 0.3] * SQ)
    strong = dict(common, sigma=[4.0, 4.0] * SQ)
    dt = 0.05 * ms
    lnas = [stab.linear_noise_dgn(**weak), stab.linear_noise_dgn(**strong)]
    ps = [stab.diffusion_parameters(**weak), stab.diffusion_parameters(**strong)]
    params = stab.stack_parameters(ps)
    params["v_th"] = 1 * volt
    mc = stab.monte_carlo("dgn_diffusion", params, 3000, burn_in=60 * ms, spacing=15 * ms, samples=6, dt=dt,
                          device="numpy", seed=5, initial_v=[float(x.v_ss) for x in lnas] * volt)
    ci = mc.stats.variance_ci
    disc = np.asarray(stab.discrete_variance_dgn_diffusion(params["tau_mem"], params["g_mean"], params["I_mean"],
                                                           params["noise_sigma"], params["noise_gate"],
                                                           params["noise_indep"], dt) / volt**2)
    a = np.array([float(x.variance / volt**2) for x in lnas])
    assert lnas[1].weak_noise > 0.15 > 0.01 > lnas[0].weak_noise
    assert ci[0, 0] <= a[0] <= ci[0, 1]
    assert not (ci[1, 0] <= a[1] <= ci[1, 1])
    assert ci[1, 0] <= disc[1] <= ci[1, 1]


def test_independent_noise_convention_in_brian():
    cfg = dict(mu=[1.0, 1.5], sigma=[0.5, 0.4] * SQ, W=[0.1, -0.1] * mV / ms, C=[0.02, -0.01] / ms, g_l=0.05 / ms)
    lna = stab.linear_noise_dgn(**cfg, noise="independent")
    p = stab.diffusion_parameters(**cfg, noise="independent")
    assert float(p["noise_indep"]) > 0
    mc = stab.monte_carlo("dgn_diffusion", {**p, "v_th": 1 * volt}, 3000, burn_in=80 * ms, spacing=20 * ms,
                          samples=4, dt=0.05 * ms, device="numpy", seed=7, initial_v=lna.v_ss)
    lo, hi = mc.stats.variance_ci[0]
    assert lo <= float(lna.variance / volt**2) <= hi


def test_constant_gate_dgn_and_sdgn_meet_the_seed_bound():
    """A constant gate (tau_syn very long): E|v - v*|^2 = noise_sigma^2/(1 + g) (forward Euler)."""
    for model in ("dgn", "sdgn"):
        mc = stab.monte_carlo(model, {"noise_sigma": [1.0, 2.0] * mV, "tau_syn": 1e4 * second, "tau_mem": 20 * ms,
                                      "v_th": 1 * volt}, 2000, burn_in=80 * ms, spacing=20 * ms, samples=4,
                              device="numpy", seed=11, initial={"g": [0.5, 2.0]})
        rho = 1 - np.array([1.5, 3.0]) * 0.1 / 20
        exact = np.array([1.0, 4.0]) * 2 * 0.1 / 20 / (1 - rho**2) * 1e-6
        lo, hi = mc.stats.msd_ci.T
        assert np.all((lo <= exact) & (exact <= hi)), model
        bound = np.array([float(stab.seed_bound(s * mV * np.sqrt(2 / (20 * ms)), 1 / (20 * ms), g / (20 * ms)))
                          for s, g in zip((1.0, 2.0), mc.gate_min)])
        assert np.all(lo <= bound), model


def test_time_varying_gate_bound_with_smallest_gate():
    """A decaying gate (tau_syn 30 ms, from g = 3): the bound with the smallest gate seen holds."""
    mc = stab.monte_carlo("dgn", {"noise_sigma": 1 * mV, "tau_syn": 30 * ms, "v_th": 1 * volt}, 1000,
                          burn_in=20 * ms, spacing=20 * ms, samples=3, device="numpy", seed=2, initial={"g": 3.0})
    assert 0 < mc.gate_min[0] < 3
    bound = 1.0 / (1 + mc.gate_min[0]) * 1e-6
    assert mc.stats.msd_ci[0, 0] <= bound


def test_check_bound_dgn_activity_small():
    rows, summary = stab.check_bound(4, 0, trials=300, device="numpy")
    assert summary["sets"] == 4 and summary["holds_leak"] == 4
    for r in rows:
        assert r.gate_min > 0 and r.bound_seed < r.bound_leak


# --------------------------------------------------------------------- bad input
def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="sigma"):
        stab.linear_noise_dgn([1.0], [-0.1] * SQ, [0.1] * mV / ms, [0.01] / ms, 0.05 / ms)
    with pytest.raises(TypeError, match="sigma"):
        stab.linear_noise_dgn([1.0], [0.1], [0.1] * mV / ms, [0.01] / ms, 0.05 / ms)
    with pytest.raises(ValueError, match="g_l"):
        stab.linear_noise_dgn([1.0], [0.1] * SQ, [0.1] * mV / ms, [0.01] / ms, -0.05 / ms)
    with pytest.raises(ValueError, match="G0"):
        stab.linear_noise_dgn([1.0], [0.1] * SQ, [0.1] * mV / ms, [-0.1] / ms, 0.05 / ms)
    with pytest.raises(ValueError, match="noise"):
        stab.linear_noise_dgn([1.0], [0.1] * SQ, [0.1] * mV / ms, [0.0] / ms, 0.05 / ms, noise="both")
    with pytest.raises(ValueError, match="tau_mem"):
        stab.monte_carlo("lif", {"noise_sigma": 1 * mV, "tau_mem": -10 * ms}, 10)
    with pytest.raises(ValueError, match="noise_sigma"):
        stab.monte_carlo("lif", {"noise_sigma": [-1.0, 1.0] * mV}, 10)
    with pytest.raises(ValueError, match="too coarse for the effective leak"):
        stab.monte_carlo("dgn_diffusion", {"noise_sigma": 1 * mV, "g_mean": 30.0}, 10, dt=0.1 * ms)
    with pytest.raises(ValueError, match="at least 2"):
        stab.monte_carlo("lif", {"noise_sigma": 1 * mV}, 1)
    with pytest.raises(ValueError, match="at least 2"):
        stab.trial_statistics(np.zeros((1, 1, 3)))
    with pytest.raises(ValueError, match="sigma"):
        stab.seed_bound(-1 * mV / second**0.5, 1 / second, 0 / second)
    with pytest.raises(ValueError, match="regime"):
        stab.draw_parameter_sets(3, 0, "hot")


def test_cli_bad_input_exits_2(capsys):
    assert cli_main(["stability", "--model", "dgn", "--mu", "1", "--sigma=-0.2sqrt(ms)", "--w", "2mV",
                     "--c", "0.5", "--device", "numpy"]) == 2
    assert "sigma" in capsys.readouterr().err
    assert cli_main(["stability", "--model", "lif", "--noise", "1mV", "--trials", "1"]) == 2
    assert cli_main(["stability", "--model", "lif", "--noise", "1mV", "--tau-mem=-5ms"]) == 2


# ---------------------------------------------------------------- command line
def test_cli_one_set_json(capsys):
    assert cli_main(["stability", "--model", "dgn", "--mu", "1,0.5", "--sigma", "0.2sqrt(ms),0.1sqrt(ms)",
                     "--w", "2mV,1mV", "--c", "0.5,0.2", "--trials", "400", "--device", "numpy", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # closed form: tau 20 ms, W = w/tau, C = c/tau
    G0 = (1 + 0.5 + 0.1) / 20
    v_ss = (2 * 1 + 1 * 0.5) / 20 / G0
    var = (0.2 * (0.1 - 0.025 * v_ss) + 0.1 * (0.05 - 0.01 * v_ss)) ** 2 / (2 * G0)
    assert out["v_ss_mV"] == pytest.approx(v_ss)
    assert out["analytic_variance_mV2"] == pytest.approx(var)
    assert out["interval_mV2"][0] < out["estimate_variance_mV2"] < out["interval_mV2"][1]
    assert out["compensation"] is True


def test_cli_check_json(capsys, tmp_path):
    assert cli_main(["stability", "check", "--samples", "4", "--seed", "1", "--trials", "200", "--dt", "0.1ms",
                     "--device", "numpy", "--json", "--out", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["rows"]) == 8 and set(out["summary"]) == {"lif", "dgn"}
    assert "summary_line" in out and (tmp_path / "stability_check.json").exists()


# ------------------------------------------------------------------- standalone
@pytest.mark.standalone
def test_check_on_cpp_standalone():
    """The regime's check on C++ standalone (one build per model)."""
    rep = stab.check(6, seed=4, trials=1000, dt=0.1 * ms, device="cpp_standalone")
    for name in ("lif", "dgn"):
        assert rep.summary[name]["passed"] >= 5, rep.summary
