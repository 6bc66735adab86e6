"""The gradient bridge: PyTorch-trained networks in Brian2 spike for spike; round trip; NIR; bad input."""

import json
import shutil

import numpy as np
import pytest
import torch
from brian2 import Hz, ms, mV
from snntorch_reference import snntorch_spikes
from test_surrogate import SURROGATE_MODELS

import dgnsim
from dgnsim.interop import bridge
from dgnsim.interop import nir as bridge_nir
from dgnsim.surrogate import Classifier


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Freshly trained small networks (dgn feed-forward, lif recurrent)."""
    from dgnsim.fsdd.train import train

    root = tmp_path_factory.mktemp("bridge")
    out = {}
    for model, rec in (("dgn", False), ("lif", True)):
        train(model, root / model, hidden=32, epochs=2, limit=600, recurrent=rec, progress=False)
        out[model] = root / model
    return out


@pytest.fixture(scope="module")
def fsdd():
    from dgnsim.fsdd.data import load_fsdd

    return load_fsdd()


def _random_classifier(model, recurrent, seed, delays=(0,), **options):
    net = Classifier(model, 12, 16, 5, recurrent=recurrent, seed=seed, bias=14.0, delays=delays, **options).double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # a different value per neuron for every per-neuron learnable parameter
        for name, p in net.hidden.spec.parameters.items():
            if p.learnable and p.scope == "neuron":
                raw = getattr(net.hidden, f"p_{name}")
                raw.add_(torch.rand(raw.shape, generator=gen, dtype=torch.float64) * 1e-2)
    net.project()  # conductances c >= 0, as after training
    x = (torch.rand(4, 60, 12, generator=gen) < 0.3).numpy().astype(np.uint8)
    return net, x


@pytest.mark.parametrize("model", SURROGATE_MODELS)
def test_every_model_spike_for_spike_runtime(model):
    net, x = _random_classifier(model, recurrent=True, seed=2)
    ref = bridge.run_torch(net, x)
    assert ref.spikes.sum() > 20, "the comparison needs spikes"
    # the recorded distance is the one the spikes were decided on: spike exactly where it is > 0
    inclusive = net.hidden.program.inclusive
    np.testing.assert_array_equal(ref.spikes, ref.distance >= 0 if inclusive else ref.distance > 0)
    other = bridge.run_brian2(net, x, "numpy")
    a = bridge.compare(ref, other)
    assert a.spike_identical == a.n, [s for s in a.samples if not s.identical]
    np.testing.assert_allclose(other.logits, ref.logits, rtol=0, atol=1e-9)


@pytest.mark.parametrize("model,device", [("dgn", "numpy"), ("lif", "numpy"), ("dgn", "cpp_standalone")])
def test_input_delays_are_brian2_synaptic_delays(model, device):
    """A layer with input delays equals Brian2 synapses with those per-synapse delays."""
    delays = (0, 3, 7)
    net, x = _random_classifier(model, recurrent=False, seed=5, delays=delays)
    assert net.hidden.W_w.shape == (3 * 12, 16)
    ref = bridge.run_torch(net, x)
    assert ref.spikes.sum() > 20, "the comparison needs spikes"
    # each delay block matters: the same weights without the delays give other spikes
    flat = Classifier(model, 3 * 12, 16, 5, seed=5, bias=14.0).double()
    flat.load_state_dict(net.state_dict())
    undelayed = bridge.run_torch(flat, np.concatenate([x] * 3, axis=2))
    assert not np.array_equal(undelayed.spikes, ref.spikes)
    other = bridge.run_brian2(net, x, device)
    a = bridge.compare(ref, other)
    assert a.spike_identical == a.n, [s for s in a.samples if not s.identical]
    np.testing.assert_allclose(other.logits, ref.logits, rtol=0, atol=1e-9)
    # ... and Brian2 gets them as per-synapse delays, one synapse per channel, neuron and delay
    i, _j, delay, _ = bridge._input_synapses(net, bridge.brian2_values(net)["W"], 1)
    assert len(i) == 3 * 12 * 16 and sorted(set(np.round(np.asarray(delay / ms), 9))) == [0.0, 3.0, 7.0]


def test_max_pooled_readout_is_bridged():
    """pool='max': Brian2's logits are the maximum of its recorded readout v - v_rest, as in PyTorch."""
    net, x = _random_classifier("lif", recurrent=True, seed=2, pool="max")
    ref = bridge.run_torch(net, x)
    other = bridge.run_brian2(net, x, "numpy")
    assert bridge.compare(ref, other).spike_identical == len(x)
    np.testing.assert_allclose(other.logits, ref.logits, rtol=0, atol=1e-9)
    mean = Classifier("lif", 12, 16, 5, recurrent=True).double()
    mean.load_state_dict(net.state_dict())
    mean_logits = bridge.run_torch(mean, x).logits
    assert np.all(ref.logits >= mean_logits) and np.any(ref.logits > mean_logits + 1.0)  # max >= mean, and not equal


def test_refractory_period_is_bridged_spike_for_spike():
    """tau_ref goes to Brian2 and is the surrogate's: identical spikes, which a zero period changes."""
    net, x = _random_classifier("lif", recurrent=True, seed=2)
    free = bridge.run_torch(net, x)
    with torch.no_grad():
        net.hidden.p_tau_ref.fill_(4.0)  # ms, four steps
    ref = bridge.run_torch(net, x)
    assert ref.spikes.sum() > 20 and not np.array_equal(ref.spikes, free.spikes)
    a = bridge.compare(ref, bridge.run_brian2(net, x, "numpy"))
    assert a.spike_identical == a.n, [s for s in a.samples if not s.identical]
    with pytest.raises(bridge.BridgeError, match="tau_ref"):
        bridge_nir.export_nir(net)


@pytest.mark.parametrize("model,recurrent,reset", [("dgn", True, "soft"), ("dgn", False, None), ("lif", True, None)])
def test_paper_order_bridges_spike_for_spike(model, recurrent, reset):
    """order='paper' (traces decay, then input; reset of the previous step's spikes after the membrane's
    step) in Brian2 by its schedule alone, spike for spike with PyTorch; Brian2's order would differ."""
    net, x = _random_classifier(model, recurrent=recurrent, seed=7, delays=(0, 2), order="paper", reset=reset)
    ref = bridge.run_torch(net, x)
    assert ref.spikes.sum() > 20, "the comparison needs spikes"
    brian_order = Classifier(model, 12, 16, 5, recurrent=recurrent, reset=reset, delays=(0, 2)).double()
    brian_order.load_state_dict(net.state_dict())
    assert not np.array_equal(bridge.run_torch(brian_order, x).spikes, ref.spikes)  # the orders differ here
    for layout in bridge.LAYOUTS:
        other = bridge.run_brian2(net, x, "numpy", layout=layout)
        a = bridge.compare(ref, other)
        assert a.spike_identical == a.n, (layout, [s for s in a.samples if not s.identical])
        np.testing.assert_allclose(other.logits, ref.logits, rtol=0, atol=1e-9)
        np.testing.assert_allclose(other.distance, ref.distance, rtol=0, atol=1e-9)


@pytest.mark.standalone
def test_paper_order_cpp_standalone():
    net, x = _random_classifier("dgn", recurrent=True, seed=8, order="paper", reset="soft")
    ref = bridge.run_torch(net, x)
    a = bridge.compare(ref, bridge.run_brian2(net, x, "cpp_standalone", record_state=False))
    assert ref.spikes.sum() > 20 and a.spike_identical == a.n, [s for s in a.samples if not s.identical]


@pytest.mark.parametrize("model", ["lif", "alif"])
def test_serial_layout_is_spike_for_spike(model):
    """The serial layout (one copy, the samples one after another, each after a step that sets the
    initial state): PyTorch's spikes, with recurrence and a refractory period that would reach into
    the next sample."""
    net, x = _random_classifier(model, recurrent=True, seed=14)
    with torch.no_grad():
        net.hidden.p_tau_ref.fill_(4.0)  # ms: longer than the one step between two samples
    ref = bridge.run_torch(net, x)
    assert ref.spikes.sum() > 20 and ref.spikes[:-1, -2:].any(), "spikes at a sample's end test the initialising step"
    other = bridge.run_brian2(net, x, "numpy", layout="serial")
    a = bridge.compare(ref, other)
    assert a.spike_identical == a.n, [s for s in a.samples if not s.identical]
    np.testing.assert_allclose(other.logits, ref.logits, rtol=0, atol=1e-9)
    lay = bridge.Layout.make("serial", len(x), x.shape[1], 3)  # with input delays up to 3 steps: a gap of 3
    assert lay.period == x.shape[1] + 1 + 3 and lay.total_steps == len(x) * lay.period


@pytest.mark.standalone
def test_trained_networks_cpp_standalone(trained, fsdd):
    """Freshly trained networks: cpp_standalone reproduces PyTorch on the first 100 test samples."""
    for model, path in trained.items():
        run = bridge.run_test_split(path, "cpp_standalone", limit=100)
        a = run.agreement
        assert a.spike_identical >= 99, model
        assert a.class_identical >= 99, model
        if a.max_distance_mv is not None:
            assert a.max_distance_mv < 1e-9
        assert run.torch.spikes.sum() > 100
        # the runtime target agrees with cpp_standalone
        rt = bridge.run_brian2(bridge.load_surrogate(path)[0], run.inputs[:10], "numpy")
        np.testing.assert_array_equal(rt.spikes, run.brian2.spikes[:10])
        np.testing.assert_allclose(rt.logits, run.brian2.logits[:10], rtol=0, atol=1e-9)


def test_state_dict_file_loads_like_checkpoint(trained, tmp_path):
    net, _ = bridge.load_surrogate(trained["dgn"])
    torch.save(net.float().state_dict(), tmp_path / "sd.pt")
    net2, manifest = bridge.load_surrogate(tmp_path / "sd.pt", model="dgn")
    assert manifest is None
    for k, v in net.double().state_dict().items():
        assert torch.equal(v, net2.state_dict()[k]), k
    with pytest.raises(ValueError, match="names no model"):
        bridge.load_surrogate(tmp_path / "sd.pt")


@pytest.mark.parametrize("model,recurrent", [("dgn", True), ("lif", False), ("multiscale", True)])
def test_round_trip_brian2_pytorch_brian2_is_exact(model, recurrent):
    rng = np.random.default_rng(4)
    spec = dgnsim.load_model(model)
    n_in, n_h, n_out = 7, 9, 3
    params = {}
    for name, p in spec.parameters.items():
        if name == "noise_sigma":
            continue
        base = np.asarray(p.default / p.unit)
        if p.scope == "neuron":
            params[name] = (base + (0.1 + np.abs(base)) * rng.uniform(0.01, 0.3, n_h)) * p.unit
        elif p.positive:
            params[name] = float(base) * 1.37 * p.unit
    src = dgnsim.poisson_input(n_in, 10 * Hz, 10 * ms, seed=0)
    hidden = dgnsim.make_group(
        spec, n_h, params, per_neuron=[n for n in params if spec.parameters[n].scope == "neuron"]
    )
    readout = dgnsim.make_group("lif", n_out, {"tau_mem": rng.uniform(5, 30, n_out) * ms, "v_th": 1e9 * mV})
    i, j = np.meshgrid(np.arange(n_in), np.arange(n_h), indexing="ij")
    weights = {"w": rng.normal(0, 3, i.size) * mV}
    if "c" in spec.synapse.parameters:
        weights["c"] = rng.uniform(0, 0.2, i.size)
    syn_in = dgnsim.connect(src, hidden, i=i.ravel(), j=j.ravel(), **weights)
    syn_out = dgnsim.connect(hidden, readout, p=0.7, seed=1)
    syn_out.w = rng.normal(0, 2, len(syn_out)) * mV
    rec = None
    if recurrent:
        rec = dgnsim.connect(hidden, hidden, p=0.5, seed=2)
        rec.w = rng.normal(0, 1, len(rec)) * mV
    net = bridge.to_surrogate(hidden, readout, syn_in, syn_out, rec, dt=1 * ms)
    h2, r2, out2, rec2, w_in = bridge.from_surrogate_groups(net)
    for group, back in ((hidden, h2), (readout, r2)):
        for name in dgnsim.model_of(group).parameters:
            if name == "noise_sigma":
                continue
            a, b = np.asarray(getattr(group, name)[:]), np.asarray(getattr(back, name)[:])
            assert np.array_equal(np.broadcast_to(a, b.shape), b), f"{group.name}.{name}"
    dense = bridge._dense(syn_out, n_h, n_out, "w")
    assert np.array_equal(np.asarray(dense), np.asarray(bridge._dense(out2, n_h, n_out, "w")))
    for pname, q in w_in.items():
        assert np.array_equal(np.asarray(q), np.asarray(bridge._dense(syn_in, n_in, n_h, pname))), pname
    if recurrent:
        assert np.array_equal(
            np.asarray(bridge._dense(rec, n_h, n_h, "w")), np.asarray(bridge._dense(rec2, n_h, n_h, "w"))
        )
    # a changed tensor is converted, not replaced by the memo
    with torch.no_grad():
        net.hidden.W_w[0, 0] += 1.0
    assert float(bridge.brian2_values(net)["W"]["w"][0, 0] / mV) == pytest.approx(float(w_in["w"][0, 0] / mV) + 1.0)


# ----------------------------------------------------------------------------- bad input


def _copy(src, dst):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("checkpoint.pt"))
    return dst


def test_bad_files_are_refused_and_nothing_written(trained, tmp_path):
    from dgnsim.cli import main

    bad = _copy(trained["dgn"], tmp_path / "trunc")
    data = (bad / "model.safetensors").read_bytes()
    (bad / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated|differs from the one recorded"):
        bridge.load_surrogate(bad)  # the manifest's sha256 of model.safetensors refuses it first
    assert main(["import", str(bad), "--device", "numpy", "--out", str(tmp_path / "o1"), "--limit", "2"]) == 2
    assert not (tmp_path / "o1").exists()

    bad = _copy(trained["dgn"], tmp_path / "hash")
    man = json.loads((bad / "manifest.json").read_text())
    man["equations_sha256"] = "0" * 64
    (bad / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(ValueError, match="different equations"):
        bridge.load_surrogate(bad)

    net, _ = bridge.load_surrogate(trained["dgn"])
    sd = net.state_dict()
    sd["hidden.W_w"][0, 0] = float("nan")
    torch.save(sd, tmp_path / "nan.pt")
    with pytest.raises(ValueError, match="NaN or Inf"):
        bridge.load_surrogate(tmp_path / "nan.pt", model="dgn")
    sd = net.state_dict()
    sd["readout.W_w"] = torch.zeros(3, 3, dtype=torch.float64)
    torch.save(sd, tmp_path / "shape.pt")
    with pytest.raises(ValueError, match="shape"):
        bridge.load_surrogate(tmp_path / "shape.pt", model="dgn")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable PyTorch file"):
        bridge.load_surrogate(tmp_path / "junk.pt", model="dgn")
    with pytest.raises(ValueError, match="input must be"):
        bridge.run_torch(net, np.zeros((2, 10, 3)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        bridge.run_torch(net, np.full((2, 10, net.hidden.n_in), np.nan))


# ----------------------------------------------------------------------------- NIR


def test_snntorch_network_via_nir_gives_same_spikes():
    import snntorch as snn  # dev dependency: must be installed
    from snntorch import utils as snn_utils
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    kw = dict(reset_mechanism="zero", reset_delay=False, init_hidden=True)
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 10, bias=False),
        snn.Synaptic(alpha=torch.full((10,), 0.8), beta=torch.linspace(0.85, 0.95, 10), threshold=torch.ones(10), **kw),
        torch.nn.Linear(10, 4, bias=False),
        snn.Synaptic(alpha=torch.full((4,), 0.7), beta=torch.full((4,), 0.85), threshold=torch.ones(4), **kw),
    )
    x = (torch.rand(80, 3, 6) < 0.3).float()
    # a few steps of training in snnTorch (spike count towards a target)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(3):
        snn_utils.reset(net)
        out = torch.stack([net(x[t]) for t in range(x.shape[0])])
        loss = (out.sum(0) - 5.0).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    graph = export_to_nir(net, x[0, 0])
    ref = snntorch_spikes(net, x)
    layers = bridge_nir.import_nir(graph, dt=1 * ms)
    run = bridge_nir.run_nir(layers, x.transpose(0, 1).numpy().astype(np.uint8))
    assert ref[0].sum() > 50 and ref[1].sum() > 20
    for r, b in zip(ref, run.spikes):
        assert (r != b).sum() <= 0.001 * r.size  # float32 snnTorch vs float64 Brian2: rounding only


def test_nir_export_import_round_trip_reproduces_lif_network(tmp_path):
    import nir

    net, x = _random_classifier("lif", recurrent=False, seed=3)
    path = tmp_path / "net.nir"
    bridge_nir.export_nir(net, path)
    layers = bridge_nir.import_nir(nir.read(str(path)), dt=1 * ms, discretisation="exact")
    run = bridge_nir.run_nir(layers, x)
    ref = bridge.run_torch(net, x)
    np.testing.assert_array_equal(run.spikes[0], ref.spikes)
    v_rest = float(net.readout.neuron_params()["v_rest"])
    np.testing.assert_allclose((run.v_last - v_rest).mean(axis=1), ref.logits, atol=1e-9)
    dgn, _ = _random_classifier("dgn", recurrent=False, seed=3)
    with pytest.raises(ValueError, match="NIR has no node"):
        bridge_nir.export_nir(dgn)


def test_unknown_nir_node_is_refused():
    import nir

    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([3])}),
            "conv": nir.Scale(scale=np.ones(3)),
            "output": nir.Output(output_type={"output": np.array([3])}),
        },
        edges=[("input", "conv"), ("conv", "output")],
    )
    with pytest.raises(ValueError, match="unsupported node type Scale"):
        bridge_nir.import_nir(graph)


def test_cli_import_writes_report_and_rasters(trained, tmp_path, capsys):
    from dgnsim.cli import main

    out = tmp_path / "out"
    assert main(["import", str(trained["lif"]), "--device", "numpy", "--out", str(out), "--limit", "6", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["samples"] == 6 and summary["spike_identical"] == 6
    report = json.loads((out / "report.json").read_text())
    assert len(report["agreement"]["samples"]) == 6
    assert (out / "rasters.pdf").stat().st_size > 0 and (out / "rasters.png").stat().st_size > 0


def test_brian2_input_delays_round_trip_to_layer_delays():
    """Input synapses with per-synapse delays -> a layer with those input delays -> the same synapses."""
    rng = np.random.default_rng(7)
    n_in, n_h, n_out = 5, 6, 3
    src = dgnsim.poisson_input(n_in, 10 * Hz, 10 * ms, seed=0)
    hidden = dgnsim.make_group("dgn", n_h, {})
    readout = dgnsim.make_group("lif", n_out, {"v_th": 1e9 * mV})
    i, j = np.meshgrid(np.arange(n_in), np.arange(n_h), indexing="ij")
    i, j = np.tile(i.ravel(), 2), np.tile(j.ravel(), 2)  # every pair twice, with two different delays
    delay = np.concatenate([rng.choice([0.0, 2.0], n_in * n_h), rng.choice([5.0, 9.0], n_in * n_h)])
    w, c = rng.normal(0, 3, i.size), rng.uniform(0, 0.2, i.size)
    syn_in = dgnsim.connect(src, hidden, i=i, j=j, delay=delay * ms, w=w * mV, c=c)
    syn_out = dgnsim.connect(hidden, readout, p=1.0, seed=1)
    net = bridge.to_surrogate(hidden, readout, syn_in, syn_out, dt=1 * ms)
    assert net.hidden.delays == (0.0, 2.0, 5.0, 9.0)
    k = np.searchsorted([0.0, 2.0, 5.0, 9.0], delay)
    expected = np.zeros((4 * n_in, n_h))
    expected[k * n_in + i, j] = w
    np.testing.assert_allclose(net.hidden.W_w.detach().numpy(), expected, rtol=1e-14, atol=0)  # V -> mV rounding
    # back to Brian2: the synapses with a non-zero weight are the original ones
    bi, bj, bdelay, bw = bridge._input_synapses(net, bridge.brian2_values(net)["W"], 1)
    back = {
        (a, b, round(float(d), 9)): float(x)
        for a, b, d, x in zip(bi, bj, np.asarray(bdelay / ms), np.asarray(bw["w"] / mV))
        if x != 0
    }
    original = {(a, b, d): x for a, b, d, x in zip(i, j, delay, w)}
    assert back.keys() == original.keys()
    np.testing.assert_allclose([back[key] for key in original], list(original.values()), rtol=1e-14)
    with pytest.raises(bridge.BridgeError, match="input delays"):
        bridge.from_surrogate_groups(net)
    with pytest.raises(bridge.BridgeError, match="input delays"):
        bridge_nir.export_nir(Classifier("lif", 4, 3, 2, delays=(0, 2)))
    with pytest.raises(ValueError, match="whole multiples of dt"):
        bridge.to_surrogate(
            hidden, readout, dgnsim.connect(src, hidden, i=[0], j=[0], delay=0.5 * ms), syn_out, dt=1 * ms
        )
