"""Theory against the trained network (dgnsim.interop.noise_theory): the operating point and the
linear-noise prediction against closed forms; the measurement against the prediction where the
prediction is exact (constant traces)."""

import numpy as np
import pytest
import torch
from brian2 import ms, mV

from dgnsim.interop import noise_theory as nt
from dgnsim.interop.bridge import BridgeError
from dgnsim.surrogate import Classifier


def _net(model, n_in=12, hidden=6, seed=0):
    net = Classifier(model, n_in, hidden, 3, seed=seed)
    with torch.no_grad():
        if model == "dgn":
            net.hidden.W_c.abs_()  # conductances are non-negative
    return net


def _spikes(samples=5, steps=60, n_in=12, p=0.2, seed=1):
    return (np.random.default_rng(seed).random((samples, steps, n_in)) < p).astype(float)


def test_the_operating_point_is_the_time_average_of_the_traces_closed_form():
    """Constant input spikes on every channel at every step: the trace X (jumped by W x, decaying
    by d = exp(-dt/tau_syn) each step after the jump) reaches d W/(1 - d) (W summed over inputs)."""
    net = _net("dgn").double()
    x = np.ones((2, 300, 12))
    point = nt.operating_point(net, x, (250, 300))
    d = np.exp(-1.0 / float(net.hidden.neuron_params()["tau_syn"]))
    for trace, w in (("I", net.hidden.W_w), ("g", net.hidden.W_c)):
        expected = d * w.detach().double().sum(0).numpy() / (1 - d)
        np.testing.assert_allclose(point[trace], expected, rtol=1e-9)


@pytest.mark.parametrize("model", ["dgn", "lif"])
def test_the_prediction_is_the_discrete_closed_form(model):
    """DGN (forward Euler, gated leak): sigma^2 2h/(1 - (1 - h(1+g0))^2); LIF (exponential Euler):
    sigma^2 (2/h) tanh(h/2); h = dt/tau_mem. Derived by hand, not from the model file."""
    net = _net(model)
    point = nt.operating_point(net, _spikes(), (20, 60))
    sigma = 3 * mV
    predicted = nt.predicted_variance(net, point, sigma)
    h = 1.0 / net.hidden.neuron_params()["tau_mem"].detach().double().numpy()
    if model == "dgn":
        closed = 9 * 2 * h / (1 - (1 - h * (1 + point["g"])) ** 2)
    else:
        closed = 9 * (2 / h) * np.tanh(h / 2) * np.ones(6)
    np.testing.assert_allclose(predicted, closed, rtol=1e-6)


def test_bad_input_is_refused():
    net = _net("dgn")
    with pytest.raises(TypeError, match="sigma: a bare number"):
        nt.predicted_variance(net, {"I": np.zeros(6), "g": np.zeros(6)}, 2.0)
    rec = Classifier("dgn", 12, 6, 3, recurrent=True)
    with pytest.raises(BridgeError, match="recurrent"):
        nt.operating_point(rec, _spikes(), (10, 60))


@pytest.mark.slow
@pytest.mark.parametrize("model", ["dgn", "lif"])
def test_the_measured_variance_agrees_with_the_step_resolved_prediction(model):
    """Brian2 (threshold lifted, 12 noise seeds) against the step-resolved recursion, which is exact
    for these linear membranes: inside the 99 % interval for nearly every neuron, and the median
    ratio within 5 %. The LIF's operating-point prediction is exact too (no gate)."""
    net = Classifier(model, 12, 20, 3, seed=2)
    with torch.no_grad():
        if model == "dgn":
            net.hidden.W_c.abs_().mul_(3.0)  # a gate that matters
    result = nt.noise_theory(
        net, _spikes(samples=8, steps=80, p=0.3), 2 * mV, seeds=12, burn_in=30 * ms, device="numpy"
    )
    assert result.resolved_fraction_inside >= 0.85
    assert abs(np.median(result.measured / result.resolved) - 1) < 0.05
    if model == "lif":
        assert result.fraction_inside >= 0.85
    else:
        assert np.mean(result.reduction) < 0.9  # the gate is predicted to remove noise
