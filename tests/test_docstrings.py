"""Every public function, method and class has a numpydoc docstring whose ``Parameters`` name its signature.

The public API is what the API reference documents (``docs/_ext/dgnsim_docs.py`` chooses it: each module's
``__all__``, else its own public functions and classes; the CLI's sub-command modules are left out). For each
function, each public method of a class (properties aside) and each class (the parameters of its ``__init__``),
the docstring, parsed with :mod:`numpydoc.docscrape`, must have a ``Parameters`` section that names exactly
the parameters of the signature (``self`` and ``cls`` aside; ``*args`` and ``**kwargs`` may share one entry).
A callable without parameters needs a docstring but no ``Parameters`` section.

``UNDOCUMENTED`` lists the names not yet documented so, each in a module that is being rewritten; it only
shrinks: a name on it that has been documented (or no longer exists) fails the test until it is taken off.
The documentation build enforces the Parameters rule on every docstring it renders (numpydoc's checks PR01
and PR02 in ``docs/conf.py``, which reads this list and leaves its names out, also under the names a package
re-exports them as); a callable with no docstring at all is caught by this test only (numpydoc's check for
that, GL08, also fires on attributes documented by a ``#:`` comment).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

#: Public names (module.qualname) whose docstring has no complete ``Parameters`` section yet.
UNDOCUMENTED: frozenset[str] = frozenset(
    {
        "dgnsim.analysis.gating.FIResult",
        "dgnsim.analysis.gating.FreqResult",
        "dgnsim.analysis.gating.GateResult",
        "dgnsim.analysis.gating.GateSpec",
        "dgnsim.analysis.gating.SNRResult",
        "dgnsim.analysis.gating.StepResult",
        "dgnsim.analysis.gating.TauResult",
        "dgnsim.analysis.gating.fi_curve",
        "dgnsim.analysis.gating.frequency_response",
        "dgnsim.analysis.gating.gate_dynamics",
        "dgnsim.analysis.gating.gate_spec",
        "dgnsim.analysis.gating.siegert_rate",
        "dgnsim.analysis.gating.snr_transfer",
        "dgnsim.analysis.gating.step_response",
        "dgnsim.analysis.gating.time_constants",
        "dgnsim.analysis.gating_linear.LinearModel",
        "dgnsim.analysis.gating_linear.LinearModel.transfer",
        "dgnsim.analysis.gating_linear.LinearModel.transfer_discrete",
        "dgnsim.analysis.gating_linear.step_map",
        "dgnsim.analysis.gating_rate.Membrane",
        "dgnsim.analysis.gating_rate.RateResult",
        "dgnsim.analysis.gating_rate.membrane",
        "dgnsim.analysis.gating_rate.rate_response",
        "dgnsim.analysis.gating_rate.shot_noise_theory",
        "dgnsim.analysis.stability.BoundRow",
        "dgnsim.analysis.stability.CheckReport",
        "dgnsim.analysis.stability.CheckRow",
        "dgnsim.analysis.stability.LinearNoise",
        "dgnsim.analysis.stability.MonteCarlo",
        "dgnsim.analysis.stability.TrialStatistics",
        "dgnsim.analysis.stability.autocorrelation_time",
        "dgnsim.analysis.stability.check",
        "dgnsim.analysis.stability.check_bound",
        "dgnsim.analysis.stability.diffusion_parameters",
        "dgnsim.analysis.stability.discrete_variance_dgn_diffusion",
        "dgnsim.analysis.stability.discrete_variance_lif",
        "dgnsim.analysis.stability.draw_parameter_sets",
        "dgnsim.analysis.stability.linear_noise_dgn",
        "dgnsim.analysis.stability.linear_noise_lif",
        "dgnsim.analysis.stability.monte_carlo",
        "dgnsim.analysis.stability.noise_compensation",
        "dgnsim.analysis.stability.seed_bound",
        "dgnsim.analysis.stability.stack_parameters",
        "dgnsim.analysis.stability.trial_statistics",
        "dgnsim.analysis.stability.variance_ratio",
        "dgnsim.brian.backend.Simulation",
        "dgnsim.brian.backend.Simulation.add",
        "dgnsim.brian.backend.Simulation.build",
        "dgnsim.brian.backend.Simulation.run",
        "dgnsim.brian.backend.configure_cuda",
        "dgnsim.brian.network.check_time_step",
        "dgnsim.brian.network.connect",
        "dgnsim.brian.network.frozen_noise",
        "dgnsim.brian.network.make_group",
        "dgnsim.brian.network.model_of",
        "dgnsim.brian.network.poisson_input",
        "dgnsim.brian.simulate.SimulationResult",
        "dgnsim.brian.simulate.simulate",
        "dgnsim.interop.bridge.Agreement",
        "dgnsim.interop.bridge.Agreement.as_dict",
        "dgnsim.interop.bridge.ForwardRecord",
        "dgnsim.interop.bridge.Layout",
        "dgnsim.interop.bridge.Layout.make",
        "dgnsim.interop.bridge.Layout.position",
        "dgnsim.interop.bridge.Layout.spikes",
        "dgnsim.interop.bridge.Layout.trace",
        "dgnsim.interop.bridge.SampleAgreement",
        "dgnsim.interop.bridge.brian2_values",
        "dgnsim.interop.bridge.build",
        "dgnsim.interop.bridge.check_input",
        "dgnsim.interop.bridge.compare",
        "dgnsim.interop.bridge.dense_pairs",
        "dgnsim.interop.bridge.from_surrogate_groups",
        "dgnsim.interop.bridge.load_surrogate",
        "dgnsim.interop.bridge.readout_logits",
        "dgnsim.interop.bridge.readout_v_rest",
        "dgnsim.interop.bridge.run_brian2",
        "dgnsim.interop.bridge.run_torch",
        "dgnsim.interop.bridge.to_surrogate",
        "dgnsim.surrogate.functional.StepParameters",
        "dgnsim.surrogate.functional.StepState",
        "dgnsim.surrogate.functional.initial_state",
        "dgnsim.surrogate.functional.refractory_steps",
        "dgnsim.surrogate.functional.step",
        "dgnsim.surrogate.layers.Classifier",
        "dgnsim.surrogate.layers.Classifier.forward",
        "dgnsim.surrogate.layers.Classifier.hidden_spikes",
        "dgnsim.surrogate.layers.Classifier.init_weights",
        "dgnsim.surrogate.layers.Classifier.project",
        "dgnsim.surrogate.layers.Classifier.regularizer",
        "dgnsim.surrogate.layers.Readout",
        "dgnsim.surrogate.layers.Readout.forward",
        "dgnsim.surrogate.layers.Readout.mean_response",
        "dgnsim.surrogate.layers.SpikingLayer",
        "dgnsim.surrogate.layers.SpikingLayer.delayed_input",
        "dgnsim.surrogate.layers.SpikingLayer.forward",
        "dgnsim.surrogate.layers.SpikingLayer.from_raw",
        "dgnsim.surrogate.layers.SpikingLayer.input_drive",
        "dgnsim.surrogate.layers.SpikingLayer.run",
        "dgnsim.surrogate.layers.SpikingLayer.step_parameters",
        "dgnsim.surrogate.layers.SpikingLayer.to_raw",
        "dgnsim.surrogate.layers.SpikingLayer.weights",
        "dgnsim.surrogate.layers.input_delays",
        "dgnsim.surrogate.layers.pool_logits",
        "dgnsim.surrogate.program.StepProgram",
        "dgnsim.surrogate.program.StepProgram.reset",
        "dgnsim.surrogate.program.compile_model",
        "dgnsim.surrogate.program.parameter_values",
        "dgnsim.surrogate.spikes.smooth_spike",
        "dgnsim.surrogate.spikes.spike_fn",
        "dgnsim.sweep.engine.SweepSummary",
        "dgnsim.sweep.engine.SweepSummary.as_dict",
        "dgnsim.sweep.engine.build_network",
        "dgnsim.sweep.engine.check_points",
        "dgnsim.sweep.engine.run_arg",
        "dgnsim.sweep.engine.run_sweep",
        "dgnsim.sweep.engine.standalone_plan",
        "dgnsim.sweep.engine.unread_variables",
        "dgnsim.sweep.spec.SweepSpec",
        "dgnsim.sweep.spec.Varied",
        "dgnsim.sweep.spec.load_spec",
        "dgnsim.sweep.spec.parse_spec",
        "dgnsim.sweep.store.SweepStore",
        "dgnsim.sweep.store.open_sweep",
        "dgnsim.sweep.worker.ArrayFile",
        "dgnsim.sweep.worker.RunPlan",
        "dgnsim.sweep.worker.reduce",
        "dgnsim.sweep.worker.run_point",
    }
)


def _docs_ext():
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import dgnsim_docs
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    return dgnsim_docs


def public_callables() -> Iterator[tuple[str, object]]:
    """``(qualified name, object)`` of each public function, class and method the API pages document."""
    ext = _docs_ext()
    for module_name in ext._api_modules():
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # an optional extra that is not installed (the API page is left out too)
            continue
        for name in ext._public_names(module):
            obj = getattr(module, name, None)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or obj.__module__ != module_name:
                continue  # data, or documented on the page of the module that defines it
            yield f"{module_name}.{obj.__qualname__}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or isinstance(member, property):
                        continue
                    if isinstance(member, staticmethod | classmethod):
                        member = member.__func__
                    if inspect.isfunction(member):
                        yield f"{module_name}.{obj.__qualname__}.{attr}", getattr(obj, attr)


def _own_init(cls: type) -> bool:
    """Whether a class has a constructor written in Python (not only object's or a builtin's)."""
    for klass in cls.__mro__:
        if klass is object or klass.__module__ == "builtins":
            return False
        if "__init__" in vars(klass) or "__new__" in vars(klass):
            return True
        if "__signature__" in vars(klass) or "__dataclass_fields__" in vars(klass):
            return True
    return False


def signature_names(obj) -> list[str]:
    """The parameters of a callable as its docstring names them (``*args``, ``**kwargs``; no ``self``)."""
    if inspect.isclass(obj) and not _own_init(obj):
        return []
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    names = []
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            names.append(f"*{p.name}")
        elif p.kind is p.VAR_KEYWORD:
            names.append(f"**{p.name}")
        else:
            names.append(p.name)
    if names and names[0] in ("self", "cls") and not inspect.isclass(obj):
        names = names[1:]
    return names


def problem(obj) -> str | None:
    """Why the docstring of ``obj`` is not complete, or None."""
    from numpydoc.docscrape import NumpyDocString

    doc = inspect.getdoc(obj) if not inspect.isclass(obj) else obj.__doc__
    if not doc or not doc.strip():
        return "no docstring"
    try:
        parsed = NumpyDocString(inspect.cleandoc(doc))
    except Exception as exc:  # numpydoc refuses the docstring
        return f"numpydoc cannot parse it: {exc}"
    documented = [n.strip().replace("\\", "") for p in parsed["Parameters"] for n in p.name.split(",")]
    expected = signature_names(obj)
    missing = [n for n in expected if n not in documented]
    unknown = [n for n in documented if n not in expected]
    if missing or unknown:
        return f"Parameters section: missing {missing}, unknown {unknown}"
    return None


@pytest.fixture(scope="module")
def problems() -> dict[str, str | None]:
    pytest.importorskip("sphinx", reason="the docs extra (pip install -e '.[docs]')")
    pytest.importorskip("numpydoc", reason="the docs extra (pip install -e '.[docs]')")
    return {name: problem(obj) for name, obj in public_callables()}


def test_the_public_api_is_found(problems):
    assert "dgnsim.core.models.load_model" in problems and "dgnsim.brian.backend.Simulation.run" in problems
    assert not any(".cli.commands." in name for name in problems)


def test_every_public_callable_has_its_parameters_documented(problems):
    bad = {name: why for name, why in problems.items() if why and name not in UNDOCUMENTED}
    assert not bad, "public callables without a complete numpydoc docstring:\n" + "\n".join(
        f"  {name}: {why}" for name, why in sorted(bad.items())
    )


def test_the_list_of_undocumented_names_only_shrinks(problems):
    stale = sorted(name for name in UNDOCUMENTED if name not in problems or not problems[name])
    assert not stale, "documented now (or gone): take them off UNDOCUMENTED in tests/test_docstrings.py: " + ", ".join(
        stale
    )
