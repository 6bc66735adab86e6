"""Stochastic stability: closed forms, the Monte-Carlo machinery on known answers, bad input.

Every expected value here is a closed form (Ornstein-Uhlenbeck mean, variance,
correlation time; the stationary moments of a linear SDE and of its discrete scheme)
or an independent numpy simulation; none is copied from the code's output.
"""

import json

import numpy as np
import pytest
from brian2 import ms, mV, second, volt

from dgnsim.analysis import stability as stab
from dgnsim.cli import main as cli_main

SQ = ms**0.5


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
    mu, sig, W, C, g_l = (
        [1.0, 2.0, 0.5],
        [0.1, 0.3, 0.2] * SQ,
        [0.1, -0.2, 0.05] * mV / ms,
        [0.01, 0.0, 0.03] / ms,
        0.05 / ms,
    )
    p = stab.diffusion_parameters(mu, sig, W, C, g_l, "independent")
    k2 = 2 / float(p["tau_mem"] / ms)
    for V in (-3.0, 0.0, 4.0):  # mV
        direct = np.sum(
            np.array([0.1, 0.3, 0.2]) ** 2 * (np.array([0.1, -0.2, 0.05]) - np.array([0.01, 0, 0.03]) * V) ** 2
        )
        model = k2 * ((float(p["noise_sigma"] / mV) - p["noise_gate"] * V) ** 2 + float(p["noise_indep"] / mV) ** 2)
        assert model == pytest.approx(direct)


# ---------------------------------------------------- Monte-Carlo: known answers
@pytest.fixture(scope="module")
def ou():
    """A LIF with white noise is an OU process: mean I_ext, variance noise_sigma^2, tau_mem."""
    params = {"noise_sigma": [1.0, 2.0] * mV, "I_ext": [3.0, -2.0] * mV, "tau_mem": [10.0, 20.0] * ms, "v_th": 1 * volt}
    return stab.monte_carlo(
        "lif",
        params,
        2000,
        burn_in=100 * ms,
        spacing=5 * ms,
        samples=8,
        dt=0.1 * ms,
        device="numpy",
        seed=3,
        initial_v=[3.0, -2.0] * mV,
    )


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
    """4000 independent sets of 300 Gaussian trials (variance 4, mean 0): the 90 % intervals of
    the variance and of the mean miss the true value in about 10 % of the sets (binomial
    spread about 0.5 %), and their half-widths are the normal-theory ones,
    z sqrt(2) sigma^2 / sqrt(K) and z sigma / sqrt(K) (Var((v - mu)^2) = 2 sigma^4)."""
    rng = np.random.default_rng(0)
    K, z = 300, 1.6448536269514722  # z: the 95th percentile of the standard normal
    v = rng.standard_normal((4000, K, 1)) * 2.0
    st = stab.trial_statistics(v, level=0.90)
    var_miss = np.mean((st.variance_ci[:, 0] > 4) | (st.variance_ci[:, 1] < 4))
    mean_miss = np.mean((st.mean_ci[:, 0] > 0) | (st.mean_ci[:, 1] < 0))
    assert 0.08 <= var_miss <= 0.13  # a little above 0.10: the sample variance is skewed
    assert 0.08 <= mean_miss <= 0.12
    assert np.mean(np.diff(st.variance_ci, axis=1)) / 2 == pytest.approx(z * np.sqrt(2) * 4 / np.sqrt(K), rel=0.02)
    assert np.mean(np.diff(st.mean_ci, axis=1)) / 2 == pytest.approx(z * 2 / np.sqrt(K), rel=0.02)


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
    mc = stab.monte_carlo(
        "dgn_diffusion",
        params,
        3000,
        burn_in=60 * ms,
        spacing=15 * ms,
        samples=6,
        dt=dt,
        device="numpy",
        seed=5,
        initial_v=[float(x.v_ss) for x in lnas] * volt,
    )
    ci = mc.stats.variance_ci
    disc = np.asarray(
        stab.discrete_variance_dgn_diffusion(
            params["tau_mem"],
            params["g_mean"],
            params["I_mean"],
            params["noise_sigma"],
            params["noise_gate"],
            params["noise_indep"],
            dt,
        )
        / volt**2
    )
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
    mc = stab.monte_carlo(
        "dgn_diffusion",
        {**p, "v_th": 1 * volt},
        3000,
        burn_in=80 * ms,
        spacing=20 * ms,
        samples=4,
        dt=0.05 * ms,
        device="numpy",
        seed=7,
        initial_v=lna.v_ss,
    )
    lo, hi = mc.stats.variance_ci[0]
    assert lo <= float(lna.variance / volt**2) <= hi


def test_constant_gate_dgn_and_sdgn_meet_the_seed_bound():
    """A constant gate (tau_syn very long): E|v - v*|^2 = noise_sigma^2/(1 + g) (forward Euler)."""
    for model in ("dgn", "sdgn"):
        mc = stab.monte_carlo(
            model,
            {"noise_sigma": [1.0, 2.0] * mV, "tau_syn": 1e4 * second, "tau_mem": 20 * ms, "v_th": 1 * volt},
            2000,
            burn_in=80 * ms,
            spacing=20 * ms,
            samples=4,
            device="numpy",
            seed=11,
            initial={"g": [0.5, 2.0]},
        )
        rho = 1 - np.array([1.5, 3.0]) * 0.1 / 20
        exact = np.array([1.0, 4.0]) * 2 * 0.1 / 20 / (1 - rho**2) * 1e-6
        lo, hi = mc.stats.msd_ci.T
        assert np.all((lo <= exact) & (exact <= hi)), model
        bound = np.array(
            [
                float(stab.seed_bound(s * mV * np.sqrt(2 / (20 * ms)), 1 / (20 * ms), g / (20 * ms)))
                for s, g in zip((1.0, 2.0), mc.gate_min)
            ]
        )
        assert np.all(lo <= bound), model


def test_time_varying_gate_bound_with_smallest_gate():
    """A decaying gate (tau_syn 30 ms, from g = 3): the bound with the smallest gate seen holds."""
    mc = stab.monte_carlo(
        "dgn",
        {"noise_sigma": 1 * mV, "tau_syn": 30 * ms, "v_th": 1 * volt},
        1000,
        burn_in=20 * ms,
        spacing=20 * ms,
        samples=3,
        device="numpy",
        seed=2,
        initial={"g": 3.0},
    )
    assert 0 < mc.gate_min[0] < 3
    bound = 1.0 / (1 + mc.gate_min[0]) * 1e-6
    assert mc.stats.msd_ci[0, 0] <= bound


def _dgn_activity_draws(seed, n):
    """The sets :func:`stab.check_bound` draws (its documented ranges, in its order) and their
    noise-free fixed point, solved here by bracketing V (1 + g(V)) = I0 (increasing in V)."""
    from scipy.optimize import brentq

    rng = np.random.default_rng(seed)
    d = dict(
        tau_m=rng.uniform(10, 30, n),
        tau_g=rng.uniform(50, 150, n),
        alpha=rng.uniform(0.5, 2, n),
        beta=rng.uniform(0.2, 1, n),
        gamma=rng.uniform(0, 1, n),
        I0=rng.uniform(4, 12, n),
        sigma=rng.uniform(0.3, 1.5, n),
    )

    def gate(V, s):
        return d["alpha"][s] * np.clip(np.tanh(d["beta"][s] * V - d["gamma"][s]), 0, 1)

    d["V0"] = np.array(
        [brentq(lambda V, s=s: V * (1 + gate(V, s)) - d["I0"][s], 0, d["I0"][s], xtol=1e-14) for s in range(n)]
    )
    d["g0"] = np.array([gate(d["V0"][s], s) for s in range(n)])
    return d


def _dgn_activity_msd(d, trials, seed, dt=0.1, sampled=(4000, 4500, 5000, 5500)):
    """E|v - v*|^2 (mV^2) and its standard error from a numpy loop of dgn_activity, written out
    from its model file: I decays (tau_syn 1e4 s), then g takes its exponential-Euler step with
    the old v, then v with the new I and g and the noise held for the step (randn/sqrt(dt));
    started at the fixed point, sampled after the given numbers of steps (400 ... 550 ms)."""
    rng, c = np.random.default_rng(seed), (lambda a: a[:, None])
    noise = np.ones((len(d["I0"]), trials + 1))
    noise[:, 0] = 0.0  # trial 0: the noise-free reference v*
    V, g, current = (np.repeat(c(d[k]), trials + 1, 1) for k in ("V0", "g0", "I0"))
    samples = []
    for k in range(1, max(sampled) + 1):
        current = current * np.exp(-dt / 1e7)
        target = c(d["alpha"]) * np.clip(np.tanh(c(d["beta"]) * V - c(d["gamma"])), 0, 1)
        g = (g - target) * np.exp(-dt / c(d["tau_g"])) + target
        U = current / (1 + g) + noise * c(d["sigma"]) * np.sqrt(2 * c(d["tau_m"]) / dt) * rng.standard_normal(V.shape)
        V = (V - U) * np.exp(-dt / c(d["tau_m"])) + U
        if k in sampled:
            samples.append(V.copy())
    v = np.stack(samples, axis=2)
    per_trial = ((v[:, 1:, :] - v[:, :1, :]) ** 2).mean(axis=2)
    return per_trial.mean(axis=1), per_trial.std(axis=1, ddof=1) / np.sqrt(trials)


@pytest.fixture(scope="module")
def bound_check():
    rows, summary = stab.check_bound(4, 0, trials=300, device="numpy")
    return rows, summary, _dgn_activity_draws(0, 4)


def test_check_bound_dgn_activity_small(bound_check):
    """The Monte-Carlo E|v - v*|^2 of check_bound agrees with an independent numpy simulation
    (within four combined standard errors), lies under the leak-alone bound sigma^2, and the
    bounds are the closed forms of the drawn sigma and the smallest gate seen."""
    rows, summary, d = bound_check
    msd, se = _dgn_activity_msd(d, trials=2000, seed=100)
    assert summary["sets"] == 4 and summary["holds_leak"] == 4
    for r, s2, g0, m, e in zip(rows, d["sigma"] ** 2, d["g0"], msd, se):
        se_mc = (r.ci_high - r.ci_low) / (2 * 2.5758293035489004)  # the 99 % normal interval
        assert abs(r.msd - m) < 4 * np.hypot(se_mc, e), (r.index, r.msd, m)
        assert r.bound_leak == pytest.approx(s2, rel=1e-12)
        assert r.bound_seed == pytest.approx(s2 / (1 + r.gate_min), rel=1e-12)
        assert 0 < r.gate_min < g0  # the noisy gates dip below the fixed point's


def test_check_bound_reference_sits_at_the_fixed_point(bound_check):
    """The noise-free reference starts, and stays, at the fixed point (v and the gate g)."""
    rows, _, d = bound_check
    np.testing.assert_allclose([r.v_star_mv for r in rows], d["V0"], rtol=0, atol=1e-3)


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
    assert (
        cli_main(
            [
                "stability",
                "--model",
                "dgn",
                "--mu",
                "1",
                "--sigma=-0.2sqrt(ms)",
                "--w",
                "2mV",
                "--c",
                "0.5",
                "--device",
                "numpy",
            ]
        )
        == 2
    )
    assert "sigma" in capsys.readouterr().err
    assert cli_main(["stability", "--model", "lif", "--noise", "1mV", "--trials", "1"]) == 2
    assert cli_main(["stability", "--model", "lif", "--noise", "1mV", "--tau-mem=-5ms"]) == 2


# ---------------------------------------------------------------- command line
def test_cli_one_set_json(capsys):
    assert (
        cli_main(
            [
                "stability",
                "--model",
                "dgn",
                "--mu",
                "1,0.5",
                "--sigma",
                "0.2sqrt(ms),0.1sqrt(ms)",
                "--w",
                "2mV,1mV",
                "--c",
                "0.5,0.2",
                "--trials",
                "400",
                "--device",
                "numpy",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    # closed form: tau 20 ms, W = w/tau, C = c/tau
    G0 = (1 + 0.5 + 0.1) / 20
    v_ss = (2 * 1 + 1 * 0.5) / 20 / G0
    var = (0.2 * (0.1 - 0.025 * v_ss) + 0.1 * (0.05 - 0.01 * v_ss)) ** 2 / (2 * G0)
    assert out["v_ss_mV"] == pytest.approx(v_ss)
    assert out["analytic_variance_mV2"] == pytest.approx(var)
    # the Monte-Carlo interval holds the closed form, and would reject one a factor 2 off
    lo, hi = out["interval_mV2"]
    assert lo <= var <= hi and not lo <= 2 * var <= hi and not lo <= var / 2 <= hi
    assert out["mean_interval_mV"][0] <= v_ss <= out["mean_interval_mV"][1]
    assert out["compensation"] is True


def test_cli_check_json(capsys, tmp_path):
    assert (
        cli_main(
            [
                "stability",
                "check",
                "--samples",
                "4",
                "--seed",
                "1",
                "--trials",
                "200",
                "--dt",
                "0.1ms",
                "--device",
                "numpy",
                "--json",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
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
