"""Training-time augmentation of encoded FSDD input spikes (SpecAugment-like).

Applied to a training batch of thermometer-coded spikes ``x`` (B, T, bands x levels),
never to evaluation, attacks or Brian2. Each kind only moves, repeats or deletes whole
frames or bands, so an augmented sample is still a valid input of the same encoding:

- ``stretch:P``: each sample is resampled in time by a factor f uniform in
  [1 - P/100, 1 + P/100] (speed perturbation, nearest earlier frame: output step t shows
  input step floor(t f)); f > 1 speaks faster (the end is silent), f < 1 slower (the end is
  cut).
- ``shift:S``: each sample moves in time by a uniform integer in [-S, S] steps; steps
  that move in are silent (zeros), steps that move out are lost.
- ``timemask:W``: each sample has one window of a uniform width in [0, W] steps, at a
  uniform position, silenced.
- ``bandmask:F``: each sample has one run of a uniform width in [0, F] adjacent mel bands
  (all their levels) silenced for the whole utterance.

A spec is written ``"shift:4,timemask:10,bandmask:4"`` (``parse_augment``); the empty spec
``""`` (the default) is no augmentation. All draws come from the ``rng`` passed in, so a
training run stays deterministic for its seed (and resumable to the same network).
"""

from __future__ import annotations

import numpy as np

KINDS = ("stretch", "shift", "timemask", "bandmask")
"""Augmentations understood by ``parse_augment``, applied in this order."""

UNITS = {"stretch": "per cent", "shift": "steps", "timemask": "steps", "bandmask": "mel bands"}


def parse_augment(text: str) -> dict[str, int]:
    """Read an augmentation spec: ``"shift:4,timemask:10"`` -> ``{"shift": 4, "timemask": 10}``.

    Parameters
    ----------
    text : str
        Comma-separated ``KIND:N`` items (kinds from :data:`KINDS`); ``""``: no augmentation.

    Returns
    -------
    dict of str to int
        Kind -> its size (per cent for ``stretch``, steps or mel bands for the others).

    Raises
    ------
    ValueError
        For an unknown kind, a repeated kind, a size that is not a non-negative integer, or a
        stretch of 100 % or more.
    TypeError
        If ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"augment: a string such as 'shift:4,timemask:10', not {text!r}")
    spec: dict[str, int] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        kind, sep, size = item.partition(":")
        kind = kind.strip()
        if kind not in KINDS:
            raise ValueError(f"augment {item!r}: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
        if kind in spec:
            raise ValueError(f"augment {text!r}: {kind} given twice")
        if not sep or not size.strip().isdigit():
            raise ValueError(f"augment {item!r}: write {kind}:N with N a non-negative integer ({UNITS[kind]})")
        if kind == "stretch" and int(size) >= 100:
            raise ValueError(f"augment {item!r}: a stretch of {size} % would reach a factor of 0")
        spec[kind] = int(size)
    return spec


def format_augment(spec: dict[str, int]) -> str:
    """Write a spec as :func:`parse_augment` reads it (kinds in :data:`KINDS` order).

    Parameters
    ----------
    spec : dict of str to int
        Kind -> size.

    Returns
    -------
    str
        E.g. ``"shift:4,timemask:10"``.
    """
    return ",".join(f"{k}:{spec[k]}" for k in KINDS if k in spec)


def augment_batch(x: np.ndarray, spec: dict[str, int], rng: np.random.Generator, levels: int) -> np.ndarray:
    """A copy of spikes ``x`` with the augmentations of ``spec`` applied per sample.

    Parameters
    ----------
    x : ndarray, shape (B, T, C)
        Input spikes of a training batch; never changed.
    spec : dict of str to int
        The augmentations (:func:`parse_augment`); empty: a plain copy.
    rng : numpy.random.Generator
        The source of every draw (a training run stays deterministic for its seed).
    levels : int
        Input channels per mel band (C = bands x levels; band b is channels
        b*levels .. b*levels + levels - 1).

    Returns
    -------
    ndarray, shape (B, T, C)
        The augmented spikes, of ``x``'s dtype.

    Raises
    ------
    ValueError
        If ``x`` is not 3-D or C is not a whole number of bands of ``levels``.
    """
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"spikes must be (batch, time, channels), got shape {x.shape}")
    batch, steps, channels = x.shape
    if channels % levels:
        raise ValueError(f"{channels} channels are not whole bands of {levels} levels")
    out = x.copy()
    if not spec:
        return out
    time = np.arange(steps)
    if spec.get("stretch"):
        p = spec["stretch"] / 100.0
        factor = rng.uniform(1.0 - p, 1.0 + p, size=batch)
        out = _read_steps(out, np.floor(time[None, :] * factor[:, None]).astype(np.int64))
    if spec.get("shift"):
        s = spec["shift"]
        offsets = rng.integers(-s, s + 1, size=batch)
        out = _read_steps(out, time[None, :] - offsets[:, None])  # out[b, t] = x[b, t - offset]
    if spec.get("timemask"):
        width = rng.integers(0, spec["timemask"] + 1, size=batch)
        start = rng.integers(0, steps, size=batch)
        silenced = (time[None, :] >= start[:, None]) & (time[None, :] < (start + width)[:, None])
        out[silenced] = 0
    if spec.get("bandmask"):
        bands = channels // levels
        width = rng.integers(0, min(spec["bandmask"], bands) + 1, size=batch)
        start = rng.integers(0, bands - width + 1)
        band = np.arange(channels) // levels
        silenced = (band[None, :] >= start[:, None]) & (band[None, :] < (start + width)[:, None])
        out *= ~silenced[:, None, :]
    return out


def _read_steps(x: np.ndarray, source: np.ndarray) -> np.ndarray:
    """``out[b, t] = x[b, source[b, t]]``, silent where ``source`` lies outside ``x``'s steps."""
    steps = x.shape[1]
    out = np.take_along_axis(x, np.clip(source, 0, steps - 1)[:, :, None], axis=1)
    out[(source < 0) | (source >= steps)] = 0
    return out
