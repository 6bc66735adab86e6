"""Perturbation studies on one build (dgnsim.interop.study): noise and parameter values as run arguments.

Checked against independent references: the noiseless PyTorch run (sigma 0), PyTorch with the
parameter changed (a varied value), the closed-form stationary variance of the LIF membrane
under its noise term, linearity in the noise amplitude; builds counted from outside.
"""

import copy
import json

import numpy as np
import pytest
import torch
from brian2 import ms, mV
from test_bridge import _random_classifier  # small random networks of the bridge tests

from dgnsim.brian.backend import Simulation
from dgnsim.interop import bridge
from dgnsim.interop import study as st
from dgnsim.surrogate import Classifier


@pytest.fixture
def count_builds(monkeypatch):
    """The number of Simulation.build calls (network builds), counted from outside the study."""
    calls = []
    original = Simulation.build

    def counting(self, *args, **kwargs):
        calls.append(self.device)
        return original(self, *args, level=kwargs.pop("level", 0) + 1, **kwargs)

    monkeypatch.setattr(Simulation, "build", counting)
    return calls


def _labels(net, x):
    return bridge.run_torch(net, x).logits.argmax(1)


def _with(net, name, value_mv):
    """A copy of ``net`` whose hidden parameter ``name`` is ``value_mv`` (mV-ms number) for every neuron."""
    other = copy.deepcopy(net)
    raw = getattr(other.hidden, f"p_{name}")
    with torch.no_grad():
        raw.copy_(other.hidden.to_raw(name, torch.full_like(raw, value_mv)))
    return other


def test_one_build_sigma_zero_is_pytorch_and_noise_changes_spikes(count_builds):
    net, x = _random_classifier("dgn", recurrent=True, seed=3, delays=(0, 2))
    labels = _labels(net, x)
    result = st.study(net, x, labels, noise=[0 * mV, 1 * mV, 6 * mV], noise_seeds=2, device="numpy", progress=False)
    report = result.report()
    assert count_builds == ["numpy"] and report["builds"] == 1
    zero, one, six = report["noise"]
    assert zero["runs"] == 1 and zero["spike_identical"] == len(x) and zero["agreement"] == 1.0
    assert zero["accuracy"] == 1.0 and zero["ci95"] == [1.0, 1.0]  # labels are PyTorch's classes
    assert one["runs"] == six["runs"] == 2 and one["seeds"] == [0, 1]
    assert six["spike_identical"] < 2 * len(x) and six["spike_overlap"] < one["spike_overlap"] < 1.0
    # the hidden rate is the spike count over neurons and time
    spikes = bridge.run_torch(net, x).spikes
    assert zero["rate_hz"]["hidden"] == pytest.approx(spikes.mean() * 1000.0)
    assert zero["rate_hz"]["input"] == pytest.approx(x.mean() * 1000.0)


def test_sigma_zero_does_not_depend_on_the_seed_and_seeds_reproduce():
    net, x = _random_classifier("lif", recurrent=False, seed=4)
    labels = _labels(net, x)
    runs = [
        st.study(net, x, labels, noise=[0 * mV, 3 * mV], noise_seeds=2, seed=s, device="numpy", progress=False)
        for s in (0, 1)
    ]
    (z0, n0), (z1, n1) = (r.by_study()["noise"] for r in runs)
    assert np.array_equal(z0.hidden_spikes, z1.hidden_spikes) and z0.identical.all() and z1.identical.all()
    # seeds (0, 1) and (1, 2): seed 1 is shared and gives the same run, the others differ
    assert np.array_equal(n0.hidden_spikes[1], n1.hidden_spikes[0])
    assert np.array_equal(n0.shared_spikes[1], n1.shared_spikes[0])
    assert not np.array_equal(n0.hidden_spikes[0], n0.hidden_spikes[1])


def test_varied_parameter_equals_pytorch_with_that_parameter():
    net, x = _random_classifier("dgn", recurrent=False, seed=5)
    labels = _labels(net, x)
    trained = float(net.hidden.neuron_params()["v_th"][0])
    values = [trained - 2.0, trained, trained + 3.0]
    result = st.study(net, x, labels, vary={"v_th": [v * mV for v in values]}, device="numpy", progress=False)
    levels = result.by_study()["v_th"]
    assert [lv.number for lv in levels] == pytest.approx(values)
    for level, value in zip(levels, values):
        ref = bridge.run_torch(_with(net, "v_th", value), x)
        np.testing.assert_array_equal(level.hidden_spikes[0], ref.spikes.sum(axis=(1, 2)))
        np.testing.assert_array_equal(level.correct[0], ref.logits.argmax(1) == labels)
    assert levels[1].identical.all() and not levels[0].identical.all()
    row = result.report()["v_th"][0]
    assert row["unit"] == "mV" and row["value"] == pytest.approx(values[0])


def test_noise_amplitude_is_the_models_closed_form_and_linear():
    """LIF membrane, threshold lifted: the noise-driven part u = v(sigma) - v(0) has the stationary
    variance sigma^2 (2 tau/dt) tanh(dt/(2 tau)) of its exponential-Euler step (derived by hand), and
    doubling sigma with the same seed doubles u exactly (the noise enters linearly)."""
    net = Classifier("lif", 12, 32, 3, seed=1, bias=14.0).double()
    x = (np.random.default_rng(2).random((8, 400, 12)) < 0.2).astype(np.uint8)
    v2 = st.membrane_runs(net, x, 2 * mV, 2, device="numpy")
    v4 = st.membrane_runs(net, x, 4 * mV, 2, device="numpy")
    assert v2.shape == (3, 8, 400, 32)
    np.testing.assert_array_equal(v2[0], v4[0])  # run 0 has no noise
    u2, u4 = v2[1:] - v2[:1], v4[1:] - v4[:1]
    np.testing.assert_allclose(u4, 2 * u2, rtol=0, atol=1e-9)
    assert not np.allclose(u2[0], u2[1])  # two seeds, two noises
    tau = net.hidden.neuron_params()["tau_mem"].detach().numpy()  # ms, per neuron; dt = 1 ms
    closed = 4.0 * (2 * tau) * np.tanh(1 / (2 * tau))
    measured = (u2[:, :, 150:, :] ** 2).mean(axis=(0, 1, 2))
    assert measured.mean() == pytest.approx(closed.mean(), rel=0.12)


@pytest.mark.parametrize(
    "name,values,message",
    [
        ("v_rest", [-60 * mV], "v_rest sets the initial value of v"),
        ("noise_sigma", [1 * mV], "noise levels"),
        ("v_thr", [1 * mV], "has no parameter 'v_thr'"),
        ("tau_mem", [0.5 * ms], "too coarse"),
        ("tau_mem", [-1 * ms], "must be positive"),
        ("v_th", [float("nan") * mV], "NaN"),
        ("v_th", [-50 * mV, -50 * mV], "values repeat"),
    ],
)
def test_bad_parameter_values_are_refused_before_building(count_builds, name, values, message):
    net, x = _random_classifier("dgn", recurrent=False, seed=5)
    with pytest.raises(ValueError, match=message):
        st.study(net, x, vary={name: values}, device="numpy", progress=False)
    assert count_builds == []


def test_bad_noise_is_refused_before_building(count_builds):
    net, x = _random_classifier("lif", recurrent=False, seed=5)
    with pytest.raises(ValueError, match=r"noise\[1\]: a noise amplitude must not be negative"):
        st.study(net, x, noise=[0 * mV, -1 * mV], device="numpy")
    with pytest.raises(TypeError, match=r"noise\[0\]: a bare number"):
        st.study(net, x, noise=[2.0], device="numpy")
    with pytest.raises(ValueError, match="NaN"):
        st.study(net, x, noise=[float("nan") * mV], device="numpy")
    with pytest.raises(TypeError, match="vary\\[v_th\\]\\[0\\]: a bare number"):
        st.study(net, x, vary={"v_th": [-50.0]}, device="numpy")
    with pytest.raises(ValueError, match="noise_seeds"):
        st.study(net, x, noise=[1 * mV], noise_seeds=0, device="numpy")
    assert count_builds == []


def test_bootstrap_interval_against_the_binomial_closed_form():
    """One run: the percentile interval of a proportion has the binomial width 2 * 1.96 * sqrt(p(1-p)/n).
    Runs that repeat one run (seeds without effect) carry no more information than that one run; runs
    that differ widen the interval beyond the samples' share."""
    rng = np.random.default_rng(0)
    one = rng.random((1, 400)) < 0.8
    p = one.mean()
    binomial = 2 * 1.96 * np.sqrt(p * (1 - p) / one.size)
    lo, hi = st.bootstrap_ci(one)
    assert lo < p < hi and hi - lo == pytest.approx(binomial, rel=0.15)
    lo3, hi3 = st.bootstrap_ci(np.repeat(one, 3, axis=0))
    assert hi3 - lo3 == pytest.approx(binomial, rel=0.15)
    spread = np.stack([rng.random(400) < q for q in (0.5, 0.8, 0.95)])
    lo_s, hi_s = st.bootstrap_ci(spread)
    q = spread.mean()
    assert hi_s - lo_s > 2 * (2 * 1.96 * np.sqrt(q * (1 - q) / spread.size))
    assert st.bootstrap_ci(np.ones((2, 50), bool)) == (1.0, 1.0)


# ----------------------------------------------------------------------------- command line


def test_cli_study_writes_json_csv_figure(tmp_path, capsys):
    from dgnsim.cli import main

    out = tmp_path / "study"
    assert (
        main(
            [
                "import",
                "checkpoints/lif",
                "--device",
                "numpy",
                "--limit",
                "3",
                "--noise",
                "0mV,4mV",
                "--noise-seeds",
                "2",
                "--vary",
                "v_th=-51mV,-49mV",
                "--out",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["builds"] == 1 and report["samples"] == 3
    assert [r["sigma_mV"] for r in report["noise"]] == [0.0, 4.0] and report["noise"][0]["spike_identical"] == 3
    assert [r["value"] for r in report["v_th"]] == [-51.0, -49.0]
    assert json.loads((out / "study.json").read_text())["noise"][1]["runs"] == 2
    rows = (out / "study.csv").read_text().splitlines()
    assert rows[0].startswith("study,value,unit,runs,accuracy,ci95_low") and len(rows) == 5
    assert (out / "study.pdf").stat().st_size > 0 and (out / "study.png").stat().st_size > 0


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("--noise", "0mV,-1mV", "--noise: must be positive or zero"),
        ("--noise", "0,1mV", "--noise: a bare number"),
        ("--noise", "nan", "--noise: cannot read 'nan'"),
        ("--vary", "v_rest=-60mV", "--vary v_rest: v_rest sets the initial value"),
        ("--vary", "nope=1mV", "--vary: model 'lif' has no parameter 'nope'"),
        ("--vary", "v_th=-50", "--vary v_th: a bare number"),
        ("--noise-seeds", "0", "--noise-seeds: must be an integer >= 1"),
    ],
)
def test_cli_bad_study_input_exits_2_and_writes_nothing(tmp_path, capsys, option, value, message):
    from dgnsim.cli import main

    out = tmp_path / "o"
    args = ["import", "checkpoints/lif", "--device", "numpy", "--limit", "2", "--out", str(out), option, value]
    if option == "--noise-seeds":
        args += ["--noise", "1mV"]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


# ----------------------------------------------------------------------------- C++ standalone


@pytest.mark.standalone
def test_standalone_study_one_binary_seeded_by_run_arguments(count_builds):
    """cpp_standalone: one compile for every point; sigma 0 is PyTorch's; the noise seed is a run argument
    (equal seeds, equal runs; the same spikes as the numpy target, whose generator Brian2 shares); Dask
    workers give the serial results."""
    net, x = _random_classifier("dgn", recurrent=False, seed=6, delays=(0, 3))
    labels = _labels(net, x)
    options = {"noise": [0 * mV, 3 * mV], "noise_seeds": 2, "vary": {"v_th": [-49 * mV]}, "progress": False}
    first = st.study(net, x, labels, device="cpp_standalone", **options)
    assert first.builds == 1 and first.compiled in (0, 1) and len(count_builds) == 1
    zero, noisy = first.by_study()["noise"]
    assert zero.identical.all() and not noisy.identical.all()
    again = st.study(net, x, labels, device="cpp_standalone", workers=2, **options)
    assert again.compiled == 0  # the same network: the binary is taken from the build cache
    runtime = st.study(net, x, labels, device="numpy", **options)
    for a, b, c in zip(first.levels, again.levels, runtime.levels):
        np.testing.assert_array_equal(a.hidden_spikes, b.hidden_spikes)
        np.testing.assert_array_equal(a.shared_spikes, b.shared_spikes)
        np.testing.assert_array_equal(a.hidden_spikes, c.hidden_spikes)
        np.testing.assert_array_equal(a.same_class, c.same_class)


@pytest.mark.standalone
@pytest.mark.slow
def test_committed_dgn_sigma_zero_spike_for_spike_standalone():
    result = st.study_test_split("checkpoints/dgn", limit=40, noise=[0 * mV], progress=False)
    zero = result.by_study()["noise"][0]
    assert zero.identical.shape == (1, 40) and zero.identical.all()
