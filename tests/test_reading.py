"""The chapters stay readable: at most 5,000 words of prose each.

The count is the course's own measure: the words (whitespace-separated, formulas and
markup included) of every markdown cell, including what sits in collapsed
``<details>`` blocks, which a reader may open. Tables of numbers and code cells do not
count; the printed output of the experiments carries the numbers the prose leaves out.
"""

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
LIMIT = 5000


def prose_words(path):
    notebook = nbformat.read(path, as_version=4)
    return sum(len(cell.source.split()) for cell in notebook.cells if cell.cell_type == "markdown")


def test_every_chapter_is_found():
    assert len(CHAPTERS) >= 9  # 01 to 08 and the appendix


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_prose_is_at_most_5000_words(path):
    words = prose_words(path)
    assert words <= LIMIT, f"{path.name} has {words} words of prose; the limit is {LIMIT}"


def test_the_count_includes_collapsed_blocks(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("one two three"),
        nbformat.v4.new_markdown_cell("<details>\n<summary>four</summary>\n\nfive six\n\n</details>"),
        nbformat.v4.new_code_cell("not = 'counted at all'"),
    ]
    path = tmp_path / "sample.ipynb"
    nbformat.write(notebook, path)
    assert prose_words(path) == 3 + 5  # <details>, <summary>four</summary>, five, six, </details>


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_collapsed_blocks_are_balanced_html(path):
    # <details> renders the same in the book, JupyterLab and Colab only when it is closed.
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            assert cell.source.count("<details>") == cell.source.count("</details>"), cell.id
            assert cell.source.count("<summary>") == cell.source.count("</summary>"), cell.id
