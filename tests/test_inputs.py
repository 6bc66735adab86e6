"""Poisson input and frozen noise: the statistics they promise, on both drawing paths."""

import numpy as np
import pytest
from brian2 import Hz, ms, second

import dgnsim
from dgnsim.brian import network


@pytest.mark.parametrize("dense", [True, False])
def test_poisson_input_rate_and_independence(monkeypatch, dense):
    if not dense:
        monkeypatch.setattr(network, "MAX_DENSE_POISSON", 0)
    gen = dgnsim.poisson_input(200, 20 * Hz, 2 * second, seed=4, dt=0.1 * ms)
    idx, times = np.asarray(gen._neuron_index[:]), np.asarray(gen._spike_time[:])
    counts = np.bincount(idx, minlength=200)
    expected = 20 * 2.0  # spikes per source
    assert abs(counts.mean() - expected) < 4 * np.sqrt(expected / 200)
    # Poisson counts: variance equals the mean (Bernoulli per step: mean*(1 - p))
    assert counts.var() == pytest.approx(expected * (1 - 20 * 1e-4), rel=0.3)
    assert np.all(times < 2.0) and np.all(times >= 0)
    # at most one spike per source and step
    steps = np.round(times / 1e-4).astype(int)
    assert len(set(zip(idx.tolist(), steps.tolist()))) == len(idx)


def test_frozen_noise_is_standard_normal_and_seeded():
    a = dgnsim.frozen_noise(50, 100 * ms, 0.1 * ms, seed=1).values
    b = dgnsim.frozen_noise(50, 100 * ms, 0.1 * ms, seed=1).values
    assert np.array_equal(a, b)
    assert abs(a.mean()) < 4 / np.sqrt(a.size) and abs(a.std() - 1) < 0.02
