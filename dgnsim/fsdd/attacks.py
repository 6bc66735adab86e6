"""Gradient attacks on binary input spikes: FGSM, BIM and PGD as bit flips.

Input spikes are 0/1, so an attack flips entries instead of adding a small real
perturbation. The budget ``eps`` is the fraction of input entries (steps x channels)
that may be flipped per sample. With g the gradient of the loss with respect to the
input (treated as real-valued), flipping entry k changes the loss to first order by
g_k (1 - 2 x_k): candidates are the entries where that gain is positive.

- FGSM: one gradient, flip the ``eps`` fraction of entries with the largest gain.
- BIM: ``steps`` iterations, each flipping ``eps/steps`` of the entries by the new
  gradient's gain; an entry flipped once is not flipped back.
- PGD: BIM after a random start that spends half the budget on random flips.

The model is attacked in evaluation mode (surrogate gradients through the spikes).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

ATTACKS = ("fgsm", "bim", "pgd")


def _gain(net, x, y):
    x = x.clone().requires_grad_(True)
    loss = F.cross_entropy(net(x), y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    return grad * (1 - 2 * x.detach())


def _flip_top(x, gain, k, frozen):
    """Flip, per sample, the k entries of largest positive gain that are not frozen."""
    flat_gain = gain.flatten(1).masked_fill(frozen.flatten(1), -np.inf)
    if k <= 0:
        return x, frozen
    values, idx = flat_gain.topk(k, dim=1)
    mask = torch.zeros_like(flat_gain, dtype=torch.bool).scatter_(1, idx, values > 0)
    mask = mask.view_as(x)
    return torch.where(mask, 1 - x, x), frozen | mask


def attack(
    net, x: torch.Tensor, y: torch.Tensor, kind: str, eps: float, *, steps: int = 5, seed: int = 0
) -> torch.Tensor:
    """Adversarial input spikes for ``x`` with labels ``y`` (see the module docstring).

    The network is put in evaluation mode; ``x`` is not changed.

    Parameters
    ----------
    net : torch.nn.Module
        The trained network (a :class:`dgnsim.surrogate.Classifier`), mapping spikes to logits.
    x : torch.Tensor, shape (B, T, C)
        Input spikes, 0/1.
    y : torch.Tensor of int, shape (B,)
        Their labels.
    kind : {"fgsm", "bim", "pgd"}
        The attack.
    eps : float
        The budget: the fraction of a sample's input entries (T x C) that may be flipped, in [0, 1].
    steps : int
        Iterations of BIM and PGD (ignored by FGSM).
    seed : int
        Seed of PGD's random start.

    Returns
    -------
    torch.Tensor, shape (B, T, C)
        The attacked spikes, 0/1.

    Raises
    ------
    ValueError
        For an unknown ``kind``, ``eps`` outside [0, 1] or ``steps`` < 1.
    """
    if kind not in ATTACKS:
        raise ValueError(f"attack: one of {ATTACKS}, not {kind!r}")
    if not 0 <= eps <= 1:
        raise ValueError(f"attack strength eps is a fraction of input entries in [0, 1], got {eps}")
    if steps < 1:
        raise ValueError("steps must be positive")
    net.eval()
    budget = int(round(eps * x[0].numel()))
    x = x.detach().clone()
    frozen = torch.zeros_like(x, dtype=torch.bool)
    if kind == "fgsm":
        return _flip_top(x, _gain(net, x, y), budget, frozen)[0]
    if kind == "pgd":
        gen = torch.Generator().manual_seed(seed)
        start = budget // 2
        scores = torch.rand(x.shape, generator=gen).flatten(1)
        idx = scores.topk(start, dim=1).indices
        mask = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, idx, True).view_as(x)
        x, frozen = torch.where(mask, 1 - x, x), mask
        budget -= start
    per_step = [budget // steps + (1 if s < budget % steps else 0) for s in range(steps)]
    for k in per_step:
        x, frozen = _flip_top(x, _gain(net, x, y), k, frozen)
    return x


def parse_attack(text: str) -> tuple[str, float]:
    """Read ``"KIND:STRENGTH"``: ``"fgsm:0.01"`` -> ``("fgsm", 0.01)``.

    Parameters
    ----------
    text : str
        The attack as ``--perturb`` writes it.

    Returns
    -------
    kind : str
        One of :data:`ATTACKS`.
    eps : float
        The budget (fraction of input entries flipped).

    Raises
    ------
    ValueError
        For an unknown attack or a strength that is not a number.
    """
    kind, _, value = text.partition(":")
    if kind not in ATTACKS:
        raise ValueError(f"--perturb {text!r}: unknown attack; choose from {ATTACKS}")
    try:
        eps = float(value)
    except ValueError:
        raise ValueError(f"--perturb {text!r}: write KIND:STRENGTH, e.g. fgsm:0.01") from None
    return kind, eps
