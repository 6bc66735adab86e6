"""Trained networks on disk: ``model.safetensors`` + ``manifest.json`` (format version 1).

The manifest names the model and the sha256 of its equations file, the sha256 of
``model.safetensors`` (so that a changed byte anywhere in the weights or their header is
caught, not loaded as a plausible network), every parameter with its unit (mV-ms system)
and shape, dt, layer sizes, the input encoding and the data split. A model that is not one
of the package's (a user's file) is recorded whole (its text), so the checkpoint loads on
another machine without the file. Loading checks all of it: a tensor file whose hash
differs, a truncated or corrupt file, a missing tensor, a wrong shape, NaN or Inf, or an
equations file that changed since training is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dgnsim.core.models import ModelError, load_model, model_from_text
from dgnsim.io.files import atomic_path, write_json

FORMAT = "dgnsim-surrogate"
VERSION = 1


class CheckpointError(ValueError):
    """A trained-network file that cannot be used."""


def file_sha256(path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    str
        The hex digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify_tensors(manifest: dict, man_path: Path, ten_path: Path) -> None:
    """Refuse a tensor file whose bytes are not the ones the manifest recorded."""
    recorded = manifest.get("safetensors_sha256")
    if recorded is None:
        raise CheckpointError(
            f"{man_path}: records no sha256 of model.safetensors (written before "
            f"dgnsim 0.2); its weights cannot be verified: save the network again"
        )
    actual = file_sha256(ten_path)
    if actual != recorded:
        raise CheckpointError(
            f"{ten_path}: its sha256 ({actual[:12]}...) differs from the one recorded in "
            f"manifest.json ({recorded[:12]}...): the file was changed or damaged after saving"
        )


def _unit_of(layer, name: str) -> str:
    spec = layer.spec
    if name.startswith("p_"):
        return spec.parameters[name[2:]].unit_text
    return spec.synapse.parameters[name.split("_", 1)[1]].unit_text


def save(net, directory, *, encoding: dict, split: str, extra: dict | None = None) -> None:
    """Write a trained network as ``model.safetensors`` + ``manifest.json``, atomically.

    Parameters are stored as values in their units (mV-ms system), not in the log or scaled
    form the surrogate learns; the manifest records the sha256 of the tensor file and of the
    model's equations (and a user's model file whole).

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        The network.
    directory : str or path-like
        The checkpoint folder (created if missing; its two files are replaced).
    encoding : dict
        The input encoding the network was trained on (recorded as is, e.g.
        :data:`dgnsim.fsdd.data.ENCODING`).
    split : str
        The data split it was trained on (recorded as is).
    extra : dict, optional
        More manifest entries (e.g. the training's accuracy and history).
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    tensors, params = {}, {}
    for prefix, layer in (("hidden", net.hidden), ("readout", net.readout)):
        for name, value in layer.state_dict().items():
            key = f"{prefix}.{name}"
            value = value.detach().cpu().contiguous()
            stored = "value"  # parameters are stored as values (not the log or scaled form learned)
            if name.startswith("p_"):
                value = layer.from_raw(name[2:], value)
            tensors[key] = value.to(dtype=value.dtype)
            params[key] = {
                "unit": _unit_of(layer, name),
                "shape": list(value.shape),
                "stored": stored,
                "learnable": bool(
                    name.startswith(("W_", "R_"))
                    or (name.startswith("p_") and layer.spec.parameters[name[2:]].learnable)
                ),
            }
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "model": net.hidden.model_name,
        "equations_sha256": net.hidden.spec.sha256,
        **({} if net.hidden.spec.builtin else {"model_text": net.hidden.spec.text}),
        "readout_model": "lif",
        "readout_equations_sha256": net.readout.spec.sha256,
        "config": net.config,
        "dt_ms": net.hidden.dt,
        "unit_system": "mV, ms",
        "layers": {
            "input": net.hidden.n_in,
            "hidden": net.hidden.n_out,
            "output": net.readout.n_out,
            "recurrent": net.hidden.recurrent,
        },
        "encoding": encoding,
        "split": split,
        "parameters": params,
        **(extra or {}),
    }
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_path(directory / "model.safetensors") as tmp:
        save_file(tensors, str(tmp), metadata={"format": FORMAT, "version": str(VERSION)})
        manifest["safetensors_sha256"] = file_sha256(tmp)
    write_json(directory / "manifest.json", manifest)


def _hidden_model(manifest: dict, where: Path):
    """The hidden layer's model: the recorded file text of a user's model, else the installed built-in."""
    text = manifest.get("model_text")
    try:
        if text is None:
            return load_model(manifest["model"])
        return model_from_text(text, f"<{where}>")
    except ModelError as exc:
        raise CheckpointError(f"{where}: its model cannot be used: {exc}") from None


def load(directory, dtype=None):
    """Load a trained network written by :func:`save`, refusing anything inconsistent.

    Parameters
    ----------
    directory : str or path-like
        The checkpoint folder (``manifest.json`` and ``model.safetensors``).
    dtype : torch.dtype, optional
        Convert the network to this dtype (default: torch's default dtype).

    Returns
    -------
    net : dgnsim.surrogate.Classifier
        The network, its parameters in their learned form.
    manifest : dict
        The parsed ``manifest.json``.

    Raises
    ------
    FileNotFoundError
        If either file is missing.
    CheckpointError
        If the manifest is not valid or of another format, the tensor file's sha256 differs
        from the recorded one, the model's equations changed since training, or a tensor is
        missing, unexpected, of the wrong shape, not finite or of the wrong sign.
    """
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from dgnsim.surrogate import Classifier

    directory = Path(directory)
    man_path, ten_path = directory / "manifest.json", directory / "model.safetensors"
    for path in (man_path, ten_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing (a trained network needs manifest.json and model.safetensors)")
    try:
        manifest = json.loads(man_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{man_path}: not valid JSON ({exc})") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise CheckpointError(f"{man_path}: not a {FORMAT} v{VERSION} manifest")
    _verify_tensors(manifest, man_path, ten_path)
    spec = _hidden_model(manifest, man_path)
    if spec.sha256 != manifest["equations_sha256"]:
        raise CheckpointError(
            f"{man_path}: trained with a different equations/{spec.name}.toml "
            f"(sha256 {manifest['equations_sha256'][:12]}..., installed {spec.sha256[:12]}...)"
        )
    if load_model("lif").sha256 != manifest["readout_equations_sha256"]:
        raise CheckpointError(f"{man_path}: the readout's equations (lif.toml) changed since training")
    try:
        tensors = load_file(str(ten_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{ten_path}: corrupt or truncated ({exc})") from None
    cfg = dict(manifest["config"], model=spec)
    net = Classifier(**cfg)
    for prefix, layer in (("hidden", net.hidden), ("readout", net.readout)):
        state = layer.state_dict()
        for name, current in state.items():
            key = f"{prefix}.{name}"
            if key not in tensors:
                raise CheckpointError(f"{ten_path}: tensor {key!r} missing")
            value = tensors[key]
            if tuple(value.shape) != tuple(current.shape):
                raise CheckpointError(
                    f"{ten_path}: {key} has shape {tuple(value.shape)}, expected {tuple(current.shape)}"
                )
            if not torch.isfinite(value).all():
                raise CheckpointError(f"{ten_path}: {key} contains NaN or Inf")
            if name.startswith("p_"):
                if layer.spec.parameters[name[2:]].positive and (value <= 0).any():
                    raise CheckpointError(f"{ten_path}: {key} must be positive")
                value = layer.to_raw(name[2:], value)
            state[name] = value.to(current.dtype)
        layer.load_state_dict(state)
    extra = set(tensors) - {
        f"{p}.{n}" for p, l in (("hidden", net.hidden), ("readout", net.readout)) for n in l.state_dict()
    }
    if extra:
        raise CheckpointError(f"{ten_path}: unexpected tensors {sorted(extra)}")
    if dtype is not None:
        net = net.to(dtype)
    return net, manifest
