"""Neuron models, read from model files (TOML; the built-ins are ``equations/``, the one source of truth).

Each model file ``NAME.toml`` holds a model's Brian2 equations (mV, ms), its
parameters with units, defaults, meaning and scope, threshold, reset, refractoriness,
integration method and synapse. :func:`load_model` parses one into a frozen
:class:`NeuronModel`, checking that every name is defined and that units agree;
any error names the file and the variable. A model is named (found on the search path:
the built-ins, then ``$DGNSIM_MODEL_PATH`` and :func:`add_model_path`) or given by path.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from brian2 import Equations, Quantity, get_dimensions, second
from brian2.core.functions import DEFAULT_FUNCTIONS
from brian2.core.variables import Constant
from brian2.equations.equations import DIFFERENTIAL_EQUATION, SUBEXPRESSION, Expression, SingleEquation
from brian2.parsing.expressions import parse_expression_dimensions
from brian2.units.fundamentalunits import DIMENSIONLESS

from dgnsim.core.expressions import STATEMENT_OPS, parse_statements
from dgnsim.core.units import UNIT_NAMESPACE, parse_unit

SCOPES = ("neuron", "shared")
#: A step must resolve the fastest time constant with at least this many steps.
MIN_STEPS_PER_TIME_CONSTANT = 2
#: Names every model may use without declaring them.
BUILTIN_NAMES = {"t", "dt", "xi", "i", "N", "not_refractory", "lastspike", "inf", "pi", "e", "True", "False"}


class ModelError(ValueError):
    """A model file that cannot be used; the message names the file and the variable."""


#: Environment variable: extra folders of model files, separated by ``os.pathsep``.
MODEL_PATH_ENV = "DGNSIM_MODEL_PATH"
_ADDED_FOLDERS: list[Path] = []


def builtin_dir() -> Path:
    """The folder of the built-in model files (the package ``dgnsim.equations``)."""
    return Path(str(resources.files("dgnsim.equations")))


def add_model_path(folder) -> None:
    """Add a folder of model files to the search path (after ``$DGNSIM_MODEL_PATH``).

    Its models are then found by name, like the built-in ones. A file whose name is
    that of a built-in model, or of a model in another folder, is refused when the
    name is looked up.

    Parameters
    ----------
    folder : str or path-like
        A folder of ``NAME.toml`` model files (``~`` is expanded).

    Raises
    ------
    ModelError
        If ``folder`` is not a folder.
    """
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise ModelError(f"model path: {folder} is not a folder")
    if folder not in _ADDED_FOLDERS:
        _ADDED_FOLDERS.append(folder)


def model_path() -> list[Path]:
    """Folders searched for model files: the built-ins, ``$DGNSIM_MODEL_PATH``, then :func:`add_model_path`'s."""
    env = [Path(p).expanduser().resolve() for p in os.environ.get(MODEL_PATH_ENV, "").split(os.pathsep) if p]
    folders = [builtin_dir()]
    for folder in env + _ADDED_FOLDERS:
        if folder not in folders:
            folders.append(folder)
    return folders


def _model_files() -> dict[str, list[Path]]:
    """Every model file on the search path, by model name (the file's stem)."""
    files: dict[str, list[Path]] = {}
    for folder in model_path():
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            files.setdefault(path.stem, []).append(path)
    return files


def list_models() -> list[str]:
    """Names of the models on the search path (built-in first)."""
    return sorted(_model_files())


def find_model(name: str) -> Path:
    """The file of the model ``name`` on the search path.

    Parameters
    ----------
    name : str
        A model name such as ``"dgn"`` (the stem of its file).

    Returns
    -------
    pathlib.Path
        The model's file.

    Raises
    ------
    ModelError
        If ``name`` is not a valid name, is on no folder of the search path, or is found twice.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ModelError(f"invalid model name {name!r}: a name such as 'dgn', or a path to a .toml file")
    paths = _model_files().get(name)
    if not paths:
        where = ", ".join(str(f) for f in model_path())
        raise ModelError(
            f"unknown model {name!r}; available: {', '.join(list_models())} "
            f"(searched {where}; add folders with ${MODEL_PATH_ENV} or dgnsim.add_model_path)"
        )
    if len(paths) > 1:
        raise ModelError(f"model {name!r} is defined twice: {paths[0]} and {paths[1]}; rename one of them")
    return paths[0]


def _is_path(model) -> bool:
    return isinstance(model, os.PathLike) or (
        isinstance(model, str) and (model.endswith(".toml") or os.sep in model or (os.altsep or os.sep) in model)
    )


def load_model(model) -> NeuronModel:
    """Load and check a model: a name on the search path, or a path to a model file.

    A file given by path whose name is that of a built-in model is refused (naming both files),
    so that a name always means one model. Loading is cached by the file's content.

    Parameters
    ----------
    model : str, path-like or NeuronModel
        A model name (``"dgn"``), a path to a ``.toml`` file, or a :class:`NeuronModel`
        (returned unchanged).

    Returns
    -------
    NeuronModel
        The parsed and checked model.

    Raises
    ------
    ModelError
        If the file does not exist or is not a valid model (the message names the file and
        the variable), if the name is unknown, or if ``model`` is of another type.
    """
    if isinstance(model, NeuronModel):
        return model
    if _is_path(model):
        path = Path(model).expanduser().resolve()
        if not path.is_file():
            raise ModelError(f"model file {path} does not exist")
        builtin = builtin_dir() / path.name
        if builtin.is_file() and builtin.resolve() != path:
            raise ModelError(
                f"model file {path} has the name of the built-in model {path.stem!r} "
                f"({builtin}); rename the file and its 'name'"
            )
        return _load(path, path.read_bytes())
    if not isinstance(model, str):
        raise ModelError(f"a model is a name or a path to a .toml file, not {type(model).__name__}")
    path = find_model(model)
    return _load(path, path.read_bytes())


def model_from_text(text: str, origin: str) -> NeuronModel:
    """A model from the text of its file (as a checkpoint records it).

    Parameters
    ----------
    text : str
        The text of a model file.
    origin : str
        Where the text came from (e.g. a checkpoint folder); messages name it.

    Returns
    -------
    NeuronModel
        The parsed and checked model.

    Raises
    ------
    ModelError
        If the text is not a valid model.
    """
    raw = text.encode()
    name = re.search(r'^name\s*=\s*"([^"]+)"', text, flags=re.M)
    return _load(Path(origin) / f"{name.group(1) if name else 'model'}.toml", raw)


@dataclass(frozen=True)
class Parameter:
    """One model parameter: default value (a Brian2 quantity), unit, scope and meaning.

    Made by :func:`load_model` from a ``[parameters]`` entry of a model file.

    Parameters
    ----------
    name : str
        The parameter's name in the equations.
    default : Quantity
        Its default value, in its unit.
    unit : Quantity
        Its unit (e.g. ``mV``, ``ms``; ``1`` for a number).
    unit_text : str
        The unit as the model file writes it (``"mV"``).
    doc : str
        What it means.
    scope : {"neuron", "shared"}
        ``"neuron"``: may differ per neuron (and be learned per neuron); ``"shared"``: one
        value per group.
    positive, nonnegative, nonpositive : bool
        Sign constraints checked where values are given.
    learnable : bool
        Whether the PyTorch surrogate trains it.
    learn_scale : float or None
        The surrogate learns ``value / learn_scale`` (in the parameter's unit); None: the value.
    """

    name: str
    default: Quantity
    unit: Quantity
    unit_text: str
    doc: str
    scope: str = "neuron"  # "neuron": may differ per neuron (learnable per neuron); "shared": one per group
    positive: bool = False
    nonnegative: bool = False
    nonpositive: bool = False
    learnable: bool = False  # trained by the PyTorch surrogate
    learn_scale: float | None = None  # the surrogate learns value/learn_scale (units of the parameter)

    def declaration(self, per_neuron: bool) -> str:
        """The Brian2 equation line declaring this parameter.

        Parameters
        ----------
        per_neuron : bool
            One value per neuron (``constant``) or one per group (``constant, shared``).

        Returns
        -------
        str
            E.g. ``"tau : second (constant, shared)"``.
        """
        flags = "constant" if per_neuron else "constant, shared"
        return f"{self.name} : {dimension_text(self.unit)} ({flags})"


@dataclass(frozen=True)
class SynapseModel:
    """What a synapse of this model carries and what a presynaptic spike does.

    Parameters
    ----------
    model : str
        The Brian2 model equations of the synapse (its weight declaration).
    on_pre : str
        The statements run on a presynaptic spike (e.g. ``"I_syn_post += w"``).
    parameters : dict of str to Parameter
        The synapse's parameters (those ``model`` declares).
    """

    model: str
    on_pre: str
    parameters: dict[str, Parameter]


@dataclass(frozen=True)
class NeuronModel:
    """A neuron model as read from its file ``NAME.toml`` by :func:`load_model`.

    Parameters
    ----------
    name : str
        The model's name (the file's stem).
    title : str
        A one-line description.
    reference : str
        Where the model comes from (a citation), or ``""``.
    source : pathlib.Path
        The model file.
    sha256 : str
        The SHA-256 of the file's bytes.
    equations_text : str
        The Brian2 equations (mV, ms), as written in the file.
    update_order : tuple of str
        The order in which the discrete step updates the state variables.
    method : str
        Brian2's integration method (``"euler"``, ``"exact"`` ...).
    threshold : str
        The threshold condition (``"v > v_th"``).
    reset : str
        The default reset statements.
    resets : dict of str to str
        Named reset variants (e.g. ``"soft"``) -> their statements.
    refractory : str
        The refractory period, an expression of unit time (``"0*ms"``: none).
    noise_variable : str
        The state variable that membrane noise enters.
    noise_term : str
        The white-noise term added to its equation (with Brian2's ``xi``).
    initial : dict of str to str
        State variable -> its initial value (an expression).
    parameters : dict of str to Parameter
        The model's parameters.
    synapse : SynapseModel
        What its synapses carry.
    state_variables : tuple of str
        The variables with a differential equation (filled in from the equations).
    text : str
        The file's text.
    clamped : tuple of str
        Variables flagged ``unless refractory`` (held while refractory).
    gating : dict
        The optional ``[gating]`` table (used by :mod:`dgnsim.analysis.gating`).
    """

    name: str
    title: str
    reference: str
    source: Path
    sha256: str
    equations_text: str
    update_order: tuple[str, ...]
    method: str
    threshold: str
    reset: str
    resets: dict[str, str]
    refractory: str
    noise_variable: str
    noise_term: str
    initial: dict[str, str]
    parameters: dict[str, Parameter]
    synapse: SynapseModel
    state_variables: tuple[str, ...] = field(default=())
    text: str = field(default="", repr=False)
    clamped: tuple[str, ...] = field(default=())  # variables flagged (unless refractory): held while refractory
    gating: dict = field(default_factory=dict)  # the optional [gating] table (dgnsim.analysis.gating)

    @property
    def builtin(self) -> bool:
        """Whether this is one of the package's own models (``dgnsim.equations``)."""
        path = builtin_dir() / f"{self.name}.toml"
        return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == self.sha256

    def equations(self, per_neuron=(), noise=False) -> Equations:
        """The model's Brian2 equations with its parameter declarations.

        Parameters
        ----------
        per_neuron : iterable of str
            Parameters declared as one value per neuron; the others are shared, so Brian2 hoists
            expressions of them out of the loop over neurons.
        noise : bool
            Add the model's white-noise term (Brian2 ``xi``) to its noise variable.

        Returns
        -------
        brian2.Equations
            The equations, ready for a ``NeuronGroup``.

        Raises
        ------
        ValueError
            If ``per_neuron`` names an unknown parameter or one of scope ``"shared"``.
        """
        unknown = set(per_neuron) - set(self.parameters)
        if unknown:
            raise ValueError(f"model {self.name!r} has no parameter(s) {sorted(unknown)}")
        not_per_neuron = {p for p in per_neuron if self.parameters[p].scope == "shared"}
        if not_per_neuron:
            raise ValueError(
                f"model {self.name!r}: parameter(s) {sorted(not_per_neuron)} are shared by "
                "the whole group (scope 'shared' in the model file) and cannot vary per neuron"
            )
        eqs = Equations(self.equations_text)
        if noise:
            eqs = _add_term(eqs, self.noise_variable, self.noise_term)
        declarations = "\n".join(p.declaration(p.name in per_neuron) for p in self.parameters.values())
        return eqs + Equations(declarations)

    def reset_code(self, variant: str | None = None) -> str:
        """The reset statements, the default or a named variant.

        Parameters
        ----------
        variant : str or None
            ``None`` or ``"default"``: the default reset; else a name from the file's ``[resets]``
            (e.g. ``"soft"``).

        Returns
        -------
        str
            The reset statements.

        Raises
        ------
        ValueError
            If the model has no reset of that name.
        """
        if variant is None or variant == "default":
            return self.reset
        try:
            return self.resets[variant]
        except KeyError:
            raise ValueError(
                f"model {self.name!r} has no reset {variant!r}; choose from {['default', *self.resets]}"
            ) from None


def dimension_text(unit: Quantity) -> str:
    """The SI unit of a quantity as Brian2 equations want it (``"volt"``, ``"1/second"``, ``"1"``).

    Parameters
    ----------
    unit : Quantity
        A unit or quantity (only its dimensions are read).

    Returns
    -------
    str
        The unit in base units, volts and seconds where the dimensions allow it.
    """
    dims = get_dimensions(unit)
    if dims is DIMENSIONLESS:
        return "1"
    # Our models use volts and seconds; write those (Brian2 wants base units here).
    a = dims.get_dimension("kg")
    if (
        dims.get_dimension("m") == 2 * a
        and dims.get_dimension("A") == -a
        and not any(dims.get_dimension(d) for d in ("K", "mol", "cd"))
    ):
        b = dims.get_dimension("s") + 3 * a
        parts = [f"{base}**{float(k):g}" if k != 1 else base for base, k in (("volt", a), ("second", b)) if k != 0]
        return "*".join(parts)
    return dims._str_representation(python_code=True)


def _add_term(eqs: Equations, variable: str, term: str) -> Equations:
    """Equations with ``+ term`` added to the right-hand side of ``d variable/dt``."""
    new = []
    for eq in eqs.values():
        if eq.varname == variable and eq.type == DIFFERENTIAL_EQUATION:
            eq = SingleEquation(
                DIFFERENTIAL_EQUATION, eq.varname, eq.dim, expr=Expression(f"{eq.expr.code} + {term}"), flags=eq.flags
            )
        new.append(eq)
    return Equations(new)


@cache
def _load(path: Path, raw: bytes) -> NeuronModel:
    where = str(path) if not str(path).startswith(str(builtin_dir())) else path.name
    try:
        spec = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{where}: not valid TOML: {exc}") from None

    def need(key, table=spec, ctx=""):
        if key not in table:
            raise ModelError(f"{where}: missing key {ctx}{key!r}")
        return table[key]

    parameters = {n: _parameter(where, n, p) for n, p in need("parameters").items()}
    syn = need("synapse")
    synapse = SynapseModel(
        model=need("model", syn, "synapse."),
        on_pre=need("on_pre", syn, "synapse."),
        parameters={n: _parameter(where, n, p, synapse=True) for n, p in need("parameters", syn, "synapse.").items()},
    )
    noise = need("noise")
    model = NeuronModel(
        name=need("name"),
        title=need("title"),
        reference=spec.get("reference", ""),
        source=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        text=raw.decode(),
        equations_text=need("equations"),
        update_order=tuple(need("update_order")),
        method=need("method"),
        threshold=need("threshold"),
        reset=need("reset"),
        resets=dict(spec.get("resets", {})),
        refractory=spec.get("refractory", "0*ms"),
        noise_variable=need("variable", noise, "noise."),
        noise_term=need("term", noise, "noise."),
        initial=dict(need("initial")),
        parameters=parameters,
        synapse=synapse,
        gating=dict(spec.get("gating", {})),
    )
    if model.name != path.stem:
        raise ModelError(f"{where}: name {model.name!r} differs from the file name")
    try:
        eqs = Equations(model.equations_text)
    except Exception as exc:
        raise ModelError(f"{where}: equations do not parse: {exc}") from None
    object.__setattr__(model, "state_variables", tuple(sorted(eqs.diff_eq_names)))
    object.__setattr__(model, "clamped", tuple(sorted(n for n, eq in eqs.items() if "unless refractory" in eq.flags)))
    _check(model, eqs, where)
    return model


def _parameter(where: str, name: str, p: dict, synapse: bool = False) -> Parameter:
    ctx = f"{where}: parameter {name!r}"
    for key in ("value", "unit", "doc"):
        if key not in p:
            raise ModelError(f"{ctx}: missing {key!r}")
    try:
        unit = parse_unit(p["unit"])
    except ValueError as exc:
        raise ModelError(f"{ctx}: {exc}") from None
    scope = p.get("scope", "neuron")
    if scope not in SCOPES:
        raise ModelError(f"{ctx}: scope must be one of {SCOPES}, not {scope!r}")
    param = Parameter(
        name=name,
        default=float(p["value"]) * unit,
        unit=unit,
        unit_text=p["unit"],
        doc=p["doc"],
        scope=scope,
        positive=bool(p.get("positive", False)),
        nonnegative=bool(p.get("nonnegative", False)),
        nonpositive=bool(p.get("nonpositive", False)),
        learnable=bool(p.get("learnable", False)),
        learn_scale=float(p["learn_scale"]) if "learn_scale" in p else None,
    )
    if param.positive and not p["value"] > 0:
        raise ModelError(f"{ctx}: default must be positive")
    return param


def _check(model: NeuronModel, eqs: Equations, where: str) -> None:
    """Every name defined, every unit consistent, the update order complete."""
    if set(model.update_order) != set(eqs.diff_eq_names) or len(model.update_order) != len(eqs.diff_eq_names):
        raise ModelError(
            f"{where}: update_order {list(model.update_order)} must list each state variable "
            f"{sorted(eqs.diff_eq_names)} once"
        )
    clash = set(model.parameters) & set(eqs.names)
    if clash:
        raise ModelError(f"{where}: {sorted(clash)} declared both as parameter and variable")

    def const(name, value):
        value = Quantity(value)
        return Constant(name, float(value), dimensions=get_dimensions(value))

    known = dict(DEFAULT_FUNCTIONS)
    known.update({n: const(n, u) for n, u in UNIT_NAMESPACE.items()})
    known.update({n: const(n, p.default) for n, p in model.parameters.items()})
    for eq in eqs.values():
        known[eq.varname] = const(eq.varname, Quantity(1.0, dim=eq.dim))
    known["t"] = const("t", 1.0 * second)
    known["dt"] = const("dt", 1.0 * second)
    known["inf"] = const("inf", float("inf"))
    known["xi"] = const("xi", Quantity(1.0, dim=second.dim**-0.5))

    def dims_of(expr, what):
        try:
            return parse_expression_dimensions(expr, known)
        except KeyError as exc:
            raise ModelError(f"{where}: {what}: undefined name {exc}") from None
        except Exception as exc:
            raise ModelError(f"{where}: {what}: {exc}") from None

    def expect(expr, dim, what):
        found = dims_of(expr, what)
        if found is not dim and found != dim:
            raise ModelError(f"{where}: {what}: has unit {found or 1}, expected {dim or 1}")

    for eq in eqs.values():
        if eq.type == DIFFERENTIAL_EQUATION:
            expect(eq.expr.code, eq.dim / second.dim, f"equation of d{eq.varname}/dt")
        elif eq.type == SUBEXPRESSION:
            expect(eq.expr.code, eq.dim, f"subexpression {eq.varname}")
    noise_eq = eqs.get(model.noise_variable)
    if noise_eq is None or noise_eq.type != DIFFERENTIAL_EQUATION:
        raise ModelError(f"{where}: noise variable {model.noise_variable!r} is not a state variable")
    expect(model.noise_term, noise_eq.dim / second.dim, "noise term")
    dims_of(model.threshold, "threshold")
    dims_of(model.refractory, "refractory")
    for label, code in [("reset", model.reset), *[(f"reset {k!r}", c) for k, c in model.resets.items()]]:
        _check_statements(code, known, where, label, dims_of)
    for var, expr in model.initial.items():
        if var not in eqs.diff_eq_names:
            raise ModelError(f"{where}: initial value for unknown state variable {var!r}")
        expect(expr, eqs[var].dim, f"initial value of {var}")
    missing = set(eqs.diff_eq_names) - set(model.initial)
    if missing:
        raise ModelError(f"{where}: no initial value for {sorted(missing)}")
    syn_known = dict(known)
    syn_known.update({n: const(n, p.default) for n, p in model.synapse.parameters.items()})
    syn_known.update({f"{n}_post": c for n, c in known.items() if isinstance(c, Constant)})
    declared = Equations(model.synapse.model).names
    if set(declared) != set(model.synapse.parameters):
        raise ModelError(
            f"{where}: synapse model declares {sorted(declared)} but documents {sorted(model.synapse.parameters)}"
        )

    def syn_dims(expr, what):
        try:
            return parse_expression_dimensions(expr, syn_known)
        except KeyError as exc:
            raise ModelError(f"{where}: {what}: undefined name {exc}") from None

    _check_statements(model.synapse.on_pre, syn_known, where, "synapse on_pre", syn_dims)


def _check_statements(code: str, known: dict, where: str, what: str, dims_of) -> None:
    """Each statement assigns to a defined name a value of its unit (read by the one statement parser)."""
    try:
        statements = parse_statements(code, f"{where}: {what}", STATEMENT_OPS)
    except ValueError as exc:
        raise ModelError(str(exc)) from None
    for st in statements:
        line = f"{st.target} {st.op} {st.expression}"
        if st.target not in known:
            raise ModelError(f"{where}: {what}: assigns to undefined name {st.target!r}")
        dim = dims_of(st.expression, f"{what} ({line})")
        target_dim = known[st.target].dim
        if (
            st.op in ("=", "+=", "-=")
            and dim != target_dim
            and not (dim is DIMENSIONLESS and target_dim is DIMENSIONLESS)
        ):
            raise ModelError(f"{where}: {what}: {line!r} assigns unit {dim or 1} to {st.target} ({target_dim or 1})")
