"""dgnsim: Dynamic Gated Neurons and multi-timescale spiking neurons on Brian2.

The models are model files (TOML; the built-ins in ``dgnsim.equations``, a user's own by
path or on the model search path). This package loads them, builds Brian2 networks and
runs them on the runtime target, C++ or CUDA standalone. Subpackages, by concern:
``core`` (models, units, integration, expressions), ``brian`` (networks, backends),
``analysis``, ``surrogate`` (PyTorch), ``fsdd`` (the FSDD task), ``interop`` (bridge,
NIR), ``io`` (files, checkpoints), ``viz`` (plots), ``cli``.
"""

__version__ = "0.2.0"

from dgnsim.brian.backend import DEVICES, BackendError, Simulation
from dgnsim.brian.network import connect, frozen_noise, make_group, model_of, poisson_input
from dgnsim.core.models import (
    ModelError,
    NeuronModel,
    Parameter,
    add_model_path,
    find_model,
    list_models,
    load_model,
    model_path,
)

__all__ = [
    "DEVICES",
    "BackendError",
    "ModelError",
    "NeuronModel",
    "Parameter",
    "Simulation",
    "__version__",
    "add_model_path",
    "connect",
    "find_model",
    "frozen_noise",
    "list_models",
    "load_model",
    "make_group",
    "model_of",
    "model_path",
    "poisson_input",
]
