"""A user's own model file, written here to a temporary folder (not one of the package's):
found by path and on the search path, simulated on numpy and C++ standalone, trained as a
layer, bridged spike for spike, checked by ``dgnsim check-model``, and carried by a checkpoint."""

import json
import re

import numpy as np
import pytest
import torch
from brian2 import ms, mV
from run_cli import in_process

import dgnsim
from dgnsim.core.models import ModelError, builtin_dir
from dgnsim.interop import model_check

#: A LIF neuron with a spike-triggered shunting conductance h (reversal E_h): not a built-in model.
SHUNTED_LIF = '''
name = "shunted_lif"
title = "LIF with a spike-triggered shunting conductance"
reference = "written by tests/test_user_models.py"
method = "sequential"
update_order = ["I", "h", "v"]
equations = """
dI/dt = -I/tau_syn : volt
dh/dt = -h/tau_h : 1
dv/dt = (v_rest - v + I + I_ext - h*(v - E_h))/tau_mem : volt
"""
threshold = "v > v_th"
reset = """
v = v_reset
h += dh_spike
"""
noise = { variable = "v", term = "noise_sigma*sqrt(2/tau_mem)*xi" }
initial = { v = "v_rest", I = "0*mV", h = "0" }

[parameters]
tau_mem = { value = 15.0, unit = "ms", scope = "neuron", positive = true, doc = "Membrane time constant." }
tau_syn = { value = 4.0, unit = "ms", scope = "neuron", positive = true, doc = "Synaptic current decay." }
tau_h = { value = 30.0, unit = "ms", scope = "shared", positive = true, doc = "Decay of the shunt." }
v_rest = { value = -65.0, unit = "mV", scope = "shared", doc = "Resting potential." }
E_h = { value = -70.0, unit = "mV", scope = "shared", doc = "Reversal potential of the shunt." }
v_th = { value = -52.0, unit = "mV", scope = "neuron", doc = "Threshold." }
v_reset = { value = -65.0, unit = "mV", scope = "neuron", doc = "Reset potential." }
dh_spike = { value = 0.3, unit = "1", scope = "shared", nonnegative = true, doc = "Shunt added per spike." }
I_ext = { value = 0.0, unit = "mV", scope = "neuron", learnable = true, doc = "External input." }
noise_sigma = { value = 0.0, unit = "mV", scope = "neuron", nonnegative = true, doc = "Noise amplitude." }

[synapse]
model = "w : volt"
on_pre = "I_post += w"
parameters = { w = { value = 1.0, unit = "mV", doc = "Current jump per presynaptic spike." } }
'''


@pytest.fixture
def user_model(tmp_path):
    folder = tmp_path / "my_models"
    folder.mkdir()
    path = folder / "shunted_lif.toml"
    path.write_text(SHUNTED_LIF)
    assert builtin_dir() not in path.parents
    return path


def test_a_model_file_loads_by_path_and_by_name_on_the_search_path(user_model, monkeypatch):
    by_path = dgnsim.load_model(user_model)
    assert by_path.name == "shunted_lif" and not by_path.builtin
    assert dgnsim.load_model(str(user_model)).sha256 == by_path.sha256
    with pytest.raises(ModelError, match="unknown model 'shunted_lif'"):
        dgnsim.load_model("shunted_lif")
    monkeypatch.setenv("DGNSIM_MODEL_PATH", str(user_model.parent))
    assert "shunted_lif" in dgnsim.list_models() and "dgn" in dgnsim.list_models()  # extends, not replaces
    assert dgnsim.load_model("shunted_lif").sha256 == by_path.sha256
    assert dgnsim.load_model("dgn").builtin


def test_add_model_path_extends_the_search_path(user_model, monkeypatch):
    from dgnsim.core import models

    monkeypatch.setattr(models, "_ADDED_FOLDERS", [])
    dgnsim.add_model_path(user_model.parent)
    assert user_model.parent in dgnsim.model_path()
    assert dgnsim.find_model("shunted_lif") == user_model
    with pytest.raises(ModelError, match="is not a folder"):
        dgnsim.add_model_path(user_model)


def test_a_user_file_named_like_a_built_in_is_refused_naming_both(tmp_path, monkeypatch):
    clash = tmp_path / "lif.toml"
    clash.write_text((builtin_dir() / "lif.toml").read_text())
    with pytest.raises(ModelError) as by_path:
        dgnsim.load_model(clash)
    assert str(clash) in str(by_path.value) and str(builtin_dir() / "lif.toml") in str(by_path.value)
    monkeypatch.setenv("DGNSIM_MODEL_PATH", str(tmp_path))
    with pytest.raises(ModelError) as by_name:
        dgnsim.load_model("lif")
    assert str(clash) in str(by_name.value) and "defined twice" in str(by_name.value)


def test_a_missing_model_file_is_refused():
    with pytest.raises(ModelError, match="does not exist"):
        dgnsim.load_model("/nonexistent/folder/model.toml")


def test_make_group_takes_a_path(user_model):
    with dgnsim.Simulation("numpy") as sim:
        group = dgnsim.make_group(user_model, 3, {"I_ext": 20 * mV})
        sim.build(50 * ms)
        sim.run()
        # closed form of the free membrane before the first spike: v_inf = v_rest + I_ext = -45 mV > v_th,
        # so it fires, and each spike leaves a shunt h > 0
        assert dgnsim.model_of(group).name == "shunted_lif"
        assert float(np.min(group.h[:])) > 0


@pytest.mark.standalone
def test_the_user_model_passes_the_backend_and_bridge_checks(user_model):
    spec = dgnsim.load_model(user_model)
    ok, detail = model_check.check_backends(spec)
    assert ok, detail
    ok, detail = model_check.check_bridge(spec)
    assert ok, detail


def test_one_torch_step_equals_one_brian2_step(user_model):
    ok, detail = model_check.check_torch_step(dgnsim.load_model(user_model))
    assert ok, detail
    spikes = int(re.search(r"(\d+) identical spikes", detail).group(1))
    assert spikes > 0, detail  # the threshold and the reset were exercised


def test_the_user_model_trains_as_a_layer(user_model):
    """A small classifier of the user model learns a toy task: which half of the inputs is active."""
    from dgnsim.surrogate import Classifier

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 2, (64,), generator=gen)
    rates = torch.where(
        labels[:, None] == 0, torch.tensor([0.3] * 5 + [0.02] * 5), torch.tensor([0.02] * 5 + [0.3] * 5)
    )
    x = (torch.rand(64, 40, 10, generator=gen) < rates[:, None, :]).float()
    net = Classifier(str(user_model), 10, 16, 2, seed=0)
    assert net.config["model"] == "shunted_lif"
    opt = torch.optim.Adam(net.parameters(), lr=2e-2)
    losses = []
    for _ in range(60):
        loss = torch.nn.functional.cross_entropy(net(x), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        net.project()
        losses.append(float(loss))
    accuracy = float((net(x).argmax(1) == labels).float().mean())
    assert losses[-1] < 0.5 * losses[0] and accuracy > 0.9, (losses[0], losses[-1], accuracy)


def test_a_checkpoint_of_a_user_model_loads_without_the_file(user_model, tmp_path):
    from dgnsim.io import checkpoint
    from dgnsim.surrogate import Classifier

    net = Classifier(user_model, 10, 8, 2, seed=3)
    checkpoint.save(net, tmp_path / "ckpt", encoding={"kind": "test"}, split="none")
    manifest = json.loads((tmp_path / "ckpt" / "manifest.json").read_text())
    assert manifest["model_text"] == SHUNTED_LIF and manifest["model"] == "shunted_lif"
    user_model.unlink()
    loaded, _ = checkpoint.load(tmp_path / "ckpt")
    assert loaded.hidden.spec.sha256 == manifest["equations_sha256"]
    for key, value in net.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    assert loaded.hidden.spec.text == SHUNTED_LIF


def _check_model_cli(path, *extra):
    return in_process("check-model", str(path), "--json", *extra)


@pytest.mark.standalone
def test_check_model_reports_all_four_checks_and_passes(user_model):
    res = _check_model_cli(user_model)
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert [c["name"] for c in report["checks"]] == ["loads", "backends", "torch_step", "bridge"]
    assert all(c["passed"] for c in report["checks"])


@pytest.mark.slow
def test_check_model_fails_a_model_whose_brian2_step_is_not_the_surrogates(user_model):
    """With Brian2's 'euler' method the Brian2 step is no longer the 'sequential' step the surrogate takes."""
    broken = user_model.with_name("euler_lif.toml")
    broken.write_text(
        SHUNTED_LIF.replace('name = "shunted_lif"', 'name = "euler_lif"').replace(
            'method = "sequential"', 'method = "euler"'
        )
    )
    res = _check_model_cli(broken, "--device", "numpy")
    assert res.returncode == 1, res.stdout + res.stderr
    checks = {c["name"]: c for c in json.loads(res.stdout)["checks"]}
    assert checks["loads"]["passed"] and checks["backends"]["passed"]
    assert not checks["torch_step"]["passed"] and "largest state difference" in checks["torch_step"]["detail"]


def test_check_model_fails_a_file_that_does_not_load(tmp_path):
    bad = tmp_path / "bad_model.toml"
    bad.write_text(SHUNTED_LIF.replace('name = "shunted_lif"', 'name = "bad_model"').replace("+ I_ext", "+ bogus"))
    res = _check_model_cli(bad)
    assert res.returncode == 1
    checks = json.loads(res.stdout)["checks"]
    assert len(checks) == 1 and not checks[0]["passed"] and "undefined name" in checks[0]["detail"]


def test_check_model_refuses_a_missing_file(tmp_path):
    res = _check_model_cli(tmp_path / "absent.toml")
    assert res.returncode == 2 and "absent.toml" in res.stderr


def test_model_variables_may_be_named_like_the_generated_codes_arguments(tmp_path):
    """The step's generated functions once took dicts named s, p, q: a model variable ``s`` shadowed one."""
    path = tmp_path / "spq.toml"
    path.write_text(
        SHUNTED_LIF.replace('name = "shunted_lif"', 'name = "spq"')
        .replace('"h"', '"s"')
        .replace("dh/dt = -h/tau_h", "ds/dt = -s/tau_h")
        .replace("- h*(v - E_h)", "- s*(v - E_h)")
        .replace("h += dh_spike", "s += dh_spike")
        .replace('h = "0"', 's = "0"')
    )
    ok, detail = model_check.check_torch_step(dgnsim.load_model(path))
    assert ok, detail


def test_the_gating_analyses_take_a_user_model_with_a_gating_table(user_model):
    """The shunt h is the user model's gate: its [gating] table says so, and the time constant
    measured at a held shunt is the closed form tau_mem/(1 + h)."""
    from dgnsim.analysis import gating

    user_model.write_text(SHUNTED_LIF + '\n[gating]\ngate = "h"\ngate_tau = "tau_h"\n')
    spec = dgnsim.load_model(user_model)
    assert gating.gate_spec(spec) == gating.GateSpec(gate="h", gate_tau="tau_h")
    result = gating.time_constants(spec, gates=[0.0, 1.0, 3.0], drive=4 * mV)
    closed_form = 15.0 / (1 + np.array([0.0, 1.0, 3.0]))
    np.testing.assert_allclose(result.tau_ms, closed_form, rtol=1e-9)  # the linearised model file
    np.testing.assert_allclose(result.tau_step_ms, closed_form, rtol=3e-2)  # fitted to the Brian2 step response


def test_a_gating_table_naming_nothing_is_refused(user_model):
    from dgnsim.analysis import gating

    user_model.write_text(SHUNTED_LIF + '\n[gating]\ngate = "q"\n')
    with pytest.raises(ModelError, match=r"\[gating\] gate = 'q'"):
        gating.gate_spec(dgnsim.load_model(user_model))


def test_train_takes_a_user_model_by_path(user_model, tmp_path):
    """`train` (and so `dgnsim train --model PATH`) on real FSDD: the saved network carries the
    model's text; the same run again is read back, not retrained."""
    from dgnsim.fsdd.train import train
    from dgnsim.io import checkpoint

    out = tmp_path / "run"
    first = train(str(user_model), out, hidden=8, epochs=1, limit=64, progress=False, threads=1)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == "shunted_lif" and manifest["model_text"] == SHUNTED_LIF
    again = train(user_model, out, hidden=8, epochs=1, limit=64, progress=False, threads=1)
    assert again.history == first.history
    net, _ = checkpoint.load(out)
    assert net.hidden.spec.sha256 == dgnsim.load_model(user_model).sha256
