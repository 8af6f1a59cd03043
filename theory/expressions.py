r"""Expressions in ``t`` read from text without running it (``--path "alpha=...; sigma=..."``).

``sympify`` evaluates its input as Python, so a path given on the command line could run any
code. Here the text is first read by Python's :mod:`ast` parser (which runs nothing) and every
node is checked against a whitelist:

- numbers (integers of at most :data:`MAX_INT_DIGITS` digits, finite floats), names (the
  symbols asked for, the constants :data:`CONSTANTS`, other plain names, which become SymPy
  symbols and are refused later as extra variables), ``+ - * / **`` (``^`` is read as ``**``,
  as SymPy does), unary ``+``/``-``;
- calls of the functions in :data:`FUNCTIONS` only, with positional arguments;
- nothing else: no attribute access, subscripts, lambdas, comprehensions, strings, keywords,
  names with underscores at either end, Python built-ins.

Size is bounded before SymPy sees the text (:data:`MAX_CHARS` characters, :data:`MAX_NODES`
syntax nodes, depth :data:`MAX_DEPTH`), and so is what SymPy's automatic evaluation could be
asked to compute: a constant exponent may not exceed :data:`MAX_EXPONENT` in size, and every
constant subexpression must be a finite float64 (``9**9**9`` or ``exp(exp(1000))`` are refused
in microseconds instead of running for minutes). Only then is the text handed to
:func:`sympy.parsing.sympy_parser.parse_expr`, with a namespace holding the whitelist alone
(no Python built-ins). Every refusal is an :class:`ExpressionError` naming the reason.
"""

from __future__ import annotations

import ast
import builtins
import math
from collections.abc import Callable, Mapping

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

MAX_CHARS = 2000
"""Longest expression text (a path is a few dozen characters; 2000 leaves room for long polynomials)."""
MAX_NODES = 400
"""Most syntax nodes (numbers, names, operators, calls) in one expression."""
MAX_DEPTH = 40
"""Deepest nesting of operations and calls."""
MAX_INT_DIGITS = 15
"""Most digits of an integer literal (float64 holds 15 significant digits)."""
MAX_EXPONENT = 100
"""Largest size of a constant exponent: ``t**100`` is allowed, ``t**(10**10)`` is not (its float64
values underflow to 0 on all of (0, 1) but the last 2e-9, and SymPy expands integer powers exactly)."""

FUNCTIONS: Mapping[str, Callable[..., sp.Expr]] = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "asin": sp.asin,
    "acos": sp.acos,
    "atan": sp.atan,
    "asinh": sp.asinh,
    "acosh": sp.acosh,
    "atanh": sp.atanh,
    "expm1": expm1,
    "log1p": log1p,
}
"""The functions an expression may call: elementary functions that lambdify to NumPy, torch and
mpmath alike (and the float64-accurate ``expm1``, ``log1p`` that the built-in paths print with)."""

_FLOAT_FUNCTIONS: Mapping[str, Callable[[float], float]] = {
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "asinh": math.asinh,
    "acosh": math.acosh,
    "atanh": math.atanh,
    "expm1": math.expm1,
    "log1p": math.log1p,
}
CONSTANTS: Mapping[str, sp.Expr] = {"pi": sp.pi, "E": sp.E, "I": sp.I}
"""Named constants (``I`` is read, so that a complex path is refused as not real, not as an unknown name)."""
_CONSTANT_VALUES = {"pi": math.pi, "E": math.e}
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_PYTHON_NAMES = frozenset(dir(builtins))


class ExpressionError(ValueError):
    """Text that is not an allowed expression (the reason is named)."""


class _Checker:
    """Walks the syntax tree once: whitelist, size and depth, and the float64 value of every constant
    subexpression (``None`` where it depends on a symbol)."""

    def __init__(self) -> None:
        self.nodes = 0

    def value(self, node: ast.AST, depth: int) -> float | None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(f"too large: more than {MAX_NODES} numbers, names, operators and calls")
        if depth > MAX_DEPTH:
            raise ExpressionError(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.Constant):
            return self._number(node.value)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            v = self.value(node.operand, depth + 1)
            return None if v is None else (v if isinstance(node.op, ast.UAdd) else -v)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return self._binary(node, depth)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        raise ExpressionError(f"{_describe(node)} is not allowed (only numbers, t, + - * / ** and {_allowed()})")

    @staticmethod
    def _number(v: object) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ExpressionError(f"{v!r} is not a real number")
        if isinstance(v, int) and len(str(abs(v))) > MAX_INT_DIGITS:
            raise ExpressionError(f"the integer {str(v)[:20]}... has more than {MAX_INT_DIGITS} digits")
        if not math.isfinite(v):
            raise ExpressionError(f"the number {v!r} is not finite in float64")
        return float(v)

    @staticmethod
    def _name(name: str) -> float | None:
        if name in FUNCTIONS:
            raise ExpressionError(f"the function {name} must be called, e.g. {name}(t)")
        if name.startswith("_") or name.endswith("_"):
            raise ExpressionError(f"the name {name!r} is not allowed (no leading or trailing underscores)")
        if name in _PYTHON_NAMES and name not in CONSTANTS:
            raise ExpressionError(f"the name {name!r} is not allowed (a Python built-in)")
        return _CONSTANT_VALUES.get(name)

    def _binary(self, node: ast.BinOp, depth: int) -> float | None:
        # A chain of one operator (t + t**2 + t**3 ...) is flat, not nested: its left spine keeps the depth.
        chained = isinstance(node.left, ast.BinOp) and type(node.left.op) is type(node.op)
        a = self.value(node.left, depth if chained else depth + 1)
        b = self.value(node.right, depth + 1)
        if isinstance(node.op, ast.Pow) and b is not None and abs(b) > MAX_EXPONENT:
            raise ExpressionError(f"the exponent {b:g} exceeds {MAX_EXPONENT} in size")
        if a is None or b is None:
            return None
        op = _OPERATORS[type(node.op)]
        try:
            v = {"+": a + b, "-": a - b, "*": a * b}.get(op)
            if op == "/":
                v = a / b
            elif op == "**":
                v = a**b
        except (OverflowError, ZeroDivisionError):
            v = math.inf
        if isinstance(v, complex) or not math.isfinite(v):
            raise ExpressionError(f"the constant {ast.unparse(node)} is not a finite real float64 number")
        return v

    def _call(self, node: ast.Call, depth: int) -> float | None:
        func = node.func
        if not isinstance(func, ast.Name):
            raise ExpressionError(f"{_describe(func)} cannot be called: only {_allowed()}")
        if func.id not in FUNCTIONS:
            raise ExpressionError(f"the function {func.id!r} is not allowed: only {_allowed()}")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError(f"{func.id}: positional arguments only")
        if len(node.args) != 1:
            raise ExpressionError(f"{func.id} takes one argument, got {len(node.args)}")
        self.nodes += 1
        v = self.value(node.args[0], depth + 1)
        if v is None:
            return None
        try:
            out = _FLOAT_FUNCTIONS[func.id](v)
        except (OverflowError, ValueError):
            out = math.nan
        if not math.isfinite(out):
            raise ExpressionError(f"the constant {ast.unparse(node)} is not a finite real float64 number")
        return out


def _describe(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # a node ast cannot print back: its kind names it
        text = type(node).__name__
    return f"{text[:40]!r} ({type(node).__name__.lower()})"


def _allowed() -> str:
    return "calls of " + ", ".join(FUNCTIONS) + " and the constants " + ", ".join(CONSTANTS)


def parse_expression(text: str, symbols: Mapping[str, sp.Symbol]) -> sp.Expr:
    """The SymPy expression of ``text`` after the checks of the module docstring.

    Parameters
    ----------
    text : str
        An expression in SymPy syntax (``sin(pi*t/2)``, ``1 - t**2``, ``t^2``).
    symbols : mapping of name to SymPy symbol
        The names that stand for the given symbols (``{"t": t}``); other plain names become
        plain symbols.

    Raises
    ------
    ExpressionError
        Empty, too long or too deep text, a syntax error, anything outside the whitelist, a
        constant exponent over :data:`MAX_EXPONENT` or a constant that is not a finite float64,
        or a result that is not an expression.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"expected text, got {type(text).__name__}")
    s = text.strip()
    if not s:
        raise ExpressionError("the expression is empty")
    if len(s) > MAX_CHARS:
        raise ExpressionError(f"the expression has {len(s)} characters, more than {MAX_CHARS}")
    s = s.replace("^", "**")  # SymPy's convert_xor, before the syntax check
    try:
        tree = ast.parse(s, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        reason = getattr(exc, "msg", None) or type(exc).__name__
        raise ExpressionError(f"not an expression ({reason})") from None
    _Checker().value(tree.body, 0)
    namespace: dict[str, object] = {
        "__builtins__": {},
        "Integer": sp.Integer,
        "Float": sp.Float,
        "Rational": sp.Rational,
        "Symbol": sp.Symbol,
        **FUNCTIONS,
    }
    local = {**CONSTANTS, **symbols}
    try:
        expr = parse_expr(
            s, local_dict=local, global_dict=namespace, transformations=(*standard_transformations, convert_xor)
        )
    except (sp.SympifyError, TypeError, ValueError, SyntaxError, ZeroDivisionError) as exc:
        raise ExpressionError(f"not an expression ({exc})") from None
    if not isinstance(expr, sp.Expr):
        raise ExpressionError(f"not an expression (got a {type(expr).__name__})")
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ExpressionError("the expression is infinite or undefined (a division by zero?)")
    return expr
