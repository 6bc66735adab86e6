"""Affine biases through NIR: snnTorch nn.Linear (bias=True) + Synaptic / Leaky, spike for spike
against snnTorch's own ``import_from_nir`` of the same graph; what is still refused."""

import copy

import numpy as np
import pytest
from brian2 import ms
from snntorch_reference import export, float64, snntorch_import_spikes, snntorch_net

from dgnsim.interop import nir as bridge_nir

N_IN = 6


def _input(seed, batch=3, steps=80):
    return (np.random.default_rng(seed).random((batch, steps, N_IN)) < 0.3).astype(np.uint8)


def _ours(graph, x, **kw):
    """``{node name: spikes}`` of the graph imported and run in Brian2."""
    layers = bridge_nir.import_nir(graph, dt=1 * ms)
    run = bridge_nir.run_nir(layers, x, **kw)
    return dict(zip([layer.name for layer in layers if layer.spiking], run.spikes))


def _assert_same(ours, ref, min_spikes=20):
    assert list(ours) == list(ref), "the same spiking layers, in order"
    for name, spikes in ref.items():
        assert spikes.sum() >= min_spikes, f"layer {name}: the comparison needs spikes"
        np.testing.assert_array_equal(ours[name], spikes, err_msg=f"layer {name}")


@pytest.fixture(scope="module")
def synaptic_bias():
    """snnTorch Linear(bias) + Synaptic, exported by snnTorch; its import run by snnTorch."""
    graph = export(snntorch_net("Synaptic", seed=0, bias=True), N_IN)
    x = _input(0)
    return graph, x, snntorch_import_spikes(graph, x)


def test_synaptic_with_bias_identical_to_snntorch_import(synaptic_bias):
    """snnTorch: syn = alpha syn + W x + b, mem = beta mem + syn. The bias enters as I_ext = S
    with the current starting at -S (module docstring): same spikes in every step."""
    graph, x, ref = synaptic_bias
    kinds = [type(n).__name__ for n in graph.nodes.values()]
    assert kinds.count("Affine") == 2 and kinds.count("CubaLIF") == 2
    assert all(np.any(n.bias != 0) for n in graph.nodes.values() if type(n).__name__ == "Affine")
    _assert_same(_ours(graph, x), ref)
    # the bias matters: without it the spikes differ
    unbiased = copy.deepcopy(graph)
    for node in unbiased.nodes.values():
        if hasattr(node, "bias"):
            node.bias = np.zeros_like(node.bias)
    zero = _ours(unbiased, x)
    assert all((zero[k] != ref[k]).sum() > 50 for k in ref)


@pytest.mark.standalone
def test_synaptic_with_bias_identical_to_snntorch_import_cpp_standalone(synaptic_bias):
    graph, x, ref = synaptic_bias
    _assert_same(_ours(graph, x, device="cpp_standalone"), ref)


@pytest.mark.parametrize("neuron, bias", [("Synaptic", False), ("Leaky", True), ("Leaky", False)])
def test_snntorch_import_identical(neuron, bias):
    """Synaptic without bias; Leaky (NIR LIF) with and without: the bias is a constant I_ext."""
    graph = export(snntorch_net(neuron, seed=1, bias=bias), N_IN)
    assert any(type(n).__name__ == "Affine" for n in graph.nodes.values()) == bias
    x = _input(1)
    _assert_same(_ours(graph, x), snntorch_import_spikes(graph, x))


def test_bias_without_counterpart_is_refused():
    """An IF node has no leak: a constant input would ramp its membrane without bound, which a
    lif_delta group (whose IF does not move under I_ext) cannot carry. Refused, naming the node."""
    import nir

    eye = np.eye(3)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([3])}),
        "w": nir.Affine(weight=eye, bias=np.array([0.0, 0.1, 0.0])),
        "if": nir.IF(r=np.ones(3), v_threshold=np.ones(3)),
        "output": nir.Output(output_type={"output": np.array([3])}),
    }
    graph = nir.NIRGraph(nodes=nodes, edges=[("input", "w"), ("w", "if"), ("if", "output")])
    with pytest.raises(ValueError, match=r"NIR node 'if': a nonzero Affine bias before an IF node \(no leak"):
        bridge_nir.import_nir(graph)
    graph.nodes["w"].bias = np.array([0.0, np.nan, 0.0])
    with pytest.raises(ValueError, match="NIR node 'w': bias contains NaN"):
        bridge_nir.import_nir(graph)


def test_dt_must_be_a_time():
    graph = export(snntorch_net("Leaky", seed=2, bias=False), N_IN)
    with pytest.raises(TypeError, match="dt: a bare number"):
        bridge_nir.import_nir(graph, dt=0.001)


def test_fast_snntorch_decay_is_refused_at_import():
    """alpha = 0.5 is a time constant of 1.44 steps at any dt, under the 2 steps dgnsim's models
    take: refused at import, in snnTorch's terms (not later as a time step 'too coarse')."""
    import snntorch as snn
    import torch

    net = torch.nn.Sequential(
        torch.nn.Linear(N_IN, 3),
        snn.Synaptic(
            alpha=torch.full((3,), 0.5), beta=torch.full((3,), 0.9), threshold=torch.ones(3), init_hidden=True
        ),
    )
    with pytest.raises(ValueError, match=r"NIR node '1': alpha = 0.5 per step is below exp\(-1/2\)"):
        bridge_nir.import_nir(export(float64(net), N_IN))
