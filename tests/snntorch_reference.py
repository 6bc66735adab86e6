"""Independent references for the NIR tests: snnTorch networks, snnTorch's and Norse's NIR imports.

Arrays of spikes are numpy (batch, time, neurons) as in :func:`dgnsim.interop.nir.run_nir`,
except :func:`snntorch_spikes`, which takes snnTorch's (time, batch, inputs).
"""

import contextlib
import copy
import io

import numpy as np
import torch


def snntorch_spikes(net, x):
    """Hidden and output spikes as boolean arrays (batch, time, neurons); ``x`` is (time, batch, inputs)."""
    from snntorch import utils as snn_utils

    snn_utils.reset(net)
    hidden, output = [], []
    with torch.no_grad():
        for t in range(x.shape[0]):
            h = net[1](net[0](x[t]))
            hidden.append(h)
            output.append(net[3](net[2](h)))
    return [torch.stack(s).transpose(0, 1).numpy() > 0 for s in (hidden, output)]


def float64(net):
    """``net`` in float64, its spikes too (snnTorch's spikes stay float32 unless
    ``graded_spikes_factor`` is a float64 tensor, and a float64 Linear refuses them)."""
    import snntorch as snn

    net = net.double()
    for m in net.modules():
        if isinstance(m, snn.SpikingNeuron):
            m.graded_spikes_factor = torch.ones(1, dtype=torch.float64)
    return net


def snntorch_net(neuron, seed=0, bias=True, sizes=(6, 10, 4)):
    """``nn.Linear -> neuron -> nn.Linear -> neuron`` in float64 with random weights (seeded).

    ``neuron``: ``"Synaptic"`` or ``"Leaky"``, per-neuron alpha and beta, threshold 1, reset to
    zero right after the spike (``reset_delay=False``, the form snnTorch's ``import_from_nir``
    builds). Weights and biases are rounded to float32, as snnTorch's import reads them
    (``torch.Tensor``), so the network, its NIR graph and snnTorch's import hold the same numbers.
    """
    import snntorch as snn

    torch.manual_seed(seed)
    n_in, n_h, n_out = sizes
    kw = dict(reset_mechanism="zero", reset_delay=False, init_hidden=True)

    def layer(n, lo, hi):
        decay = dict(beta=torch.linspace(hi - 0.1, hi, n))
        if neuron == "Synaptic":
            decay["alpha"] = torch.linspace(lo, lo + 0.2, n)
        return getattr(snn, neuron)(threshold=torch.ones(n), **decay, **kw)

    net = torch.nn.Sequential(
        torch.nn.Linear(n_in, n_h, bias=bias),
        layer(n_h, 0.65, 0.95),
        torch.nn.Linear(n_h, n_out, bias=bias),
        layer(n_out, 0.7, 0.9),
    )
    with torch.no_grad():
        net[0].weight.mul_(1.2 if neuron == "Leaky" else 0.6)
        net[2].weight.abs_().mul_(1.6 if neuron == "Leaky" else 0.4)
        if bias and neuron == "Synaptic":  # the current sums the bias: keep its drive moderate
            net[0].bias.mul_(0.4)
            net[2].bias.mul_(0.4)
        for p in net.parameters():
            p.copy_(p.float())
    return float64(net)


def export(net, n_in):
    """snnTorch's ``export_to_nir`` of ``net`` (its tracing output silenced)."""
    from snntorch.export_nir import export_to_nir

    with contextlib.redirect_stdout(io.StringIO()):
        return export_to_nir(net, torch.zeros(n_in, dtype=torch.float64))


def _record(module, x, names, call):
    """Run ``module`` step by step on ``x`` (batch, time, n), recording its submodules ``names``'
    spikes (a submodule's output, or its first element); ``call(x_t, state) -> state``."""
    rec = {name: [] for name in names}
    hooks = []
    for name in names:

        def hook(mod, args, out, name=name):
            rec[name].append((out[0] if isinstance(out, tuple) else out).detach().clone())

        hooks.append(module.get_submodule(name).register_forward_hook(hook))
    state = None
    with torch.no_grad():
        xt = torch.as_tensor(np.asarray(x)).transpose(0, 1)
        for t in range(xt.shape[0]):
            state = call(xt[t], state)
    for h in hooks:
        h.remove()
    return {name: torch.stack(s).transpose(0, 1).numpy() > 0 for name, s in rec.items()}


def snntorch_import_spikes(graph, x):
    """Spikes of every neuron node of ``graph``, run by snnTorch's own ``import_from_nir``.

    ``{node name: bool (batch, time, n)}``; the module runs in float64 (its parameters,
    computed in float64 from the graph, are kept; its float32 weights become float64).
    """
    import snntorch as snn
    from snntorch.import_nir import import_from_nir

    with contextlib.redirect_stdout(io.StringIO()):  # it prints its progress
        module = float64(import_from_nir(copy.deepcopy(graph)))  # it rewrites the graph it is given
    names = [k for k, m in module.named_children() if isinstance(m, snn.SpikingNeuron)]

    def step(x_t, state):
        module(x_t.double())

    return _record(module, x, names, step)


def norse_spikes(graph, x, dt):
    """Spikes of every spiking node of ``graph`` run by Norse's ``from_nir`` at step ``dt`` (s).

    Norse as it ships: float32 parameters, forward Euler at ``dt``. ``{node name: bool
    (batch, time, n)}``. Norse 1.1.0 reads NIR in its own way: a CubaLIF's synaptic current
    relaxes to ``v_leak`` (NIR: to 0), the reset is to 0 (NIR's ``v_reset`` is not read), the
    membrane starts at ``v_leak``, LIF's ``r`` is taken as 1, and a CubaLI node is dropped.
    """
    import norse.torch

    module = norse.torch.from_nir(graph, dt=dt)
    kinds = (norse.torch.utils.import_nir.CubaLIF, norse.torch.LIFBoxCell, norse.torch.IAFCell)
    names = [k for k, m in module.named_children() if isinstance(m, kinds)]

    def step(x_t, state):
        return module(x_t.float(), state)[1]

    return _record(module, x, names, step)
