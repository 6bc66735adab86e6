"""Training-time augmentation: each kind does exactly what its docstring says, checked
against the definition per sample (shift = a zero-filled roll, masks = one contiguous run)."""

import numpy as np
import pytest

from dgnsim.fsdd.augment import augment_batch, format_augment, parse_augment

LEVELS = 4


def _spikes(batch=16, steps=40, bands=10, seed=0, silent_edges=0):
    x = (np.random.default_rng(seed).random((batch, steps, bands * LEVELS)) < 0.4).astype(np.uint8)
    if silent_edges:
        x[:, :silent_edges] = 0
        x[:, -silent_edges:] = 0
    return x


def _runs(flags):
    """Start and length of each run of True in a 1-d boolean array."""
    edges = np.diff(np.concatenate([[0], flags.astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)))


def test_parse_and_format_round_trip():
    spec = parse_augment(" timemask:10, shift:4 ,bandmask:0")
    assert spec == {"timemask": 10, "shift": 4, "bandmask": 0}
    assert format_augment(spec) == "shift:4,timemask:10,bandmask:0"
    assert parse_augment("") == {}
    for bad, message in (
        ("warp:3", "unknown kind"),
        ("shift", "shift:N"),
        ("shift:-1", "shift:N"),
        ("shift:1.5", "shift:N"),
        ("shift:1,shift:2", "twice"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_augment(bad)
    with pytest.raises(TypeError):
        parse_augment(4)


def test_shift_is_a_zero_filled_roll_within_range():
    s = 5
    x = _spikes(silent_edges=s)  # nothing is lost at the edges, so every spike survives
    y = augment_batch(x, {"shift": s}, np.random.default_rng(1), LEVELS)
    seen = set()
    for b in range(len(x)):
        matches = [k for k in range(-s, s + 1) if np.array_equal(y[b], np.roll(x[b], k, axis=0))]
        assert matches, f"sample {b} is not x shifted by at most {s} steps"
        seen.update(matches)
    assert len(seen) > 3  # the offsets vary across samples
    # steps shifted out are lost, steps shifted in are silent
    x = np.ones((8, 10, LEVELS), dtype=np.uint8)
    y = augment_batch(x, {"shift": 9}, np.random.default_rng(3), LEVELS)
    for b in range(len(y)):
        active = y[b].any(axis=1)
        k = 10 - int(active.sum())
        expected = [np.arange(10) >= k, np.arange(10) < 10 - k]  # moved later or earlier by k
        assert any(np.array_equal(active, e) for e in expected)


def test_stretch_resamples_time_by_a_factor_within_range():
    p, steps = 20, 60
    # each input step carries its own index in binary, so the source of each output step can be read
    code = (np.arange(steps)[:, None] >> np.arange(8)) & 1
    x = np.repeat(code[None], 12, axis=0).astype(np.uint8)  # 8 channels: 2 bands of 4 levels
    y = augment_batch(x, {"stretch": p}, np.random.default_rng(5), 4)
    factors = []
    for b in range(len(y)):
        active = y[b].any(axis=1) | (np.arange(steps) == 0)  # step 0's code is all zeros
        source = (y[b].astype(int) << np.arange(8)).sum(axis=1)[active]
        t = np.flatnonzero(active)
        assert np.all(np.diff(source) >= 0) and source[0] == 0
        # floor(t f) = source for all t: f lies in [source/t, (source+1)/t)
        low = max(s / k for s, k in zip(source[1:], t[1:]))
        high = min((s + 1) / k for s, k in zip(source[1:], t[1:]))
        assert low < high and 1 - p / 100 - 1e-12 <= high and low <= 1 + p / 100
        assert np.all(~y[b][~active].any(axis=1))  # steps past the end are silent
        factors.append(low)
    assert min(factors) < 0.95 and max(factors) > 1.05
    with pytest.raises(ValueError, match="factor of 0"):
        parse_augment("stretch:100")


def test_time_mask_silences_one_window_and_keeps_the_rest():
    width = 8
    x = _spikes()
    y = augment_batch(x, {"timemask": width}, np.random.default_rng(2), LEVELS)
    widths = []
    for b in range(len(x)):
        changed = np.any(y[b] != x[b], axis=1)
        silenced = ~y[b].any(axis=1) & x[b].any(axis=1)
        assert np.array_equal(changed, silenced)  # only whole steps are silenced
        runs = _runs(changed)
        assert len(runs) <= 1 and all(n <= width for _, n in runs)
        widths += [n for _, n in runs]
    assert max(widths) > width // 2


def test_band_mask_silences_adjacent_whole_bands():
    width = 3
    x = _spikes()
    y = augment_batch(x, {"bandmask": width}, np.random.default_rng(4), LEVELS)
    assert np.all(y <= x)
    widths = []
    for b in range(len(x)):
        changed = np.any(y[b] != x[b], axis=0).reshape(-1, LEVELS)
        cleared = ~y[b].any(axis=0).reshape(-1, LEVELS).any(axis=1)
        band_changed = changed.any(axis=1)
        assert np.all(cleared[band_changed])  # a touched band is silent at every level and step
        assert len(_runs(cleared)) <= 1 and cleared.sum() <= width
        widths.append(int(cleared.sum()))
    assert max(widths) > width // 2  # bands are masked at all, with varying widths
    assert len(set(widths)) > 1


def test_augmentation_is_deterministic_and_leaves_its_input_alone():
    x = _spikes()
    before = x.copy()
    spec = parse_augment("shift:4,timemask:10,bandmask:3")
    a = augment_batch(x, spec, np.random.default_rng(7), LEVELS)
    b = augment_batch(x, spec, np.random.default_rng(7), LEVELS)
    c = augment_batch(x, spec, np.random.default_rng(8), LEVELS)
    assert np.array_equal(x, before) and np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.dtype == x.dtype and set(np.unique(a)) <= {0, 1}
    assert np.array_equal(augment_batch(x, {}, np.random.default_rng(7), LEVELS), x)
    with pytest.raises(ValueError, match="whole bands"):
        augment_batch(x[:, :, :-1], spec, np.random.default_rng(7), LEVELS)
