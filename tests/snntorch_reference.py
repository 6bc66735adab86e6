"""Spikes of a two-layer snnTorch network (Linear, neuron, Linear, neuron) on an input sequence."""

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
