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

import numpy as np

from .surfaces import Landscape

__all__ = ["FUNCTIONS", "MAX_LENGTH", "landscape", "parse"]

FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh")
CONSTANTS = {"pi": math.pi, "e": math.e}
VARIABLES = ("x", "y")
MAX_LENGTH = 200
_LOOPED_POWER = 16  # integer exponents up to this are repeated multiplications
# ASCII only, exactly as the browser's tokenizer: spaces, numbers, names, operators.
_SPACE = " \t\r\n"
_TOKEN = re.compile(
    r"[ \t\r\n]*(?:([0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
    r"|([A-Za-z_][A-Za-z_0-9]*)|(\*\*|[-+*/^()]))"
)


def _tokens(text):
    tokens, at = [], 0
    while at < len(text):
        rest = text[at:].lstrip(_SPACE)
        if not rest:
            break
        match = _TOKEN.match(text, at)
        if match is None:
            where = len(text) - len(rest) + 1
            raise ValueError(f"unexpected character {rest[0]!r} at character {where}")
        number, name, op = match.groups()
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

    def __init__(self, text, dim):
        self.tokens, self.at, self.variables = _tokens(text), 0, VARIABLES[:dim]

    def peek(self):
        return self.tokens[self.at]

    def take(self):
        token = self.tokens[self.at]
        self.at += 1
        return token

    def is_op(self, *ops):
        kind, value, _, _ = self.peek()
        return kind == "op" and value in ops

    def sum(self):
        node = self.product()
        while self.is_op("+", "-"):
            op = self.take()[1]
            node = ("add" if op == "+" else "sub", node, self.product())
        return node

    def product(self):
        node = self.unary()
        while self.is_op("*", "/"):
            op = self.take()[1]
            node = ("mul" if op == "*" else "div", node, self.unary())
        return node

    def unary(self):
        if self.is_op("-"):
            self.take()
            return ("neg", self.unary())
        if self.is_op("+"):
            self.take()
            return self.unary()
        return self.power()

    def power(self):
        base = self.atom()
        if self.is_op("^"):
            self.take()
            return ("pow", base, self.unary())
        return base

    def atom(self):
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

    def expect_close(self, opened):
        if not self.is_op(")"):
            _, _, where, shown = self.peek()
            raise ValueError(
                f"missing ')' for the '(' at character {opened}: found {_shown(shown)} at character {where}"
            )
        self.take()


def _shown(text):
    return text if text == "the end" else repr(text)


def parse(text, dim=1):
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


def _mul(a, b):
    (av, ad), (bv, bd) = a, b
    return av * bv, tuple(da * bv + av * db for da, db in zip(ad, bd))


def _power(a, b, b_tree):
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


def _call(name, a):
    av, ad = a
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


def _evaluate(tree, point, dim):
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


def landscape(text, dim=1, bounds=None):
    """A :class:`~gdlab.surfaces.Landscape` for the formula ``text`` in ``dim`` variables.

    Its gradient is exact (dual numbers); its Hessian is central differences of that
    gradient. Minima and saddles are not known, so the landscape lists none.
    """
    tree = parse(text, dim)
    if bounds is None:
        bounds = [(-4.0, 4.0)] if dim == 1 else [(-3.0, 3.0), (-3.0, 3.0)]

    def both(p):
        with np.errstate(all="ignore"):
            value, grad = _evaluate(tree, [np.asarray(p[i], dtype=np.float64) for i in range(dim)], dim)
            shape = np.shape(p[0])
            return np.broadcast_to(value, shape).copy(), np.stack([np.broadcast_to(g, shape) for g in grad])

    def hessian(p):
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
        bounds=tuple(tuple(float(v) for v in b) for b in bounds),
    )
