"""Shared test set-up: every test starts on the runtime device with a fresh scope."""

import os
import tempfile

import pytest
from brian2 import prefs, set_device

# Standalone builds of the tests go to one temporary root per session, unless set.
os.environ.setdefault("DGNSIM_BUILD_DIR", os.path.join(tempfile.gettempdir(), "dgnsim-test-builds"))


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run CUDA code: without a GPU they are reported as skipped, with the reason."""
    from dgnsim.brian.backend import gpu_available

    if gpu_available():
        return
    no_gpu = pytest.mark.skip(reason="needs an NVIDIA GPU (nvidia-smi lists none); run `pytest -m gpu` on one")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(no_gpu)


@pytest.fixture(autouse=True)
def runtime_device():
    """Reset Brian2 to the runtime device before and after each test."""
    set_device("runtime")
    prefs.codegen.target = "numpy"
    yield
    set_device("runtime")
    prefs.codegen.target = "numpy"
