"""Model expressions: the one parser and evaluator of thresholds, statements and values.

A model file writes a threshold (``v > v_th``), reset and ``on_pre`` statements (``v =
v_reset``, ``a += 1``, ``I_post += w``, one per line) and initial values (``0*mV``). The
PyTorch surrogate and the analyses read them here, so that each is parsed one way:

- :func:`parse_threshold`: ``a > b`` or ``a >= b`` as the distance ``a - b`` (sympy and
  code), whether it is inclusive, and the names it reads;
- :func:`parse_statements`: ``x = e``, ``x += e``, ``x -= e`` as (target, op, expression);
- :func:`compile_expression` / :func:`evaluate`: an expression's value for given values
  (floats, numpy arrays or torch tensors), with unit names as numbers of a number system
  (``"mv_ms"``, the surrogate's: mV and ms are 1; ``"si"``, the analyses': volt and second
  are 1), and the functions of Brian2's model language (``exp``, ``clip``, ...) applied by
  numpy or torch according to their arguments, or to a ``backend`` given.

torch is never imported here: a function reaches torch only when handed a tensor (torch
is then loaded already), or when ``backend="torch"`` is asked for.
"""

from __future__ import annotations

import ast
import contextlib
import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import sympy as sp
from brian2.parsing.sympytools import str_to_sympy, sympy_to_str

from dgnsim.core.units import UNIT_NAMESPACE, mv_ms_value

__all__ = [
    "BACKENDS",
    "CONSTANTS",
    "FUNCTIONS",
    "STATEMENT_OPS",
    "SYSTEMS",
    "Expression",
    "Statement",
    "Threshold",
    "apply_statements",
    "compile_expression",
    "evaluate",
    "model_origin",
    "namespace",
    "parse_statements",
    "parse_threshold",
    "synapse_jumps",
    "unit_namespace",
    "unit_values",
]

#: How functions pick their implementation: by their arguments (None), or always one library.
BACKENDS = (None, "numpy", "torch")
#: Number systems for unit names: "mv_ms" (mV = ms = 1, the surrogate's), "si" (volt = second = 1).
SYSTEMS = ("mv_ms", "si")
#: Constants of the model language (Brian2's ``DEFAULT_CONSTANTS``).
CONSTANTS = {"pi": math.pi, "e": math.e, "inf": math.inf}
#: Every statement operator of Brian2's model language; :func:`parse_statements` takes a subset.
STATEMENT_OPS = ("=", "+=", "-=", "*=", "/=")


# --- units ------------------------------------------------------------------------------------


def unit_namespace() -> dict:
    """Brian2's units by the names a model file may write (``mV``, ``ms``, ``Hz``, and ``s``).

    A fresh dict of Brian2 ``Unit`` objects, for checking the dimensions of model text;
    :func:`unit_values` gives the same names as plain numbers.
    """
    return dict(UNIT_NAMESPACE)


@cache
def _unit_values(system: str) -> tuple[tuple[str, float], ...]:
    if system == "si":
        return tuple((name, float(np.asarray(unit))) for name, unit in UNIT_NAMESPACE.items())
    values = []
    for name, unit in UNIT_NAMESPACE.items():
        with contextlib.suppress(ValueError):  # amperes, metres, ...: no mV-ms number
            values.append((name, float(mv_ms_value(unit))))
    return tuple(values)


def unit_values(system: str = "mv_ms") -> dict[str, float]:
    """Unit names as plain numbers of a number system.

    Parameters
    ----------
    system : {"mv_ms", "si"}
        ``"mv_ms"``: ``mV`` 1, ``ms`` 1, ``s`` 1000, ``Hz`` 0.001 (only units that are products of
        volts and seconds); ``"si"``: every unit, ``mV`` 0.001.

    Returns
    -------
    dict of str to float
        Unit name -> its value in ``system``.
    """
    if system not in SYSTEMS:
        raise ValueError(f"unknown number system {system!r}; choose from {SYSTEMS}")
    return dict(_unit_values(system))


# --- functions, dispatched to numpy or torch -----------------------------------------------------


def _tensor_type():
    """torch.Tensor if torch has been imported (by whoever made a tensor), else None."""
    torch = sys.modules.get("torch")
    return torch.Tensor if torch is not None else None


def _torch():
    import torch  # only when a tensor is at hand or backend="torch" was asked for

    return torch


def _np_int(x):
    return int(x) if np.ndim(x) == 0 else np.asarray(x).astype(np.int64)


def _np_exprel(x):
    x = np.asarray(x, dtype=float)
    zero = x == 0
    out = np.where(zero, 1.0, np.expm1(x) / np.where(zero, 1.0, x))
    return out[()] if out.ndim == 0 else out


def _torch_exprel(x):
    torch = _torch()
    zero = x == 0
    return torch.where(zero, torch.ones_like(x), torch.expm1(x) / torch.where(zero, torch.ones_like(x), x))


def _torch_clip(x, lo, hi):
    torch = _torch()
    bounds = [b for b in (x, lo, hi) if isinstance(b, torch.Tensor)]
    like = bounds[0]
    x, lo, hi = (
        b if isinstance(b, torch.Tensor) else torch.as_tensor(b, dtype=like.dtype, device=like.device)
        for b in (x, lo, hi)
    )
    return torch.clamp(x, lo, hi)


#: Brian2's deterministic functions: name -> (numpy implementation, torch implementation as
#: the name of a torch function or a callable taking tensors).
_IMPLEMENTATIONS: dict[str, tuple[Callable, Any]] = {
    **{
        name: (getattr(np, name), name)
        for name in (
            "exp",
            "log",
            "log10",
            "expm1",
            "log1p",
            "sqrt",
            "sin",
            "cos",
            "tan",
            "sinh",
            "cosh",
            "tanh",
            "arcsin",
            "arccos",
            "arctan",
            "abs",
            "sign",
            "ceil",
            "floor",
        )
    },
    "clip": (np.clip, _torch_clip),
    "int": (_np_int, lambda x: x.to(_torch().int64)),
    "exprel": (_np_exprel, _torch_exprel),
}
#: The function names a model expression may call.
FUNCTIONS = tuple(_IMPLEMENTATIONS)


def _torch_impl(name: str) -> Callable:
    impl = _IMPLEMENTATIONS[name][1]
    return getattr(_torch(), impl) if isinstance(impl, str) else impl


def _dispatching(name: str) -> Callable:
    """``name`` by torch if any argument is a tensor, else by numpy."""
    numpy_impl = _IMPLEMENTATIONS[name][0]

    def function(*args):
        tensor = _tensor_type()
        if tensor is not None and any(isinstance(a, tensor) for a in args):
            return _torch_impl(name)(*args)  # clip takes numbers beside tensors; the others one argument
        return numpy_impl(*args)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{name}: torch.{name} for tensor arguments, numpy.{name} otherwise."
    return function


def _forced_torch(name: str) -> Callable:
    """``name`` by torch, numbers and arrays made float64 tensors first."""

    def function(*args):
        torch = _torch()
        if name != "clip" or not any(isinstance(a, torch.Tensor) for a in args):
            args = tuple(a if isinstance(a, torch.Tensor) else torch.as_tensor(a, dtype=torch.float64) for a in args)
        return _torch_impl(name)(*args)

    function.__name__ = function.__qualname__ = name
    return function


@cache
def _functions(backend: str | None) -> tuple[tuple[str, Callable], ...]:
    if backend is None:
        return tuple((n, _dispatching(n)) for n in _IMPLEMENTATIONS)
    if backend == "numpy":
        return tuple((n, impl[0]) for n, impl in _IMPLEMENTATIONS.items())
    return tuple((n, _forced_torch(n)) for n in _IMPLEMENTATIONS)


@cache
def _shared_namespace(backend: str | None, system: str) -> dict:
    """One namespace per (backend, system), shared by the compiled expressions (never mutated)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {BACKENDS}")
    ns: dict[str, object] = {"__builtins__": {}}
    ns.update(unit_values(system))
    ns.update(CONSTANTS)
    ns.update(_functions(backend))
    return ns


def namespace(backend: str | None = None, system: str = "mv_ms") -> dict:
    """The names every model expression may use: functions, constants and units (as numbers).

    A fresh dict: the global namespace of :func:`evaluate`, and of code generated from
    model expressions (the surrogate's step). Values given to an evaluation shadow these
    names, so a parameter may have the name of a unit.

    Parameters
    ----------
    backend : {None, "numpy", "torch"}
        Which library the functions use: by their arguments (None), or always numpy or torch.
    system : {"mv_ms", "si"}
        The number system of the unit names (see :func:`unit_values`).

    Returns
    -------
    dict
        Name -> function, constant (float) or unit (float).
    """
    return dict(_shared_namespace(backend, system))


# --- expressions -------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _code(text: str):
    tree = ast.parse(text.strip(), mode="eval")  # SyntaxError for the caller to name
    names = frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
    return compile(tree, f"<{text.strip()}>", "eval"), names


@dataclass(frozen=True, eq=False)
class Expression:
    """A compiled model expression; call it with a mapping of values to get its value.

    Made by :func:`compile_expression`.

    Parameters
    ----------
    text : str
        The expression, as the model file writes it.
    where : str
        How messages name it (the model file and what the expression is).
    backend : {None, "numpy", "torch"}
        Which library its functions use (None: by their arguments).
    system : {"mv_ms", "si"}
        The number system of its unit names.
    names : frozenset of str
        Every name it reads (values, units, functions).
    compiled : code
        The compiled code object.
    scope : dict
        The shared global namespace of ``(backend, system)`` (never mutated).
    """

    text: str
    where: str
    backend: str | None
    system: str
    names: frozenset
    compiled: Any = field(repr=False)
    scope: dict = field(repr=False)  # the shared namespace of (backend, system)

    def __call__(self, values: Mapping):
        try:
            return eval(self.compiled, self.scope, values)
        except NameError as exc:
            raise NameError(f"{self.where}: {self.text!r}: {exc}") from None


def compile_expression(
    text: str, where: str = "expression", *, backend: str | None = None, system: str = "mv_ms"
) -> Expression:
    """Compile ``text`` once for repeated evaluation (see :func:`evaluate`).

    Parameters
    ----------
    text : str
        A model expression (``"v_rest + 2*mV"``).
    where : str
        How error messages name it, e.g. ``"dgn.toml: initial value of v"``.
    backend : {None, "numpy", "torch"}
        Which library its functions use (None: torch for tensor arguments, else numpy).
    system : {"mv_ms", "si"}
        The number system of its unit names (see :func:`unit_values`).

    Returns
    -------
    Expression
        Call it with a mapping of values.

    Raises
    ------
    ValueError
        Naming ``where``, if ``text`` is not an expression.
    """
    try:
        code, names = _code(text)
    except SyntaxError as exc:
        raise ValueError(f"{where}: cannot read the expression {text!r} ({exc.msg})") from None
    return Expression(text.strip(), where, backend, system, names, code, _shared_namespace(backend, system))


def evaluate(
    text: str,
    values: Mapping | None = None,
    *,
    backend: str | None = None,
    system: str = "mv_ms",
    where: str = "expression",
):
    """The value of the model expression ``text`` for ``values``.

    Unit names are numbers of ``system`` (``"0*mV"`` is 0.0, ``"ms"`` 1.0 in mV-ms); the
    functions (:data:`FUNCTIONS`) run in torch for tensor arguments and in numpy
    otherwise, or always in ``backend`` (``"numpy"``, ``"torch"``) if given.

    Parameters
    ----------
    text : str
        A model expression.
    values : mapping of str to float, ndarray or Tensor, optional
        The values of the names it reads, as numbers of ``system`` (mV, ms for ``"mv_ms"``).
    backend : {None, "numpy", "torch"}
        Which library the functions use.
    system : {"mv_ms", "si"}
        The number system of unit names and values.
    where : str
        How error messages name the expression.

    Returns
    -------
    float, ndarray or Tensor
        The value, a number of ``system``.
    """
    return compile_expression(text, where, backend=backend, system=system)(dict(values or {}))


# --- thresholds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """A threshold ``a > b`` or ``a >= b`` read as the distance ``a - b``.

    A spike where the distance is positive, or also where it is zero if ``inclusive``. Made by
    :func:`parse_threshold`.

    Parameters
    ----------
    text : str
        The threshold as written.
    lhs, rhs : str
        The text of ``a`` and of ``b``.
    inclusive : bool
        Whether the comparison is ``>=``.
    distance : sympy.Expr
        ``a - b``.
    code : str
        ``distance`` as text.
    names : frozenset of str
        The names it reads (state variables, parameters, units).
    variable : str or None
        The first name of ``a``, the variable the threshold tests (``v``).
    """

    text: str
    lhs: str
    rhs: str
    inclusive: bool
    distance: sp.Expr
    code: str
    names: frozenset
    variable: str | None


def parse_threshold(text: str, where: str = "threshold") -> Threshold:
    """Read the threshold ``text`` (``a > b`` or ``a >= b``).

    Parameters
    ----------
    text : str
        The threshold of a model file (``"v > v_th"``).
    where : str
        How error messages name it.

    Returns
    -------
    Threshold

    Raises
    ------
    ValueError
        Naming ``where``, if ``text`` is not a single comparison ``a > b`` or ``a >= b``.
    """
    form = "write it as 'a > b' or 'a >= b'"
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"{where}: cannot read the threshold {text!r} ({exc.msg}); {form}") from None
    if not (isinstance(tree, ast.Compare) and len(tree.ops) == 1 and isinstance(tree.ops[0], (ast.Gt, ast.GtE))):
        raise ValueError(f"{where}: the threshold {text!r} is not a single comparison 'a > b' or 'a >= b'")
    source = text.strip()
    lhs = ast.get_source_segment(source, tree.left) or ""  # never None: segments of the text just parsed
    rhs = ast.get_source_segment(source, tree.comparators[0]) or ""
    try:
        distance = str_to_sympy(f"({lhs}) - ({rhs})")
    except Exception as exc:  # a name sympy cannot take, an unknown function
        raise ValueError(f"{where}: cannot read the threshold {text!r} ({exc})") from None
    first = min((n for n in ast.walk(tree.left) if isinstance(n, ast.Name)), key=lambda n: n.col_offset, default=None)
    return Threshold(
        source,
        lhs,
        rhs,
        isinstance(tree.ops[0], ast.GtE),
        distance,
        sympy_to_str(distance),
        frozenset(s.name for s in distance.free_symbols),
        first.id if first else None,
    )


# --- statements ---------------------------------------------------------------------------------


class Statement(NamedTuple):
    """One statement ``target op expression`` (``v = v_reset``: target ``v``, op ``=``).

    Parameters
    ----------
    target : str
        The variable assigned.
    op : str
        The operator, one of :data:`STATEMENT_OPS`.
    expression : str
        The right-hand side.
    """

    target: str
    op: str
    expression: str


_STATEMENT = re.compile(r"([A-Za-z_]\w*)\s*([-+*/]?=)\s*(.*)")


def parse_statements(
    code: str, where: str = "statements", ops: tuple[str, ...] = ("=", "+=", "-=")
) -> tuple[Statement, ...]:
    r"""Read ``code``, one statement per line (blank lines skipped), into :class:`Statement` s.

    Parameters
    ----------
    code : str
        Statements such as a reset or ``on_pre`` (``"v = v_reset\na += 1"``).
    where : str
        How error messages name the code, e.g. ``"dgn.toml: reset"``.
    ops : tuple of str
        The operators allowed (a subset of :data:`STATEMENT_OPS`).

    Returns
    -------
    tuple of Statement

    Raises
    ------
    ValueError
        Naming ``where`` and the line, for a line that is not a statement with an operator of ``ops``.
    """
    out = []
    for line in filter(None, (ln.strip() for ln in code.splitlines())):
        m = _STATEMENT.fullmatch(line)
        if not m:
            raise ValueError(
                f"{where}: cannot read the statement {line!r}; write 'x = e', "
                f"one per line, with an operator of {list(ops)}"
            )
        target, op, expr = m.groups()
        if op not in ops:
            raise ValueError(f"{where}: {line!r}: the operator {op!r} is not supported here; use one of {list(ops)}")
        try:
            _code(expr)
        except SyntaxError as exc:
            raise ValueError(f"{where}: {line!r}: cannot read the expression {expr!r} ({exc.msg})") from None
        out.append(Statement(target, op, expr.strip()))
    return tuple(out)


def apply_statements(
    statements, values: Mapping, *, backend: str | None = None, system: str = "mv_ms", where: str = "statements"
) -> dict:
    """Run ``statements`` in order on a copy of ``values``; return the new values.

    Each statement sees the values left by the ones before it, as in Brian2's abstract code.

    Parameters
    ----------
    statements : str or sequence of Statement
        Text (one statement per line; every operator of :data:`STATEMENT_OPS`) or parsed statements.
    values : mapping of str to float, ndarray or Tensor
        The values before, as numbers of ``system``.
    backend : {None, "numpy", "torch"}
        Which library the functions use.
    system : {"mv_ms", "si"}
        The number system of unit names and values.
    where : str
        How error messages name the statements.

    Returns
    -------
    dict
        ``values`` with the targets updated.
    """
    if isinstance(statements, str):
        statements = parse_statements(statements, where, STATEMENT_OPS)
    out = dict(values)
    for target, op, expr in statements:
        value = compile_expression(expr, f"{where}: {target} {op} {expr}", backend=backend, system=system)(out)
        if op == "=":
            out[target] = value
            continue
        if target not in out:
            raise NameError(f"{where}: {target} {op} {expr}: {target!r} has no value to update")
        old = out[target]
        out[target] = (
            old + value if op == "+=" else old - value if op == "-=" else old * value if op == "*=" else old / value
        )
    return out


def synapse_jumps(on_pre: str, where: str = "synapse on_pre") -> dict[str, str]:
    """``{postsynaptic variable: synapse parameter}`` of ``on_pre`` statements ``X_post += p``.

    The form the surrogate and the shot-noise analysis model; any other statement is refused.

    Parameters
    ----------
    on_pre : str
        A synapse's ``on_pre`` statements.
    where : str
        How error messages name them.

    Returns
    -------
    dict of str to str
        ``{"I": "w"}`` for ``I_post += w``.

    Raises
    ------
    ValueError
        Naming ``where`` and the line, for a statement that is not such a jump.
    """
    jumps = {}
    for target, op, expr in parse_statements(on_pre, where, STATEMENT_OPS):
        if op != "+=" or not target.endswith("_post") or not re.fullmatch(r"[A-Za-z_]\w*", expr):
            raise ValueError(
                f"{where}: {target} {op} {expr!r}: only jumps 'X_post += p' of a postsynaptic "
                "variable by a synapse parameter are supported"
            )
        jumps[target[: -len("_post")]] = expr
    return jumps


def model_origin(model) -> str:
    """How messages name a model's file: its name for a built-in (``dgn.toml``), else its path.

    Parameters
    ----------
    model : NeuronModel
        A loaded model (anything with a ``source`` path).

    Returns
    -------
    str
    """
    from dgnsim.core.models import builtin_dir  # not at import time: models.py may import this module

    path = Path(model.source)
    return path.name if str(path).startswith(str(builtin_dir())) else str(path)
