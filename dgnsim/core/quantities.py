"""Reading quantities written as text ("1s", "20 Hz", "-65*mV"): command-line options and spec files."""

from __future__ import annotations

import re

from brian2 import Quantity
from brian2.units.fundamentalunits import is_dimensionless

from dgnsim.core.units import parse_unit, require_quantity

SIGNS = (None, "positive", "non-negative")


def parse_quantity(option: str, text: str, unit: Quantity, display: str, sign: str | None = None) -> Quantity:
    """Parse ``text`` such as ``"1s"``, ``"20 Hz"`` or ``"0.1*ms"``; the unit is required.

    Bad text raises ValueError naming ``option`` (a bare number too, where ``unit`` has
    dimensions), so that the command line reports it as bad input.

    Parameters
    ----------
    option : str
        How messages name the value, as it is written (``"--duration"``, or a spec key such as
        ``"grid.tau_mem"``).
    text : str
        The quantity as text.
    unit : Quantity
        The unit whose dimensions the value must have (``ms``).
    display : str
        The unit as messages write it (``"ms"``).
    sign : {None, "positive", "non-negative"}
        A sign the value must have (one of :data:`SIGNS`).

    Returns
    -------
    Quantity
        In the dimensions of ``unit``.
    """
    if sign not in SIGNS:
        raise ValueError(f"sign: one of {SIGNS}, not {sign!r}")  # a caller's bug, said plainly
    value = _parse(option, text, unit, display)
    if sign == "positive" and not value > 0 * unit:
        raise ValueError(f"{option}: must be positive (in {display}, e.g. 1{display}), got {text!r}")
    if sign == "non-negative" and not value >= 0 * unit:
        raise ValueError(f"{option}: must be positive or zero (in {display}), got {text!r}")
    return value


def _parse(option: str, text: str, unit: Quantity, display: str) -> Quantity:
    m = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*([A-Za-z_][\w*/()]*)?\s*", text)
    if not m:
        raise ValueError(f"{option}: cannot read {text!r}; write e.g. 10{display}")
    number, unit_text = m.groups()
    if unit_text is None:
        if not is_dimensionless(unit):
            raise ValueError(
                f"{option}: a bare number ({text.strip()}) where a quantity in {display} is needed; "
                f"write e.g. {number}{display}"
            )
        return require_quantity(option, float(number), unit, display)
    try:
        value = float(number) * parse_unit(unit_text)
    except ValueError:
        raise ValueError(f"{option}: unknown unit {unit_text!r} in {text!r}") from None
    return require_quantity(option, value, unit, display)
