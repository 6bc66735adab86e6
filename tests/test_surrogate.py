"""The PyTorch surrogate: one layer step equals one Brian2 step; surrogate gradients; learning."""

import json

import numpy as np
import pytest
import torch
from brian2 import SpikeGeneratorGroup, SpikeMonitor, StateMonitor, ms, mV

import dgnsim
from dgnsim.core.units import mv_ms_value
from dgnsim.surrogate import SURROGATES, Classifier, SpikingLayer, initial_state, spike_fn, step
from dgnsim.surrogate.spikes import smooth_spike

T, N_IN, N = 80, 6, 5
#: Models the surrogate takes: all but those whose synapse jumps a refractory-clamped v.
SURROGATE_MODELS = ["alif", "dgn", "dgn_activity", "lif", "lif_delta", "lnm", "multiscale", "sdgn"]
DT = 1.0  # ms


def _random_layer(model, recurrent, seed, **options):
    torch.manual_seed(seed)
    layer = SpikingLayer(model, N_IN, N, recurrent=recurrent, dt=DT, **options).double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, w in layer.weights("W").items():
            w.copy_(torch.rand(w.shape, generator=gen, dtype=torch.float64) * (0.3 if name == "c" else 12.0))
        for name, w in layer.weights("R").items() if recurrent else []:
            u = torch.rand(w.shape, generator=gen, dtype=torch.float64)
            w.copy_(u * 0.05 if name == "c" else (u - 0.5) * 6.0)  # conductances are non-negative
        # every per-neuron learnable parameter gets a different value per neuron
        for name, p in layer.spec.parameters.items():
            raw = getattr(layer, f"p_{name}")
            if p.learnable and p.scope == "neuron":
                value = layer.neuron_params()[name]
                spread = 1 + 0.2 * torch.linspace(-1, 1, N, dtype=torch.float64)
                new = value * spread if name != "I_ext" else torch.linspace(0, 8, N, dtype=torch.float64)
                raw.copy_(torch.log(new) if name in layer.positive_parameters else new)
    x = (torch.rand(T, 1, N_IN, generator=gen, dtype=torch.float64) < 0.25).double()
    return layer, x


def _brian2_run(layer, x):
    """The same layer in Brian2 (runtime, float64): input synapses scheduled before the groups."""
    spec = layer.spec
    params = {}
    for name, p in spec.parameters.items():
        if name == "noise_sigma":
            continue  # giving it would switch the noise term on; the surrogate has none
        value = layer.neuron_params()[name].detach().numpy()
        unit_scale = float(mv_ms_value(p.unit))  # mV-ms numbers per unit
        params[name] = (value / unit_scale if value.size > 1 else float(value[0]) / unit_scale) * p.unit
    steps, inputs = np.nonzero(x[:, 0, :].numpy())
    with dgnsim.Simulation("numpy", dt=DT * ms) as sim:
        grp = sim.add(dgnsim.make_group(spec, N, params, reset=layer.reset_variant, name="layer"))
        gen = sim.add(SpikeGeneratorGroup(N_IN, inputs, steps * DT * ms, when="before_groups", order=0))
        i, j = np.meshgrid(np.arange(N_IN), np.arange(N), indexing="ij")
        weights = {
            n: w.detach().numpy().ravel() * spec.synapse.parameters[n].unit for n, w in layer.weights("W").items()
        }
        syn = sim.add(dgnsim.connect(gen, grp, i=i.ravel(), j=j.ravel(), **weights))
        syn.pre.when, syn.pre.order = "before_groups", 1
        if layer.recurrent:
            rec = {
                n: w.detach().numpy().ravel() * spec.synapse.parameters[n].unit for n, w in layer.weights("R").items()
            }
            recurrent = sim.add(
                dgnsim.connect(grp, grp, i=np.repeat(np.arange(N), N), j=np.tile(np.arange(N), N), **rec)
            )
            # previous step's spikes, at the start of this step (as the surrogate adds them)
            recurrent.pre.when, recurrent.pre.order = "before_groups", 2
        mon = sim.add(StateMonitor(grp, list(spec.update_order), record=True, when="end"))
        spikes = sim.add(SpikeMonitor(grp))
        sim.build(T * DT * ms)
        sim.run()
        traces = {v: np.array(mv_ms_value(getattr(mon, v)[:])).T for v in spec.update_order}
        return traces, np.array(spikes.i[:]), np.round(np.array(spikes.t[:] / ms) / DT).astype(int)


def test_surrogate_covers_every_trainable_model():
    from dgnsim.surrogate import compile_model

    takes = []
    for name in dgnsim.list_models():
        try:
            compile_model(name)
            takes.append(name)
        except ValueError as err:
            assert "clamped while refractory" in str(err)
    assert takes == SURROGATE_MODELS


@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("model", SURROGATE_MODELS)
def test_layer_step_matches_brian2_step(model, recurrent, reset=None):
    layer, x = _random_layer(model, recurrent, seed=3)
    if reset is not None:  # the same weights and parameters, another reset variant
        variant = SpikingLayer(model, N_IN, N, recurrent=recurrent, dt=DT, reset=reset).double()
        variant.load_state_dict(layer.state_dict())
        layer = variant
    _assert_layer_matches_brian2(layer, x)


def _assert_layer_matches_brian2(layer, x):
    """The layer's spikes and every state variable after each step equal Brian2's; returns the spikes."""
    with torch.no_grad():
        z, traces = layer.run(x, record=True)
    b_traces, b_i, b_t = _brian2_run(layer, x)
    t_idx, n_idx = np.nonzero(z[:, 0, :].numpy())
    assert len(t_idx) > 5, f"{layer.model_name}: the comparison needs spikes"
    order = np.lexsort((b_i, b_t))
    np.testing.assert_array_equal(np.stack([t_idx, n_idx]), np.stack([b_t[order], b_i[order]]))
    for var in layer.spec.update_order:
        np.testing.assert_allclose(
            traces[var][:, 0, :].numpy(), b_traces[var], rtol=0, atol=1e-9, err_msg=f"{layer.model_name}.{var}"
        )
    return z, traces


#: Models with a refractory period parameter (lif_delta has none on purpose, see its file).
REFRACTORY_MODELS = [m for m in SURROGATE_MODELS if "tau_ref" in dgnsim.load_model(m).parameters]


@pytest.mark.parametrize("model,tau_ref", [(m, 3.0) for m in REFRACTORY_MODELS] + [("lif", 2.5)])
def test_refractory_period_matches_brian2(model, tau_ref):
    """tau_ref in the layer is Brian2's refractoriness: spikes and traces step for step, no spike
    closer than timestep(tau_ref, dt) steps to the last one, and the clamped membrane held
    at its reset value in between."""
    layer, x = _random_layer(model, True, seed=3, params={"tau_ref": tau_ref * ms})
    free, _ = _random_layer(model, True, seed=3)
    z, traces = _assert_layer_matches_brian2(layer, x)
    with torch.no_grad():
        assert not torch.equal(z, free(x)), "the refractory period must change the spikes here"
    n_ref = int(tau_ref // DT)  # Brian2's timestep(): whole steps, rounded down
    v = traces[layer.program.membrane][:, 0, :]
    for k in range(N):
        times = np.nonzero(z[:, 0, k].numpy())[0]
        assert np.all(np.diff(times) >= n_ref), (k, times)
        for s in times:
            held = v[s : s + n_ref, k]
            assert torch.all(held == held[0]), (k, s, held)


def test_refractory_period_needs_brian_order():
    with pytest.raises(ValueError, match="tau_ref"):
        SpikingLayer("dgn", 2, 3, order="paper", params={"tau_ref": 3 * ms})
    SpikingLayer("dgn", 2, 3, order="paper", params={"tau_ref": 1 * ms})  # under two steps: no effect, allowed


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_membrane_exactly_at_threshold_spikes_for_inclusive_threshold(dtype):
    """'v >= v_th' (dgn_activity) with v_th = v_reset = v_rest and no input: the membrane stays
    exactly at rest, so exactly at threshold, and spikes in every step, in float32 (the training
    dtype) as in float64 and as in Brian2; a '>' model (lif) there never spikes."""
    x = torch.zeros(3, 2, 1, dtype=dtype)
    at_rest = {"v_th": -65 * mV, "v_reset": -65 * mV}
    at = SpikingLayer("dgn_activity", 1, 4, params=at_rest).to(dtype)
    p = at.step_parameters(dtype)
    z, state = step({"I": torch.zeros(2, 4, dtype=dtype)}, initial_state(p, 2, 4, dtype), p)
    assert torch.all(state.distance == 0) and torch.all(z == 1)
    assert torch.all(at(x) == 1)
    strict = SpikingLayer("lif", 1, 4, params=at_rest).to(dtype)
    assert not strict(x).any()
    with dgnsim.Simulation("numpy", dt=DT * ms) as sim:
        mon = sim.add(SpikeMonitor(sim.add(dgnsim.make_group("dgn_activity", 4, at_rest))))
        sim.build(3 * DT * ms)
        sim.run()
        assert len(mon.i[:]) == 3 * 4


@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("model", ["dgn", "sdgn"])
def test_soft_reset_layer_matches_brian2(model, recurrent):
    """Paper A's soft reset (the models' ``soft`` variant) in the layer and in Brian2."""
    test_layer_step_matches_brian2_step(model, recurrent, reset="soft")


@pytest.mark.parametrize("shape", sorted(SURROGATES))
def test_surrogate_gradient_is_derivative_of_its_smooth_relaxation(shape):
    x = torch.linspace(-6, 6, 241, dtype=torch.float64, requires_grad=True)
    width = 1.7
    spike_fn(x, shape, width).sum().backward()
    h = 1e-6
    with torch.no_grad():
        fd = (smooth_spike(x + h, shape, width) - smooth_spike(x - h, shape, width)) / (2 * h)
    np.testing.assert_allclose(x.grad.numpy(), fd.numpy(), rtol=1e-6, atol=1e-9)
    assert x.grad[120] == pytest.approx(1.0)  # peak 1 at threshold
    # forward is the exact Heaviside
    assert torch.equal(spike_fn(x, shape, width), (x > 0).double())


def test_network_gradient_matches_finite_differences_of_relaxed_network():
    """With the spike replaced by its smooth relaxation, autograd equals finite differences."""
    from dgnsim.surrogate import functional as L

    layer, x = _random_layer("dgn", recurrent=True, seed=5)
    layer.detach_reset = False  # the relaxed network's gradient includes the reset path
    layer.detach_recurrent = False  # and the path back in time through the recurrent spikes
    original = L.spike_fn
    L.spike_fn = lambda v, shape, width: smooth_spike(v, shape, width) / (2 * width) + 0.5
    try:
        params = [layer.W_w, layer.W_c]

        def loss(*ws):
            with torch.no_grad():
                for p, w in zip(params, ws):
                    p.copy_(w)
            return layer(x).sum()

        w0 = [p.detach().clone() for p in params]
        out = layer(x).sum()
        grads = torch.autograd.grad(out, params)
        for k, _p in enumerate(params):
            for idx in [(0, 0), (2, 3), (5, 4)]:
                h = 1e-6
                plus = [w.clone() for w in w0]
                plus[k][idx] += h
                minus = [w.clone() for w in w0]
                minus[k][idx] -= h
                fd = (loss(*plus) - loss(*minus)) / (2 * h)
                assert float(grads[k][idx]) == pytest.approx(float(fd.detach()), rel=1e-4, abs=1e-7)
    finally:
        L.spike_fn = original


@pytest.mark.parametrize("detach", [True, False])
def test_soft_reset_gradient_matches_an_independent_loop(detach):
    """The DGN with the paper's soft reset: the layer's gradient equals that of a loop written
    out here from the model's equations; with ``detach_reset`` the spikes of the reset
    ``v -= v_th - v_rest`` are constants of the backward pass (left attached, the gradient
    through 100 soft resets of an FSDD sample overflowed to NaN in the first batch)."""
    hard, x = _random_layer("dgn", recurrent=False, seed=11)
    layer = SpikingLayer("dgn", N_IN, N, dt=DT, reset="soft", width=4.0).double()
    layer.load_state_dict(hard.state_dict())
    layer.detach_reset = detach
    spikes = layer(x)
    p = {k: v.detach() for k, v in layer.neuron_params().items()}
    decay = torch.exp(-DT / p["tau_syn"])
    current = torch.zeros(1, N, dtype=torch.float64)
    gate, v, own = torch.zeros_like(current), torch.zeros_like(current) + p["v_rest"], []
    for t in range(T):
        current = (current + x[t] @ layer.W_w) * decay  # the input jumps the traces, then they decay
        gate = (gate + x[t] @ layer.W_c) * decay
        rho = torch.relu(1 - DT * (1 + gate) / p["tau_mem"])  # paper A's clipped decay factor
        v = v * rho + DT * (p["v_rest"] + gate * p["E_gate"] + current + p["I_ext"]) / p["tau_mem"]
        z = spike_fn(v - p["v_th"], "fast_sigmoid", 4.0)
        v = v - (z.detach() if detach else z) * (p["v_th"] - p["v_rest"])
        own.append(z)
    own = torch.stack(own)
    assert torch.equal(own, spikes) and spikes.sum() > 5
    weight = torch.linspace(-1, 1, T * N, dtype=torch.float64).reshape(T, 1, N)
    grads = torch.autograd.grad((spikes * weight).sum(), [layer.W_w, layer.W_c])
    expected = torch.autograd.grad((own * weight).sum(), [layer.W_w, layer.W_c])
    for g, e in zip(grads, expected):
        torch.testing.assert_close(g, e, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("detach", [True, False])
def test_detached_recurrence_is_feed_forward_with_the_spikes_as_input(detach):
    """With ``detach_recurrent``, a recurrent layer's gradient is that of a feed-forward layer
    fed its own (fixed) spikes of the previous step through the recurrent weights; with the
    path open it is not, since then gradients also travel back through the recurrent loop."""
    rec, x = _random_layer("dgn", recurrent=True, seed=7)
    rec.detach_recurrent = detach
    spikes = rec(x)
    ff = SpikingLayer("dgn", N_IN + N, N, dt=DT).double()
    with torch.no_grad():
        for name, w in ff.weights("W").items():
            w.copy_(torch.cat([rec.weights("W")[name], rec.weights("R")[name]]))
        for name in rec.spec.parameters:
            getattr(ff, f"p_{name}").copy_(getattr(rec, f"p_{name}"))
    previous = torch.cat([torch.zeros_like(spikes[:1]), spikes[:-1]]).detach()
    ff_spikes = ff(torch.cat([x, previous], dim=2))
    assert torch.equal(ff_spikes, spikes)  # the same forward pass
    readout = torch.linspace(-1, 1, T * N, dtype=torch.float64).reshape(T, 1, N)  # a loss that weighs every spike
    rec_grads = torch.autograd.grad((spikes * readout).sum(), [rec.W_w, rec.R_w, rec.W_c, rec.R_c])
    ff_grads = torch.autograd.grad((ff_spikes * readout).sum(), [ff.W_w, ff.W_c])
    same = [
        torch.allclose(torch.cat(r), f, rtol=1e-12, atol=1e-12)
        for r, f in zip([rec_grads[:2], rec_grads[2:]], ff_grads)
    ]
    assert all(same) if detach else not all(same)


@pytest.mark.slow
def test_float32_training_learns_fsdd(tmp_path):
    from dgnsim.fsdd.train import train

    result = train("dgn", tmp_path / "run", hidden=64, epochs=8, batch=32, seed=1, limit=1200, progress=False)
    assert result.test_accuracy > 0.5, f"test accuracy {result.test_accuracy} not far above chance (0.1)"
    assert (tmp_path / "run" / "model.safetensors").exists()


def test_dropout_acts_in_training_only():
    """Evaluation (and so Brian2) sees every hidden spike; training hides about p of them."""
    from dgnsim.surrogate import Classifier

    x = (torch.rand(4, 30, N_IN, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    plain = Classifier("dgn", N_IN, 40, 3, seed=2, bias=20.0)
    dropped = Classifier("dgn", N_IN, 40, 3, seed=2, bias=20.0, dropout=0.5)
    plain.eval(), dropped.eval()
    assert torch.equal(plain(x), dropped(x))
    dropped.train()
    h = dropped.hidden_spikes(x).detach()
    torch.manual_seed(1)
    logits = dropped(x)
    torch.manual_seed(1)
    kept = torch.nn.functional.dropout(h, 0.5)
    assert 0.3 < float((kept == 0).sum() - (h == 0).sum()) / float(h.sum()) < 0.7
    assert torch.allclose(logits.detach(), dropped.readout(kept).detach())
    with pytest.raises(ValueError, match="dropout"):
        Classifier("dgn", N_IN, 4, 3, dropout=1.0)


@pytest.mark.slow
@pytest.mark.parametrize("augment", ["", "shift:3,timemask:8,bandmask:3"])
def test_interrupted_training_resumes_to_the_same_network(tmp_path, monkeypatch, augment):
    """Stopped after epoch 1 of 2 and restarted, training ends where an uninterrupted run ends
    (with and without input augmentation, whose draws must also resume)."""
    from dgnsim.fsdd import train as training

    kwargs = dict(hidden=16, epochs=2, batch=50, seed=3, limit=200, progress=False, augment=augment)
    whole = training.train("lif", tmp_path / "whole", **kwargs)
    calls = {"n": 0}
    original = training.accuracy

    def interrupt_in_epoch_2(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(*args, **kw)

    monkeypatch.setattr(training, "accuracy", interrupt_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        training.train("lif", tmp_path / "split", **kwargs)
    assert not (tmp_path / "split" / "manifest.json").exists()
    monkeypatch.setattr(training, "accuracy", original)
    resumed = training.train("lif", tmp_path / "split", **kwargs)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in whole.history]
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=False)["net"]
    b = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=False)["net"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    # Finished: read back without training; another configuration in the same folder is refused.
    monkeypatch.setattr(training, "Classifier", None)  # any training attempt would fail
    again = training.train("lif", tmp_path / "whole", **kwargs)
    assert again.history == whole.history and again.test_accuracy == whole.test_accuracy
    with pytest.raises(ValueError, match="different configuration"):
        training.train("lif", tmp_path / "whole", **dict(kwargs, epochs=3))
    with pytest.raises(ValueError, match="different configuration"):
        training.train("lif", tmp_path / "whole", **dict(kwargs, augment="shift:1" if augment else "timemask:2"))
    manifest = json.loads((tmp_path / "whole" / "manifest.json").read_text())
    assert manifest["training"].get("augment", "") == augment


def test_label_smoothing_is_recorded_and_trains_another_network(tmp_path):
    from dgnsim.fsdd.train import train

    kwargs = dict(hidden=16, epochs=1, batch=50, seed=3, limit=100, progress=False)
    plain = train("lif", tmp_path / "plain", **kwargs)
    smooth = train("lif", tmp_path / "smooth", label_smoothing=0.2, **kwargs)
    recorded = [json.loads((tmp_path / d / "manifest.json").read_text())["training"] for d in ("plain", "smooth")]
    assert "label_smoothing" not in recorded[0] and recorded[1]["label_smoothing"] == 0.2
    assert smooth.history[0]["loss"] != plain.history[0]["loss"]


@pytest.mark.slow
def test_compiled_training_trains_the_eager_network(tmp_path, recwarn):
    """`train(compile_loop=True)` (`dgnsim train --compile`): the eager run's losses and accuracies, and
    the same recorded configuration (the option is not part of it)."""
    from dgnsim.fsdd.train import train

    kwargs = dict(hidden=16, epochs=2, batch=50, seed=3, limit=100, progress=False)
    eager = train("lif", tmp_path / "eager", **kwargs)
    compiled = train("lif", tmp_path / "compiled", compile_loop=True, **kwargs)
    assert not [w for w in recwarn if "torch.compile failed" in str(w.message)], "it ran eager"
    for a, b in zip(eager.history, compiled.history, strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4)
        assert b["test_accuracy"] == pytest.approx(a["test_accuracy"], abs=0.02)  # a sample may flip by rounding
    recorded = [json.loads((tmp_path / d / "manifest.json").read_text())["training"] for d in ("eager", "compiled")]
    assert recorded[0] == recorded[1]


def test_input_delays_are_recorded_and_reach_the_gradient(tmp_path):
    from dgnsim.fsdd.train import train

    kwargs = dict(hidden=16, epochs=1, batch=50, seed=3, limit=100, progress=False)
    plain = train("dgn", tmp_path / "plain", **kwargs)
    delayed = train("dgn", tmp_path / "delayed", delays=[0, 10, 20], **kwargs)
    recorded = [json.loads((tmp_path / d / "manifest.json").read_text())["training"] for d in ("plain", "delayed")]
    assert "delays" not in recorded[0] and recorded[1]["delays"] == [0.0, 10.0, 20.0]
    assert delayed.history[0]["loss"] != plain.history[0]["loss"]
    # every delay block of the input weights learns (the gradient reaches the delayed synapses)
    net = Classifier("dgn", 8, 6, 3, delays=(0, 10, 20), seed=1)
    x = (torch.rand(4, 50, 8, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    torch.nn.functional.cross_entropy(net(x), torch.tensor([0, 1, 2, 0])).backward()
    grad = net.hidden.W_w.grad.reshape(3, 8, 6).abs().sum(dim=(1, 2))
    assert torch.all(grad > 0), grad


def test_lnm_projection_keeps_membrane_bounded_under_inhibition():
    """A negative quadratic with no cubic runs away below rest; the projection (a2 >= 0) stops it:
    the projected layer (a2 = a3 = 0, a linear membrane) follows a loop written out here from the
    model file step for step, and stays above its closed-form steady state."""
    layer = SpikingLayer("lnm", 2, 3).double()
    with torch.no_grad():
        layer.p_a2.fill_(-1.0)  # a2 = -0.003 /(mV ms): unstable fixed point -a1/a2 = 17 mV below rest
        layer.W_w.fill_(-50.0)
    x = torch.ones(100, 1, 2, dtype=torch.float64)
    with torch.no_grad():
        _, free = layer.run(x, record=True)
        assert not torch.isfinite(free["v"]).all()
        layer.project()
        assert float(layer.neuron_params()["a2"]) == 0.0
        _, bounded = layer.run(x, record=True)
    # the defaults (a0 = 0, a1 = -0.05 /ms, a3 = 0, tau_mem 20 ms, tau_syn 5 ms, v_rest -65 mV, I_ext 0)
    # as the layer holds them (time constants stored as float32 logarithms)
    p = {k: float(v.detach().reshape(-1)[0]) for k, v in layer.neuron_params().items()}
    assert (p["a0"], p["a1"], p["a3"], p["v_rest"], p["I_ext"]) == (0.0, -0.05, 0.0, -65.0, 0.0)
    assert p["tau_mem"] == pytest.approx(20.0, rel=1e-7) and p["tau_syn"] == pytest.approx(5.0, rel=1e-7)
    decay, current, v, expected = np.exp(-DT / p["tau_syn"]), 0.0, -65.0, []
    for _ in range(100):
        current = (current - 2 * 50.0) * decay  # both inputs jump I, then I decays exactly
        v = v + DT * (-0.05 * (v + 65.0) + current / p["tau_mem"])  # forward Euler (polynomial membrane)
        expected.append(v)
    np.testing.assert_allclose(
        bounded["v"][:, 0, :].numpy(), np.repeat(np.array(expected)[:, None], 3, 1), rtol=1e-12, atol=0
    )
    steady = -65.0 - 100.0 * decay / (1 - decay) / (p["tau_mem"] * 0.05)  # v_rest + I_ss/(tau_mem |a1|)
    assert float(bounded["v"].min()) > steady > -600.0


def test_classifier_config_names_the_model_given_by_path_or_record(tmp_path):
    """A model given by path or as a record goes to the layer as given; the config records its
    name (a manifest is JSON)."""
    from dgnsim.core.models import find_model, load_model

    text = find_model("lif").read_text().replace('name = "lif"', 'name = "lif_copy"', 1)
    (tmp_path / "lif_copy.toml").write_text(text)
    record = load_model("dgn")
    for given, name in (
        (str(find_model("lif")), "lif"),
        (tmp_path / "lif_copy.toml", "lif_copy"),
        (record, "dgn"),
        ("sdgn", "sdgn"),
    ):
        net = Classifier(given, 3, 4, 2)
        assert net.config["model"] == name and net.hidden.spec.name == name
        assert json.loads(json.dumps(net.config))["model"] == name
    assert Classifier(record, 3, 4, 2).hidden.spec is record


@pytest.mark.slow
@pytest.mark.parametrize(
    "model,recurrent,options",
    [("dgn", True, {}), ("alif", False, {"params": {"tau_ref": 3.0 * ms}}), ("dgn", False, {"reset": "soft"})],
)
def test_compiled_loop_matches_brian2_and_the_eager_gradient(model, recurrent, options):
    """``compile_loop`` (torch.compile, float64, gradients on): spikes and traces step for step
    as Brian2's, and the gradient of a loss on spikes and traces that of the eager loop up to
    rounding, also for a sequence that is no whole number of compiled chunks."""
    from dgnsim.surrogate.layers import COMPILE_STEPS

    layer, x = _random_layer(model, recurrent, seed=3, **options)
    eager, _ = _random_layer(model, recurrent, seed=3, **options)
    layer.compile_loop = True
    b_traces, b_i, b_t = _brian2_run(layer, x)
    z, traces = layer.run(x, record=True)  # gradients on: the compiled loop
    assert layer._compiled_loop is not None and not layer._compile_failed
    order = np.lexsort((b_i, b_t))
    t_idx, n_idx = np.nonzero(z[:, 0, :].detach().numpy())
    assert len(t_idx) > 5, "the comparison needs spikes"
    np.testing.assert_array_equal(np.stack([t_idx, n_idx]), np.stack([b_t[order], b_i[order]]))
    for var in layer.spec.update_order:
        np.testing.assert_allclose(traces[var][:, 0, :].detach().numpy(), b_traces[var], rtol=0, atol=1e-9)
    steps = T - COMPILE_STEPS // 2  # a remainder after the last whole chunk, run eagerly
    assert steps % COMPILE_STEPS
    weights = torch.linspace(-1, 1, steps * N, dtype=torch.float64).reshape(steps, 1, N)
    grads = []
    for net in (layer, eager):
        z, traces = net.run(x[:steps], record=True)
        loss = (z * weights).sum() + sum((tr * weights).sum() for tr in traces.values()) * 1e-3
        grads.append(torch.autograd.grad(loss, [p for p in net.parameters() if p.requires_grad]))
    for compiled, plain in zip(*grads):
        torch.testing.assert_close(compiled, plain, rtol=1e-10, atol=1e-12)


def test_compile_loop_falls_back_to_eager_where_compilation_fails(monkeypatch):
    """No compiler (here: torch.compile raising): a warning, then the eager loop's result."""

    def broken(fn, *args, **kwargs):
        def run(*a, **k):
            raise RuntimeError("no C++ compiler")

        return run

    layer, x = _random_layer("lif", False, seed=3)
    eager, _ = _random_layer("lif", False, seed=3)
    layer.compile_loop = True
    monkeypatch.setattr(torch, "compile", broken)
    with pytest.warns(UserWarning, match="no C\\+\\+ compiler"):
        z = layer(x)
    assert layer._compile_failed
    assert torch.equal(z, eager(x))
    z.sum().backward()  # and it trains


def test_compile_loop_is_an_option_of_the_run_not_of_the_network():
    from dgnsim.surrogate import Classifier

    with pytest.raises(ValueError, match="compile_loop"):
        SpikingLayer("lif", 2, 2, compile_loop="yes")
    net = Classifier("lif", 4, 3, 2, compile_loop=True)
    assert net.hidden.compile_loop and "compile_loop" not in net.config
