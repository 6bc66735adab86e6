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
    """Read a perturbation ``"KIND:STRENGTH"``, a random one or an attack.

    Parameters
    ----------
    text : str
        E.g. ``"additive:0.02"`` (:func:`dgnsim.fsdd.data.parse_perturbation`) or
        ``"fgsm:0.001"`` (:func:`dgnsim.fsdd.attacks.parse_attack`).

    Returns
    -------
    kind : str
        The perturbation's kind.
    strength : float
        Its probability per channel and step, or the attack's budget.

    Raises
    ------
    ValueError
        For an unknown kind or a bad strength.
    """
    kind = text.partition(":")[0]
    return parse_attack(text) if kind in ATTACKS else parse_perturbation(text)


def evaluate(net, x: np.ndarray, y: np.ndarray, perturbation: str | None = None, seed: int = 0) -> float:
    """Test accuracy under ``perturbation``, deterministic for ``seed``.

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        The trained network (put in evaluation mode).
    x : ndarray, shape (N, T, C)
        Input spikes, 0/1.
    y : ndarray of int, shape (N,)
        Labels.
    perturbation : str, optional
        ``"KIND:STRENGTH"`` (see :func:`parse`); None: clean.
    seed : int
        Seed of the random perturbations and of PGD's random starts.

    Returns
    -------
    float
        The fraction of samples classified correctly, in [0, 1].

    Raises
    ------
    ValueError
        For a bad ``perturbation``.
    """
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
    """A saved network and the FSDD split it was trained on, refusing another input encoding.

    Parameters
    ----------
    directory : str or path-like
        The checkpoint folder (:func:`dgnsim.io.checkpoint.load`).
    data : str or path-like, optional
        The FSDD folder (default as :func:`dgnsim.fsdd.data.load_fsdd`).

    Returns
    -------
    net : dgnsim.surrogate.Classifier
        The network.
    ds : dgnsim.fsdd.data.FSDD
        The encoded split recorded in its manifest.

    Raises
    ------
    ValueError
        If the network was trained on a different input encoding.
    """
    from dgnsim.io.checkpoint import load

    net, manifest = load(directory)
    ds = load_fsdd(data, split=manifest["split"])
    if ds.encoding_key != manifest["encoding"]["key"]:
        raise ValueError(f"{directory}: trained on a different input encoding ({manifest['encoding']['key'][:12]}...)")
    return net, ds


def evaluate_dir(directory, perturbations=(None,), data=None, seed: int = 0) -> dict:
    """Evaluate a saved network under each perturbation, on the split it was trained on.

    Parameters
    ----------
    directory : str or path-like
        The checkpoint folder.
    perturbations : iterable of str or None
        ``"KIND:STRENGTH"`` each; None: clean.
    data : str or path-like, optional
        The FSDD folder.
    seed : int
        Seed of the perturbations (see :func:`evaluate`).

    Returns
    -------
    dict of str to float
        Perturbation (``"clean"`` for None) -> accuracy in [0, 1].
    """
    net, ds = load_for_evaluation(directory, data)
    return {p or "clean": evaluate(net, ds.test_x, ds.test_y, p, seed) for p in perturbations}
