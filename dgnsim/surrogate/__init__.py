"""The PyTorch surrogate: every model of ``equations/`` as a layer trainable with surrogate gradients.

Needs the optional ``torch`` extra (``pip install -e '.[torch]'``). The layers take their
parameters, units (mV, ms) and their discretisation from the model files: one layer step
executes the same step code as Brian2's 'sequential' state updater. The step itself is a
pure function, :func:`step` (``z, state = step(jumps, state, parameters)``): the layers'
time loop and the gradient bridge both call it.
"""

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without torch only
    raise ImportError("dgnsim.surrogate needs PyTorch: install the extra with  pip install -e '.[torch]'") from exc

from dgnsim.surrogate.functional import StepParameters, StepState, initial_state, step
from dgnsim.surrogate.layers import Classifier, Readout, SpikingLayer
from dgnsim.surrogate.program import StepProgram, compile_model
from dgnsim.surrogate.spikes import SURROGATES, spike_fn

__all__ = [
    "SURROGATES",
    "Classifier",
    "Readout",
    "SpikingLayer",
    "StepParameters",
    "StepProgram",
    "StepState",
    "compile_model",
    "initial_state",
    "spike_fn",
    "step",
]
