"""The PyTorch surrogate: every model of ``equations/`` as a layer trainable with surrogate gradients.

Needs the optional ``torch`` extra (``pip install -e '.[torch]'``). The layers take their
parameters, units (mV, ms) and their discretisation from the model files: one layer step
executes the same step code as Brian2's 'sequential' state updater.
"""

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without torch only
    raise ImportError(
        "dgnsim.surrogate needs PyTorch: install the extra with  pip install -e '.[torch]'"
    ) from exc

from dgnsim.surrogate.layers import Classifier, Readout, SpikingLayer
from dgnsim.surrogate.program import StepProgram, compile_model
from dgnsim.surrogate.spikes import SURROGATES, spike_fn

__all__ = ["Classifier", "Readout", "SpikingLayer", "StepProgram", "compile_model", "SURROGATES", "spike_fn"]
