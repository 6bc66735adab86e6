"""The lean bridge: bit-packed input table, inputs as a run argument, a build reused in the process.

The input table is checked against an independent decoding of its bits (integer shifts);
the standalone runs against the float64 PyTorch pass, spike for spike, on two different
inputs of one shape through one binary.
"""

import numpy as np
import pytest
import torch

from dgnsim.interop import bridge
from dgnsim.surrogate import Classifier


def _decode(table: np.ndarray, n: int) -> np.ndarray:
    """Bit ``k`` of number ``w`` of each row, for neurons ``j = INPUT_BITS*w + k``, by integer shifts."""
    words = table.astype(np.uint64)
    j = np.arange(n)
    return ((words[:, j // bridge.INPUT_BITS] >> (j % bridge.INPUT_BITS).astype(np.uint64)) & np.uint64(1)).astype(bool)


@pytest.mark.parametrize("kind", bridge.LAYOUTS)
def test_input_table_holds_each_spike_at_its_step(kind):
    rng = np.random.default_rng(1)
    x = rng.random((5, 9, 101)) < 0.3  # 101 channels: not a multiple of the bits per number
    lay = bridge.Layout.make(kind, 5, 9, gap=3)
    table = bridge.input_table(lay, x)
    assert table.shape == (lay.total_steps + 1, -(-lay.copies * 101 // bridge.INPUT_BITS))
    assert np.all(table == np.round(table)) and table.max() < 2.0**bridge.INPUT_BITS
    expected = np.zeros((lay.total_steps + 1, lay.copies * 101), dtype=bool)
    for b, t, c in zip(*np.nonzero(x), strict=True):  # one spike at a time, through Layout.position
        copy, step = lay.position(np.array([b]), np.array([t]))
        expected[step[0], copy[0] * 101 + c] = True
    np.testing.assert_array_equal(_decode(table, lay.copies * 101), expected)


def _network(seed=3):
    net = Classifier("dgn", 12, 16, 5, seed=seed, bias=14.0, delays=(0, 2)).double()
    net.project()
    gen = torch.Generator().manual_seed(seed)
    xs = [(torch.rand(4, 50, 12, generator=gen) < 0.3).numpy().astype(np.uint8) for _ in range(2)]
    return net, xs


@pytest.mark.standalone
@pytest.mark.parametrize("layout", bridge.LAYOUTS)
def test_one_binary_runs_new_inputs_spike_for_spike(layout, tmp_path, monkeypatch):
    monkeypatch.setenv("DGNSIM_BUILD_DIR", str(tmp_path))
    net, (x1, x2) = _network()
    assert not np.array_equal(x1, x2)
    first = bridge.run_brian2(net, x1, "cpp_standalone", layout=layout)
    second = bridge.run_brian2(net, x2, "cpp_standalone", layout=layout)
    again = bridge.run_brian2(net, x2, "cpp_standalone", layout=layout, reuse_build=False)  # as a new process
    assert not first.timings.get("in_process") and second.timings["in_process"]
    assert not again.timings.get("in_process") and again.timings["reused"]  # objects anew, binary from the cache
    np.testing.assert_array_equal(again.spikes, second.spikes)
    for rec in (first, second, again):  # the binary's own clock, read from its results, inside the wall time
        assert 0 < rec.timings["network_s"] < rec.seconds
    assert len(list(tmp_path.glob("cpp_standalone-*"))) == 1  # one build serves both inputs
    for x, rec in ((x1, first), (x2, second)):
        a = bridge.compare(bridge.run_torch(net, x), rec)
        assert a.spike_identical == a.n, [s for s in a.samples if not s.identical]
        assert a.max_logit_difference_mv < 1e-9
        assert rec.spikes.any()
    # the runtime target (its own input table, no run argument) agrees as well
    runtime = bridge.run_brian2(net, x2, "numpy", layout=layout)
    np.testing.assert_array_equal(runtime.spikes, second.spikes)
    assert not list((tmp_path / next(tmp_path.glob("cpp_standalone-*")).name / "results").iterdir())
