r"""A landscape from a formula the reader types, with its gradient by forward-mode differentiation.

The grammar is small and the same in the browser (``widgets/explorers.js``): numbers
(``2``, ``0.5``, ``1e-3``), the variables ``x`` (and ``y`` in two dimensions), the
constants ``pi`` and ``e``, ``+ - * /``, powers ``^`` (or ``**``, right-associative, so
``-x^2`` is ``-(x^2)``), parentheses and the functions ``sin cos tan exp log sqrt abs
tanh``. Nothing is handed to ``eval``: the text is parsed into a tree, and the tree is
evaluated on *dual numbers* :math:`(v, \nabla v)`, so one pass gives the value and the
exact gradient (:math:`(uv)' = u'v + uv'` and so on for every operation).

An integer power up to 16 is evaluated as repeated multiplication, in the same order as
the browser, so both sides compute bit for bit the same polynomial.

>>> from gdlab.formula import landscape
>>> land = landscape("x^4 - 8*x^2 + x")
>>> float(land.f(1.0)), land.grad(1.0).tolist()
(-6.0, [-11.0])
>>> landscape("x +* 2")
Traceback (most recent call last):
    ...
ValueError: expected a number, a name or '(' at character 4, found '*'
"""

import math
import re
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from .surfaces import Landscape

__all__ = ["FUNCTIONS", "MAX_LENGTH", "landscape", "parse"]

FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh")
CONSTANTS = {"pi": math.pi, "e": math.e}
VARIABLES = ("x", "y")
MAX_LENGTH = 200
_LOOPED_POWER = 16  # integer exponents up to this are repeated multiplications
# ASCII only, exactly as the browser's tokenizer: spaces, numbers, names, operators.
_SPACE = " \t\r\n"

# A token: (kind, value, character position from 1, the text shown in messages); the value is
# a float for "number", a str for "name" and "op", None for "end".
Token: TypeAlias = tuple[str, Any, int, str]
# A parsed formula: ("num", value), ("var", index), ("neg", tree), ("call", name, tree), or
# (op, left, right) with op one of "add", "sub", "mul", "div", "pow".
Tree: TypeAlias = tuple[Any, ...]
# A number the formula is evaluated on: one point's coordinate, or a whole grid of them.
_Num: TypeAlias = float | NDArray[np.float64]
# A dual number: the value and its partial derivatives (d/dx, d/dy).
Dual: TypeAlias = tuple[_Num, tuple[_Num, ...]]
_TOKEN = re.compile(
    r"[ \t\r\n]*(?:([0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
    r"|([A-Za-z_][A-Za-z_0-9]*)|(\*\*|[-+*/^()]))"
)


def _tokens(text: str) -> list[Token]:
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        rest = text[at:].lstrip(_SPACE)
        if not rest:
            break
        match = _TOKEN.match(text, at)
        if match is None:
            where = len(text) - len(rest) + 1
            raise ValueError(f"unexpected character {rest[0]!r} at character {where}")
        number, name, op = match.groups()
        assert match.lastindex is not None  # a match always ends in one of the three groups
        where = match.start(match.lastindex) + 1
        if number is not None:
            tokens.append(("number", float(number), where, number))
        elif name is not None:
            tokens.append(("name", name, where, name))
        else:
            tokens.append(("op", "^" if op == "**" else op, where, op))
        at = match.end()
    tokens.append(("end", None, len(text) + 1, "the end"))
    return tokens


class _Parser:
    """Recursive descent: sum -> product -> unary -> power -> atom."""

    def __init__(self, text: str, dim: int) -> None:
        self.tokens, self.at, self.variables = _tokens(text), 0, VARIABLES[:dim]

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def is_op(self, *ops: str) -> bool:
        kind, value, _, _ = self.peek()
        return kind == "op" and value in ops

    def sum(self) -> Tree:
        node = self.product()
        while self.is_op("+", "-"):
            op = self.take()[1]
            node = ("add" if op == "+" else "sub", node, self.product())
        return node

    def product(self) -> Tree:
        node = self.unary()
        while self.is_op("*", "/"):
            op = self.take()[1]
            node = ("mul" if op == "*" else "div", node, self.unary())
        return node

    def unary(self) -> Tree:
        if self.is_op("-"):
            self.take()
            return ("neg", self.unary())
        if self.is_op("+"):
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> Tree:
        base = self.atom()
        if self.is_op("^"):
            self.take()
            return ("pow", base, self.unary())
        return base

    def atom(self) -> Tree:
        kind, value, where, shown = self.take()
        if kind == "number":
            return ("num", value)
        if kind == "op" and value == "(":
            node = self.sum()
            self.expect_close(where)
            return node
        if kind == "name":
            if value in self.variables:
                return ("var", self.variables.index(value))
            if value in CONSTANTS:
                return ("num", CONSTANTS[value])
            if value in FUNCTIONS:
                if not self.is_op("("):
                    raise ValueError(f"{value} needs parentheses: {value}(...) at character {where}")
                opened = self.take()[2]
                node = self.sum()
                self.expect_close(opened)
                return ("call", value, node)
            names = ", ".join(self.variables + tuple(CONSTANTS))
            raise ValueError(
                f"unknown name {value!r} at character {where}: use {names} and the functions "
                + " ".join(FUNCTIONS)
            )
        raise ValueError(f"expected a number, a name or '(' at character {where}, found {_shown(shown)}")

    def expect_close(self, opened: int) -> None:
        if not self.is_op(")"):
            _, _, where, shown = self.peek()
            raise ValueError(
                f"missing ')' for the '(' at character {opened}: found {_shown(shown)} at character {where}"
            )
        self.take()


def _shown(text: str) -> str:
    return text if text == "the end" else repr(text)


def parse(text: str, dim: int = 1) -> Tree:
    """The tree of ``text`` in ``dim`` variables, or a ``ValueError`` saying where it fails."""
    if not isinstance(text, str):
        raise ValueError(f"a formula must be a string, got {type(text).__name__}")
    if dim not in (1, 2):
        raise ValueError(f"a formula has 1 or 2 variables, got dim={dim}")
    if not text.strip(_SPACE):
        raise ValueError("the formula is empty")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"the formula is too long ({len(text)} characters, at most {MAX_LENGTH})")
    parser = _Parser(text, dim)
    tree = parser.sum()
    kind, _, where, shown = parser.peek()
    if kind != "end":
        hint = " (is a '*' missing?)" if kind in ("name", "number") or shown == "(" else ""
        raise ValueError(f"unexpected {_shown(shown)} at character {where}{hint}")
    return tree


# --- evaluation on dual numbers: (value, (d/dx, d/dy)) -----------------------------------


def _mul(a: Dual, b: Dual) -> Dual:
    (av, ad), (bv, bd) = a, b
    return av * bv, tuple(da * bv + av * db for da, db in zip(ad, bd))


def _power(a: Dual, b: Dual, b_tree: Tree) -> Dual:
    av, ad = a
    if b_tree[0] == "num" and float(b_tree[1]).is_integer() and abs(b_tree[1]) <= _LOOPED_POWER:
        n = int(abs(b_tree[1]))
        result = (np.float64(1.0), tuple(0.0 * d for d in ad)) if n == 0 else a
        for _ in range(n - 1):
            result = _mul(result, a)
        if b_tree[1] < 0:
            rv, rd = result
            result = (1.0 / rv, tuple(-d / (rv * rv) for d in rd))
        return result
    bv, bd = b
    value = np.power(av, bv)
    if b_tree[0] == "num":  # a constant exponent: d(a^c) = c a^(c-1) da
        slope = bv * np.power(av, bv - 1.0)
        return value, tuple(slope * d for d in ad)
    log_a = np.log(av)
    return value, tuple(value * (db * log_a + bv * da / av) for da, db in zip(ad, bd))


def _call(name: str, a: Dual) -> Dual:
    av, ad = a
    value: _Num
    slope: _Num
    if name == "sin":
        value, slope = np.sin(av), np.cos(av)
    elif name == "cos":
        value, slope = np.cos(av), -np.sin(av)
    elif name == "tan":
        value = np.tan(av)
        slope = 1.0 + value * value
    elif name == "exp":
        value = np.exp(av)
        slope = value
    elif name == "log":
        value, slope = np.log(av), 1.0 / av
    elif name == "sqrt":
        value = np.sqrt(av)
        slope = 0.5 / value
    elif name == "abs":
        value, slope = np.abs(av), np.sign(av)
    else:  # tanh
        value = np.tanh(av)
        slope = 1.0 - value * value
    return value, tuple(slope * d for d in ad)


def _evaluate(tree: Tree, point: Sequence[_Num], dim: int) -> Dual:
    kind = tree[0]
    if kind == "num":
        return np.float64(tree[1]), (0.0,) * dim
    if kind == "var":
        return point[tree[1]], tuple(1.0 if i == tree[1] else 0.0 for i in range(dim))
    if kind == "neg":
        v, d = _evaluate(tree[1], point, dim)
        return -v, tuple(-di for di in d)
    if kind == "call":
        return _call(tree[1], _evaluate(tree[2], point, dim))
    a, b = _evaluate(tree[1], point, dim), _evaluate(tree[2], point, dim)
    if kind == "add":
        return a[0] + b[0], tuple(x + y for x, y in zip(a[1], b[1]))
    if kind == "sub":
        return a[0] - b[0], tuple(x - y for x, y in zip(a[1], b[1]))
    if kind == "mul":
        return _mul(a, b)
    if kind == "div":
        (av, ad), (bv, bd) = a, b
        return av / bv, tuple((da * bv - av * db) / (bv * bv) for da, db in zip(ad, bd))
    return _power(a, b, tree[2])


def landscape(text: str, dim: int = 1, bounds: Sequence[tuple[float, float]] | None = None) -> Landscape:
    """A :class:`~gdlab.surfaces.Landscape` for the formula ``text`` in ``dim`` variables.

    Its gradient is exact (dual numbers); its Hessian is central differences of that
    gradient. Minima and saddles are not known, so the landscape lists none.
    """
    tree = parse(text, dim)
    if bounds is None:
        bounds = [(-4.0, 4.0)] if dim == 1 else [(-3.0, 3.0), (-3.0, 3.0)]

    def both(p: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        with np.errstate(all="ignore"):
            value, grad = _evaluate(tree, [np.asarray(p[i], dtype=np.float64) for i in range(dim)], dim)
            shape = np.shape(p[0])
            return np.broadcast_to(value, shape).copy(), np.stack([np.broadcast_to(g, shape) for g in grad])

    def hessian(p: NDArray[np.float64]) -> NDArray[np.float64]:
        step = 1e-5 * (1.0 + np.abs(p))
        columns = []
        for i in range(dim):
            shift = np.zeros(dim)
            shift[i] = step[i]
            columns.append((both(p + shift)[1] - both(p - shift)[1]) / (2 * step[i]))
        return np.stack(columns, axis=1)

    variables = ", ".join(VARIABLES[:dim])
    return Landscape(
        name="formula",
        dim=dim,
        formula=f"f({variables}) = {text.strip(_SPACE)}",
        fn=lambda p: both(p)[0],
        grad_fn=lambda p: both(p)[1],
        hessian_fn=hessian,
        bounds=tuple((float(lo), float(hi)) for lo, hi in bounds),
    )
