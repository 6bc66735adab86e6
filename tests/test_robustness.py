"""The robustness table (dgnsim/robustness.py) on tiny networks: aggregation, caching, re-evaluation."""

import json

import numpy as np
import pytest

from dgnsim.fsdd import robustness as rb
from dgnsim.fsdd import train as training


@pytest.fixture
def tiny_train(monkeypatch):
    calls = []

    def train(model, directory, **kw):  # records the calls that train (a finished run is only read back)
        if not (directory / "manifest.json").exists():
            calls.append((model, directory.name))
        return training.train(model, directory, hidden=8, limit=100, batch=50, **kw)

    monkeypatch.setattr(rb, "train", train)
    monkeypatch.setattr(rb, "PERTURBATIONS", {"clean": None, "additive": "additive:0.05", "FGSM": "fgsm:0.001"})
    return calls


@pytest.mark.slow
def test_table_is_the_seed_statistics_and_runs_are_reused(tmp_path, tiny_train, monkeypatch):
    report = rb.robustness([("lif", False)], 2, tmp_path, epochs=1, progress=False)
    assert [c[1] for c in tiny_train] == ["seed0", "seed1"]
    per_seed = [json.loads((tmp_path / "runs" / "lif" / f"seed{s}" / "eval.json").read_text())["accuracy"]
                for s in range(2)]
    values = 100 * np.array([[a["clean"], a["additive:0.05"], a["fgsm:0.001"]] for a in per_seed])
    row = report["table"]["lif"]
    np.testing.assert_allclose(row["mean"], values.mean(axis=0))
    np.testing.assert_allclose(row["std"], values.std(axis=0))
    assert row["seeds"] == 2 and report["columns"] == ["clean", "additive", "FGSM"]
    assert "| lif |" in (tmp_path / "robustness.md").read_text()
    assert (tmp_path / "robustness.csv").read_text().splitlines()[0].startswith("model,seeds,clean_mean")

    # a second call trains nothing; new strengths are evaluated again on the same networks
    monkeypatch.setattr(rb, "PERTURBATIONS", {"clean": None, "subtractive": "subtractive:0.5"})
    weights = sorted((tmp_path / "runs").glob("lif/seed*/model.safetensors"))
    written = [w.stat().st_mtime_ns for w in weights]
    again = rb.robustness([("lif", False)], 2, tmp_path, epochs=1, progress=False)
    assert len(tiny_train) == 2 and [w.stat().st_mtime_ns for w in weights] == written
    assert again["columns"] == ["clean", "subtractive"]
    assert again["table"]["lif"]["mean"][0] == pytest.approx(row["mean"][0])


def test_delayed_rows_are_named_and_trained_with_their_delays(tmp_path, tiny_train):
    report = rb.robustness([("dgn", False)], 1, tmp_path, epochs=1, progress=False, delays=(0, 5))
    assert list(report["table"]) == ["dgn_dl0-5"]
    manifest = json.loads((tmp_path / "runs" / "dgn_dl0-5" / "seed0" / "manifest.json").read_text())
    assert manifest["training"]["delays"] == [0.0, 5.0]
    assert rb.run_name("lif", True) == "lif_rec" and rb.run_name("lif", False, (0,)) == "lif"
