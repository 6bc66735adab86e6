"""FSDD pipeline (dgnsim/data.py) on the real recordings in ../shared/data/fsdd.

References are computed here independently: file-name parsing by regex, the spectrogram by
scipy.signal.stft with a mel filterbank written band by band, the thermometer code by
rounding to its levels, perturbation rates by binomial statistics.
"""

import functools
import operator
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import signal
from scipy.io import wavfile

from dgnsim.fsdd import data

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fsdd"
NAME = re.compile(r"(\d)_([a-z]+)_(\d+)\.wav")
SPEAKERS = ["jackson", "nicolas", "theo", "yweweler", "george", "lucas"]
# A small folder for tests that write WAVs or re-encode: both sides of the official split.
SMALL = [
    "0_george_0.wav",
    "0_george_5.wav",
    "1_jackson_3.wav",
    "1_jackson_30.wav",
    "7_theo_1.wav",
    "7_theo_12.wav",
    "9_lucas_49.wav",
    "4_yweweler_0.wav",
]


@pytest.fixture(scope="module")
def fsdd_path():
    """The real data; its absence is a failure, not a skip."""
    assert (DATA / "recordings").is_dir(), (
        f"FSDD recordings missing at {DATA / 'recordings'}; the tests need the shared data set"
    )
    assert len(list((DATA / "recordings").glob("*.wav"))) == 3000
    return DATA


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fsdd-cache")


@pytest.fixture(scope="module")
def official(fsdd_path, cache_dir):
    return data.load_fsdd(fsdd_path, "official", cache_dir=cache_dir)


def small_copy(root: Path, names=SMALL) -> Path:
    (root / "recordings").mkdir(parents=True)
    for n in names:
        shutil.copy(DATA / "recordings" / n, root / "recordings" / n)
    return root


def parse(name):
    m = NAME.fullmatch(name)
    assert m, name
    return int(m.group(1)), m.group(2), int(m.group(3))


# ----------------------------------------------------------------------------- splits


def test_official_split(fsdd_path):
    train, test = data.split_files(fsdd_path, "official")
    assert (len(train), len(test)) == (2700, 300)
    assert not set(train) & set(test)
    assert set(train) | set(test) == {p.name for p in (fsdd_path / "recordings").glob("*.wav")}
    assert all(parse(n)[2] <= 4 for n in test) and all(parse(n)[2] >= 5 for n in train)
    assert np.bincount([parse(n)[0] for n in test]).tolist() == [30] * 10
    assert (train, test) == data.split_files(fsdd_path, "official")  # deterministic


def test_validation_split_never_touches_the_official_test_set(fsdd_path):
    train, held_out = data.split_files(fsdd_path, "validation")
    official_train, official_test = data.split_files(fsdd_path, "official")
    assert (len(train), len(held_out)) == (2400, 300)
    assert set(train) | set(held_out) == set(official_train) and not set(train) & set(held_out)
    assert all(5 <= parse(n)[2] <= 9 for n in held_out) and not set(held_out) & set(official_test)


@pytest.mark.parametrize("speaker", SPEAKERS)
def test_speaker_split(fsdd_path, speaker):
    train, test = data.split_files(fsdd_path, f"speaker:{speaker}")
    assert (len(train), len(test)) == (2500, 500)
    assert {parse(n)[1] for n in test} == {speaker}
    assert speaker not in {parse(n)[1] for n in train}
    assert len(set(train) | set(test)) == 3000


def test_bad_splits(fsdd_path, tmp_path):
    with pytest.raises(ValueError, match="jackson.*lucas|lucas.*jackson"):
        data.split_files(fsdd_path, "speaker:alice")
    with pytest.raises(ValueError, match="unknown split"):
        data.split_files(fsdd_path, "random")
    only_test = small_copy(tmp_path / "only_test", ["0_george_0.wav", "1_theo_2.wav"])
    with pytest.raises(ValueError, match="empty training"):
        data.split_files(only_test, "official")


# ----------------------------------------------------------------------------- dataset


def test_dataset_shapes_and_labels(official, fsdd_path):
    assert official.train_x.shape == (2700, 100, 320) and official.test_x.shape == (300, 100, 320)
    assert official.train_x.dtype == np.uint8 and official.test_x.dtype == np.uint8
    assert official.train_y.dtype == np.int64 and official.test_y.dtype == np.int64
    assert set(np.unique(official.train_x)) <= {0, 1}
    assert official.train_y.tolist() == [parse(n)[0] for n in official.train_files]
    assert official.test_y.tolist() == [parse(n)[0] for n in official.test_files]
    train, test = data.split_files(fsdd_path, "official")
    assert list(official.train_files) == train and list(official.test_files) == test
    assert official.encoding["version"] and official.encoding["n_mels"] == 40
    # Every utterance spikes, and only in the frames it has (silence padding after them).
    assert np.all(official.train_x.sum(axis=(1, 2)) > 0)
    i = official.test_files.index("0_george_0.wav")
    n = wavfile.read(fsdd_path / "recordings" / "0_george_0.wav")[1].size
    n_frames = 1 + int(np.ceil((n - 256) / 64))
    if n_frames < 100:
        assert official.test_x[i, n_frames:].sum() == 0


def test_speaker_dataset_rows_match_official(official, fsdd_path, cache_dir):
    held = data.load_fsdd(fsdd_path, "speaker:theo", cache_dir=cache_dir)
    assert held.train_x.shape == (2500, 100, 320) and held.test_x.shape == (500, 100, 320)
    assert held.encoding_key == official.encoding_key
    rows = {
        n: x
        for n, x in zip(official.train_files + official.test_files, np.concatenate([official.train_x, official.test_x]))
    }
    for k in (0, 123, 499):
        assert np.array_equal(held.test_x[k], rows[held.test_files[k]])


# ----------------------------------------------------------------------------- features


def independent_mel_db(x):
    """Log-mel dB via scipy.signal.stft and an HTK filterbank built band by band."""
    f, _, z = signal.stft(
        x, fs=8000, window="hann", nperseg=256, noverlap=192, nfft=256, boundary=None, padded=True, detrend=False
    )
    power = (np.abs(z) * signal.get_window("hann", 256).sum()) ** 2  # undo stft's 1/sum(w)

    def mel(hz):
        return 2595 * np.log10(1 + hz / 700)

    def inv(m):
        return 700 * (10 ** (m / 2595) - 1)

    edges = inv(np.linspace(mel(20.0), mel(4000.0), 42))
    bank = np.zeros((40, f.size))
    for b in range(40):
        lo, c, hi = edges[b : b + 3]
        for k, fk in enumerate(f):
            if lo < fk <= c:
                bank[b, k] = (fk - lo) / (c - lo)
            elif c < fk < hi:
                bank[b, k] = (hi - fk) / (hi - c)
    return 10 * np.log10(bank @ power + 1e-10).T


@pytest.mark.parametrize("name", ["0_george_0.wav", "9_lucas_49.wav", "3_theo_20.wav"])
def test_features_match_independent_stft(fsdd_path, name):
    rate, pcm = wavfile.read(fsdd_path / "recordings" / name)
    assert rate == 8000
    db = independent_mel_db(pcm / 32768.0)
    norm = np.clip((db - (db.max() - 60)) / 60, 0, 1)
    expect = np.zeros((100, 40))
    expect[: min(100, len(norm))] = norm[:100]
    got = data.features(data.read_wav(fsdd_path / "recordings" / name))
    assert got.shape == (100, 40)
    np.testing.assert_allclose(got, expect, atol=1e-9)


def test_long_utterance_is_cropped(fsdd_path):
    lengths = {p.name: wavfile.read(p)[1].size for p in sorted((fsdd_path / "recordings").glob("9_*"))}
    name = max(lengths, key=lengths.get)
    assert 1 + (lengths[name] - 256) // 64 > 100
    x = data.read_wav(fsdd_path / "recordings" / name)
    assert np.array_equal(data.features(x), data.normalise_db(data.log_mel_db(x))[:100])


def test_thermometer_counts_round_energy(fsdd_path):
    """A band's active channels at a step are its energy rounded to the nearest of 8 levels,
    and they are always the lowest ones (a prefix of the band's block)."""
    energy = data.features(data.read_wav(fsdd_path / "recordings" / "5_nicolas_17.wav"))
    spikes = data.encode_file(fsdd_path / "recordings" / "5_nicolas_17.wav")
    assert spikes.shape == (100, 320) and spikes.dtype == np.uint8
    blocks = spikes.reshape(100, 40, 8).astype(int)
    count = blocks.sum(axis=-1)
    exact_half = np.abs(energy * 8 - 0.5 - np.round(energy * 8 - 0.5)) < 1e-9
    assert np.array_equal(count[~exact_half], np.round(energy * 8)[~exact_half].astype(int))
    assert np.all(np.abs(count - energy * 8)[exact_half] <= 0.5 + 1e-9)
    prefix = np.arange(8) < count[..., None]
    assert np.array_equal(blocks, prefix.astype(int))
    assert 100 < spikes.sum() < spikes.size


def test_thermometer_matches_scalar_loop():
    rng = np.random.default_rng(3)
    energy = rng.random((2, 50, 5)) ** 2
    got = data.thermometer(energy, levels=3)
    assert got.shape == (2, 50, 15)
    for i in range(2):
        for t in range(50):
            for c in range(5):
                for k in range(3):
                    assert got[i, t, 3 * c + k] == (1 if energy[i, t, c] > (k + 0.5) / 3 else 0)


def test_thermometer_closed_forms():
    """0 drives no channel, 1 drives all, 1/2 drives half; a level edge itself is not exceeded."""
    energy = np.array([[0.0, 1.0, 0.5, 0.5 / 8, 0.5 / 8 + 1e-9]])
    spikes = data.thermometer(energy).reshape(5, 8)
    assert spikes.sum(axis=1).tolist() == [0, 8, 4, 0, 1]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.thermometer(np.full((3, 2), 1.5))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.thermometer(np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="levels"):
        data.thermometer(np.zeros((3, 2)), levels=0)
    assert data.n_inputs() == 320 == data.ENCODING["n_mels"] * data.ENCODING["levels"]


def test_mel_centres_follow_htk():
    c = data.mel_centres_hz()
    m = 2595 * np.log10(1 + np.concatenate([[20.0], c, [4000.0]]) / 700)
    np.testing.assert_allclose(np.diff(m), (m[-1] - m[0]) / 41, rtol=1e-12)
    bank = data.mel_filterbank()
    assert bank.shape == (40, 129) and np.all(bank.sum(axis=1) > 0) and bank.max() <= 1


@pytest.mark.parametrize("f_hz", [150.0, 440.0, 1000.0, 1700.0, 2500.0, 3300.0])
def test_pure_tone_peaks_in_nearest_band(f_hz):
    t = np.arange(8000) / 8000.0
    db = data.log_mel_db(0.5 * np.sin(2 * np.pi * f_hz * t))
    nearest = np.argmin(np.abs(data.mel_centres_hz() - f_hz))
    assert np.argmax(db.mean(axis=0)) == nearest


# ----------------------------------------------------------------------------- cache, errors


def test_cache_hit_is_identical_and_silent(official, fsdd_path, cache_dir, capsys):
    again = data.load_fsdd(fsdd_path, "official", cache_dir=cache_dir)
    assert "encoding FSDD" not in capsys.readouterr().err
    assert again.encoding_key == official.encoding_key
    assert np.array_equal(again.train_x, official.train_x)
    assert np.array_equal(again.test_x, official.test_x)
    assert [p.name for p in cache_dir.iterdir()] == [f"fsdd-{official.encoding_key}.npz"]


def test_changed_encoding_changes_key(tmp_path, monkeypatch, capsys):
    root = small_copy(tmp_path / "fsdd")
    cache = tmp_path / "cache"
    first = data.load_fsdd(root, cache_dir=cache)
    changed = dict(data.ENCODING, version=data.ENCODING["version"] + "-test")
    monkeypatch.setattr(data, "ENCODING", changed)
    second = data.load_fsdd(root, cache_dir=cache)
    assert second.encoding_key != first.encoding_key
    assert len(list(cache.glob("fsdd-*.npz"))) == 2
    sizes = [(n, 1000) for n in SMALL]
    base = data.cache_key(changed, sizes)
    assert data.cache_key(dict(changed, hop_length=32), sizes) != base
    assert data.cache_key(changed, sizes[:-1]) != base
    assert data.cache_key(changed, [(n, 1001) for n in SMALL]) != base
    assert data.cache_key(changed, sizes[::-1]) == base


@pytest.mark.parametrize("damage", ["garbage", "wrong_shape"])
def test_corrupt_cache_is_recomputed(tmp_path, capsys, damage):
    root = small_copy(tmp_path / "fsdd")
    cache = tmp_path / "cache"
    good = data.load_fsdd(root, cache_dir=cache)
    file = cache / f"fsdd-{good.encoding_key}.npz"
    capsys.readouterr()
    if damage == "garbage":
        file.write_bytes(b"PK\x03\x04 not a zip")
    else:
        np.savez(file, x=np.ones((3, 100, 320), np.uint8), files=np.array(SMALL[:3]))
    again = data.load_fsdd(root, cache_dir=cache)
    assert "encoding FSDD" in capsys.readouterr().err  # recomputed, not trusted
    assert np.array_equal(again.train_x, good.train_x) and np.array_equal(again.test_x, good.test_x)
    with np.load(file) as z:
        assert z["x"].shape == (len(SMALL), 100, 320)


def _bad_wav(kind, file):
    if kind == "garbage":
        file.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 3)
    elif kind == "rate_16k":
        wavfile.write(file, 16000, np.ones(4000, np.int16))
    elif kind == "stereo":
        wavfile.write(file, 8000, np.ones((4000, 2), np.int16))
    elif kind == "empty":
        wavfile.write(file, 8000, np.zeros(0, np.int16))
    elif kind == "silent":
        wavfile.write(file, 8000, np.zeros(4000, np.int16))


@pytest.mark.parametrize("kind", ["garbage", "rate_16k", "stereo", "empty", "silent"])
def test_corrupt_wav_names_the_file(tmp_path, kind):
    root = small_copy(tmp_path / "fsdd")
    _bad_wav(kind, root / "recordings" / "3_theo_7.wav")
    with pytest.raises(ValueError, match="3_theo_7.wav"):
        data.load_fsdd(root, cache_dir=tmp_path / "cache")


def test_missing_path(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"nowhere.*DGNSIM_FSDD.*--data"):
        data.load_fsdd(tmp_path / "nowhere", cache_dir=tmp_path / "cache")
    monkeypatch.setenv("DGNSIM_FSDD", str(tmp_path / "also_nowhere"))
    with pytest.raises(FileNotFoundError, match="also_nowhere"):
        data.split_files()


def test_path_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("DGNSIM_FSDD", raising=False)
    assert data.default_data_path() == DATA
    assert data.resolve_data_path() == DATA
    root = small_copy(tmp_path / "fsdd")
    monkeypatch.setenv("DGNSIM_FSDD", str(root))
    assert data.resolve_data_path() == root
    assert sorted(functools.reduce(operator.iadd, data.split_files(), [])) == sorted(SMALL)
    monkeypatch.setenv("DGNSIM_CACHE", str(tmp_path / "envcache"))
    assert data.default_cache_dir() == tmp_path / "envcache"


# ----------------------------------------------------------------------------- perturbations


def within_4_sigma(rate, p, n):
    return abs(rate - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-12


@pytest.mark.parametrize("p", [0.01, 0.1, 0.5])
def test_perturbation_rates(p):
    rng = np.random.default_rng(11)
    zeros = np.zeros((200, 100, 40), np.uint8)
    ones = np.ones((200, 100, 40), np.float32)
    n = zeros.size
    add = data.perturb(zeros, "additive", p, rng)
    assert add.dtype == np.uint8 and within_4_sigma(add.mean(), p, n)
    sub = data.perturb(ones, "subtractive", p, rng)
    assert sub.dtype == np.float32 and within_4_sigma(sub.mean(), 1 - p, n)
    assert within_4_sigma(data.perturb(zeros, "mixed", p, rng).mean(), p * (1 - p), n)
    assert within_4_sigma(data.perturb(ones, "mixed", p, rng).mean(), 1 - p, n)


def test_perturbation_structure(official):
    x = official.test_x[:50]
    rng = np.random.default_rng(0)
    for kind in data.PERTURBATIONS:
        assert np.array_equal(data.perturb(x, kind, 0.0, rng), x)
        xf = x.astype(np.float64)
        assert np.array_equal(data.perturb(xf, kind, 0.0, rng), xf)
    add = data.perturb(x, "additive", 0.2, rng)
    sub = data.perturb(x, "subtractive", 0.2, rng)
    assert np.all(add >= x) and np.all(sub <= x)
    assert np.all(data.perturb(x, "additive", 1.0, rng) == 1)
    assert np.all(data.perturb(x, "subtractive", 1.0, rng) == 0)
    a = data.perturb(x, "mixed", 0.3, np.random.default_rng(5))
    b = data.perturb(x, "mixed", 0.3, np.random.default_rng(5))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("p", [-0.01, 1.01, float("nan"), "a lot"])
def test_perturbation_rejects_bad_p(p):
    with pytest.raises(ValueError, match="probability"):
        data.perturb(np.zeros((10, 4), np.uint8), "additive", p, np.random.default_rng(0))


def test_perturbation_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown perturbation"):
        data.perturb(np.zeros((10, 4)), "flip", 0.1, rng)
    with pytest.raises(ValueError, match="0 or 1"):
        data.perturb(np.full((10, 4), 2), "additive", 0.1, rng)
    with pytest.raises(TypeError, match="Generator"):
        data.perturb(np.zeros((10, 4)), "additive", 0.1, 42)


def test_parse_perturbation():
    assert data.parse_perturbation("additive:0.01") == ("additive", 0.01)
    assert data.parse_perturbation("mixed:1") == ("mixed", 1.0)
    assert data.parse_perturbation("subtractive: 0.5") == ("subtractive", 0.5)
    for text, match in [
        ("additive", "KIND:P"),
        ("flip:0.1", "unknown kind"),
        ("additive:x", "not a number"),
        ("additive:2", r"\[0, 1\]"),
        ("additive:nan", r"\[0, 1\]"),
        ("a:b:c", "KIND:P"),
    ]:
        with pytest.raises(ValueError, match=match):
            data.parse_perturbation(text)
