"""Shared test set-up: every test starts on the runtime device with a fresh scope."""

import os
import tempfile

import pytest
from brian2 import set_device, prefs

# Standalone builds of the tests go to one temporary root per session, unless set.
os.environ.setdefault("DGNSIM_BUILD_DIR", os.path.join(tempfile.gettempdir(), "dgnsim-test-builds"))


@pytest.fixture(autouse=True)
def runtime_device():
    """Reset Brian2 to the runtime device before and after each test."""
    set_device("runtime")
    prefs.codegen.target = "numpy"
    yield
    set_device("runtime")
    prefs.codegen.target = "numpy"
