"""Accuracy of a trained surrogate on the FSDD test split, clean or perturbed.

Perturbations (``KIND:STRENGTH``): ``additive``, ``subtractive``, ``mixed`` (probability
per channel and step, :func:`dgnsim.fsdd.data.perturb`) and the attacks ``fgsm``, ``bim``,
``pgd`` (fraction of input entries flipped, :mod:`dgnsim.fsdd.attacks`).
"""

from __future__ import annotations

import numpy as np
import torch

from dgnsim.fsdd.attacks import ATTACKS, attack, parse_attack
from dgnsim.fsdd.data import PERTURBATIONS, load_fsdd, parse_perturbation, perturb

BATCH = 100


def parse(text: str) -> tuple[str, float]:
    kind = text.partition(":")[0]
    return parse_attack(text) if kind in ATTACKS else parse_perturbation(text)


def evaluate(net, x: np.ndarray, y: np.ndarray, perturbation: str | None = None, seed: int = 0) -> float:
    """Test accuracy under ``perturbation`` (None: clean); deterministic for ``seed``."""
    kind, strength = parse(perturbation) if perturbation else (None, 0.0)
    rng = np.random.default_rng(seed)
    net.eval()
    correct = 0
    for k in range(0, len(x), BATCH):
        xb, yb = x[k : k + BATCH], torch.as_tensor(y[k : k + BATCH])
        if kind in PERTURBATIONS:
            xb = perturb(xb, kind, strength, rng)
        xt = torch.as_tensor(xb, dtype=torch.float32)
        if kind in ATTACKS:
            xt = attack(net, xt, yb, kind, strength, seed=seed + k)
        with torch.no_grad():
            correct += int((net(xt).argmax(1) == yb).sum())
    return correct / len(x)


def load_for_evaluation(directory, data=None):
    """A saved network and the FSDD split it was trained on, refusing another input encoding."""
    from dgnsim.io.checkpoint import load

    net, manifest = load(directory)
    ds = load_fsdd(data, split=manifest["split"])
    if ds.encoding_key != manifest["encoding"]["key"]:
        raise ValueError(f"{directory}: trained on a different input encoding ({manifest['encoding']['key'][:12]}...)")
    return net, ds


def evaluate_dir(directory, perturbations=(None,), data=None, seed: int = 0) -> dict:
    """Evaluate a saved network under each perturbation; the split is the one it was trained on."""
    net, ds = load_for_evaluation(directory, data)
    return {p or "clean": evaluate(net, ds.test_x, ds.test_y, p, seed) for p in perturbations}
