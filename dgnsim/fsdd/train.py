"""Training and evaluation of the surrogate on FSDD (clean data only).

``train`` is deterministic for a seed, shows progress, writes a checkpoint after every
epoch (atomically) and resumes from it after an interruption; at the end it writes the
network as ``model.safetensors`` + ``manifest.json`` (:mod:`dgnsim.io.checkpoint`). A folder
that already holds a finished run of the same configuration is read back, not trained again.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dgnsim.core.models import load_model
from dgnsim.fsdd.augment import augment_batch, format_augment, parse_augment
from dgnsim.fsdd.data import ENCODING, load_fsdd
from dgnsim.io import checkpoint
from dgnsim.io.files import atomic_path
from dgnsim.io.progress import progress_bar
from dgnsim.surrogate import Classifier
from dgnsim.surrogate.layers import input_delays

REGULARIZER_WEIGHT = 1e-3
DT_MS = 1.0  # one encoded frame per step


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`train`; the message says which epoch is saved and how to resume.

    Parameters
    ----------
    checkpoint_file : pathlib.Path
        The resumable checkpoint (``checkpoint.pt``).
    saved : int
        The last epoch saved in it (0: none).
    epochs : int
        The epochs the run was asked for.
    """

    def __init__(self, checkpoint_file: Path, saved: int, epochs: int):
        self.checkpoint, self.saved, self.epochs = checkpoint_file, saved, epochs
        if saved == 0:
            text = f"interrupted in epoch 1 of {epochs}, before any epoch was saved; the same command starts again"
        elif saved < epochs:
            text = (
                f"interrupted in epoch {saved + 1} of {epochs}; epoch {saved} is saved in {checkpoint_file}: "
                "run the same command again to resume from it"
            )
        else:
            text = (
                f"interrupted while writing the trained network; all {epochs} epochs are saved in "
                f"{checkpoint_file}: run the same command again to finish"
            )
        super().__init__(text)


@dataclass
class TrainResult:
    """The outcome of :func:`train`.

    Parameters
    ----------
    directory : pathlib.Path
        The run's folder (its checkpoint).
    epochs : int
        The epochs trained.
    test_accuracy : float
        Test accuracy after the last epoch, in [0, 1].
    train_accuracy : float
        Training accuracy of the last epoch (during it, with dropout), in [0, 1].
    history : list of dict
        Per epoch: ``epoch``, ``loss``, ``train_accuracy``, ``test_accuracy``, ``seconds``.
    seconds : float (s)
        Wall time of this call (0 when a finished run was read back).
    """

    directory: Path
    epochs: int
    test_accuracy: float
    train_accuracy: float
    history: list
    seconds: float


def _batches(n, batch, rng):
    order = rng.permutation(n)
    return [order[k : k + batch] for k in range(0, n, batch)]


def accuracy(net, x: np.ndarray, y: np.ndarray, batch: int = 256) -> float:
    """Fraction of samples whose largest logit is the label.

    Parameters
    ----------
    net : dgnsim.surrogate.Classifier
        The network (put in evaluation mode).
    x : ndarray, shape (N, T, C)
        Input spikes.
    y : ndarray of int, shape (N,)
        Labels.
    batch : int
        Samples per forward pass.

    Returns
    -------
    float
        The accuracy, in [0, 1].
    """
    net.eval()
    correct = 0
    with torch.no_grad():
        for k in range(0, len(x), batch):
            xb = torch.as_tensor(x[k : k + batch], dtype=torch.float32)
            correct += int((net(xb).argmax(1).numpy() == y[k : k + batch]).sum())
    return correct / len(x)


def _finished(out: Path, run_config: dict) -> TrainResult | None:
    """The result of a finished run in ``out`` (None if there is none); refuses another configuration's."""
    manifest = out / "manifest.json"
    if not manifest.exists():
        return None
    done = json.loads(manifest.read_text())
    if done.get("training") != run_config:
        raise ValueError(f"{out}: a finished run of a different configuration is there; use another --out")
    last = done["history"][-1]
    return TrainResult(out, run_config["epochs"], last["test_accuracy"], last["train_accuracy"], done["history"], 0.0)


def parse_delays(text: str) -> list[float]:
    """Read ``--delays``: ``"0,10,20"`` -> ``[0.0, 10.0, 20.0]`` (ms); checked further by the layer.

    Parameters
    ----------
    text : str
        Comma-separated numbers (ms).

    Returns
    -------
    list of float (ms)
        The delays.

    Raises
    ------
    ValueError
        If an item is not a number.
    """
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"--delays: comma-separated numbers in ms, e.g. 0,10,20; got {text!r}") from None


def train(
    model,
    out,
    *,
    hidden: int = 128,
    recurrent: bool = False,
    epochs: int = 20,
    batch: int = 64,
    lr: float = 1e-2,
    seed: int = 0,
    data=None,
    split: str = "official",
    surrogate: str = "fast_sigmoid",
    width: float = 4.0,
    threads: int = 2,
    progress: bool = True,
    limit: int | None = None,
    pool: str = "mean",
    dropout: float = 0.2,
    augment: str = "",
    label_smoothing: float = 0.0,
    reset: str | None = None,
    delays=(0.0,),
    compile_loop: bool = False,
) -> TrainResult:
    """Train a ``model`` classifier on FSDD and write it to ``out``.

    Deterministic for ``seed``; resumable from ``out/checkpoint.pt``; a finished run of the
    same configuration in ``out`` is read back, not trained again.

    Parameters
    ----------
    model : str, path-like or NeuronModel
        The hidden layer's model (see :func:`dgnsim.core.models.load_model`).
    out : str or path-like
        The run's folder.
    hidden : int
        Hidden neurons.
    recurrent : bool
        Recurrent hidden weights.
    epochs : int
        Epochs (Adam, cosine-annealed learning rate).
    batch : int
        Samples per batch.
    lr : float
        The initial learning rate.
    seed : int
        Seed of the initial weights, the batches, dropout and augmentation.
    data : str or path-like, optional
        The FSDD folder (see :func:`dgnsim.fsdd.data.load_fsdd`).
    split : str
        The data split (:func:`dgnsim.fsdd.data.split_files`).
    surrogate : {"fast_sigmoid", "gaussian", "arctan"}
        The surrogate derivative of the spike (:mod:`dgnsim.surrogate.spikes`).
    width : float (mV)
        The surrogate's width.
    threads : int
        Torch's CPU threads.
    progress : bool
        Show progress bars on stderr.
    limit : int, optional
        Train on a random subset of ``limit`` samples (for quick tests).
    pool : {"mean", "max"}
        How the readout's membrane potential is pooled over time into logits.
    dropout : float
        Probability that a hidden spike is hidden from the readout during training.
    augment : str
        Training-time augmentation of the input spikes (:mod:`dgnsim.fsdd.augment`, e.g.
        ``"shift:4,timemask:10,bandmask:4"``; ``""``: none).
    label_smoothing : float
        Of the cross-entropy loss, in [0, 1) (0: none).
    reset : str, optional
        A reset variant of the model file (e.g. ``"soft"``; None: its default reset); Brian2
        runs the same one (:mod:`dgnsim.interop.bridge`).
    delays : sequence of float (ms)
        Input delays: each input channel reaches each hidden neuron through one synapse per
        delay (:class:`~dgnsim.surrogate.SpikingLayer`); ``(0,)``: none.
    compile_loop : bool
        Train with the time loop under ``torch.compile`` (:class:`~dgnsim.surrogate.SpikingLayer`'s
        ``compile_loop``): about 2-4x the eager speed after 10-20 s of compilation (and one more per
        new batch size); the same network up to float rounding. Not part of the run's
        configuration, so a run may be resumed with or without it.

    Returns
    -------
    TrainResult
        The accuracies and history.

    Raises
    ------
    ValueError
        For a non-positive ``epochs``, ``batch``, ``hidden``, ``threads`` or ``lr``, a bad
        ``augment``, ``delays`` or ``label_smoothing``, an unknown model or split, or a folder
        that holds a run of another configuration.
    TrainingInterrupted
        On Ctrl-C (the last finished epoch is kept).
    FloatingPointError
        If the loss or a parameter becomes NaN or Inf (lower ``lr``).
    """
    for name, value in (("epochs", epochs), ("batch", batch), ("hidden", hidden), ("threads", threads)):
        if value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not lr > 0:
        raise ValueError(f"lr (the learning rate) must be positive, got {lr!r}")
    augmentation = parse_augment(augment)
    delays_ms, _ = input_delays(delays, DT_MS)
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
    torch.set_num_threads(threads)
    out = Path(out)
    spec = load_model(model)  # a name or a path; an unknown model fails before the data is read
    ds = load_fsdd(data, split=split)
    train_x, train_y = ds.train_x, ds.train_y
    if limit is not None:  # a random subset (the files are sorted by digit)
        keep = np.sort(np.random.default_rng(seed).permutation(len(train_x))[:limit])
        train_x, train_y = train_x[keep], train_y[keep]
    config = dict(
        model=spec,
        n_in=train_x.shape[2],
        n_hidden=hidden,
        n_out=10,
        recurrent=recurrent,
        dt=DT_MS,
        surrogate=surrogate,
        width=width,
        reset=reset,
        order="brian",
        seed=seed,
        weight_scale=1.0,
        bias=12.0,
        pool=pool,
        dropout=dropout,
    )
    if delays_ms != (0.0,):  # recorded only when used, so runs without delays keep their configuration
        config["delays"] = list(delays_ms)
    run_config = dict(
        config,
        model=spec.name,
        epochs=epochs,
        batch=batch,
        lr=lr,
        split=split,
        limit=limit,
        encoding_key=ds.encoding_key,
    )
    if not spec.builtin:  # a user's model file: a run is of this file's text (built-ins: of the installed file)
        run_config["model_sha256"] = spec.sha256
    if augmentation:  # recorded only when used, so runs without it keep their configuration
        run_config["augment"] = format_augment(augmentation)
    if label_smoothing:
        run_config["label_smoothing"] = label_smoothing
    finished = _finished(out, run_config)
    if finished is not None:
        if progress:
            print(f"{out}: already trained with this configuration", file=sys.stderr)
        return finished
    torch.manual_seed(seed)
    net = Classifier(**config, compile_loop=compile_loop)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    history, start_epoch = [], 0
    ckpt = out / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        if state["run_config"] != run_config:
            raise ValueError(f"{ckpt}: a checkpoint of a different run is there; use another --out")
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        history, start_epoch = state["history"], state["epoch"]
        if progress:
            print(f"resuming from epoch {start_epoch}", file=sys.stderr)
    started = time.perf_counter()
    saved = start_epoch  # the last epoch whose checkpoint is on disk
    try:
        for epoch in range(start_epoch, epochs):
            t0 = time.perf_counter()
            with progress_bar(
                total=len(train_x), desc=f"epoch {epoch + 1}/{epochs}", unit="sample", enabled=progress
            ) as bar:
                loss, train_acc = _train_epoch(
                    net,
                    opt,
                    train_x,
                    train_y,
                    seed=seed,
                    epoch=epoch,
                    batch=batch,
                    augmentation=augmentation,
                    label_smoothing=label_smoothing,
                    bar=bar,
                )
                sched.step()
                test_acc = accuracy(net, ds.test_x, ds.test_y)
                bar.set_postfix_str(f"loss {loss:.3f} acc {train_acc:.3f} test {test_acc:.3f}", refresh=False)
            history.append(
                {
                    "epoch": epoch + 1,
                    "loss": loss,
                    "train_accuracy": train_acc,
                    "test_accuracy": test_acc,
                    "seconds": time.perf_counter() - t0,
                }
            )
            out.mkdir(parents=True, exist_ok=True)
            with atomic_path(ckpt) as tmp:
                torch.save(
                    {
                        "net": net.state_dict(),
                        "opt": opt.state_dict(),
                        "sched": sched.state_dict(),
                        "history": history,
                        "epoch": epoch + 1,
                        "run_config": run_config,
                    },
                    tmp,
                )
            saved = epoch + 1
        final = history[-1]
        checkpoint.save(
            net,
            out,
            encoding=dict(ENCODING, key=ds.encoding_key),
            split=split,
            extra={"training": run_config, "history": history, "test_accuracy": final["test_accuracy"]},
        )
    except KeyboardInterrupt:
        raise TrainingInterrupted(ckpt, saved, epochs) from None
    return TrainResult(
        out, epochs, final["test_accuracy"], final["train_accuracy"], history, time.perf_counter() - started
    )


def _train_epoch(net, opt, train_x, train_y, *, seed, epoch, batch, augmentation, label_smoothing, bar):
    """One epoch of Adam steps; returns the mean loss and the training accuracy; advances ``bar``."""
    net.train()
    rng = np.random.default_rng([seed, epoch])
    torch.manual_seed(int(rng.integers(2**62)))  # dropout's draws: per epoch, so a resumed run is identical
    augment_rng = np.random.default_rng([seed, epoch, 1])
    total, correct, seen = 0.0, 0, 0
    for k, idx in enumerate(_batches(len(train_x), batch, rng)):
        xb = train_x[idx]
        if augmentation:
            xb = augment_batch(xb, augmentation, augment_rng, ENCODING["levels"])
        xb = torch.as_tensor(xb, dtype=torch.float32)
        yb = torch.as_tensor(train_y[idx])
        logits = net(xb)
        loss = F.cross_entropy(logits, yb, label_smoothing=label_smoothing) + REGULARIZER_WEIGHT * net.regularizer()
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"epoch {epoch + 1}, batch {k + 1}: the loss is {float(loss)}; "
                "lower --lr (the last finished epoch's checkpoint is kept)"
            )
        opt.zero_grad()
        loss.backward()
        opt.step()
        net.project()
        bad = [n for n, p in net.named_parameters() if not torch.isfinite(p).all()]
        if bad:
            raise FloatingPointError(
                f"epoch {epoch + 1}, batch {k + 1}: parameters {bad} became NaN or Inf; "
                "lower --lr (the last finished epoch's checkpoint is kept)"
            )
        total += float(loss.detach()) * len(idx)
        correct += int((logits.argmax(1) == yb).sum())
        seen += len(idx)
        bar.update(len(idx))
        bar.set_postfix_str(f"loss {total / seen:.3f} acc {correct / seen:.3f}", refresh=False)
    return total / seen, correct / seen
