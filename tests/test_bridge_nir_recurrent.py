"""Recurrent networks through NIR: lif Classifier with R out and back in; snnTorch RLeaky; refused cycles."""

import numpy as np
import pytest
import torch
from brian2 import ms
from snntorch_reference import snntorch_spikes

from dgnsim.interop import bridge
from dgnsim.interop import nir as bridge_nir
from dgnsim.surrogate import Classifier


def _recurrent_lif(seed=4):
    """A float64 recurrent lif Classifier with random weights (strong recurrence) and a short input."""
    net = Classifier("lif", 10, 14, 4, recurrent=True, seed=seed, bias=14.0).double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        r = net.hidden.R_w
        r.copy_(torch.randn(r.shape, generator=gen, dtype=torch.float64) * 3.0)
        for name, p in net.hidden.spec.parameters.items():  # a different value per neuron
            if p.learnable and p.scope == "neuron":
                raw = getattr(net.hidden, f"p_{name}")
                raw.add_(torch.rand(raw.shape, generator=gen, dtype=torch.float64) * 1e-2)
    x = (torch.rand(3, 50, 10, generator=gen) < 0.3).numpy().astype(np.uint8)
    return net, x


def test_recurrent_lif_export_import_same_spikes_as_surrogate(tmp_path):
    import nir

    net, x = _recurrent_lif()
    path = tmp_path / "rec.nir"
    graph = bridge_nir.export_nir(net, path)
    assert ("lif0", "w_rec0") in graph.edges and ("w_rec0", "lif0") in graph.edges
    # NIR's Linear is (out, in): the transpose of the surrogate's z_{t-1} @ R
    np.testing.assert_array_equal(graph.nodes["w_rec0"].weight, net.hidden.R_w.detach().numpy().T)
    layers = bridge_nir.import_nir(nir.read(str(path)), dt=1 * ms, discretisation="exact")
    assert layers[0].recurrent_mv is not None and layers[1].recurrent_mv is None
    run = bridge_nir.run_nir(layers, x)
    ref = bridge.run_torch(net, x)
    assert ref.spikes.sum() > 50, "the comparison needs spikes"
    np.testing.assert_array_equal(run.spikes[0], ref.spikes)
    v_rest = float(net.readout.neuron_params()["v_rest"])
    np.testing.assert_allclose((run.v_last - v_rest).mean(axis=1), ref.logits, atol=1e-9)
    # the recurrence matters: without it the spikes differ
    plain = [bridge_nir.NirLayer(layers[0].weights_mv, layers[0].params, True, "lif"), layers[1]]
    assert not np.array_equal(bridge_nir.run_nir(plain, x).spikes[0], ref.spikes)


def test_snntorch_rleaky_via_nir_identical_spikes():
    """snnTorch RLeaky (zero reset right after the spike) exported by snnTorch, imported: same spikes.

    snnTorch: mem_t = beta mem_{t-1} + W x_t + V s_{t-1} + b_V, s_t = mem_t > thr, mem_t = 0 where s_t.
    Import ("snntorch"): beta = 1 - dt/tau (NIR's Euler step at dt = 1e-4 s), our lif_delta decays
    by exp(-dt'/tau_mem') = beta per step; both weights W and V are scaled by the same per-neuron
    factor, the recurrent Affine bias b_V becomes a constant input (I_ext).
    """
    import snntorch as snn
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(1)
    dtype = torch.float64
    kw = dict(
        reset_mechanism="zero", reset_delay=False, init_hidden=True, graded_spikes_factor=torch.ones(1, dtype=dtype)
    )
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 9, bias=False),
        snn.RLeaky(
            beta=torch.linspace(0.8, 0.95, 9),
            threshold=torch.ones(9),
            linear_features=9,
            **{k: v for k, v in kw.items() if k != "graded_spikes_factor"},
        ),
        torch.nn.Linear(9, 3, bias=False),
        snn.Leaky(beta=torch.full((3,), 0.85), threshold=torch.ones(3), **kw),
    ).to(dtype)
    net[1].graded_spikes_factor = torch.ones(1, dtype=dtype)  # RLeaky's __init__ does not take it
    with torch.no_grad():
        net[0].weight.mul_(2.0)
        net[1].recurrent.weight.mul_(2.0)
        net[2].weight.abs_().mul_(3.0)
    x = (torch.rand(60, 3, 6) < 0.3).to(dtype)
    graph = export_to_nir(net, x[0, 0])
    assert {type(n).__name__ for n in graph.nodes.values()} >= {"LIF", "Affine"}
    assert ("1.lif", "1.w_rec") in graph.edges and ("1.w_rec", "1.lif") in graph.edges
    ref = snntorch_spikes(net, x)
    layers = bridge_nir.import_nir(graph, dt=1 * ms)
    assert layers[0].recurrent_mv is not None
    run = bridge_nir.run_nir(layers, x.transpose(0, 1).numpy().astype(np.uint8))
    assert ref[0].sum() > 50 and ref[1].sum() > 10, "the comparison needs spikes in both layers"
    for r, b in zip(ref, run.spikes):
        np.testing.assert_array_equal(b, r)


def _graph(edges, **extra):
    import nir

    eye = np.eye(3)
    lif = dict(tau=np.full(3, 1e-2), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.ones(3))
    nodes = {
        "input": nir.Input(input_type={"input": np.array([3])}),
        "w0": nir.Linear(weight=eye),
        "lif0": nir.LIF(**lif),
        "w1": nir.Linear(weight=eye),
        "lif1": nir.LIF(**lif),
        "output": nir.Output(output_type={"output": np.array([3])}),
        **extra,
    }
    used = {k for e in edges for k in e}
    return nir.NIRGraph(nodes={k: v for k, v in nodes.items() if k in used}, edges=edges)


def test_unsupported_cycles_are_refused():
    import nir

    chain = [("input", "w0"), ("w0", "lif0"), ("lif0", "w1"), ("w1", "lif1"), ("lif1", "output")]
    # a supported loop imports; the same weight node also feeding the next layer does not form a loop
    ok = bridge_nir.import_nir(
        _graph(chain + [("lif1", "wr"), ("wr", "lif1")], wr=nir.Linear(weight=np.eye(3))), discretisation="exact"
    )
    assert ok[0].recurrent_mv is None and ok[1].recurrent_mv is not None
    # a cycle through two layers
    with pytest.raises(ValueError, match="cycle .* is not supported"):
        bridge_nir.import_nir(_graph(chain + [("lif1", "wb"), ("wb", "lif0")], wb=nir.Linear(weight=np.eye(3))))
    # a neuron feeding itself without a weight node
    with pytest.raises(ValueError, match="cycle .* is not supported"):
        bridge_nir.import_nir(_graph(chain + [("lif0", "lif0")]))
    # recurrence around a non-spiking node
    li = nir.LI(tau=np.full(3, 1e-2), r=np.ones(3), v_leak=np.zeros(3))
    g = _graph(
        [("input", "w0"), ("w0", "li"), ("li", "output"), ("li", "wr"), ("wr", "li")],
        li=li,
        wr=nir.Linear(weight=np.eye(3)),
    )
    with pytest.raises(ValueError, match="only a spiking node"):
        bridge_nir.import_nir(g)
    # non-finite recurrent weights (a wrong shape is already refused by nir.NIRGraph's type check)
    g = _graph(chain + [("lif0", "wr"), ("wr", "lif0")], wr=nir.Linear(weight=np.full((3, 3), np.nan)))
    with pytest.raises(ValueError, match=r"must be a finite \(3, 3\)"):
        bridge_nir.import_nir(g)


def _cuba_reference(x, p, discretisation, dt):
    """NIR's CubaLIF with Affine input and recurrent weights, in numpy (float64), step ``dt`` (s).

    u_t = W x_t + b + V s_{t-1} + b_V (NIR: both biases are constant inputs of the node);
    snntorch: I += dt/tau_syn (-I + w_in u), v += dt/tau_mem (v_leak - v + r I) (forward Euler);
    exact: I = (I + dt w_in u/tau_syn) exp(-dt/tau_syn), v relaxes exactly towards v_leak + r I.
    Spike if v > v_threshold, then v = v_reset; v starts at v_reset, I at 0.
    """
    n_b, n_t, _ = x.shape
    n = p["w"].shape[0]
    i_syn, v, s = np.zeros((n_b, n)), np.broadcast_to(p["v_reset"], (n_b, n)).copy(), np.zeros((n_b, n))
    out = []
    for t in range(n_t):
        u = x[:, t] @ p["w"].T + p["b"] + s @ p["v"].T + p["b_v"]
        if discretisation == "snntorch":
            i_syn = i_syn + dt / p["tau_syn"] * (-i_syn + p["w_in"] * u)
            v = v + dt / p["tau_mem"] * (p["v_leak"] - v + p["r"] * i_syn)
        else:
            i_syn = (i_syn + dt * p["w_in"] * u / p["tau_syn"]) * np.exp(-dt / p["tau_syn"])
            target = p["v_leak"] + p["r"] * i_syn
            v = target + (v - target) * np.exp(-dt / p["tau_mem"])
        s = (v > p["v_threshold"]).astype(float)
        v = np.where(s > 0, p["v_reset"], v)
        out.append(s > 0)
    return np.stack(out, axis=1)


@pytest.mark.parametrize("discretisation", ["snntorch", "exact"])
def test_recurrent_affine_bias_into_cubalif_matches_documented_updates(discretisation):
    """Feed-forward and recurrent Affine biases into a recurrent CubaLIF: the summed bias drives
    the synaptic current (I_ext = S, I starting at -S), as the numpy reference."""
    import nir

    rng = np.random.default_rng(7)
    n, dt = 5, 1e-3
    p = dict(
        w=rng.normal(3.0, 1.5, (n, 4)),
        b=rng.normal(0, 0.3, n),
        v=rng.normal(0, 0.8, (n, n)),
        b_v=rng.normal(0.1, 0.2, n),
        tau_syn=rng.uniform(3e-3, 6e-3, n),
        tau_mem=rng.uniform(8e-3, 15e-3, n),
        r=rng.uniform(0.8, 1.5, n),
        w_in=rng.uniform(0.8, 1.2, n),
        v_leak=rng.uniform(-0.2, 0.2, n),
        v_threshold=rng.uniform(0.6, 0.9, n),
        v_reset=np.zeros(n),
    )
    cuba = nir.CubaLIF(**{k: p[k] for k in ("tau_syn", "tau_mem", "r", "v_leak", "w_in", "v_threshold", "v_reset")})
    nodes = {
        "input": nir.Input(input_type={"input": np.array([4])}),
        "w": nir.Affine(weight=p["w"], bias=p["b"]),
        "cuba": cuba,
        "wr": nir.Affine(weight=p["v"], bias=p["b_v"]),
        "output": nir.Output(output_type={"output": np.array([n])}),
    }
    edges = [("input", "w"), ("w", "cuba"), ("cuba", "output"), ("cuba", "wr"), ("wr", "cuba")]
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": dt})
    x = (rng.random((3, 60, 4)) < 0.3).astype(np.uint8)
    run = bridge_nir.run_nir(
        bridge_nir.import_nir(graph, dt=dt * 1000 * ms, discretisation=discretisation), x, dt=dt * 1000 * ms
    )
    ref = _cuba_reference(x, p, discretisation, dt)
    assert 50 < ref.sum() < 0.6 * ref.size, "the comparison needs spikes and silence"
    np.testing.assert_array_equal(run.spikes[0], ref)
    # the recurrent bias matters
    assert not np.array_equal(_cuba_reference(x, {**p, "b_v": np.zeros(n)}, discretisation, dt), ref)
