"""Brian2 equation strings as LaTeX, keeping the author's order of terms.

The model files write their equations as Brian2 strings (Python syntax). This module
parses them with :mod:`ast` and writes LaTeX: ``dv/dt = (v_rest - v)/tau_mem`` becomes
``\\frac{\\mathrm{d}v}{\\mathrm{d}t} = \\frac{v_{\\mathrm{rest}} - v}{\\tau_{\\mathrm{mem}}}``.
Parentheses are written where precedence needs them, not where the source had them.
Names become symbols by one rule (:func:`symbol`): the part before the first underscore is
the base (a Greek letter by name, a single letter in italics, a word upright), the parts
after it the subscript.
"""

from __future__ import annotations

import ast
import re

GREEK = {
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Pi",
    "Sigma",
    "Upsilon",
    "Phi",
    "Psi",
    "Omega",
}
#: Unit names that may appear in model expressions (``0*mV``): set upright.
UNITS = {
    "mV",
    "ms",
    "us",
    "ns",
    "s",
    "Hz",
    "kHz",
    "volt",
    "second",
    "amp",
    "nA",
    "pA",
    "mA",
    "ohm",
    "Mohm",
    "siemens",
    "nS",
    "uS",
    "pF",
    "nF",
    "farad",
    "metre",
    "meter",
    "uV",
    "kohm",
    "Gohm",
}
#: Names with a conventional symbol of their own.
SPECIAL = {"dt": r"\Delta t", "t": "t", "xi": r"\xi", "pi": r"\pi", "e": r"\mathrm{e}", "inf": r"\infty"}
FUNCTIONS = {
    "exp": r"\exp",
    "log": r"\ln",
    "log10": r"\log_{10}",
    "sin": r"\sin",
    "cos": r"\cos",
    "tan": r"\tan",
    "tanh": r"\tanh",
    "sinh": r"\sinh",
    "cosh": r"\cosh",
    "arctan": r"\arctan",
    "arcsin": r"\arcsin",
    "arccos": r"\arccos",
}


def _word(part: str) -> str:
    if part in GREEK:
        return "\\" + part
    if part.isdigit() or len(part) == 1:
        return part
    return r"\mathrm{%s}" % part


def symbol(name: str) -> str:
    """The LaTeX symbol of a model name (``tau_mem`` -> ``\\tau_{\\mathrm{mem}}``)."""
    if name in SPECIAL:
        return SPECIAL[name]
    if name in UNITS:
        return r"\mathrm{%s}" % name
    # names made by the 'sequential' state updater
    m = re.fullmatch(r"_rho_(\w+)", name)
    if m:
        return r"\rho_{%s}" % symbol(m.group(1))
    m = re.fullmatch(r"_BA_(\w+)", name)
    if m:
        return r"\left(B/A\right)_{%s}" % symbol(m.group(1))
    m = re.fullmatch(r"_noise_(\w+)", name)
    if m:
        return r"\eta_{%s}" % symbol(m.group(1)) if m.group(1) != "xi" else r"\eta"
    if name.startswith("_") and name[1:]:
        return r"\tilde{%s}" % symbol(name[1:])
    head, *rest = name.split("_")
    m = re.fullmatch(r"([A-Za-z]+?)(\d+)", head)
    if m and (m.group(1) in GREEK or len(m.group(1)) == 1):  # a0, lambda0
        head, rest = m.group(1), [m.group(2), *rest]
    rest = [r for r in rest if r]
    if len(head) > 1 and head not in GREEK and rest and rest[-1] in GREEK:  # noise_sigma: sigma_noise
        head, rest = rest[-1], [head, *rest[:-1]]
    base = "\\" + head if head in GREEK else head if len(head) == 1 else r"\mathrm{%s}" % head
    if not rest:
        return base
    return "%s_{%s}" % (base, ",".join(_word(r) for r in rest))


# precedence of rendered nodes: higher binds tighter
_ADD, _NEG, _MUL, _POW, _ATOM = 1, 2, 3, 4, 5
_CMP = {ast.Gt: ">", ast.GtE: r"\geq", ast.Lt: "<", ast.LtE: r"\leq", ast.Eq: "=", ast.NotEq: r"\neq"}


def _paren(text: str) -> str:
    return r"\left(%s\right)" % text


def _number(value) -> str:
    if isinstance(value, bool):
        return r"\mathrm{%s}" % value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mant, exp = text.split("e")
        return r"%s \times 10^{%d}" % (mant, int(exp))
    return text


class _Render:
    def __call__(self, node) -> tuple[str, int]:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise ValueError(f"cannot render {ast.dump(node)}")
        return method(node)

    def wrap(self, node, minimum: int) -> str:
        text, prec = self(node)
        return _paren(text) if prec < minimum else text

    def _Expression(self, node):
        return self(node.body)

    def _Constant(self, node):
        return _number(node.value), _ATOM

    def _Name(self, node):
        return symbol(node.id), _ATOM

    def _UnaryOp(self, node):
        if isinstance(node.op, ast.USub):
            return "-" + self.wrap(node.operand, _MUL), _NEG
        if isinstance(node.op, ast.UAdd):
            return self(node.operand)
        if isinstance(node.op, ast.Not):
            return r"\neg " + self.wrap(node.operand, _ATOM), _NEG
        raise ValueError(ast.dump(node))

    def _BoolOp(self, node):
        op = r" \wedge " if isinstance(node.op, ast.And) else r" \vee "
        return op.join(self.wrap(v, _ATOM) for v in node.values), 0

    def _Compare(self, node):
        parts = [self(node.left)[0]]
        for op, right in zip(node.ops, node.comparators):
            parts += [_CMP[type(op)], self(right)[0]]
        return " ".join(parts), 0

    def _BinOp(self, node):
        op = node.op
        if isinstance(op, ast.Add):
            right, prec = self(node.right)
            left = self(node.left)[0]
            if prec == _NEG and right.startswith("-"):  # a + (-b): a - b
                return f"{left} - {right[1:]}", _ADD
            return f"{left} + {right}", _ADD
        if isinstance(op, ast.Sub):
            return f"{self(node.left)[0]} - {self.wrap(node.right, _MUL)}", _ADD
        if isinstance(op, ast.Mult):
            if isinstance(node.left, ast.UnaryOp) and isinstance(node.left.op, ast.USub):  # -a*b: -(a b)
                inner = self(ast.BinOp(left=node.left.operand, op=ast.Mult(), right=node.right))[0]
                return "-" + inner, _NEG
            left = self.wrap(node.left, _MUL)
            right, prec = self(node.right)
            if prec < _MUL:
                right = _paren(right)
            sep = r" \cdot " if re.match(r"[\d.]", right) else r"\,"
            return f"{left}{sep}{right}", _MUL
        if isinstance(op, ast.Div):
            num = node.left
            if isinstance(num, ast.UnaryOp) and isinstance(num.op, ast.USub):  # -a/b: -frac{a}{b}
                return r"-\frac{%s}{%s}" % (self(num.operand)[0], self(node.right)[0]), _NEG
            return r"\frac{%s}{%s}" % (self(node.left)[0], self(node.right)[0]), _ATOM
        if isinstance(op, ast.Pow):
            base = self.wrap(node.left, _ATOM)
            exponent = self(node.right)[0]
            if exponent == "0.5":
                return r"\sqrt{%s}" % self(node.left)[0], _ATOM
            return "%s^{%s}" % (base, exponent), _POW
        if isinstance(op, ast.Mod):
            return r"%s \bmod %s" % (self.wrap(node.left, _MUL), self.wrap(node.right, _MUL)), _MUL
        raise ValueError(ast.dump(node))

    def _Call(self, node):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        args = [self(a)[0] for a in node.args]
        if name == "sqrt" and len(args) == 1:
            return r"\sqrt{%s}" % args[0], _ATOM
        if name == "abs" and len(args) == 1:
            return r"\left|%s\right|" % args[0], _ATOM
        if name == "randn" and not args:
            return r"\mathcal{N}(0, 1)", _ATOM
        if name == "rand" and not args:
            return r"\mathcal{U}(0, 1)", _ATOM
        if name in ("int", "floor", "ceil") and len(args) == 1:
            left, right = {
                "int": (r"\lfloor", r"\rfloor"),
                "floor": (r"\lfloor", r"\rfloor"),
                "ceil": (r"\lceil", r"\rceil"),
            }[name]
            return r"\left%s %s \right%s" % (left, args[0], right), _ATOM
        if name in ("minimum", "maximum", "min", "max"):
            return r"\%s\left(%s\right)" % (name[:3], ", ".join(args)), _ATOM
        head = FUNCTIONS.get(name, r"\operatorname{%s}" % (name or "f"))
        return r"%s\left(%s\right)" % (head, ", ".join(args)), _ATOM


def _is_half_rectifier(node) -> ast.expr | None:
    """``r`` if ``node`` is ``r + abs(r)`` (twice ``max(0, r)``), else None."""
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Add)
        and isinstance(node.right, ast.Call)
        and getattr(node.right.func, "id", "") == "abs"
        and len(node.right.args) == 1
        and ast.dump(node.right.args[0]) == ast.dump(node.left)
    ):
        return node.left
    return None


class _Simplify(ast.NodeTransformer):
    """``(r + abs(r))/2`` and ``a*(r + abs(r))/2`` (the branch-free form of the
    'sequential' updater) as ``max(0, r)``."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Div) and isinstance(node.right, ast.Constant) and node.right.value == 2:
            num = node.left
            r = _is_half_rectifier(num)
            if r is not None:
                return ast.Call(func=ast.Name(id="max"), args=[ast.Constant(0), r], keywords=[])
            if isinstance(num, ast.BinOp) and isinstance(num.op, ast.Mult):
                r = _is_half_rectifier(num.right)
                if r is not None:
                    return ast.BinOp(
                        left=num.left,
                        op=ast.Mult(),
                        right=ast.Call(func=ast.Name(id="max"), args=[ast.Constant(0), r], keywords=[]),
                    )
        return node


def expression(code: str) -> str:
    """LaTeX of one Brian2 expression (``"v > v_th + beta*a"``)."""
    tree = _Simplify().visit(ast.parse(code.strip(), mode="eval"))
    return _Render()(tree)[0]


def statements(code: str) -> list[str]:
    """LaTeX of Brian2 statements, one per line (``x += e`` as ``x \\leftarrow x + e``)."""
    out = []
    for line in code.splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"(\w+)\s*([-+*/]?=)\s*(.+)", line)
        if not m:
            raise ValueError(f"not a statement: {line!r}")
        target, op, expr = m.groups()
        lhs = symbol(target)
        if op == "=":
            rhs = expression(expr)
        else:
            rhs = expression(f"{target} {op[0]} ({expr})")
        out.append(rf"{lhs} \leftarrow {rhs}")
    return out


def derivative(varname: str) -> str:
    """``dv/dt`` as a fraction."""
    return r"\frac{\mathrm{d}%s}{\mathrm{d}t}" % symbol(varname)
