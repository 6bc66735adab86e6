"""NIR LIF / IF / LI nodes -> lif_delta groups: snnTorch Leaky networks spike for spike; IF, LI graphs."""

import itertools

import numpy as np
import pytest
import torch
from brian2 import ms

from dgnsim.interop import nir as bridge_nir

T, B = 80, 3


def _snntorch_leaky_net(dtype, reset_delay, bias, seed=0):
    """Linear -> Leaky -> Linear -> Leaky (reset to zero), trained a few steps in snnTorch."""
    import snntorch as snn
    from snntorch import utils as snn_utils

    torch.manual_seed(seed)
    # graded_spikes_factor as a 1-d tensor of the network's dtype: snnTorch's spikes are float32
    # otherwise, which a float64 Linear refuses.
    kw = dict(
        reset_mechanism="zero",
        reset_delay=reset_delay,
        init_hidden=True,
        graded_spikes_factor=torch.ones(1, dtype=dtype),
    )
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 10, bias=bias),
        snn.Leaky(beta=torch.linspace(0.8, 0.95, 10), threshold=torch.ones(10), **kw),
        torch.nn.Linear(10, 4, bias=bias),
        snn.Leaky(beta=torch.full((4,), 0.85), threshold=torch.linspace(0.8, 1.2, 4), **kw),
    ).to(dtype)
    with torch.no_grad():
        net[0].weight.mul_(2.0)
        net[2].weight.abs_().mul_(3.0)
    x = (torch.rand(T, B, 6) < 0.4).to(dtype)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(3):  # a few training steps (spike count of the output towards 8)
        snn_utils.reset(net)
        out = torch.stack([net(x[t]) for t in range(T)])
        loss = (out.sum(0) - 8.0).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net, x


def _snntorch_forward(net, x):
    """Spikes (B, T, n) of both Leaky layers and the hidden layer's membrane before its reset."""
    from snntorch import utils as snn_utils

    snn_utils.reset(net)
    hidden, output, mem = [], [], []
    with torch.no_grad():
        for t in range(x.shape[0]):
            h = net[1](net[0](x[t]))
            # the membrane the threshold saw (reset_delay=True keeps it until the next step)
            mem.append(net[1].mem.clone())
            hidden.append(h)
            output.append(net[3](net[2](h)))
    spikes = [torch.stack(s).transpose(0, 1).numpy() > 0 for s in (hidden, output)]
    return spikes, torch.stack(mem).transpose(0, 1).double().numpy()


def _export(net, x):
    from snntorch.export_nir import export_to_nir

    return export_to_nir(net, x[0, 0])


@pytest.fixture(scope="module")
def leaky64():
    net, x = _snntorch_leaky_net(torch.float64, reset_delay=True, bias=False)
    graph = _export(net, x)
    spikes, _ = _snntorch_forward(net, x)
    return graph, x.transpose(0, 1).numpy().astype(np.uint8), spikes


def test_snntorch_export_writes_lif_nodes(leaky64):
    import nir

    graph = leaky64[0]
    kinds = sorted(type(n).__name__ for n in graph.nodes.values())
    assert kinds == ["Input", "LIF", "LIF", "Linear", "Linear", "Output"]
    layers = bridge_nir.import_nir(graph, dt=1 * ms)
    assert [layer.model for layer in layers] == ["lif_delta", "lif_delta"]
    # snnTorch's tau = dt/(1-beta) with dt = 1e-4 s: our decay per step is beta again
    lif = next(n for n in graph.nodes.values() if isinstance(n, nir.LIF))
    beta = 1 - 1e-4 / np.asarray(lif.tau)
    np.testing.assert_allclose(np.exp(-1e-3 / np.asarray(layers[0].params["tau_mem"])), beta, rtol=1e-12)
    np.testing.assert_allclose(beta, torch.linspace(0.8, 0.95, 10).double().numpy(), rtol=1e-12)


def test_snntorch_leaky_network_identical_spikes_runtime(leaky64):
    graph, x, ref = leaky64
    run = bridge_nir.run_nir(bridge_nir.import_nir(graph, dt=1 * ms), x)
    assert ref[0].sum() > 100 and ref[1].sum() > 20, "the comparison needs spikes in both layers"
    for layer, (r, b) in enumerate(zip(ref, run.spikes)):
        np.testing.assert_array_equal(b, r, err_msg=f"layer {layer}")


def test_snntorch_no_reset_delay_and_affine_bias_identical_spikes():
    """reset_delay=False gives the same spikes; an Affine bias is folded into I_ext exactly."""
    net, x = _snntorch_leaky_net(torch.float64, reset_delay=False, bias=True, seed=1)
    graph = _export(net, x)
    assert sum(type(n).__name__ == "Affine" for n in graph.nodes.values()) == 2
    ref, _ = _snntorch_forward(net, x)
    run = bridge_nir.run_nir(bridge_nir.import_nir(graph, dt=1 * ms), x.transpose(0, 1).numpy().astype(np.uint8))
    assert ref[0].sum() > 100 and ref[1].sum() > 20
    for r, b in zip(ref, run.spikes):
        np.testing.assert_array_equal(b, r)


def test_snntorch_float32_differs_only_at_rounding_distance():
    """A float32 snnTorch network (float32 tau/r in the NIR file): spikes may differ only where
    snnTorch's membrane lies within float32 rounding (1e-5 of a threshold of 1) of threshold."""
    net, x = _snntorch_leaky_net(torch.float32, reset_delay=True, bias=False, seed=2)
    ref, mem = _snntorch_forward(net, x)
    run = bridge_nir.run_nir(
        bridge_nir.import_nir(_export(net, x), dt=1 * ms), x.transpose(0, 1).numpy().astype(np.uint8)
    )
    assert ref[0].sum() > 100
    diff = ref[0] != run.spikes[0]
    first = [np.nonzero(diff[k].any(axis=1))[0] for k in range(B)]
    for k, steps in enumerate(first):
        if len(steps):  # at the first difference the membranes agreed up to rounding
            t = steps[0]
            assert np.max(np.abs(mem[k, t, diff[k, t]] - 1.0)) < 1e-5
    assert diff.sum() <= 0.01 * diff.size


@pytest.mark.standalone
def test_snntorch_leaky_network_identical_spikes_cpp_standalone(leaky64):
    graph, x, ref = leaky64
    run = bridge_nir.run_nir(bridge_nir.import_nir(graph, dt=1 * ms), x, device="cpp_standalone")
    for r, b in zip(ref, run.spikes):
        np.testing.assert_array_equal(b, r)


# ----------------------------------------------------------------------------- graphs built with nir


def _chain_graph(rng, h):
    """Input(5) -> Linear -> IF(8) -> Linear -> LIF(6) -> Affine -> LI(3) -> Output, and its parameters.

    ``h``: the step (s) of the discretisation; r is chosen so one input moves v by about w.
    """
    import nir

    w1 = rng.integers(0, 5, (8, 5)) / 4.0  # quarter-mV steps: IF sums are exact
    w2 = rng.normal(0.6, 0.5, (6, 8))
    w3 = rng.normal(0, 0.4, (3, 6))
    b3 = rng.normal(0, 0.02, 3)
    tau_lif, tau_li = rng.uniform(3, 8, 6) * h, rng.uniform(3, 10, 3) * h
    p = dict(
        if_=dict(r=np.full(8, 1.0 / h), v_threshold=rng.uniform(1.5, 3.0, 8), v_reset=np.zeros(8)),
        lif=dict(
            tau=tau_lif,
            r=tau_lif / h * rng.uniform(0.8, 1.5, 6),
            v_leak=rng.uniform(-0.2, 0.2, 6),
            v_threshold=rng.uniform(0.8, 1.2, 6),
            v_reset=rng.uniform(-0.3, 0.0, 6),
        ),
        li=dict(tau=tau_li, r=tau_li / h * rng.uniform(0.5, 2.0, 3), v_leak=rng.uniform(-0.5, 0.5, 3)),
    )
    nodes = {
        "input": nir.Input(input_type={"input": np.array([5])}),
        "w1": nir.Linear(weight=w1),
        "if": nir.IF(**p["if_"]),
        "w2": nir.Linear(weight=w2),
        "lif": nir.LIF(**p["lif"]),
        "w3": nir.Affine(weight=w3, bias=b3),
        "li": nir.LI(**p["li"]),
        "output": nir.Output(output_type={"output": np.array([3])}),
    }
    names = ["input", "w1", "if", "w2", "lif", "w3", "li", "output"]
    graph = nir.NIRGraph(nodes=nodes, edges=list(itertools.pairwise(names)))
    return graph, (w1, w2, w3, b3), p


def _reference(x, weights, p, discretisation, dt, nir_dt):
    """The documented discrete updates, written independently in numpy (float64).

    snntorch: v <- v + (h/tau)(v_leak - v + r I) with h = nir_dt (NIR's Euler step);
    exact: v jumps by r dt I/tau (IF: r dt I), then relaxes exactly to v_leak + r b over dt.
    Spikes pass through every layer within the step.
    """
    w1, w2, w3, b3 = weights
    n_b, n_t, _ = x.shape
    v_if = np.broadcast_to(p["if_"]["v_reset"], (n_b, 8)).copy()
    v_lif = np.broadcast_to(p["lif"]["v_reset"], (n_b, 6)).copy()
    v_li = np.broadcast_to(p["li"]["v_leak"], (n_b, 3)).copy()
    s_if, s_lif, v_out = [], [], []
    h = nir_dt if discretisation == "snntorch" else dt
    for t in range(n_t):
        v_if = v_if + h * p["if_"]["r"] * (x[:, t] @ w1.T)
        z1 = v_if > p["if_"]["v_threshold"]
        v_if = np.where(z1, p["if_"]["v_reset"], v_if)
        q = p["lif"]
        if discretisation == "snntorch":
            v_lif = v_lif + h / q["tau"] * (q["v_leak"] - v_lif + q["r"] * (z1 @ w2.T))
        else:
            v_lif = v_lif + h * q["r"] / q["tau"] * (z1 @ w2.T)
            v_lif = q["v_leak"] + (v_lif - q["v_leak"]) * np.exp(-dt / q["tau"])
        z2 = v_lif > q["v_threshold"]
        v_lif = np.where(z2, q["v_reset"], v_lif)
        q = p["li"]
        if discretisation == "snntorch":
            v_li = v_li + h / q["tau"] * (q["v_leak"] - v_li + q["r"] * (z2 @ w3.T + b3))
        else:
            target = q["v_leak"] + q["r"] * b3
            v_li = v_li + h * q["r"] / q["tau"] * (z2 @ w3.T)
            v_li = target + (v_li - target) * np.exp(-dt / q["tau"])
        s_if.append(z1), s_lif.append(z2), v_out.append(v_li)
    return [np.stack(s, axis=1) for s in (s_if, s_lif)], np.stack(v_out, axis=1)


@pytest.mark.parametrize("discretisation", ["snntorch", "exact"])
def test_if_lif_li_chain_matches_documented_updates(discretisation):
    rng = np.random.default_rng(5)
    dt = 1e-3
    nir_dt = 1e-2 if discretisation == "snntorch" else dt  # the graph's own step (metadata dt) for snntorch
    graph, weights, p = _chain_graph(rng, nir_dt)
    graph.metadata["dt"] = nir_dt
    x = (rng.random((B, 60, 5)) < 0.35).astype(np.uint8)
    x[:, 45:] = 0  # a quiet tail: the LI relaxes to v_leak + r b
    layers = bridge_nir.import_nir(graph, dt=dt * 1000 * ms, discretisation=discretisation)
    assert [(layer.model, layer.spiking) for layer in layers] == [("lif_delta", True)] * 2 + [("lif_delta", False)]
    run = bridge_nir.run_nir(layers, x, dt=dt * 1000 * ms)
    spikes, v = _reference(x, weights, p, discretisation, dt, nir_dt)
    assert spikes[0].sum() > 30 and spikes[1].sum() > 10, "the comparison needs spikes in both layers"
    np.testing.assert_array_equal(run.spikes[0], spikes[0])
    np.testing.assert_array_equal(run.spikes[1], spikes[1])
    np.testing.assert_allclose(run.v_last, v, rtol=0, atol=1e-9)


def test_if_node_does_not_leak():
    """An IF membrane holds its value bit for bit between inputs (exp(-dt/tau_mem) == 1.0 in float64)."""
    import nir

    nodes = {
        "input": nir.Input(input_type={"input": np.array([2])}),
        "w": nir.Linear(weight=np.array([[0.75, 0.5], [0.125, 0.0]])),
        "if": nir.IF(r=np.ones(2), v_threshold=np.array([1e6, 1e6])),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }
    graph = nir.NIRGraph(nodes=nodes, edges=[("input", "w"), ("w", "if"), ("if", "output")])
    (layer,) = bridge_nir.import_nir(graph, dt=1 * ms, discretisation="exact")
    assert float(np.exp(-1e-3 / np.asarray(layer.params["tau_mem"]))[0]) == 1.0
    x = np.zeros((1, 400, 2), dtype=np.uint8)
    x[0, 3, 0] = x[0, 7, 1] = x[0, 9, 0] = 1
    # the same layer read as a voltage (never spikes), to see its membrane
    run = bridge_nir.run_nir([bridge_nir.NirLayer(layer.weights_mv, layer.params, False, "lif_delta")], x)
    v = run.v_last[0]
    # dv/dt = r I: each input adds r dt w (dt = 1 ms)
    np.testing.assert_allclose(v[9], [1e-3 * 2.0, 1e-3 * 0.25], rtol=1e-15)
    assert np.all(v[9:] == v[9]), "the IF membrane leaked"
    assert np.all(v[:3] == 0) and np.all(v[3:7] == v[3])


# ----------------------------------------------------------------------------- refusals


def test_unknown_and_unsupported_nodes_are_refused():
    import nir

    def graph(*middle):
        names = ["input", *[f"n{k}" for k in range(len(middle))], "output"]
        nodes = {
            "input": nir.Input(input_type={"input": np.array([3])}),
            "output": nir.Output(output_type={"output": np.array([3])}),
            **{f"n{k}": m for k, m in enumerate(middle)},
        }
        return nir.NIRGraph(nodes=nodes, edges=list(itertools.pairwise(names)))

    eye = np.eye(3)
    with pytest.raises(ValueError, match="unsupported node type Threshold"):
        bridge_nir.import_nir(graph(nir.Linear(weight=eye), nir.Threshold(threshold=np.ones(3))))
    with pytest.raises(ValueError, match="non-spiking"):
        bridge_nir.import_nir(
            graph(
                nir.Linear(weight=eye),
                nir.LI(tau=np.ones(3), r=np.ones(3), v_leak=np.zeros(3)),
                nir.Linear(weight=eye),
                nir.IF(r=np.ones(3), v_threshold=np.ones(3)),
            )
        )
    with pytest.raises(ValueError, match="must follow a Linear"):
        bridge_nir.import_nir(graph(nir.IF(r=np.ones(3), v_threshold=np.ones(3))))
    lif = nir.LIF(tau=np.full(3, 5e-5), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.ones(3))
    with pytest.raises(ValueError, match="beta <= 0"):  # tau below snnTorch's dt = 1e-4 s
        bridge_nir.import_nir(graph(nir.Linear(weight=eye), lif))
    bad = nir.LIF(tau=np.array([1e-2, -1e-2, 1e-2]), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.ones(3))
    with pytest.raises(ValueError, match="positive"):
        bridge_nir.import_nir(graph(nir.Linear(weight=eye), bad), discretisation="exact")
