"""``dgnsim models``: list the models, their parameters, units and defaults."""

from __future__ import annotations

import json

from dgnsim.core.models import list_models, load_model

NAME = "models"
HELP = (
    "list the models (built-in, on the model search path, or given by path) with their parameters, units and defaults"
)


def add_arguments(parser) -> None:
    parser.add_argument("names", nargs="*", help="models to show (default: all)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def describe(name: str) -> dict:
    """A model as plain data: equations, threshold, reset, method and parameters."""
    m = load_model(name)

    def params(table):
        return {
            p.name: {"default": float(p.default / p.unit), "unit": p.unit_text, "scope": p.scope, "doc": p.doc}
            for p in table.values()
        }

    return {
        "name": m.name,
        "title": m.title,
        "reference": m.reference,
        "file": str(m.source),
        "sha256": m.sha256,
        "equations": m.equations_text.strip(),
        "threshold": m.threshold,
        "reset": m.reset.strip(),
        "reset_variants": m.resets,
        "refractory": m.refractory,
        "method": m.method,
        "update_order": list(m.update_order),
        "noise": f"{m.noise_variable}: + {m.noise_term}",
        "parameters": params(m.parameters),
        "synapse": {
            "model": m.synapse.model.strip(),
            "on_pre": m.synapse.on_pre.strip(),
            "parameters": params(m.synapse.parameters),
        },
    }


def run(args) -> int:
    names = args.names or list_models()
    records = [describe(n) for n in names]
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    for r in records:
        print(f"{r['name']}: {r['title']}")
        print(
            f"  method {r['method']} (order {', '.join(r['update_order'])}); "
            f"threshold {r['threshold']}; reset {r['reset']!r}"
        )
        for line in r["equations"].splitlines():
            print(f"    {line}")
        for pname, p in r["parameters"].items():
            print(f"  {pname:12s} {p['default']:>10g} {p['unit']:14s} {p['scope']:7s} {p['doc']}")
        for pname, p in r["synapse"]["parameters"].items():
            print(f"  syn.{pname:8s} {p['default']:>10g} {p['unit']:14s} synapse {p['doc']}")
        print()
    return 0
