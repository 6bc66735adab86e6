"""``dgnsim stability``: paper A's stationary variance against a Brian2 Monte-Carlo.

Two forms:

- ``dgnsim stability --model dgn --mu 1,0.5 --sigma 0.2sqrt(ms),0.1sqrt(ms)
  --w 2mV,1mV --c 0.5,0.2 --trials 5000 --json``: one parameter set (inputs
  I_i = mu_i + sigma_i xi; w_i = W_i tau_mem, c_i = C_i tau_mem as in equations/dgn.toml);
  ``--model lif`` uses the same w_i, sigma_i; ``--model sdgn``/``dgn_activity`` (or
  ``dgn`` with ``--noise``) check the seed's bound for additive noise ``--noise`` and a
  constant gate ``--gate`` (held by a very long tau_syn) or input ``--input``.
- ``dgnsim stability check --samples 200 --seed S --json``: the theorem check over
  random parameter sets in a stated regime (``--regime``), for LIF and DGN, plus the
  seed's bound for dgn_activity (``--bound``).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from brian2 import Quantity, ms, mV, second

from dgnsim.analysis import stability as stab
from dgnsim.brian.backend import DEVICES
from dgnsim.cli.options import UsageError, check, check_writable, count, number, quantity
from dgnsim.core.quantities import parse_quantity
from dgnsim.io.files import write_json

NAME = "stability"
HELP = "stochastic stability: paper A's stationary variance and the seed's bound against a Brian2 Monte-Carlo"


def add_arguments(parser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=["check"],
        default=None,
        help="'check': the theorem check over random parameter sets; omit for one set",
    )
    parser.add_argument(
        "--model",
        default="dgn",
        choices=["lif", "dgn", "sdgn", "dgn_activity"],
        help="model of the one-set form (default dgn)",
    )
    parser.add_argument("--mu", help="input means, comma-separated (dimensionless), e.g. 1,0.5")
    parser.add_argument("--sigma", help="input noise amplitudes, e.g. 0.2sqrt(ms),0.1sqrt(ms)")
    parser.add_argument("--w", help="input weights w_i = W_i tau_mem, e.g. 2mV,-1mV")
    parser.add_argument("--c", help="input conductances c_i = C_i tau_mem (dimensionless), e.g. 0.5,0.2")
    parser.add_argument("--tau-mem", default="20ms", help="membrane time constant 1/g_l (default 20ms)")
    parser.add_argument(
        "--noise-convention",
        default="shared",
        choices=stab.NOISE_CONVENTIONS,
        help="one shared xi (paper A) or independent xi_i (default shared)",
    )
    parser.add_argument("--noise", help="additive noise amplitude noise_sigma for the seed-bound form, e.g. 1mV")
    parser.add_argument("--gate", default="0", help="constant gate g (dgn, sdgn; dimensionless; default 0)")
    parser.add_argument("--input", default="0mV", help="constant synaptic input I (dgn, dgn_activity; default 0mV)")
    parser.add_argument("--trials", type=int, default=2000, help="independent trials (default 2000)")
    parser.add_argument("--samples", type=int, default=200, help="check: parameter sets (default 200)")
    parser.add_argument("--regime", default="weak", choices=stab.REGIMES, help="check: regime (default weak)")
    parser.add_argument("--bound", action="store_true", help="check: also the seed's bound for dgn_activity")
    parser.add_argument("--level", type=float, default=0.99, help="interval level (default 0.99)")
    parser.add_argument("--dt", default="0.05ms", help="time step (default 0.05ms)")
    parser.add_argument("--device", default="cpp_standalone", choices=DEVICES, help="backend (default cpp_standalone)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    parser.add_argument(
        "--chunk",
        type=int,
        default=None,
        help="check: parameter sets per run (default: all in one run); the runs can go to Dask workers, "
        "and the results depend on --seed and --chunk, never on where they run",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="check: run the chunks on a local Dask cluster of N processes"
    )
    parser.add_argument("--scheduler", default=None, help="check: run the chunks on the Dask scheduler at ADDRESS")
    parser.add_argument("--out", help="output directory (writes stability.json)")
    parser.add_argument("--json", action="store_true", help="print the JSON result to stdout")


def _list(name, text, unit, display):
    if text is None:
        raise ValueError(f"--{name}: required for this form")
    items = [
        t.strip().replace("sqrt(ms)", "ms**(1/2)").replace("sqrt(s)", "second**(1/2)")
        for t in text.split(",")
        if t.strip()
    ]
    if not items:
        raise ValueError(f"--{name}: no values in {text!r}")
    values = [parse_quantity(f"--{name}", t, unit, display) for t in items]
    return Quantity(np.array([float(v) for v in values]), dim=unit.dim)


def _one_set(args, dt) -> dict:
    tau = quantity("--tau-mem", args.tau_mem, second, "ms", "positive")
    if args.mu is not None and args.model in ("lif", "dgn") and args.noise is None:
        mu = _list("mu", args.mu, Quantity(1.0), "1")
        sigma = _list("sigma", args.sigma, second**0.5, "sqrt(ms)")
        w = _list("w", args.w, mV, "mV")
        c = _list("c", args.c, Quantity(1.0), "1") if args.model == "dgn" else np.zeros(len(w))
        W, C, g_l = w / tau, np.asarray(c) / tau, 1 / tau
        if args.model == "dgn":
            lna = stab.linear_noise_dgn(mu, sigma, W, C, g_l, args.noise_convention)
            p = stab.diffusion_parameters(mu, sigma, W, C, g_l, args.noise_convention)
            p["v_th"] = 1000 * mV - 65 * mV
            disc = stab.discrete_variance_dgn_diffusion(
                p["tau_mem"], p["g_mean"], p["I_mean"], p["noise_sigma"], p["noise_gate"], p["noise_indep"], dt
            )
            model, initial = "dgn_diffusion", {}
        else:
            lna = stab.linear_noise_lif(mu, sigma, W, g_l, args.noise_convention)
            p = {"tau_mem": tau, "I_ext": lna.v_ss, "noise_sigma": lna.std, "v_th": 1000 * mV - 65 * mV}
            disc = stab.discrete_variance_lif(lna.std, tau, dt)
            model, initial = "lif", {}
        span = 1 / lna.G0
        mc = stab.monte_carlo(
            model,
            p,
            args.trials,
            burn_in=4 * np.ceil(span / dt) * dt,
            spacing=np.ceil(span / dt) * dt,
            dt=dt,
            device=args.device,
            seed=args.seed,
            level=args.level,
            initial_v=lna.v_ss,
        )
        st = mc.stats
        a = float(lna.variance / mV**2)
        lo, hi = st.variance_ci[0] * 1e6
        return {
            "form": "linear_noise",
            "model": args.model,
            "simulated_model": model,
            "noise": args.noise_convention,
            "v_ss_mV": float(lna.v_ss / mV),
            "G0_per_ms": float(lna.G0 * ms),
            "analytic_variance_mV2": a,
            "analytic_ito_variance_mV2": float(lna.variance_ito / mV**2),
            "discrete_variance_mV2": float(np.asarray(disc / mV**2)),
            "weak_noise_ratio": lna.weak_noise,
            "estimate_variance_mV2": float(st.variance[0] * 1e6),
            "interval_mV2": [float(lo), float(hi)],
            "level": args.level,
            "passed": bool(lo <= a <= hi),
            "estimate_mean_mV": float(st.mean[0] * 1e3),
            "mean_interval_mV": (st.mean_ci[0] * 1e3).tolist(),
            "compensation": bool(stab.noise_compensation(W, C).holds) if args.model == "dgn" else None,
            "variance_ratio_dgn_lif": stab.variance_ratio(mu, sigma, W, C, g_l, args.noise_convention),
            "trials": args.trials,
            "device": args.device,
            "dt_ms": float(dt / ms),
            "timings_s": mc.timings,
        }
    # the seed's bound with additive noise
    if args.noise is None:
        raise ValueError(
            "give --noise (additive noise amplitude) for this form, or --mu/--sigma/--w/--c "
            "for paper A's linear-noise form (lif, dgn)"
        )
    noise = quantity("--noise", args.noise, mV, "mV", "non-negative")
    gate = number("--gate", args.gate, minimum=0)
    I0 = quantity("--input", args.input, mV, "mV")
    params = {"tau_mem": tau, "noise_sigma": noise, "tau_syn": 1e4 * second, "v_th": 1000 * mV - 65 * mV}
    initial = {}
    if args.model in ("dgn", "sdgn"):
        initial["g"] = gate
    if args.model in ("dgn", "dgn_activity"):
        initial["I"] = I0
    elif float(I0) != 0:
        raise ValueError(f"--input: the {args.model} model has no synaptic input I")
    span = max(float(tau), 0.1 if args.model == "dgn_activity" else 0) * second
    mc = stab.monte_carlo(
        args.model,
        params,
        args.trials,
        burn_in=4 * np.ceil(span / dt) * dt,
        spacing=np.ceil(span / dt) * dt,
        dt=dt,
        device=args.device,
        seed=args.seed,
        level=args.level,
        initial=initial,
    )
    st = mc.stats
    g_min = float(mc.gate_min[0]) if mc.gate_min is not None else 0.0
    bound = float(noise / mV) ** 2 / (1 + g_min)
    leak = float(noise / mV) ** 2
    msd, (lo, hi) = float(st.msd[0] * 1e6), st.msd_ci[0] * 1e6
    return {
        "form": "seed_bound",
        "model": args.model,
        "noise_sigma_mV": float(noise / mV),
        "gate_min": g_min,
        "msd_mV2": msd,
        "interval_mV2": [float(lo), float(hi)],
        "level": args.level,
        "bound_seed_mV2": bound,
        "margin_seed": bound / msd - 1,
        "holds_seed": bool(lo <= bound),
        "bound_leak_mV2": leak,
        "margin_leak": leak / msd - 1,
        "holds_leak": bool(lo <= leak),
        "trials": args.trials,
        "device": args.device,
        "dt_ms": float(dt / ms),
        "timings_s": mc.timings,
    }


def _check(args, dt) -> dict:
    started = time.perf_counter()
    where = {"chunk": args.chunk, "workers": args.workers, "scheduler": args.scheduler}
    rep = stab.check(
        args.samples,
        args.seed,
        regime=args.regime,
        noise=args.noise_convention,
        trials=args.trials,
        dt=dt,
        device=args.device,
        level=args.level,
        **where,
    )
    out = {
        "form": "check",
        "regime": rep.regime,
        "noise": rep.noise,
        "seed": rep.seed,
        "trials": rep.trials,
        "level": rep.level,
        "dt_ms": rep.dt_ms,
        "device": rep.device,
        "rows": [asdict(r) for r in rep.rows],
        "summary": rep.summary,
        "timings_s": rep.timings,
    }
    if args.bound:
        rows, summary = stab.check_bound(
            args.samples,
            args.seed,
            trials=args.trials,
            dt=max(dt, 0.1 * ms),
            device=args.device,
            level=args.level,
            **where,
        )
        out["bound_rows"] = [asdict(r) for r in rows]
        out["bound_summary"] = summary
    out["wall_s"] = time.perf_counter() - started
    lines = [
        f"{m}: {s['passed']}/{s['sets']} sets with the analytic variance inside the {args.level:.0%} interval "
        f"(median |rel. error| {s['median_abs_rel_error']:.3f})"
        for m, s in rep.summary.items()
    ]
    if args.bound:
        b = out["bound_summary"]
        lines.append(
            f"dgn_activity: seed bound (lambda0 + g_min) not rejected for {b['holds_seed']}/{b['sets']}, "
            f"leak-only bound for {b['holds_leak']}/{b['sets']} (min margin {b['min_margin_leak']:+.3f})"
        )
    out["summary_line"] = "; ".join(lines)
    return out


def run(args) -> int:
    dt = quantity("--dt", args.dt, second, "ms", "positive")
    count("--trials", args.trials, minimum=2)  # a variance needs two independent trials
    count("--samples", args.samples)
    check("--level", 0 < args.level < 1, "a probability in (0, 1)", args.level)
    count("--chunk", args.chunk)
    count("--workers", args.workers)
    if args.workers is not None and args.scheduler is not None:
        raise UsageError("--workers: give --workers (a local cluster) or --scheduler (a running one), not both")
    if args.action != "check" and (args.chunk or args.workers or args.scheduler):
        raise UsageError("--chunk, --workers and --scheduler apply to 'dgnsim stability check' (many parameter sets)")
    if (args.workers or args.scheduler) and args.chunk is None:
        raise UsageError("--chunk: give the parameter sets per run to spread the check over Dask workers")
    if args.out:
        check_writable(args.out)
    result = _check(args, dt) if args.action == "check" else _one_set(args, dt)
    text = json.dumps(result, default=lambda x: x.item() if hasattr(x, "item") else str(x))
    if args.out:
        write_json(
            Path(args.out) / ("stability_check.json" if args.action == "check" else "stability.json"), json.loads(text)
        )
    if args.json:
        print(text)
    else:
        print(
            result.get("summary_line")
            or json.dumps({k: v for k, v in json.loads(text).items() if not isinstance(v, (list, dict))}, indent=1)
        )
    return 0
