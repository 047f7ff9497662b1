"""Code copied from the page runs: no cell hidden from the book binds a name that a visible
cell reads.

The book shows a notebook's code cells except those tagged ``remove-cell`` or
``remove-input``. A reader who copies the visible cells, in order, into a fresh Python must get
the same names: so a name a visible cell reads has to be bound by a visible cell (or be a
builtin), never only by a hidden check or set-up cell.
"""

import ast
import builtins
import re
import symtable
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for folder in ("chapters", "solutions") for p in (ROOT / folder).glob("*.ipynb"))
HIDDEN = {"remove-cell", "remove-input"}


def python_source(cell_source):
    """The cell as Python: IPython's magics and shell escapes become ``pass``."""
    lines = []
    for line in cell_source.splitlines():
        stripped = line.lstrip()
        lines.append(line[: len(line) - len(stripped)] + "pass" if stripped[:1] in ("%", "!") else line)
    return "\n".join(lines)


def bound_and_read(source):
    """Names a cell binds at module level, and global names it reads in any scope."""
    table = symtable.symtable(source, "<cell>", "exec")
    bound = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    read = set()

    def visit(scope, top):
        for symbol in scope.get_symbols():
            if not symbol.is_referenced():
                continue
            if top or symbol.is_global():
                read.add(symbol.get_name())
        for child in scope.get_children():
            visit(child, False)

    visit(table, True)
    return bound, read


def names_only_hidden_cells_bind(path):
    """``(cell index, name)`` for each visible read of a name bound only by hidden cells so far."""
    notebook = nbformat.read(path, as_version=4)
    visible_bound, hidden_bound, problems = set(), set(), []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        source = python_source(cell.source)
        bound, read = bound_and_read(source)
        if HIDDEN & set(cell.metadata.get("tags", [])):
            hidden_bound |= bound - visible_bound
            continue
        for name in sorted(read - visible_bound - bound - set(dir(builtins))):
            if name in hidden_bound:
                problems.append((index, name))
        visible_bound |= bound
    return problems


def test_the_checker_finds_a_name_bound_only_in_a_hidden_cell(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import numpy as np\nsecret = 3", metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell("shown = 2\ndef f():\n    return secret + shown\nprint(f())"),
        nbformat.v4.new_code_cell("%matplotlib inline\nnp.ones(shown)"),
        nbformat.v4.new_code_cell("total = [x for x in range(3)]\nprint(total, len(total))"),
    ]
    path = tmp_path / "probe.ipynb"
    nbformat.write(notebook, path)
    assert names_only_hidden_cells_bind(path) == [(1, "secret"), (2, "np")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_visible_cells_read_no_name_that_only_a_hidden_cell_binds(path):
    problems = names_only_hidden_cells_bind(path)
    listed = ", ".join(f"{name} (cell {index})" for index, name in problems)
    assert not problems, f"visible cells read names bound only in hidden cells: {listed}"


def test_python_source_turns_magics_into_pass():
    assert python_source("%load_ext x\n  !ls\ny = 1") == "pass\n  pass\ny = 1"
    assert re.fullmatch(r"pass", python_source("%%time"))
    ast.parse(python_source("if True:\n    %time f()\n"))
