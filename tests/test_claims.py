"""A learner's experiment is not a traceback: failed claims print one line and the notebook goes
on, except in strict mode (``DOWNHILL_STRICT=1``), where they stop the run as the build and the
tests need."""

import ast
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from gdlab import claims

ROOT = Path(__file__).resolve().parents[1]


def run_cell(source, namespace=None):
    namespace = {} if namespace is None else namespace
    tree = claims.ClaimTransformer().visit(ast.parse(source))
    exec(compile(tree, "<cell>", "exec"), namespace)
    return namespace


def test_a_failed_claim_says_what_was_assumed_and_what_the_run_gave(capsys):
    namespace = run_cell(
        "import numpy as np\n"
        "ratio = np.array([3.2, 4.35])\n"
        "assert np.all((ratio > 3) & (ratio < 4.2)), 'seeds differ by a factor of 3 to 4'\n"
        "after = True\n"
    )
    assert namespace["after"] is True
    line = capsys.readouterr().out.strip()
    assert "\n" not in line
    assert line.startswith("Claim not met (the text assumed: np.all((ratio > 3) & (ratio < 4.2))")
    assert "seeds differ by a factor of 3 to 4" in line
    assert "this run gave: ratio = array([3.2 , 4.35])" in line


def test_a_claim_that_holds_prints_nothing_and_loops_are_checked_each_time(capsys):
    run_cell("for k in range(4):\n    assert k < 3\nassert 1 + 1 == 2\n")
    assert capsys.readouterr().out.strip() == "Claim not met (the text assumed: k < 3); this run gave: k = 3"


def test_asserts_inside_functions_keep_their_meaning():
    namespace = run_cell("def positive(x):\n    assert x > 0, 'x must be positive'\n    return x\n")
    assert namespace["positive"](2) == 2
    with pytest.raises(AssertionError, match="x must be positive"):
        namespace["positive"](-1)


def test_a_value_that_cannot_be_recomputed_is_still_reported(capsys):
    run_cell("values = iter([1])\nassert next(values) == 2\n")
    assert "could not be evaluated (StopIteration)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("value", "strict"), [("1", True), ("true", True), ("", False), ("0", False), (None, False)]
)
def test_strict_mode_is_on_when_downhill_strict_is_set(value, strict):
    environ = {} if value is None else {"DOWNHILL_STRICT": value}
    assert claims.is_strict(environ) is strict


def chapter_with_a_false_claim():
    """Chapter 02 as a learner might leave it: a changed parameter makes one claim false."""
    notebook = nbformat.read(ROOT / "chapters" / "02_gd_intuition.ipynb", as_version=4)
    first = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
    notebook.cells[first + 1 : first + 1] = [
        nbformat.v4.new_code_cell("steps_taken = 7\nassert steps_taken == 3  # the text says three steps"),
        nbformat.v4.new_code_cell("print('the notebook went on')"),
    ]
    notebook.cells = notebook.cells[: first + 3]
    return notebook


def execute(notebook, strict, monkeypatch, tmp_path):
    if strict:
        monkeypatch.setenv("DOWNHILL_STRICT", "1")
    else:
        monkeypatch.delenv("DOWNHILL_STRICT", raising=False)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    return notebook


def test_outside_strict_mode_a_chapter_with_a_false_claim_runs_on(monkeypatch, tmp_path):
    notebook = execute(chapter_with_a_false_claim(), False, monkeypatch, tmp_path)
    claim, after = notebook.cells[-2], notebook.cells[-1]
    text = "".join(o.get("text", "") for o in claim.outputs)
    assert (
        text.strip() == "Claim not met (the text assumed: steps_taken == 3); this run gave: steps_taken = 7"
    )
    assert after.outputs[0]["text"].strip() == "the notebook went on"


def test_in_strict_mode_a_chapter_with_a_false_claim_stops(monkeypatch, tmp_path):
    with pytest.raises(CellExecutionError, match="AssertionError"):
        execute(chapter_with_a_false_claim(), True, monkeypatch, tmp_path)


def test_the_build_and_the_tests_run_strict():
    assert os.environ.get("DOWNHILL_STRICT") == "1", "tests/conftest.py sets strict mode for every test"
    makefile = (ROOT / "Makefile").read_text()
    for target in ("book", "test", "bench"):
        recipe = makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]
        assert "DOWNHILL_STRICT=1" in recipe, f"make {target} must set DOWNHILL_STRICT=1"
    assert "DOWNHILL_STRICT=1" in (ROOT / ".ci" / "run").read_text()
