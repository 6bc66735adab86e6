"""Sphinx extension of dgnsim's documentation: pages generated when the docs build.

- ``models/generated/<name>.rst``: one page per model found by :func:`dgnsim.list_models`,
  read with :func:`dgnsim.load_model` (equations as mathematics, parameter table,
  threshold, resets, integration and its discrete form, synapse, reference, ``[gating]``).
- ``results/generated/*.md``: the measured tables of ``results/*.md`` and
  ``benchmarks/results/*.md``, each with its protocol from ``results/protocols.toml``.

Nothing here copies a number or an equation by hand: every page is rewritten from the
files at each build (a file is only touched when its text changes).
"""

from __future__ import annotations

import re
import textwrap
import tomllib
from pathlib import Path

import dgnsim_latex as latex
from sphinx.util import logging

LOG = logging.getLogger(__name__)
DOCS = Path(__file__).resolve().parent.parent
ROOT = DOCS.parent

GATING_FIELDS = {
    "gate": "the gate state variable",
    "gate_tau": "the parameter that is the gate's time constant (made very long to hold a gate level)",
    "drive": "where the constant drive of an operating point goes",
    "drive_tau": "the time constant that holds a driven trace",
    "gate_follows_v": "the gate is driven by the membrane (it stays dynamic in small-signal analyses)",
    "strength": "the synapse parameter that drives the gate",
}
CONSTRAINTS = (("positive", "> 0"), ("nonnegative", "≥ 0"), ("nonpositive", "≤ 0"))


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` unless it already holds it (keeps Sphinx's incremental build)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def _title(text: str, char: str = "=") -> str:
    return f"{text}\n{char * len(text)}\n"


def _math(lines: list[str]) -> str:
    """A display-math block, one aligned line per entry (``&=`` or ``&\\leftarrow`` aligned)."""
    if len(lines) == 1:  # Sphinx aligns only multi-line blocks (in a split environment)
        lines = [lines[0].replace("&", "", 1)]
    body = " \\\\[3pt]\n".join(lines)
    return ".. math::\n\n" + textwrap.indent(body, "   ") + "\n"


def _aligned(lhs: str, rel: str, rhs: str) -> str:
    return f"{lhs} &{rel} {rhs}"


def _statement_lines(code: str) -> list[str]:
    out = []
    for st in latex.statements(code):
        lhs, rhs = st.split(r" \leftarrow ", 1)
        out.append(_aligned(lhs, r"\leftarrow", rhs))
    return out


def _table(header: list[str], rows: list[list[str]], widths: str | None = None) -> str:
    out = [".. list-table::", "   :header-rows: 1"]
    if widths:  # the page's full width, shared as given (a table wider than that scrolls)
        out += [f"   :widths: {widths}", "   :width: 100%"]
    out.append("")
    for row in [header, *rows]:
        first = True
        for cell in row:
            cell = str(cell).replace("\n", " ") or " "
            out.append(f"   {'* -' if first else '  -'} {cell}")
            first = False
    return "\n".join(out) + "\n"


def _literal(text: str) -> str:
    return "``%s``" % text.replace("`", "'") if text else ""


def _rst_text(text: str) -> str:
    """A model file's prose as rST: names written with underscores stay literal."""
    text = text.replace("*", r"\*").replace("`", "'")
    return re.sub(r"\b(\w+_\w*)\b", r"``\1``", text).replace("|", r"\|")


def _file_notes(text: str) -> str:
    """The comment block at the top of a model file (before its first key)."""
    lines = []
    for line in text.splitlines():
        if line.startswith("#"):
            lines.append(line[1:][1:] if line.startswith("# ") else line[1:])
        elif line.strip():
            break
    return "\n".join(lines).strip("\n")


_EQ_LINE = re.compile(
    r"^\s*(?:d(?P<d>\w+)/dt|(?P<s>\w+))\s*=\s*(?P<expr>.+?)\s*:\s*(?P<unit>[^()]+?)\s*"
    r"(?:\((?P<flags>[^)]*)\))?\s*$"
)


def _equation_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _EQ_LINE.match(line)
        if not m:
            raise ValueError(f"cannot read the equation line {line!r}")
        out.append(
            {
                "var": m["d"] or m["s"],
                "diff": m["d"] is not None,
                "expr": m["expr"],
                "unit": m["unit"].strip(),
                "flags": (m["flags"] or "").strip(),
            }
        )
    return out


def _scheme(code_lines: list[str]) -> str:
    code = "\n".join(code_lines)
    if "_rho_" in code:
        return (
            "forward Euler with the decay factor clipped at zero, "
            r":math:`\rho = \max(0, 1 + A\,\Delta t)` (paper A's :math:`\phi`; no exponential per neuron)"
        )
    if "exp(" in code:
        return "exact exponential step (exponential Euler: exact for a linear equation with constant input)"
    return "forward Euler"


def model_page(name: str) -> str:
    """The rST page of one model, from its file."""
    import dgnsim
    from dgnsim.core.integration import step_statements

    m = dgnsim.load_model(name)
    try:
        rel = m.source.resolve().relative_to(ROOT)
    except ValueError:
        rel = m.source
    out = [
        f".. _model-{m.name}:\n",
        f".. This page is generated from {rel} when the docs build; do not edit it.\n",
        _title(f"{m.name}: {m.title}"),
    ]
    out.append(
        f"Model file: ``{rel}`` (sha256 ``{m.sha256[:16]}…``). "
        f'Use it by name: ``dgnsim.make_group("{m.name}", n)``; ``dgnsim models {m.name}`` prints it.\n'
    )
    if m.reference:
        out.append(f"**Reference.** {_rst_text(m.reference)}\n")
    notes = _file_notes(m.text)
    if notes:
        out.append(_title("Notes in the model file", "-"))
        out.append(".. code-block:: text\n\n" + textwrap.indent(notes, "   ") + "\n")

    # ---- equations
    eqs = _equation_lines(m.equations_text)
    out.append(_title("Equations", "-"))
    lines = []
    for e in eqs:
        lhs = latex.derivative(e["var"]) if e["diff"] else latex.symbol(e["var"])
        lines.append(_aligned(lhs, "=", latex.expression(e["expr"])))
    out.append(_math(lines))
    noise_var = m.noise_variable
    out.append(
        f"With noise (``noise_sigma`` given to ``make_group``, even ``0*mV``), "
        f"the white-noise term below is added to :math:`{latex.derivative(noise_var)}`; "
        r":math:`\xi` is Brian2's ``xi``, Gaussian white noise in :math:`1/\sqrt{\mathrm{s}}`:" + "\n"
    )
    out.append(_math([r"+\; " + latex.expression(m.noise_term)]))
    rows = []
    for e in eqs:
        kind = "state variable" if e["diff"] else "subexpression"
        init = latex.expression(m.initial[e["var"]]) if e["var"] in m.initial else ""
        rows.append(
            [
                f":math:`{latex.symbol(e['var'])}` (``{e['var']}``)",
                kind,
                _literal(e["unit"]),
                f":math:`{init}` (``{m.initial[e['var']]}``)" if init else "—",
                "held while refractory" if "unless refractory" in e["flags"] else "",
            ]
        )
    out.append(_table(["variable", "kind", "unit", "initial value", "flags"], rows, "22 16 10 30 22"))

    # ---- parameters
    out.append(_title("Parameters", "-"))
    out.append(
        "Scope ``neuron``: may differ per neuron (give ``n`` values, or name it in ``per_neuron``), "
        "learnable per neuron; ``shared``: one value per group or layer. Learnable: trained by the "
        "PyTorch surrogate (time constants learn their logarithm).\n"
    )
    rows = []
    for p in m.parameters.values():
        value = float(p.default / p.unit)
        constraint = ", ".join(text for key, text in CONSTRAINTS if getattr(p, key))
        learn = "yes" if p.learnable else "no"
        if p.learnable and p.learn_scale is not None:
            learn += f" (scale {p.learn_scale:g})"
        rows.append(
            [
                f"``{p.name}``",
                f":math:`{latex.symbol(p.name)}`",
                _literal(p.unit_text),
                f"{value:g}",
                p.scope,
                learn,
                constraint,
                _rst_text(p.doc),
            ]
        )
    out.append(
        _table(
            ["name", "symbol", "unit", "default", "scope", "learnable", "constraint", "meaning"],
            rows,
            "12 10 8 8 8 9 8 37",
        )
    )

    # ---- threshold, reset, refractoriness
    out.append(_title("Threshold, reset and refractoriness", "-"))
    out.append(f"A spike is emitted when ``{m.threshold}``:\n")
    out.append(_math([latex.expression(m.threshold)]))
    out.append("Reset (default, ``reset=None``):\n")
    out.append(_math(_statement_lines(m.reset)))
    for variant, code in m.resets.items():
        out.append(
            f'Reset variant ``{variant}`` (``make_group(..., reset="{variant}")``, '
            f"``dgnsim train --reset {variant}``):\n"
        )
        out.append(_math(_statement_lines(code)))
    clamped = ", ".join(f"``{v}``" for v in m.clamped) or "none"
    out.append(f"Refractory period: ``{m.refractory}``; variables held while refractory: {clamped}.\n")

    # ---- integration
    out.append(_title("Integration and its discrete form", "-"))
    order = ", ".join(f"``{v}``" for v in m.update_order)
    if m.method == "sequential":
        out.append(
            f"Method ``sequential`` (:mod:`dgnsim.core.integration`): one Brian2 step advances the "
            f"state variables in the order {order}, each using the already-advanced values of those "
            r"before it. The step Brian2 runs (and the PyTorch surrogate executes), without noise, "
            r"with :math:`\Delta t` the time step:" + "\n"
        )
        blocks = step_statements(m.equations(), None, list(m.update_order), refractory=False)
        lines, schemes = [], []
        for var, code in blocks:
            lines += _statement_lines("\n".join(code))
            schemes.append(f"- ``{var}``: {_scheme(code)}")
        out.append(_math(lines))
        out.append("\n".join(schemes) + "\n")
        out.append(
            r"With noise, :math:`\eta \leftarrow \mathcal{N}(0, 1)/\sqrt{\Delta t}` is drawn once per "
            r"neuron and step and stands for :math:`\xi` in the step (Euler–Maruyama). Variables held "
            "while refractory keep their value during the refractory period.\n"
        )
    else:
        out.append(f"Method ``{m.method}`` (Brian2's state updater of that name), update order {order}.\n")

    # ---- surrogate
    try:
        from dgnsim.surrogate import compile_model

        compile_model(m)
        out.append('**PyTorch surrogate:** available (``dgnsim.surrogate.SpikingLayer("%s", ...)``).\n' % m.name)
    except ImportError:
        pass
    except Exception as exc:  # the message says why
        out.append(f"**PyTorch surrogate:** not available: {_rst_text(str(exc))}\n")

    # ---- synapse
    out.append(_title("Synapse", "-"))
    out.append("Synapse model (``dgnsim.connect(source, target, ..., **weights)``):\n")
    out.append(".. code-block:: text\n\n" + textwrap.indent(m.synapse.model.strip(), "   ") + "\n")
    rows = []
    for p in m.synapse.parameters.values():
        constraint = ", ".join(text for key, text in CONSTRAINTS if getattr(p, key))
        rows.append(
            [f"``{p.name}``", _literal(p.unit_text), f"{float(p.default / p.unit):g}", constraint, _rst_text(p.doc)]
        )
    out.append(_table(["name", "unit", "default", "constraint", "meaning"], rows, "12 10 10 10 58"))
    out.append("On a presynaptic spike (``on_pre``; ``_post``: the target neuron's variable):\n")
    out.append(_math(_statement_lines(m.synapse.on_pre)))

    # ---- gating
    if m.gating:
        out.append(_title("Gating analyses", "-"))
        out.append(
            "How :mod:`dgnsim.analysis.gating` holds this neuron at an operating point "
            "(the model file's ``[gating]`` table; fields of :class:`dgnsim.analysis.gating.GateSpec`):\n"
        )
        rows = [[f"``{k}``", _literal(str(v)), GATING_FIELDS.get(k, "")] for k, v in m.gating.items()]
        out.append(_table(["key", "value", "meaning"], rows, "20 20 60"))

    # ---- the file
    out.append(_title("The model file", "-"))
    if m.source.resolve().is_relative_to(ROOT):
        out.append(f".. literalinclude:: /../{rel}\n   :language: toml\n")
    else:
        out.append(".. code-block:: toml\n\n" + textwrap.indent(m.text, "   ") + "\n")
    return "\n".join(out)


def write_model_pages(app) -> None:
    import dgnsim
    from dgnsim.core.models import builtin_dir

    folder = DOCS / "models" / "generated"
    # the built-in models (a gallery example may have put its own folder on the search path)
    names = [n for n in dgnsim.list_models() if (builtin_dir() / f"{n}.toml").is_file()]
    for name in names:
        _write(folder / f"{name}.rst", model_page(name))
    for stale in folder.glob("*.rst"):
        if stale.stem not in names:
            stale.unlink()
    rows = []
    for name in names:
        m = dgnsim.load_model(name)
        state = ", ".join(m.state_variables)
        rows.append(
            [
                f":doc:`{name} </models/generated/{name}>`",
                _rst_text(m.title),
                state,
                f"``{'; '.join(s.strip() for s in m.synapse.on_pre.strip().splitlines())}``",
            ]
        )
    table = _table(["model", "what", "state", "synapse on_pre"], rows, "15 50 15 20")
    toc = ".. toctree::\n   :hidden:\n\n" + "".join(f"   /models/generated/{n}\n" for n in names)
    _write(folder / "list.inc", table + "\n" + toc)
    LOG.info(f"dgnsim: wrote the pages of {len(names)} models")


# ----------------------------------------------------------------------------- results


def _demote(markdown: str, levels: int = 2) -> str:
    return re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + levels) + " ", markdown, flags=re.M)


def write_result_pages(app) -> None:
    """One page per group of ``results/protocols.toml``, each result file with its protocol."""
    protocols = tomllib.loads((DOCS / "results" / "protocols.toml").read_text())
    folder = DOCS / "results" / "generated"
    files = sorted(ROOT.glob("results/*.md")) + sorted(ROOT.glob("benchmarks/results/*.md"))
    described = {key for group in protocols["group"] for key in group["files"]}
    pages = []
    for group in protocols["group"]:
        out = [f"# {group['title']}\n", f"<!-- generated from {', '.join(group['files'])}; do not edit -->\n"]
        if group.get("intro"):
            out.append(group["intro"].strip() + "\n")
        for key in group["files"]:
            path = ROOT / key
            if not path.is_file():
                LOG.info(f"dgnsim: {key} (named in results/protocols.toml) does not exist; skipped")
                continue
            entry = protocols.get("file", {}).get(key, {})
            out.append(f"## `{key}`\n")
            if entry.get("protocol"):
                out.append("**Protocol.** " + entry["protocol"].strip() + "\n")
            if entry.get("command"):
                out.append("Reproduce:\n\n```bash\n" + entry["command"].strip() + "\n```\n")
            out.append("**Measured** (the file, included when the docs build):\n")
            out.append(_demote(path.read_text().strip()) + "\n")
        _write(folder / f"{group['page']}.md", "\n".join(out))
        pages.append(group["page"])
    rest = [str(f.relative_to(ROOT)) for f in files if str(f.relative_to(ROOT)) not in described]
    out = [
        "# Other result files\n",
        "Result files not yet described in `docs/results/protocols.toml` (no protocol recorded).\n",
    ]
    for key in rest:
        out.append(f"## `{key}`\n\n" + _demote((ROOT / key).read_text().strip()) + "\n")
    if not rest:
        out.append("None: every result file is described on the pages above.\n")
    _write(folder / "other.md", "\n".join(out))
    for stale in folder.glob("*.md"):
        if stale.stem not in pages + ["other"]:
            stale.unlink()
    toc = (
        ".. toctree::\n   :maxdepth: 1\n\n"
        + "".join(f"   /results/generated/{p}\n" for p in pages)
        + "   /results/generated/other\n"
    )
    _write(folder / "toc.inc", toc)
    LOG.info(f"dgnsim: wrote {len(pages) + 1} result pages from {len(files)} files")


# ----------------------------------------------------------------------------- API modules

#: Subpackages of the API reference, in the order of the layers (top to bottom).
API_PACKAGES = ("core", "brian", "analysis", "surrogate", "io", "sweep", "fsdd", "viz", "interop", "cli")
#: Modules left out: one per CLI sub-command (documented by the CLI page), the entry point.
API_SKIP = re.compile(r"^dgnsim\.(cli\.commands(\..*)?|__main__)$")


def _public_names(module) -> list[str]:
    import inspect

    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, obj in vars(module).items()
            if not n.startswith("_")
            and (inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", "") == module.__name__
        ]
    return [n for n in names if not n.startswith("__")]


def _api_modules() -> list[str]:
    import importlib
    import pkgutil

    out = []
    for package in API_PACKAGES:
        name = f"dgnsim.{package}"
        pkg = importlib.import_module(name)
        out.append(name)
        for info in sorted(pkgutil.walk_packages(pkg.__path__, prefix=f"{name}."), key=lambda m: m.name):
            if not API_SKIP.match(info.name) and not info.name.rsplit(".", 1)[-1].startswith("_"):
                out.append(info.name)
    return out


def _summary(obj) -> str:
    import inspect

    doc = inspect.getdoc(obj) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def write_api_pages(app) -> None:
    """One page per module of the public API (its docstring, a table of its names, their
    documentation), and an index of the modules (``api/generated/modules.inc``)."""
    import importlib
    import inspect

    folder = DOCS / "api" / "generated"
    modules, rows = [], []
    for name in _api_modules():
        try:
            module = importlib.import_module(name)
        except ImportError as exc:  # an optional extra that is not installed
            LOG.warning(f"dgnsim: API page of {name} left out: {exc}")
            continue
        modules.append(name)
        out = [
            f".. This page is generated from the module {name} when the docs build.\n",
            _title(name),
            f".. automodule:: {name}\n",
        ]
        children = [m for m in _api_modules() if m.startswith(name + ".") and m.count(".") == name.count(".") + 1]
        if children:
            out.append(".. rubric:: Modules\n")
            out.append(
                _table(
                    ["module", "what"],
                    [[f":mod:`{m}`", _summary(importlib.import_module(m))] for m in children],
                    "35 65",
                )
            )
        names = _public_names(module)
        entries, own = [], []
        for n in names:
            obj = getattr(module, n, None)
            origin = getattr(obj, "__module__", name) if (inspect.isclass(obj) or inspect.isfunction(obj)) else name
            target = f"{origin}.{getattr(obj, '__qualname__', n)}" if origin != name else f"{name}.{n}"
            if inspect.isclass(obj):
                role, kind = ("exc", "exception") if issubclass(obj, BaseException) else ("class", "class")
            elif callable(obj):
                role, kind = "func", "function"
            else:
                role, kind = "data", "data"
            entries.append([f":py:{role}:`~{target}`", kind, _summary(obj) if kind != "data" else ""])
            if origin == name:
                own.append((n, kind))
        if entries:
            out.append(".. rubric:: Names\n")
            out.append(_table(["name", "kind", "summary"], entries, "30 12 58"))
        for n, kind in own:
            directive = {
                "class": "autoclass",
                "exception": "autoexception",
                "function": "autofunction",
                "data": "autodata",
            }[kind]
            out.append(f".. {directive}:: {n}" + ("\n   :members:\n" if kind in ("class", "exception") else "\n"))
        _write(folder / f"{name}.rst", "\n".join(out))
        depth = name.count(".") - 1
        label = name if depth == 0 else "\u2003" * depth + name.rsplit(".", 1)[-1]
        rows.append([f":doc:`{label} </api/generated/{name}>`", _summary(module)])
    for stale in folder.glob("dgnsim.*.rst"):
        if stale.stem not in modules:
            stale.unlink()
    table = _table(["module", "what"], rows, "30 70")
    toc = ".. toctree::\n   :hidden:\n\n" + "".join(f"   /api/generated/{m}\n" for m in modules)
    _write(folder / "modules.inc", table + "\n" + toc)
    LOG.info(f"dgnsim: wrote {len(modules)} API module pages")


def setup(app):
    app.connect("builder-inited", write_model_pages, priority=400)  # before the gallery runs
    app.connect("builder-inited", write_result_pages, priority=400)
    app.connect("builder-inited", write_api_pages, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
