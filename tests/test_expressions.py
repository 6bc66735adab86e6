"""The one parser and evaluator of model expressions (dgnsim.core.expressions), against values worked by hand."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from brian2 import mV, second

from dgnsim.core.expressions import (
    apply_statements,
    compile_expression,
    evaluate,
    namespace,
    parse_statements,
    parse_threshold,
    synapse_jumps,
    unit_namespace,
    unit_values,
)
from dgnsim.core.models import list_models, load_model

# --- thresholds ----------------------------------------------------------------------------------


def test_threshold_is_read_as_a_distance():
    th = parse_threshold("v > v_th + beta*a")
    assert not th.inclusive and th.variable == "v"
    assert th.lhs == "v" and th.rhs == "v_th + beta*a"
    assert th.names == {"v", "v_th", "beta", "a"}
    # v - (v_th + beta a) at v=-50, v_th=-55, beta=2, a=1.5: -50 + 55 - 3 = 2
    assert evaluate(th.code, {"v": -50.0, "v_th": -55.0, "beta": 2.0, "a": 1.5}) == pytest.approx(2.0, abs=1e-15)
    assert (
        float(
            th.distance.subs(
                {s: {"v": -50, "v_th": -55, "beta": 2, "a": 1.5}[s.name] for s in th.distance.free_symbols}
            )
        )
        == 2.0
    )
    inclusive = parse_threshold("  v >= -50*mV ")
    assert inclusive.inclusive and inclusive.text == "v >= -50*mV"
    assert inclusive.names == {"v", "mV"}
    assert evaluate(inclusive.code, {"v": -49.0}) == 1.0  # -49 - (-50) mV
    assert evaluate(inclusive.code, {"v": -49e-3}, system="si") == pytest.approx(1e-3, rel=1e-12)
    assert parse_threshold("(2*v) > theta").variable == "v"


def test_thresholds_of_the_built_in_models():
    expected = {
        "alif": ("v", {"v", "v_th", "beta", "a"}, False),
        "multiscale": ("v", {"v", "theta"}, False),
        "dgn_activity": ("v", {"v", "v_th"}, True),
    }
    for name in list_models():
        model = load_model(name)
        th = parse_threshold(model.threshold, f"{name}.toml: threshold")
        variable, names, inclusive = expected.get(name, ("v", {"v", "v_th"}, False))
        assert (th.variable, th.names, th.inclusive) == (variable, names, inclusive), name


@pytest.mark.parametrize("text", ["v < v_th", "v > v_th > 0", "v == v_th", "v > v_th and v > 0", "v >", "v_th"])
def test_malformed_threshold_is_refused_naming_file_and_expression(text):
    with pytest.raises(ValueError) as err:
        parse_threshold(text, "mymodel.toml: threshold")
    assert "mymodel.toml: threshold" in str(err.value) and repr(text) in str(err.value)


def test_surrogate_refuses_a_model_file_with_a_threshold_it_cannot_read(tmp_path):
    from dgnsim.surrogate.program import compile_model

    path = tmp_path / "mylif.toml"
    text = load_model("lif").text.replace('name = "lif"', 'name = "mylif"')
    path.write_text(text.replace('threshold = "v > v_th"', 'threshold = "v < v_th"'))
    with pytest.raises(ValueError, match=r"mylif\.toml: threshold.*'v < v_th'"):
        compile_model(load_model(path))
    path.write_text(text.replace('reset = "v = v_reset"', 'reset = "v *= 0.5"'))
    with pytest.raises(ValueError, match=r"mylif\.toml: reset: 'v \*= 0.5'"):
        compile_model(load_model(path))


# --- statements ----------------------------------------------------------------------------------


def test_statements_are_read_one_per_line():
    code = "\n v = v_reset\n\na += 1\ntheta -= 2*mV  \n"
    assert parse_statements(code) == (("v", "=", "v_reset"), ("a", "+=", "1"), ("theta", "-=", "2*mV"))
    st = parse_statements("I_post += w")[0]
    assert (st.target, st.op, st.expression) == ("I_post", "+=", "w")
    assert parse_statements("x *= 2\ny /= 4", ops=("*=", "/=")) == (("x", "*=", "2"), ("y", "/=", "4"))


@pytest.mark.parametrize(
    "code, part",
    [
        ("v := 1", "cannot read"),
        ("1v = 2", "cannot read"),
        ("v *= 2", "'*='"),
        ("v = (v_reset", "cannot read the expression"),
        ("v == v_reset", "cannot read the expression"),
        ("v v_reset", "cannot read"),
    ],
)
def test_malformed_statement_is_refused_naming_file_and_line(code, part):
    with pytest.raises(ValueError) as err:
        parse_statements("a += 1\n" + code, "mymodel.toml: reset")
    message = str(err.value)
    assert message.startswith("mymodel.toml: reset: ") and repr(code) in message and part in message


def test_statements_apply_in_order():
    # alif's reset at v = -50, a = 0.5: v -> v_reset = -65, a -> 1.5
    out = apply_statements("v = v_reset\na += 1", {"v": -50.0, "a": 0.5, "v_reset": -65.0})
    assert (out["v"], out["a"]) == (-65.0, 1.5)
    out = apply_statements("x = 2*ms\ny = x + 1\ny *= 3\ny /= 2\ny -= 0.5", {})
    assert out == {"x": 2.0, "y": 4.0}  # ((2 + 1) * 3 / 2) - 0.5
    values = {"v": np.array([1.0, 2.0])}
    apply_statements("v += 1", values)
    assert np.array_equal(values["v"], [1.0, 2.0])  # the caller's values are not touched
    with pytest.raises(NameError, match="mymodel.toml: on_pre: I_post \\+= w: 'I_post' has no value"):
        apply_statements("I_post += w", {"w": 1.0}, where="mymodel.toml: on_pre")


def test_synapse_jumps():
    assert synapse_jumps(load_model("dgn").synapse.on_pre) == {"I": "w", "g": "c"}
    assert synapse_jumps(load_model("lif_delta").synapse.on_pre) == {"v": "w"}
    for bad in ("I_post = w", "I += w", "I_post += 2*w"):
        with pytest.raises(ValueError, match=f"mymodel.toml: synapse on_pre: .*{bad.split()[0]}"):
            synapse_jumps(bad, "mymodel.toml: synapse on_pre")


# --- units and evaluation -----------------------------------------------------------------------


def test_units_are_numbers_of_the_mv_ms_and_si_systems():
    assert evaluate("0*mV") == 0.0
    assert (evaluate("ms"), evaluate("mV"), evaluate("s"), evaluate("second")) == (1.0, 1.0, 1000.0, 1000.0)
    assert evaluate("Hz") == pytest.approx(1e-3, rel=1e-15) and evaluate("volt") == pytest.approx(1e3, rel=1e-15)
    assert evaluate("mV/ms") == 1.0
    assert evaluate("-65*mV", system="si") == pytest.approx(-0.065, rel=1e-15)
    assert evaluate("ms", system="si") == pytest.approx(1e-3, rel=1e-15)
    mv_ms = unit_values()
    assert "amp" not in mv_ms and "metre" not in mv_ms  # not products of volts and seconds
    assert unit_values("si")["amp"] == 1.0
    units = unit_namespace()
    assert units["mV"] == mV and units["s"] == second
    units.clear()
    assert unit_namespace()["ms"] == 1e-3 * second  # a fresh dict each time
    assert evaluate("ms", {"ms": 7.0}) == 7.0  # a value shadows a unit of the same name
    with pytest.raises(ValueError, match="number system"):
        unit_values("cgs")


def test_functions_against_closed_forms():
    x = {"dt": 0.1, "tau": 5.0, "v": -70.0, "v_rest": -65.0}
    assert evaluate("exp(-dt/tau)", x) == pytest.approx(math.exp(-0.02), rel=1e-15)
    assert evaluate("abs(v - v_rest)", x) == 5.0
    assert evaluate("sqrt(tau*tau)", x) == 5.0
    assert evaluate("log(exp(2))") == pytest.approx(2.0, rel=1e-15)
    assert evaluate("tanh(0.5)") == pytest.approx((math.e - 1) / (math.e + 1), rel=1e-14)
    assert evaluate("exprel(0)") == 1.0 and evaluate("exprel(1)") == pytest.approx(math.e - 1, rel=1e-15)
    assert evaluate("int(True)*3 + int(2.7)") == 5
    assert evaluate("clip(2, 0, 1) + clip(-2, 0, 1) + clip(0.25, 0, 1)") == 1.25
    assert evaluate("inf") == math.inf and evaluate("pi") == math.pi
    assert np.array_equal(evaluate("clip(x, 0, 1)", {"x": np.array([-1.0, 0.5, 2.0])}), [0.0, 0.5, 1.0])


def test_errors_name_the_expression():
    with pytest.raises(NameError, match=r"mymodel.toml: initial value of v: 'v_rst'.*v_rst"):
        evaluate("v_rst", {"v_rest": 1.0}, where="mymodel.toml: initial value of v")
    with pytest.raises(ValueError, match=r"mymodel.toml: initial value of v: cannot read the expression '1 \+'"):
        compile_expression("1 +", "mymodel.toml: initial value of v")
    with pytest.raises(NameError):
        evaluate("min(1, 2)")  # not a function of the model language
    with pytest.raises(ValueError, match="backend"):
        namespace(backend="jax")


EXPRESSION = (
    "clip(tanh(beta*(v - v_rest) - gamma), 0, 1) + exp(-dt/tau)*abs(v) + sqrt(tau) + log(tau) - exprel(v - v_rest)"
)


def _closed_form(v, v_rest, beta, gamma, dt, tau):
    y = v - v_rest
    exprel = 1.0 if y == 0 else math.expm1(y) / y
    return (
        min(max(math.tanh(beta * y - gamma), 0.0), 1.0)
        + math.exp(-dt / tau) * abs(v)
        + math.sqrt(tau)
        + math.log(tau)
        - exprel
    )


def test_numpy_and_torch_give_the_same_numbers():
    rng = np.random.default_rng(0)
    v = np.concatenate([[-65.0, -64.9], -65 + rng.normal(size=30)])
    tau = rng.uniform(1, 20, size=v.size)
    fixed = {"v_rest": -65.0, "beta": 2.0, "gamma": 0.3, "dt": 0.1}
    want = np.array([_closed_form(a, tau=b, **fixed) for a, b in zip(v, tau)])
    got_np = evaluate(EXPRESSION, {**fixed, "v": v, "tau": tau})
    got_t = evaluate(EXPRESSION, {**fixed, "v": torch.tensor(v), "tau": torch.tensor(tau)})
    assert isinstance(got_np, np.ndarray) and isinstance(got_t, torch.Tensor) and got_t.dtype == torch.float64
    np.testing.assert_allclose(got_np, want, rtol=1e-13)
    np.testing.assert_allclose(got_t.numpy(), got_np, rtol=1e-14, atol=0)
    # floats beside tensors (clip's bounds, a parameter as a number), and the gradient flows
    vt = torch.tensor(v, requires_grad=True)
    out = evaluate("clip(v, v_rest, hi)", {"v": vt, "v_rest": -65.0, "hi": torch.tensor(-64.5)})
    assert torch.equal(out.detach(), torch.tensor(np.clip(v, -65.0, -64.5)))
    out.sum().backward()  # 1 inside the bounds, 0 outside (v[0] lies on the bound)
    assert torch.equal(vt.grad[1:], torch.tensor(((v[1:] > -65.0) & (v[1:] < -64.5)).astype(float)))


def test_backend_argument_picks_the_library():
    assert isinstance(evaluate("exp(x)", {"x": 1.0}, backend="torch"), torch.Tensor)
    assert evaluate("exp(x)", {"x": 1.0}, backend="torch").item() == pytest.approx(math.e, rel=1e-15)
    assert isinstance(evaluate("exp(x)", {"x": 1.0}, backend="numpy"), np.floating)
    assert isinstance(evaluate("exp(x)", {"x": 1.0}), float)  # by argument: numpy for a float
    t = torch.tensor([0.5, 2.0], dtype=torch.float32)
    assert evaluate("clip(x, 0, 1)", {"x": t}, backend="torch").dtype == torch.float32


def test_initial_values_of_the_built_in_models():
    dgn, multiscale = load_model("dgn"), load_model("multiscale")
    p = {n: float(np.asarray(q.default) * 1e3) for n, q in dgn.parameters.items() if q.unit_text == "mV"}
    assert [evaluate(dgn.initial[v], p) for v in ("v", "I", "g")] == [-65.0, 0.0, 0]
    assert evaluate(multiscale.initial["theta"], {"v_th": -50.0}) == -50.0


def test_torch_is_not_imported():
    code = (
        "import sys; from dgnsim.core.expressions import evaluate, parse_threshold; "
        "evaluate('exp(x) + clip(x, 0, 1)', {'x': 0.5}); parse_threshold('v > v_th'); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
