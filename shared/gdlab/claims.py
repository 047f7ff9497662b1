"""Claims: the asserts that state, in code, what a chapter's text says.

Every number or statement a chapter makes is checked by an ``assert`` right after the run that
produced it. When a learner changes a parameter and runs on, a claim further down may no longer
hold, and that is part of the experiment, not an error. Loaded as an IPython extension (the
course's bootstrap cell does ``%load_ext gdlab.claims``), this module turns a failed claim
into one printed line that says what the text assumed and what this run gave, and the notebook
goes on:

    Claim not met (the text assumed: highest / lowest < 4.2); this run gave: highest / lowest = 4.35

**Strict mode.** With the environment variable ``DOWNHILL_STRICT=1`` the extension changes
nothing: every ``assert`` is Python's own and a claim that fails stops the run with an
``AssertionError``. ``make book``, ``make test``, ``make bench`` and CI set it, and so must
anything that executes the notebooks to check them.

Only ``assert`` statements at the top level of a cell are claims (also inside a top-level
``for``, ``if`` or ``with``); an ``assert`` inside a function or class a cell defines keeps
Python's meaning, so a helper's own checks of its arguments still raise.

>>> import ast
>>> tree = ClaimTransformer().visit(ast.parse("x = 2\\nassert x > 3, 'x is large'\\nok = True"))
>>> namespace = {}
>>> exec(compile(tree, "<cell>", "exec"), namespace)
Claim not met (the text assumed: x > 3: x is large); this run gave: x = 2
>>> namespace["ok"]
True
"""

import ast
import copy
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["ClaimTransformer", "failed", "is_strict", "load_ipython_extension", "unload_ipython_extension"]

STRICT_VARIABLE = "DOWNHILL_STRICT"
_MAX_VALUES = 4
_MAX_REPR = 80


def is_strict(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a failed claim stops the run: ``DOWNHILL_STRICT`` is set to anything but 0."""
    value = (os.environ if environ is None else environ).get(STRICT_VARIABLE, "").strip().lower()
    return value not in ("", "0", "false", "no")


def _operands(test: ast.expr, top: bool = True) -> list[ast.expr]:
    """The sub-expressions worth printing when ``test`` is false: the sides of comparisons,
    the parts of ``and``/``or``/``not``/``&``/``|``, and the arguments of a call that is the
    whole claim (``np.all(...)``, ``np.isclose(a, b)``)."""
    if isinstance(test, ast.BoolOp):
        return [o for value in test.values for o in _operands(value, top)]
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _operands(test.operand, top)
    if isinstance(test, ast.BinOp) and isinstance(test.op, (ast.BitAnd, ast.BitOr)):
        return _operands(test.left, top) + _operands(test.right, top)
    if isinstance(test, ast.Compare):
        return [o for side in (test.left, *test.comparators) for o in _operands(side, False)]
    if top and isinstance(test, ast.Call) and test.args:
        return [o for arg in test.args for o in _operands(arg, False)]
    try:
        ast.literal_eval(test)
        return []  # a literal such as 3 or (21, 1) says nothing new
    except Exception:
        return [test]


def _short(value: object) -> str:
    text = re.sub(r"\s+", " ", repr(value))
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 1] + "…"


def failed(
    assumed: str, message: object = None, values: Iterable[tuple[str, Callable[[], object]]] = ()
) -> None:
    """Report a claim that does not hold in this run, in one line (called by transformed cells).

    ``assumed`` is the claim's source, ``message`` the assert's message if it had one, and
    ``values`` pairs of (source, function giving its value in this run).
    """
    gave = []
    for source, value in values:
        try:
            gave.append(f"{source} = {_short(value())}")
        except Exception as error:  # a value that cannot be computed again is still reported
            gave.append(f"{source} could not be evaluated ({type(error).__name__})")
    line = f"Claim not met (the text assumed: {assumed}"
    line += ")" if message is None else f": {message})"
    if gave:
        line += "; this run gave: " + ", ".join(gave)
    print(line)


class ClaimTransformer(ast.NodeTransformer):
    """Rewrites each top-level ``assert test, message`` of a cell into
    ``if not test: gdlab.claims.failed(...)``."""

    def visit_FunctionDef(self, node: ast.AST) -> ast.AST:
        return node  # asserts in functions keep their meaning

    visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = visit_FunctionDef

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        seen: set[str] = set()
        values: list[ast.expr] = []
        for operand in _operands(node.test):
            source = ast.unparse(operand)
            if source not in seen and len(values) < _MAX_VALUES:
                seen.add(source)
                values.append(
                    ast.Tuple(
                        [ast.Constant(source), ast.Lambda(_no_arguments(), copy.deepcopy(operand))],
                        ast.Load(),
                    )
                )
        report = ast.Call(
            func=ast.Attribute(
                ast.Call(
                    ast.Name("__import__", ast.Load()),
                    [ast.Constant("gdlab.claims")],
                    [ast.keyword("fromlist", ast.List([ast.Constant("failed")], ast.Load()))],
                ),
                "failed",
                ast.Load(),
            ),
            args=[
                ast.Constant(ast.unparse(node.test)),
                node.msg if node.msg is not None else ast.Constant(None),
                ast.List(values, ast.Load()),
            ],
            keywords=[],
        )
        replacement = ast.If(test=ast.UnaryOp(ast.Not(), node.test), body=[ast.Expr(report)], orelse=[])
        return ast.fix_missing_locations(ast.copy_location(replacement, node))


def _no_arguments() -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext gdlab.claims``: failed claims print a line, unless ``DOWNHILL_STRICT=1``."""
    if is_strict():
        return
    if not any(isinstance(t, ClaimTransformer) for t in ipython.ast_transformers):
        ipython.ast_transformers.append(ClaimTransformer())


def unload_ipython_extension(ipython: Any) -> None:
    ipython.ast_transformers[:] = [t for t in ipython.ast_transformers if not isinstance(t, ClaimTransformer)]
