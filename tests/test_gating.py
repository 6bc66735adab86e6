"""Gating analyses against the analytic values of the linearised model (dgnsim.analysis.gating).

Closed forms used as independent checks: a held gate g gives the DGN membrane the
time constant tau_mem/(1+g), the steady state I/(1+g) and the transfer function
1/((1+g)(1 + j 2 pi f tau_mem/(1+g))) (continuous); forward Euler's effective time
constant is -dt/ln(1 - dt/tau). The gate-removed control (c=0 / gate 0) must not match.
"""

import warnings

import numpy as np
import pytest
from brian2 import Hz, ms, mV

from dgnsim.analysis.gating import FROZEN_TAU, fi_curve, frequency_response, gate_dynamics, snr_transfer, time_constants
from dgnsim.analysis.gating_linear import linearise

GATES = np.array([0.0, 1.0, 4.0, 9.0])


def test_linearisation_matches_closed_form():
    for g in GATES:
        L = linearise("dgn", {"I_ext": 10 * mV}, {"I": 0.0, "g": g}, method="exponential_euler")
        assert L.tau() == pytest.approx(20e-3 / (1 + g), rel=1e-5)
        assert L.v_ss + 65e-3 == pytest.approx(10e-3 / (1 + g), rel=1e-6)
        f = np.array([5.0, 50.0])
        H = 1 / ((1 + g) * (1 + 2j * np.pi * f * 20e-3 / (1 + g)))
        assert np.allclose(L.transfer(f), H, rtol=1e-5)
        Ls = linearise(
            "dgn", {"I_ext": 10 * mV, "tau_syn": FROZEN_TAU}, {"I": 0.0, "g": g}
        )  # sequential: forward Euler
        tau = 20e-3 / (1 + g)
        assert Ls.tau_discrete() == pytest.approx(-1e-4 / np.log(1 - 1e-4 / tau), rel=1e-5)


@pytest.mark.parametrize("model", ["dgn", "sdgn"])
def test_time_constants_and_steady_state_exponential_euler(model):
    r = time_constants(model, GATES, 10 * mV, method="exponential_euler")
    expected_tau = 20.0 / (1 + GATES)
    e_rev = 0.0 if model == "dgn" else 65.0
    expected_vss = (10.0 + GATES * e_rev) / (1 + GATES)
    assert np.allclose(r.tau_ms, expected_tau, rtol=1e-5)
    assert np.allclose(r.tau_step_ms, expected_tau, rtol=0.01)
    assert np.allclose(r.tau_impulse_ms, expected_tau, rtol=0.01)
    assert np.allclose(r.v_ss_sim_mV, expected_vss, rtol=0.01)
    # gate removed: the LIF's (gate-independent) values do not match the gated ones
    assert not np.allclose(r.tau_step_ms[1:], 20.0, rtol=0.1)


def test_sequential_follows_the_discrete_scheme():
    r = time_constants("dgn", GATES, 10 * mV)
    assert np.allclose(r.tau_step_ms, r.tau_discrete_ms, rtol=0.002)
    fe = -0.1 / np.log(1 - 0.1 * (1 + GATES) / 20.0)
    assert np.allclose(r.tau_discrete_ms, fe, rtol=1e-5)
    lif = time_constants("lif", GATES, 10 * mV)  # no gate: flat
    assert np.allclose(lif.tau_step_ms, 20.0, rtol=0.01)
    assert np.allclose(lif.v_ss_sim_mV, 10.0, rtol=0.01)


def test_frequency_response_gain_and_phase():
    freqs = np.array([2.0, 10.0, 50.0, 100.0])
    r = frequency_response("dgn", freqs * Hz, gates=[0.0, 4.0], method="exponential_euler", window=0.5 * 1000 * ms)
    for a, g in enumerate(r.gate):
        H = 1 / ((1 + g) * (1 + 2j * np.pi * freqs * 20e-3 / (1 + g)))
        assert np.allclose(r.gain_sim[a], np.abs(H), rtol=0.01)
        assert np.allclose(r.phase_sim_deg[a], np.degrees(np.angle(H)), atol=2.0)
    # the gated point is measurably not the LIF (gate 0) at low frequency
    assert r.gain_sim[1, 0] < 0.5 * r.gain_sim[0, 0]


def test_activity_gate_frequency_response_matches_discrete_transfer():
    r = frequency_response(
        "dgn_activity", [2.0, 20.0] * Hz, gates=[0.0, 0.0], drive=np.array([0.5, 2.0]) * mV, window=0.5 * 1000 * ms
    )
    assert np.allclose(r.gain_sim, r.gain_discrete, rtol=0.01)
    assert np.allclose(r.phase_sim_deg, r.phase_discrete_deg, atol=2.0)
    assert np.all(r.gate_ss > 0)


def test_gate_trace_under_bursts():
    r = gate_dynamics("dgn")
    assert np.allclose(r.gate_sim, r.gate_analytic, atol=1e-9)
    assert np.allclose(r.decay_sim_ms, 5.0, rtol=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no 0/0 on the way
        zero = gate_dynamics("dgn", strengths=np.array([0.0, 0.5]))  # c = 0: no gate at all
    assert np.all(zero.gate_sim[0] == 0)
    assert np.isnan(zero.decay_sim_ms[0]) and zero.decay_sim_ms[1] == pytest.approx(5.0, rel=0.01)


def test_fi_curve_noise_free_matches_discrete_period():
    r = fi_curve("dgn", np.array([20.0, 32.0, 40.0]) * mV, gates=[0.0, 1.0], duration=1000 * ms)
    assert np.allclose(r.rate_sim, r.rate_discrete, rtol=0.01)
    assert np.allclose(r.rate_discrete, r.rate_analytic, rtol=0.02)
    assert r.rate_sim[1, 0] == 0 and r.rate_sim[0, 0] > 20  # the gate lowers the rate


def test_snr_matches_linear_theory():
    r = snr_transfer("dgn", gates=[0.0, 4.0], snr_in_db=[0.0, 10.0], replicas=10)
    assert np.allclose(r.snr_out_sim_db, r.snr_out_discrete_db, atol=1.0)
    # a linear membrane: output SNR grows dB for dB with input SNR
    assert np.allclose(np.diff(r.snr_out_discrete_db, axis=1), 10.0, atol=1e-6)


@pytest.mark.standalone
def test_cpp_standalone_time_constants_and_gain():
    r = time_constants("dgn", GATES, 10 * mV, method="exponential_euler", device="cpp_standalone")
    assert np.allclose(r.tau_step_ms, 20.0 / (1 + GATES), rtol=0.01)
    assert np.allclose(r.v_ss_sim_mV, 10.0 / (1 + GATES), rtol=0.01)
    f = np.array([5.0, 50.0])
    q = frequency_response(
        "dgn", f * Hz, gates=[1.0], method="exponential_euler", device="cpp_standalone", window=0.5 * 1000 * ms
    )
    H = 1 / (2 * (1 + 2j * np.pi * f * 10e-3))
    assert np.allclose(q.gain_sim[0], np.abs(H), rtol=0.01)
    assert np.allclose(q.phase_sim_deg[0], np.degrees(np.angle(H)), atol=2.0)


def test_bad_input_is_refused():
    with pytest.raises(TypeError):
        time_constants("dgn", GATES, 10.0)
    with pytest.raises(ValueError):
        time_constants("nonexistent", GATES, 10 * mV)
