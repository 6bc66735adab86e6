"""Trained-network files, the readout filter, attacks and perturbed evaluation."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dgnsim.fsdd.attacks import attack
from dgnsim.io import checkpoint
from dgnsim.io.checkpoint import CheckpointError
from dgnsim.surrogate import Classifier
from dgnsim.surrogate.layers import pool_logits

COMMITTED = Path(__file__).resolve().parent.parent / "checkpoints"


def _net(model="dgn", seed=0):
    net = Classifier(model, 40, 16, 10, seed=seed)
    with torch.no_grad():
        net.readout.p_I_ext.copy_(torch.linspace(-1, 1, 10))
    return net


def test_readout_filter_equals_step_by_step_loop():
    net = _net().double()
    x = (torch.rand(100, 5, 16, generator=torch.Generator().manual_seed(1)) < 0.3).double()
    _, traces = net.readout.run(x, record=True)
    loop = pool_logits(traces["v"] - net.readout.neuron_params()["v_rest"], "mean")
    np.testing.assert_allclose(net.readout(x).detach().numpy(), loop.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_save_load_round_trip_is_exact(tmp_path):
    net = _net("multiscale")
    checkpoint.save(net, tmp_path, encoding={"key": "k"}, split="official")
    loaded, manifest = checkpoint.load(tmp_path)
    assert manifest["model"] == "multiscale" and manifest["layers"]["hidden"] == 16
    for (k1, a), (k2, b) in zip(net.state_dict().items(), loaded.state_dict().items()):
        assert k1 == k2
        # positive parameters are stored as values and re-logged: equal to float32 rounding
        torch.testing.assert_close(a, b, rtol=1e-6, atol=0)
    x = (torch.rand(3, 100, 40) < 0.2).float()
    assert torch.equal(net(x).argmax(1), loaded(x).argmax(1))


def test_input_delays_survive_save_and_load(tmp_path):
    net = Classifier("dgn", 40, 16, 10, seed=1, delays=(0, 4))
    assert net.hidden.W_w.shape == (80, 16) and net.hidden.W_c.shape == (80, 16)
    checkpoint.save(net, tmp_path, encoding={"key": "k"}, split="official")
    loaded, manifest = checkpoint.load(tmp_path)
    assert manifest["config"]["delays"] == [0.0, 4.0] and loaded.hidden.delay_steps == (0, 4)
    x = (torch.rand(3, 100, 40, generator=torch.Generator().manual_seed(2)) < 0.2).float()
    torch.testing.assert_close(net(x), loaded(x), rtol=1e-5, atol=1e-5)
    # a plain state_dict records no delays: the bridge reads it with the delays given
    from dgnsim.interop import bridge

    torch.save(net.state_dict(), tmp_path / "sd.pt")
    plain, _ = bridge.load_surrogate(tmp_path / "sd.pt", model="dgn", delays=[0, 4])
    assert plain.hidden.n_in == 40 and plain.hidden.delay_steps == (0, 4)
    torch.testing.assert_close(net.double()(x.double()), plain(x.double()), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:100]),
            "changed or damaged",
        ),
        (lambda d: (d / "model.safetensors").unlink(), "missing"),
        (lambda d: (d / "manifest.json").write_text("{"), "not valid JSON"),
    ],
)
def test_damaged_files_are_refused(tmp_path, damage, message):
    checkpoint.save(_net(), tmp_path, encoding={"key": "k"}, split="official")
    damage(tmp_path)
    with pytest.raises((CheckpointError, FileNotFoundError), match=message):
        checkpoint.load(tmp_path)


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _header_length(path: Path) -> int:
    """safetensors layout: an 8-byte little-endian header length, the JSON header, the tensor bytes."""
    return 8 + int.from_bytes(path.read_bytes()[:8], "little")


@pytest.mark.parametrize("where", ["tensor", "header"])
def test_a_flipped_byte_is_refused_by_load_evaluate_import_and_load_surrogate(tmp_path, where):
    """One bit changed inside a weight (a plausible value, which would load) or inside the JSON
    header: every entry point refuses the file and names it."""
    from run_cli import in_process

    from dgnsim.interop.bridge import load_surrogate

    checkpoint.save(_net(), tmp_path, encoding={"key": "k"}, split="official")
    tensors = tmp_path / "model.safetensors"
    start = _header_length(tensors)
    offset = start + (len(tensors.read_bytes()) - start) // 2 if where == "tensor" else 20
    _flip_byte(tensors, offset)
    with pytest.raises(CheckpointError, match=r"model\.safetensors: its sha256 .* differs"):
        checkpoint.load(tmp_path)
    with pytest.raises(CheckpointError, match="differs from the one recorded"):
        load_surrogate(tmp_path)
    for command in (
        ("evaluate", str(tmp_path)),
        ("import", str(tmp_path), "--limit", "2", "--out", str(tmp_path / "out")),
    ):
        result = in_process(*command)
        assert result.returncode == 2, (command, result.stderr)
        assert "model.safetensors: its sha256" in result.stderr
        assert not (tmp_path / "out").exists()


def test_a_manifest_without_the_tensor_hash_is_refused(tmp_path):
    checkpoint.save(_net(), tmp_path, encoding={"key": "k"}, split="official")
    man = json.loads((tmp_path / "manifest.json").read_text())
    del man["safetensors_sha256"]
    (tmp_path / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(CheckpointError, match="records no sha256 of model.safetensors"):
        checkpoint.load(tmp_path)


def _rewrite_tensors(directory: Path, tensors: dict) -> None:
    """Write other tensors and record their hash, as a consistent (but bad) checkpoint."""
    from safetensors.torch import save_file

    save_file(tensors, str(directory / "model.safetensors"))
    man = json.loads((directory / "manifest.json").read_text())
    man["safetensors_sha256"] = checkpoint.file_sha256(directory / "model.safetensors")
    (directory / "manifest.json").write_text(json.dumps(man))


def test_changed_equations_nan_and_shape_are_refused(tmp_path):
    from safetensors.torch import load_file

    checkpoint.save(_net(), tmp_path, encoding={"key": "k"}, split="official")
    man = json.loads((tmp_path / "manifest.json").read_text())
    man["equations_sha256"] = "0" * 64
    (tmp_path / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(CheckpointError, match="different equations"):
        checkpoint.load(tmp_path)
    checkpoint.save(_net(), tmp_path, encoding={"key": "k"}, split="official")
    tensors = load_file(str(tmp_path / "model.safetensors"))
    bad = dict(tensors)
    bad["hidden.W_w"] = bad["hidden.W_w"].clone()
    bad["hidden.W_w"][0, 0] = float("nan")
    _rewrite_tensors(tmp_path, bad)
    with pytest.raises(CheckpointError, match="NaN or Inf"):
        checkpoint.load(tmp_path)
    bad = dict(tensors)
    bad["hidden.W_c"] = bad["hidden.W_c"][:, :3].contiguous()
    _rewrite_tensors(tmp_path, bad)
    with pytest.raises(CheckpointError, match="shape"):
        checkpoint.load(tmp_path)


@pytest.mark.parametrize("name", ["dgn", "dgn_nodelay", "lif", "lif_delays"])
def test_committed_checkpoints_load_and_are_small(name):
    _net, manifest = checkpoint.load(COMMITTED / name)
    assert manifest["test_accuracy"] > 0.9
    assert sum(p.stat().st_size for p in COMMITTED.rglob("*") if p.name != "checkpoint.pt") < 5_000_000


def test_the_default_checkpoint_is_the_delayed_dgn():
    """The main job and the bridge default to checkpoints/dgn: the best network (input delays)."""
    _net, manifest = checkpoint.load(COMMITTED / "dgn")
    assert manifest["model"] == "dgn" and manifest["config"]["delays"] == [0.0, 10.0, 20.0]
    assert manifest["split"] == "official" and manifest["test_accuracy"] >= 0.985


@pytest.mark.parametrize("kind", ["fgsm", "bim", "pgd"])
def test_attacks_respect_budget_and_raise_the_loss(kind):
    net = _net()
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(8, 100, 40, generator=gen) < 0.2).float()
    y = torch.randint(0, 10, (8,), generator=gen)
    adv = attack(net, x, y, kind, eps=0.01)
    flips = (adv != x).flatten(1).sum(1)
    assert torch.all(flips <= 40) and torch.all(flips > 0)
    assert set(adv.unique().tolist()) <= {0.0, 1.0}
    loss = torch.nn.functional.cross_entropy
    with torch.no_grad():
        assert loss(net(adv), y) > loss(net(x), y)


def test_attack_bad_input():
    net, x, y = _net(), torch.zeros(1, 100, 40), torch.zeros(1, dtype=torch.long)
    with pytest.raises(ValueError, match="unknown|one of"):
        attack(net, x, y, "cw", 0.01)
    with pytest.raises(ValueError, match="fraction"):
        attack(net, x, y, "fgsm", 2.0)
