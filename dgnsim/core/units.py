"""Unit handling at the API boundary: refuse bare numbers where a unit is meant."""

from __future__ import annotations

import brian2.units as _brian2_units
import numpy as np
from brian2 import Quantity, get_dimensions
from brian2.units.fundamentalunits import DIMENSIONLESS, Unit, fail_for_dimension_mismatch

#: Brian2's units by name ("mV", "ms", ...), plus "s" for seconds: the names usable in unit texts.
UNIT_NAMESPACE = {name: obj for name, obj in vars(_brian2_units).items() if isinstance(obj, Unit)}
UNIT_NAMESPACE["s"] = _brian2_units.second  # "1s" on the command line


def parse_unit(text: str) -> Quantity:
    """Turn a unit written as text (``"ms"``, ``"1/(mV**2*ms)"``, ``"1"``) into a Brian2 quantity.

    Parameters
    ----------
    text : str
        Unit names of :data:`UNIT_NAMESPACE` with ``*``, ``/``, ``**`` and numbers.

    Returns
    -------
    Quantity

    Raises
    ------
    ValueError
        If the text is not such a unit.
    """
    try:
        value = eval(text, {"__builtins__": {}}, UNIT_NAMESPACE)
    except Exception as exc:  # a typo in a model file
        raise ValueError(f"unknown unit {text!r}") from exc
    return Quantity(value)


def unit_name(unit: Quantity) -> str:
    """A short name for a unit, for messages: ``"ms"``, ``"mV"``, ``"1 (dimensionless)"``.

    Parameters
    ----------
    unit : Quantity
        Any quantity; only its dimensions count.

    Returns
    -------
    str
    """
    dims = get_dimensions(unit)
    return "1 (dimensionless)" if dims is DIMENSIONLESS else str(unit.dimensions)


def require_quantity(name: str, value, unit: Quantity, display: str | None = None) -> Quantity:
    """Check that ``value`` carries the dimensions of ``unit``; return it as a Quantity.

    A bare number where a unit is meant is refused, naming the parameter and the unit
    expected (a dimensionless parameter accepts plain numbers); so are NaN and Inf.

    Parameters
    ----------
    name : str
        The parameter, as messages name it.
    value : Quantity or array_like
        The value given.
    unit : Quantity
        The unit whose dimensions are expected (``mV``).
    display : str, optional
        The unit as messages write it (default: ``str(unit)``).

    Returns
    -------
    Quantity

    Raises
    ------
    TypeError
        For a string, or a bare number where ``unit`` has dimensions.
    ValueError
        For other dimensions, NaN or Inf.
    """
    display = display or str(unit)
    dims = get_dimensions(unit)
    if isinstance(value, str):
        raise TypeError(f"{name}: expected a quantity in {display}, got the string {value!r}")
    if not isinstance(value, Quantity):
        if dims is not DIMENSIONLESS:
            raise TypeError(
                f"{name}: a bare number ({value!r}) where a quantity in {display} is "
                f"needed; write e.g. {name}=<value>*{display}"
            )
        value = Quantity(np.asarray(value, dtype=float))
    try:
        fail_for_dimension_mismatch(value, unit)
    except Exception:
        raise ValueError(
            f"{name}: expected a quantity in {display}, got {value!r} (dimensions {get_dimensions(value)})"
        ) from None
    array = np.asarray(value)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: contains NaN or Inf ({value!r})")
    return value


def magnitude(value: Quantity, unit: Quantity) -> np.ndarray:
    """The numbers of ``value`` expressed in ``unit`` (the one place units are dropped).

    Parameters
    ----------
    value : Quantity
        A quantity of the dimensions of ``unit``.
    unit : Quantity
        The unit to express it in (``ms``).

    Returns
    -------
    ndarray of float
    """
    fail_for_dimension_mismatch(value, unit)
    return np.asarray(value / unit, dtype=float)


def mv_ms_value(value: Quantity) -> np.ndarray:
    """The numbers of ``value`` in the mV-ms system of the surrogate (volt -> mV, second -> ms).

    Works for any product of powers of volt and second (mV/ms, 1/(mV**2*ms), ...).

    Parameters
    ----------
    value : Quantity
        A quantity whose dimensions are a product of powers of volt and second.

    Returns
    -------
    ndarray of float

    Raises
    ------
    ValueError
        For other dimensions (amperes, metres, ...).
    """
    dims = get_dimensions(value)
    a = dims.get_dimension("kg")
    b = dims.get_dimension("s") + 3 * a
    if dims.get_dimension("m") != 2 * a or dims.get_dimension("A") != -a:
        raise ValueError(f"{value!r} is not a power product of volt and second")
    return np.asarray(value, dtype=float) * 1000.0 ** float(a + b)
