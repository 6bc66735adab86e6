"""Norse (``norse.torch.from_nir``) as a second, independent NIR consumer: the same graphs,
written by snnTorch and by dgnsim's ``export_nir``, give the same spikes in Brian2 and in Norse.

Norse 1.1.0 integrates NIR's ODEs by forward Euler at its ``dt`` (``i += dt/tau_syn (v_leak - i
+ w_in x)``, ``v += dt/tau_mem (v_leak - v + r i)``, spike if ``v > v_th``, reset to 0), which
is our ``discretisation="snntorch"`` at the graph's step: the two agree up to rounding (Norse
keeps its parameters in float32: ~1e-7 relative). Where Norse reads NIR differently (see
:func:`snntorch_reference.norse_spikes`: the synaptic current relaxes to ``v_leak``, reset to 0,
start at ``v_leak``, LIF's ``r`` taken as 1, CubaLI dropped) the graphs are chosen so that it does
not matter: ``v_leak = v_reset = 0``, LIF with ``r = 1``, and the CubaLI readout of our export
is not compared. Measured: 0 differing spike decisions in 56,000 (10 seeds of the snnTorch
graph with biases, 14,427 spikes). Our ``"exact"`` discretisation (exact decay) is not Norse's:
on the exported graph below it gives other spikes (compared, so the check can tell them apart).
"""

import itertools

import numpy as np
import pytest
import torch
from brian2 import ms
from snntorch_reference import export, norse_spikes, snntorch_net

from dgnsim.interop import nir as bridge_nir


def _ours(graph, x, discretisation="snntorch", dt=1 * ms):
    layers = bridge_nir.import_nir(graph, dt=dt, discretisation=discretisation)
    run = bridge_nir.run_nir(layers, x, dt=dt)
    return dict(zip([layer.name for layer in layers if layer.spiking], run.spikes))


def test_snntorch_graph_with_biases_same_spikes_as_norse():
    """snnTorch's Linear(bias) + Synaptic export (CubaLIF, Affine; dt = 1e-4 s, v_leak = 0)."""
    graph = export(snntorch_net("Synaptic", seed=3, bias=True), 6)
    x = (np.random.default_rng(3).random((3, 80, 6)) < 0.3).astype(np.uint8)
    ref = norse_spikes(graph, x, dt=1e-4)
    ours = _ours(graph, x)
    assert list(ours) == list(ref) == ["1", "3"]
    for name in ref:
        assert ref[name].sum() > 50, f"layer {name}: the comparison needs spikes"
        np.testing.assert_array_equal(ours[name], ref[name], err_msg=f"layer {name}")


def test_dgnsim_export_same_hidden_spikes_as_norse():
    """Our export of a lif Classifier (v_rest = v_reset = I_ext = 0, so v_leak = 0 in the graph)
    in Norse at the graph's dt (1 ms): the CubaLIF layer's spikes equal our Euler import's."""
    from dgnsim.surrogate import Classifier

    net = Classifier("lif", 8, 12, 3, seed=1, bias=0.0, weight_scale=1.5).double()
    with torch.no_grad():
        net.hidden.p_v_rest.fill_(0.0)
        net.hidden.p_v_reset.fill_(0.0)
        net.hidden.p_v_th.fill_(10.0)
        net.readout.p_v_rest.fill_(0.0)
        for layer in (net.hidden, net.readout):  # float32 values: Norse reads weights as float32
            w = layer.weights("W")["w"]
            w.copy_(w.float())
    graph = bridge_nir.export_nir(net)
    assert float(np.max(np.abs(graph.nodes["lif0"].v_leak))) == 0.0
    x = (np.random.default_rng(1).random((3, 100, 8)) < 0.4).astype(np.uint8)
    ref = norse_spikes(graph, x, dt=float(graph.metadata["dt"]))
    assert list(ref) == ["lif0"] and ref["lif0"].sum() > 50, "the comparison needs spikes"
    ours = _ours(graph, x)
    np.testing.assert_array_equal(ours["lif0"], ref["lif0"])
    # the exact-decay scheme of the export is another discretisation: other spikes
    assert (_ours(graph, x, "exact")["lif0"] != ref["lif0"]).sum() > 10


@pytest.mark.parametrize("bias", [False, True])
def test_lif_graph_same_spikes_as_norse(bias):
    """A NIR LIF chain with r = 1 (Norse's reading of LIF), with and without Affine biases."""
    import nir

    rng = np.random.default_rng(4)
    h = 1e-3
    w1, w2 = rng.normal(3.0, 2.0, (7, 5)).astype(np.float32), np.abs(rng.normal(3.0, 1.0, (4, 7))).astype(np.float32)
    b1 = (rng.normal(0.3, 0.3, 7) * bias).astype(np.float32)
    b2 = (rng.normal(0.0, 0.3, 4) * bias).astype(np.float32)

    def lif(n):
        return nir.LIF(
            tau=rng.uniform(5 * h, 15 * h, n),
            r=np.ones(n),
            v_leak=np.zeros(n),
            v_threshold=rng.uniform(0.8, 1.2, n),
            v_reset=np.zeros(n),
        )

    weight = (lambda w, b: nir.Affine(weight=w, bias=b)) if bias else (lambda w, b: nir.Linear(weight=w))
    nodes = {
        "input": nir.Input(input_type={"input": np.array([5])}),
        "w1": weight(w1, b1),
        "lif1": lif(7),
        "w2": weight(w2, b2),
        "lif2": lif(4),
        "output": nir.Output(output_type={"output": np.array([4])}),
    }
    names = list(nodes)
    graph = nir.NIRGraph(nodes=nodes, edges=list(itertools.pairwise(names)), metadata={"dt": h})
    x = (rng.random((3, 80, 5)) < 0.3).astype(np.uint8)
    ref = norse_spikes(graph, x, dt=h)
    ours = _ours(graph, x)
    assert list(ours) == list(ref) == ["lif1", "lif2"]
    for name in ref:
        assert ref[name].sum() > 30, f"layer {name}: the comparison needs spikes"
        np.testing.assert_array_equal(ours[name], ref[name], err_msg=f"layer {name}")
