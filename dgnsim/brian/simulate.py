"""The main simulation job: a population of one model driven by Poisson input.

Each neuron receives about ``inputs_per_neuron`` synapses from a pool of independent
Poisson sources (four times as many sources as synapses per neuron, each pair
connected with probability 1/4), with the model's synapse (``w``, and ``c`` for the
DGN family). All randomness is drawn from ``seed``, so every backend simulates the
same network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import Hz, Quantity, SpikeMonitor, StateMonitor, ms, second

from dgnsim.brian.backend import Simulation
from dgnsim.brian.network import connect, frozen_noise, make_group, poisson_input
from dgnsim.core.models import dimension_text, load_model
from dgnsim.core.units import require_quantity

POOL_FACTOR = 4


@dataclass
class SimulationResult:
    """Spikes (indices, times in s) and state traces of the recorded neurons.

    Parameters
    ----------
    model : str
        The model's name.
    device : str
        The backend it ran on.
    seed : int
        The seed of all its randomness.
    n_neurons : int
        Number of neurons.
    duration_s : float (s)
        Simulated time.
    dt_s : float (s)
        Time step.
    spike_i : numpy.ndarray
        Neuron index of each spike.
    spike_t_s : numpy.ndarray (s)
        Time of each spike.
    trace_t_s : numpy.ndarray (s)
        Times of the recorded traces.
    traces : dict
        ``{variable: (n_recorded, n_steps) array}`` in SI units.
    trace_units : dict
        ``{variable: unit text}`` of the traces.
    recorded : numpy.ndarray
        Indices of the recorded neurons.
    timings : dict
        The backend's timings (``network_s``: the binary's own run time, ...).
    """

    model: str
    device: str
    seed: int
    n_neurons: int
    duration_s: float
    dt_s: float
    spike_i: np.ndarray
    spike_t_s: np.ndarray
    trace_t_s: np.ndarray
    traces: dict[str, np.ndarray]  # variable -> (n_recorded, n_steps), SI units
    trace_units: dict[str, str]
    recorded: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def mean_rate_hz(self) -> float:
        """Mean firing rate over neurons and time (Hz)."""
        return len(self.spike_i) / (self.n_neurons * self.duration_s)


def simulate(
    model,
    n_neurons: int,
    duration: Quantity,
    input_rate: Quantity,
    *,
    device: str = "numpy",
    seed: int = 0,
    dt: Quantity = 0.1 * ms,
    inputs_per_neuron: int = 100,
    synapse: dict | None = None,
    params: dict | None = None,
    n_record: int = 3,
    frozen: bool = True,
    progress: bool = False,
    dtype=None,
) -> SimulationResult:
    """Simulate ``n_neurons`` of ``model`` (a name, a path or a record) for ``duration`` under Poisson input.

    Parameters
    ----------
    model : str, pathlib.Path or NeuronModel
        The model.
    n_neurons : int
        Number of neurons.
    duration : Quantity (time)
        Simulated time.
    input_rate : Quantity (frequency)
        Rate of each Poisson source.
    device : str
        The backend (one of ``dgnsim.brian.backend.DEVICES``).
    seed : int
        Seed of the connectivity, the input trains and the frozen noise.
    dt : Quantity (time)
        Time step.
    inputs_per_neuron : int
        Mean number of input synapses per neuron.
    synapse : dict, optional
        Values of the model's synapse parameters (e.g. ``{"w": 2*mV}``).
    params : dict, optional
        Neuron parameter overrides (``noise_sigma`` switches noise on).
    n_record : int
        Number of neurons whose state variables are recorded.
    frozen : bool
        With noise: draw it from a numpy table, identical on every backend.
    progress : bool
        Report progress on stderr.
    dtype : numpy floating-point type, optional
        Type of the neurons' and synapses' variables (e.g. ``numpy.float32``); default float64.

    Returns
    -------
    SimulationResult

    Raises
    ------
    ValueError
        If ``input_rate`` is negative or ``n_neurons`` not a positive integer.
    """
    spec = load_model(model)
    duration = require_quantity("duration", duration, second, "s")
    input_rate = require_quantity("input_rate", input_rate, Hz, "Hz")
    if float(input_rate) < 0:
        raise ValueError(f"input_rate: must not be negative, got {input_rate!r}")
    if not isinstance(n_neurons, int) or n_neurons < 1:
        raise ValueError(f"neurons: a positive integer, got {n_neurons!r}")
    params = dict(params or {})
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**31, size=3)
    n_sources = POOL_FACTOR * inputs_per_neuron
    with Simulation(device, dt=dt, seed=seed, progress=progress) as sim:
        table = None
        if "noise_sigma" in params and frozen:
            table = frozen_noise(n_neurons, duration, dt, seed=int(seeds[2]))
        group = sim.add(make_group(spec, n_neurons, params, noise_table=table, dt=dt, name="neurons", dtype=dtype))
        source = sim.add(poisson_input(n_sources, input_rate, duration, seed=int(seeds[0]), dt=dt, name="input"))
        sim.add(
            connect(
                source,
                group,
                p=1 / POOL_FACTOR,
                seed=int(seeds[1]),
                name="input_synapses",
                dtype=dtype,
                **(synapse or {}),
            )
        )
        record = np.arange(min(n_record, n_neurons))
        spikes = sim.add(SpikeMonitor(group, name="spikes"))
        states = sim.add(StateMonitor(group, list(spec.update_order), record=record, name="states"))
        sim.build(duration)
        sim.run()
        result = SimulationResult(
            model=spec.name,
            device=device,
            seed=seed,
            n_neurons=n_neurons,
            duration_s=float(duration),
            dt_s=float(dt),
            spike_i=np.array(spikes.i[:], dtype=np.int32),
            spike_t_s=np.array(spikes.t[:] / second),
            trace_t_s=np.array(states.t[:] / second),
            traces={v: np.array(getattr(states, v)[:]) for v in spec.update_order},
            trace_units={v: _si_unit(group, v) for v in spec.update_order},
            recorded=record,
            timings=dict(sim.timings),
        )
    return result


def _si_unit(group, var: str) -> str:
    return dimension_text(Quantity(1.0, dim=group.variables[var].dim))
