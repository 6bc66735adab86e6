"""Model files: every model loads, and a broken file is refused with a precise error."""

from pathlib import Path

import pytest
from brian2 import Equations

import dgnsim
from dgnsim.core.models import ModelError, builtin_dir

EXPECTED = {"lif", "alif", "multiscale", "lnm", "dgn", "sdgn", "dgn_activity"}


def test_all_issue_models_present():
    assert set(dgnsim.list_models()) >= EXPECTED


@pytest.mark.parametrize("name", dgnsim.list_models())
def test_model_loads_with_documented_parameters(name):
    m = dgnsim.load_model(name)
    assert m.name == name
    assert set(m.update_order) == set(Equations(m.equations_text).diff_eq_names)
    for p in [*m.parameters.values(), *m.synapse.parameters.values()]:
        assert p.doc, f"{name}.{p.name} has no description"
    # Every time constant is declared positive, so a negative value is refused.
    for p in m.parameters.values():
        if p.name.startswith("tau_") and p.name != "tau_ref":
            assert p.positive, f"{name}.{p.name} is not declared positive"
    # Per-neuron and shared declarations both give valid Brian2 equations.
    neuron_scoped = [p.name for p in m.parameters.values() if p.scope == "neuron"]
    assert m.equations(per_neuron=neuron_scoped, noise=True).diff_eq_names == set(m.update_order)


def _broken(tmp_path, old: str, new: str, model: str = "lif") -> Path:
    """A copy of a built-in model file, renamed ``my_MODEL`` and broken by one edit."""
    text = (builtin_dir() / f"{model}.toml").read_text()
    assert old in text
    path = tmp_path / f"my_{model}.toml"
    path.write_text(text.replace(old, new).replace(f'name = "{model}"', f'name = "my_{model}"'))
    return path


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("(v_rest - v + I + I_ext)/tau_mem", "(v_rest - v + I + I_ext + bogus)/tau_mem", "undefined name"),
        ("(v_rest - v + I + I_ext)/tau_mem", "(v_rest - v + I + I_ext)", "has unit"),
        ('reset = "v = v_reset"', 'reset = "v = tau_mem"', "assigns unit"),
        ('update_order = ["I", "v"]', 'update_order = ["v"]', "update_order"),
        ('unit = "ms", scope = "neuron", positive', 'unit = "furlong", scope = "neuron", positive', "unknown unit"),
        ('initial = { v = "v_rest", I = "0*mV" }', 'initial = { v = "v_rest" }', "no initial value"),
    ],
)
def test_broken_model_file_names_file_and_problem(tmp_path, old, new, message):
    path = _broken(tmp_path, old, new)
    with pytest.raises(ModelError) as err:
        dgnsim.load_model(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_unknown_model_lists_the_available_ones():
    with pytest.raises(ModelError, match="unknown model 'lfi'.*lif"):
        dgnsim.load_model("lfi")
