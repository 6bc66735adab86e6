"""Reading quantities written as text on the command line ("1s", "20 Hz", "-65*mV")."""

from __future__ import annotations

import re

from brian2 import Quantity
from brian2.units.fundamentalunits import is_dimensionless

from dgnsim.core.units import parse_unit, require_quantity


def parse_quantity(name: str, text: str, unit: Quantity, display: str) -> Quantity:
    """Parse ``text`` such as ``"1s"``, ``"20 Hz"`` or ``"0.1*ms"``; the unit is required.

    Bad text raises ValueError naming the option ``--<name>`` (a bare number too, where
    ``unit`` has dimensions), so that the command line reports it as bad input.
    """
    option = f"--{name.replace('_', '-')}"
    m = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*([A-Za-z_][\w*/()]*)?\s*", text)
    if not m:
        raise ValueError(f"{option}: cannot read {text!r}; write e.g. 10{display}")
    number, unit_text = m.groups()
    if unit_text is None:
        if not is_dimensionless(unit):
            raise ValueError(f"{option}: a bare number ({text.strip()}) where a quantity in {display} is needed; "
                             f"write e.g. {number}{display}")
        return require_quantity(option, float(number), unit, display)
    try:
        value = float(number) * parse_unit(unit_text)
    except ValueError:
        raise ValueError(f"{option}: unknown unit {unit_text!r} in {text!r}") from None
    return require_quantity(option, value, unit, display)
