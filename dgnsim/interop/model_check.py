"""The generic checks of one model file, as ``dgnsim check-model`` runs them.

A model that passes all four can be simulated, trained and bridged like the built-ins:

1. ``loads``: the file parses; every name is defined and every unit agrees
   (:func:`dgnsim.load_model`);
2. ``backends``: the runtime target (numpy) and C++ standalone give identical spikes and
   membrane traces for a small noisy network under Poisson input;
3. ``torch_step``: one step of the PyTorch surrogate equals one Brian2 step in float64,
   from the same varied states (every state variable, the threshold and the reset);
4. ``bridge``: a small surrogate network of the model, run in Brian2 through the
   bridge, gives the PyTorch spike trains exactly.

Each check returns a :class:`CheckResult`; a check that raises is a failure whose
detail is the error, so one broken part does not hide the others.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from brian2 import Hz, SpikeMonitor, StateMonitor, ms, mV

from dgnsim.brian.backend import Simulation
from dgnsim.brian.network import connect, frozen_noise, make_group, poisson_input
from dgnsim.core.models import ModelError, NeuronModel, load_model
from dgnsim.core.units import mv_ms_value

CHECKS = ("loads", "backends", "torch_step", "bridge")
#: Agreement required of the float64 torch step with Brian2's step (mV-ms numbers).
STEP_TOLERANCE = 1e-9


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: its name, whether it passed, what was measured, seconds taken.

    Parameters
    ----------
    name : str
        ``"loads"``, ``"backends"``, ``"torch_step"`` or ``"bridge"``.
    passed : bool
        Whether it passed.
    detail : str
        What was measured, or the error of a check that could not run.
    seconds : float (s)
        Wall time of the check.
    """

    name: str
    passed: bool
    detail: str
    seconds: float = 0.0


def check_model(model, *, device: str = "cpp_standalone", seed: int = 0) -> list[CheckResult]:
    """Run the four checks on a model; a check that raises fails with the error as its detail.

    Parameters
    ----------
    model : str, path-like or NeuronModel
        A model name, a path to a model file, or a loaded model.
    device : str
        The standalone side of the ``backends`` and ``bridge`` checks (``"cpp_standalone"``).
    seed : int
        Seed of the random inputs, states and weights.

    Returns
    -------
    list of CheckResult
        ``loads`` and, if the model loads, ``backends``, ``torch_step`` and ``bridge``.
    """
    start = time.perf_counter()
    try:
        spec = load_model(model)
    except ModelError as exc:
        return [CheckResult("loads", False, str(exc), time.perf_counter() - start)]
    results = [CheckResult("loads", True, _describe(spec), time.perf_counter() - start)]
    for name, check in (("backends", check_backends), ("torch_step", check_torch_step), ("bridge", check_bridge)):
        start = time.perf_counter()
        try:
            passed, detail = check(spec, device=device, seed=seed)
        except Exception as exc:  # a check that cannot run fails, with the reason
            passed, detail = False, f"{type(exc).__name__}: {exc}"
        results.append(CheckResult(name, passed, detail, time.perf_counter() - start))
    return results


def _describe(spec: NeuronModel) -> str:
    params = ", ".join(f"{p.name} [{p.unit_text}]" for p in spec.parameters.values())
    on_pre = "; ".join(line.strip() for line in spec.synapse.on_pre.splitlines() if line.strip())
    return (
        f"{spec.name}: state {', '.join(spec.update_order)}; threshold {spec.threshold!r}; "
        f"parameters {params}; synapse {on_pre!r}"
    )


# ----------------------------------------------------------------------------- 2. backends


def _drive(spec: NeuronModel, n: int) -> dict:
    """Neuron parameters that make a small network fire: noise and a spread of external drive."""
    params = {}
    if "noise_sigma" in spec.parameters:
        params["noise_sigma"] = 2 * mV
    if "I_ext" in spec.parameters and spec.parameters["I_ext"].scope == "neuron":
        params["I_ext"] = np.linspace(0, 4, n) * mV
    return params


def _synapse_values(spec: NeuronModel) -> dict:
    values = {"w": 10 * mV, "c": 0.3}
    return {k: v for k, v in values.items() if k in spec.synapse.parameters}


def _simulate(spec: NeuronModel, device: str, seed: int, n: int = 20, duration=300 * ms):
    with Simulation(device, seed=seed) as sim:
        params = _drive(spec, n)
        table = frozen_noise(n, duration, sim.dt, seed=seed + 3) if "noise_sigma" in params else None
        group = sim.add(make_group(spec, n, params, noise_table=table, name="neurons"))
        source = sim.add(poisson_input(40, 30 * Hz, duration, seed=seed + 1, name="input"))
        sim.add(connect(source, group, p=0.3, seed=seed + 2, delay=0.5 * ms, name="syn", **_synapse_values(spec)))
        spikes = sim.add(SpikeMonitor(group, name="spikes"))
        trace = sim.add(StateMonitor(group, spec.update_order[-1], record=[0, n - 1], name="trace"))
        sim.build(duration)
        sim.run()
        return (
            np.array(spikes.i[:]),
            np.array(spikes.t[:] / ms),
            np.array(getattr(trace, spec.update_order[-1])[:], dtype=float),
        )


def check_backends(spec: NeuronModel, *, device: str = "cpp_standalone", seed: int = 0) -> tuple[bool, str]:
    """Runtime (numpy) against ``device``: identical spikes and traces of the last-updated variable.

    A small noisy network of the model under Poisson input, run on both.

    Parameters
    ----------
    spec : NeuronModel
        The model.
    device : str
        The other Brian2 device (``"cpp_standalone"``).
    seed : int
        Seed of the network's noise and input.

    Returns
    -------
    passed : bool
        Whether both gave the same spikes and traces.
    detail : str
        What was compared, or where they first differ.
    """
    i_rt, t_rt, v_rt = _simulate(spec, "numpy", seed)
    i_sa, t_sa, v_sa = _simulate(spec, device, seed)
    if len(i_rt) < 10:
        return False, f"only {len(i_rt)} spikes in 300 ms of 20 neurons: too few to compare"
    same = (
        np.array_equal(i_rt, i_sa)
        and np.allclose(t_rt, t_sa, rtol=0, atol=1e-9)
        and np.allclose(v_rt, v_sa, rtol=1e-9, atol=1e-12)
    )
    if not same:
        first = next(
            (k for k in range(min(len(i_rt), len(i_sa))) if i_rt[k] != i_sa[k] or t_rt[k] != t_sa[k]),
            min(len(i_rt), len(i_sa)),
        )
        return False, f"numpy {len(i_rt)} spikes, {device} {len(i_sa)}; first difference at spike {first}"
    return True, f"numpy and {device}: {len(i_rt)} identical spikes, identical traces"


# ----------------------------------------------------------------------------- 3. torch step


def _varied_states(group, program, params, inv, rng) -> dict:
    """States (mV-ms numbers) around the group's initial state, as Brian2 evaluated it.

    Every variable gets a spread of +-6 mV (or units; dimensionless ones, the gates,
    stay non-negative), and the membrane is moved up to 1.3 times its distance to
    threshold, so that about a quarter of the neurons are past it: the step then tests
    the threshold and the reset too.
    """
    import torch

    states = {}
    for var in program.state_vars:
        base = np.asarray(getattr(group, var)[:] / _unit_of(group, var), dtype=float)
        values = base + rng.uniform(-6, 6, len(base))
        states[var] = np.abs(values) if group.variables[var].dim.is_dimensionless else values
    distance = program.distance({k: torch.as_tensor(v) for k, v in states.items()}, params, inv).numpy()
    states[program.membrane] = states[program.membrane] - distance * rng.uniform(0, 1.3, len(distance))
    return states


def check_torch_step(spec: NeuronModel, *, device: str = "cpp_standalone", seed: int = 0) -> tuple[bool, str]:
    """One surrogate step (float64) against one Brian2 step (numpy), from the same varied states.

    Parameters
    ----------
    spec : NeuronModel
        The model.
    device : str
        Not used (Brian2's side runs on numpy); accepted so that every check has one signature.
    seed : int
        Seed of the varied states.

    Returns
    -------
    passed : bool
        Whether every state variable, the threshold and the reset agree.
    detail : str
        The largest difference, or where they differ.
    """
    import torch

    from dgnsim.surrogate import compile_model
    from dgnsim.surrogate.program import parameter_values

    n, dt = 32, 0.1
    program = compile_model(spec)
    params = {k: torch.tensor(v, dtype=torch.float64) for k, v in parameter_values(spec).items()}
    inv = program.prepare(params, torch.tensor(dt, dtype=torch.float64))
    with Simulation("numpy", dt=dt * ms) as sim:
        group = sim.add(make_group(spec, n, name="neurons"))
        states = _varied_states(group, program, params, inv, np.random.default_rng(seed))
        for var, values in states.items():
            setattr(group, var, values * _unit_of(group, var))
        spikes = sim.add(SpikeMonitor(group))
        sim.build(dt * ms)
        sim.run()
        brian = {var: np.asarray(mv_ms_value(getattr(group, var)[:]), dtype=float) for var in spec.update_order}
        fired = np.zeros(n, dtype=bool)
        fired[np.asarray(spikes.i[:])] = True
    state = {k: torch.tensor(v, dtype=torch.float64) for k, v in states.items()}
    for var in spec.update_order:
        state[var] = program.advance[var](state, params, inv)
    distance = program.distance(state, params, inv)
    z = ((distance >= 0) if program.inclusive else (distance > 0)).to(torch.float64)
    state = program.reset(state, z, params)
    worst = max(float(np.max(np.abs(state[v].numpy() - brian[v]))) for v in spec.update_order)
    same_spikes = np.array_equal(z.numpy() > 0, fired)
    if worst > STEP_TOLERANCE or not same_spikes:
        return False, (
            f"largest state difference {worst:.3g} (mV-ms units; tolerance {STEP_TOLERANCE:g}); "
            f"spikes {'identical' if same_spikes else 'differ'} ({int(fired.sum())} in Brian2)"
        )
    return True, f"{n} neurons, one step of {dt} ms: states within {worst:.2g}, {int(fired.sum())} identical spikes"


def _unit_of(group, var: str):
    from brian2 import Quantity

    unit = Quantity(1.0, dim=group.variables[var].dim)
    return unit / float(mv_ms_value(unit))  # one mV-ms number of this variable


# ----------------------------------------------------------------------------- 4. bridge


def check_bridge(spec: NeuronModel, *, device: str = "cpp_standalone", seed: int = 0) -> tuple[bool, str]:
    """A small surrogate network of the model (12-16-3) on random inputs, bridged to Brian2.

    Parameters
    ----------
    spec : NeuronModel
        The model.
    device : str
        The Brian2 device of the bridged run.
    seed : int
        Seed of the weights and inputs.

    Returns
    -------
    passed : bool
        Whether every sample's spike trains are identical.
    detail : str
        Samples identical and spikes, or the first difference.
    """
    import torch

    from dgnsim.interop import bridge
    from dgnsim.surrogate import Classifier

    net = Classifier(spec, 12, 16, 3, seed=seed).double().eval()
    gen = torch.Generator().manual_seed(seed)
    x = (torch.rand(4, 60, 12, generator=gen) < 0.2).numpy().astype(float)
    reference = bridge.run_torch(net, x)
    other = bridge.run_brian2(net, x, device=device)
    agreement = bridge.compare(reference, other)
    n_spikes = int(reference.spikes.sum())
    if n_spikes == 0:
        return False, "the network does not spike on random input: nothing to compare"
    if agreement.spike_identical != agreement.n:
        return False, (
            f"{agreement.spike_identical}/{agreement.n} samples with identical spike trains "
            f"({n_spikes} spikes in PyTorch)"
        )
    return True, f"{agreement.n}/{agreement.n} samples identical on {device} ({n_spikes} spikes)"
