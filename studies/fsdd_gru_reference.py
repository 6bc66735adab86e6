"""A non-spiking reference on the same FSDD input: how much does the spike encoding allow?

Usage: ``python studies/fsdd_gru_reference.py [--seeds 3] [--epochs 30] [--split official]``.
A GRU of 128 units reads the same thermometer-coded spikes (100 steps x 320 channels) as the
spiking networks; its logits are a linear map of the time-mean of its hidden state (as the
spiking readout is a time-mean). Adam, lr 2e-3 with cosine decay, batch 64, no dropout or
augmentation. If it is far above the spiking networks, the encoding is not what limits them.
Each finished seed is kept in runs/reference_gru/ (read back on a rerun); writes
results/reference_gru.json and .md (official split, 30 epochs; other settings add
``_<split>_e<epochs>`` to the name).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dgnsim.fsdd.data import load_fsdd
from dgnsim.io import write_json, write_text

ROOT = Path(__file__).resolve().parent.parent


class GRUClassifier(nn.Module):
    def __init__(self, n_in: int, n_hidden: int = 128, n_out: int = 10):
        super().__init__()
        self.gru = nn.GRU(n_in, n_hidden, batch_first=True)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, x):  # x: (B, T, n_in)
        h, _ = self.gru(x)
        return self.out(h.mean(dim=1))


def train_gru(ds, seed: int, epochs: int, batch: int = 64, lr: float = 2e-3) -> float:
    """Test accuracy of a GRU trained on ``ds`` with ``seed``."""
    torch.manual_seed(seed)
    net = GRUClassifier(ds.train_x.shape[2])
    opt = torch.optim.Adam(net.parameters(), lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    x, y = torch.tensor(ds.train_x, dtype=torch.float32), torch.tensor(ds.train_y)
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        net.train()
        t0 = time.perf_counter()
        for idx in np.array_split(rng.permutation(len(x)), len(x) // batch):
            loss = F.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        print(
            f"\rseed {seed} epoch {epoch + 1}/{epochs} loss {loss.item():.3f} ({time.perf_counter() - t0:.1f} s)",
            end="",
            file=sys.stderr,
        )
    net.eval()
    with torch.no_grad():
        pred = net(torch.tensor(ds.test_x, dtype=torch.float32)).argmax(1).numpy()
    print(file=sys.stderr)
    return float((pred == ds.test_y).mean())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--split", default="official")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = load_fsdd(split=args.split)
    accuracy = []
    for seed in range(args.seeds):  # a finished seed is read back, so an interrupted study resumes
        done = ROOT / "runs" / "reference_gru" / f"{args.split.replace(':', '-')}_e{args.epochs}_seed{seed}.json"
        if done.exists() and json.loads(done.read_text()).get("encoding_key") == ds.encoding_key:
            accuracy.append(json.loads(done.read_text())["test_accuracy"])
            continue
        accuracy.append(train_gru(ds, seed, args.epochs))
        write_json(done, {"encoding_key": ds.encoding_key, "test_accuracy": accuracy[-1]})
    pct = 100 * np.array(accuracy)
    name = "reference_gru" + (
        "" if (args.split, args.epochs) == ("official", 30) else f"_{args.split.replace(':', '-')}_e{args.epochs}"
    )
    write_json(
        ROOT / "results" / f"{name}.json",
        {
            "model": "GRU-128 (non-spiking)",
            "split": args.split,
            "epochs": args.epochs,
            "encoding_key": ds.encoding_key,
            "test_accuracy": accuracy,
            "mean": float(pct.mean()),
            "std": float(pct.std()),
        },
    )
    write_text(
        ROOT / "results" / f"{name}.md",
        f"Non-spiking reference: a GRU of 128 units on the same input spikes, FSDD {args.split} split, "
        f"{args.epochs} epochs (studies/fsdd_gru_reference.py).\n\n| seed | "
        + " | ".join(map(str, range(args.seeds)))
        + " | mean ± std |\n|---|"
        + "---|" * (args.seeds + 1)
        + "\n| test accuracy | "
        + " | ".join(f"{a:.1f}" for a in pct)
        + f" | {pct.mean():.1f} ± {pct.std():.1f} |\n",
    )
    print(f"GRU-128: {pct.mean():.2f} ± {pct.std():.2f} % over {args.seeds} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
