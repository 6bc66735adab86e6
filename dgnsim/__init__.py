"""dgnsim: Dynamic Gated Neurons and multi-timescale spiking neurons on Brian2.

The models live in ``equations/`` (one TOML file each); this package loads them,
builds Brian2 networks and runs them on the runtime target, C++ or CUDA standalone.
"""

from .backend import DEVICES, BackendError, Simulation
from .models import ModelError, NeuronModel, Parameter, list_models, load_model
from .network import connect, frozen_noise, make_group, model_of, poisson_input

__all__ = [
    "DEVICES", "BackendError", "Simulation", "ModelError", "NeuronModel", "Parameter",
    "list_models", "load_model", "connect", "frozen_noise", "make_group", "model_of",
    "poisson_input",
]
__version__ = "0.1.0"
