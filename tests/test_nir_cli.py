"""``dgnsim nir run``: a graph written by snnTorch, run from the command line, gives the spikes of
snnTorch's own ``import_from_nir``; bad input is refused (exit 2, the option named, nothing written)."""

import json

import numpy as np
import pytest
from run_cli import in_process, in_subprocess
from snntorch_reference import export, snntorch_import_spikes, snntorch_net


@pytest.fixture(scope="module")
def graph_file(tmp_path_factory):
    """snnTorch's export of Linear(bias) + Synaptic (6 -> 10 -> 4), written with nir.write."""
    import nir

    graph = export(snntorch_net("Synaptic", seed=5, bias=True), 6)
    path = tmp_path_factory.mktemp("nir") / "net.nir"
    nir.write(str(path), graph)
    return path, graph


def _spikes(rng, shape):
    return (rng.random(shape) < 0.3).astype(np.uint8)


def test_run_writes_snntorch_spikes(graph_file, tmp_path):
    path, graph = graph_file
    x = _spikes(np.random.default_rng(5), (3, 60, 6))
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    r = in_process(
        "nir", "run", str(path), "--input", str(tmp_path / "x.npy"), "--device", "numpy", "--out", str(out), "--json"
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    ref = snntorch_import_spikes(graph, x)
    with np.load(out / "spikes.npz") as f:
        assert sorted(f.files) == ["1.spikes", "3.spikes"]
        for name, spikes in ref.items():
            assert spikes.sum() > 30, f"layer {name}: the comparison needs spikes"
            np.testing.assert_array_equal(f[f"{name}.spikes"], spikes, err_msg=f"layer {name}")
    assert [(la["name"], la["spikes"]) for la in summary["layers"]] == [(k, int(s.sum())) for k, s in ref.items()]
    assert summary["input_shape"] == [3, 60, 6]

    # (time, channels): one sample, written without the batch axis
    np.save(tmp_path / "x0.npy", x[0].astype(float))
    r = in_process(
        "nir",
        "run",
        str(path),
        "--input",
        str(tmp_path / "x0.npy"),
        "--device",
        "numpy",
        "--out",
        str(tmp_path / "one"),
    )
    assert r.returncode == 0, r.stderr
    assert "layer 1 (lif, 10 neurons)" in r.stdout
    with np.load(tmp_path / "one" / "spikes.npz") as f:
        np.testing.assert_array_equal(f["3.spikes"], ref["3"][0])


def _bad(tmp_path, graph, *extra, input_array=None, input_bytes=None):
    if input_array is not None:
        np.save(tmp_path / "in.npy", input_array)
    if input_bytes is not None:
        (tmp_path / "in.npy").write_bytes(input_bytes)
    out = tmp_path / "never"
    r = in_process(
        "nir", "run", str(graph), "--input", str(tmp_path / "in.npy"), "--device", "numpy", "--out", str(out), *extra
    )
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert not out.exists(), "nothing may be written on bad input"
    return r.stderr


def test_bad_input_is_refused(graph_file, tmp_path):
    path, _ = graph_file
    good = _spikes(np.random.default_rng(0), (2, 10, 6))
    cases = [
        (dict(input_array=good[0, :, :5]), "--input: 5 channels, but the graph's input has 6"),
        (dict(input_array=good[:, :, :, None]), r"--input: must be \(time, channels\) or \(batch, time, channels\)"),
        (dict(input_array=good[0, 0]), r"--input: must be \(time, channels\)"),
        (dict(input_array=good * 2.5), "--input: must contain only 0 and 1"),
        (dict(input_array=np.where(good > 0, np.nan, 0.0)), "--input: contains NaN"),
        (dict(input_array=np.array([["1", "0"]] * 3)), "--input: must hold numbers"),
        (dict(input_array=np.zeros((0, 6))), "--input: needs at least one sample and one step"),
        (dict(input_bytes=b"\x93NUMPY garbage"), "--input: .* is not a readable .npy array"),
    ]
    for kw, message in cases:
        assert __import__("re").search(message, _bad(tmp_path, path, **kw)), message
    # missing files, a corrupt graph, a graph dgnsim cannot carry, a dt without unit
    assert "--input: no such file" in _bad(tmp_path / "none", path)
    assert "GRAPH: no such file" in _bad(tmp_path, tmp_path / "missing.nir", input_array=good)
    (tmp_path / "corrupt.nir").write_bytes(path.read_bytes()[:200])
    assert "GRAPH: " in (msg := _bad(tmp_path, tmp_path / "corrupt.nir", input_array=good))
    assert "not a readable NIR file" in msg
    assert "--dt: a bare number" in _bad(tmp_path, path, "--dt", "1", input_array=good)
    assert "--dt: must be positive" in _bad(tmp_path, path, "--dt=-1ms", input_array=good)


def test_graph_without_counterpart_is_refused(tmp_path):
    import nir

    nodes = {
        "input": nir.Input(input_type={"input": np.array([2])}),
        "w": nir.Affine(weight=np.eye(2), bias=np.ones(2)),
        "if": nir.IF(r=np.ones(2), v_threshold=np.ones(2)),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }
    graph = nir.NIRGraph(nodes=nodes, edges=[("input", "w"), ("w", "if"), ("if", "output")])
    nir.write(str(tmp_path / "if.nir"), graph)
    msg = _bad(tmp_path, tmp_path / "if.nir", input_array=np.zeros((5, 2)))
    assert "GRAPH: NIR node 'if': a nonzero Affine bias before an IF node" in msg


def test_unknown_device_is_refused(graph_file, tmp_path):
    """argparse refuses it before anything runs (exit 2, the option named); as a user runs it."""
    path, _ = graph_file
    np.save(tmp_path / "x.npy", np.zeros((4, 6)))
    r = in_subprocess(
        "nir", "run", str(path), "--input", str(tmp_path / "x.npy"), "--device", "gpu", "--out", str(tmp_path / "never")
    )
    assert r.returncode == 2 and "--device" in r.stderr and "invalid choice: 'gpu'" in r.stderr
    assert not (tmp_path / "never").exists()
