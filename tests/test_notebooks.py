"""Notebook hygiene, and every chapter opened alone "in Colab" runs to the end.

nbval (configured in pyproject.toml) executes every notebook; these tests check how the
notebooks are stored and that the bootstrap cell really makes them self-sufficient.
"""

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from colab_stand_in import execute_in_colab, isolated_python

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for folder in ("chapters", "exercises", "solutions") for p in (ROOT / folder).glob("*.ipynb")
)
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
STEMS = [
    "01_loss_shapes",
    "02_gd_intuition",
    "03_learning_rate",
    "04_gd_variants",
    "05_landscapes",
    "06_loss_curves",
    "07_optimizers",
    "08_regularization",
]


def first_code_cell(path):
    notebook = nbformat.read(path, as_version=4)
    return next(c for c in notebook.cells if c.cell_type == "code")


APPENDICES = ["appendix_troubleshooting"]


def test_there_are_chapters_and_their_names_follow_the_syllabus():
    assert CHAPTERS, "no chapter notebooks found"
    for path in NOTEBOOKS:
        allowed = STEMS + APPENDICES if path.parent.name == "chapters" else STEMS
        assert path.stem in allowed, f"{path.name} does not use one of the stems {allowed}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_stored_clean_with_a_python3_kernel(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert notebook.metadata["kernelspec"]["language"] == "python"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "store notebooks without outputs"
    assert "widgets" not in notebook.metadata, "store notebooks without widget state"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_first_code_cell_is_the_colab_bootstrap(path, repository_url):
    reference = first_code_cell(ROOT / "chapters" / "02_gd_intuition.ipynb").source
    cell = first_code_cell(path)
    assert cell.source == reference, "copy the bootstrap cell of chapter 02 unchanged"
    assert '"google.colab" in sys.modules' in cell.source
    urls = re.findall(r"https://[^\"' )]+", cell.source)
    assert urls == [repository_url], "the bootstrap must install from _config.yml's repository url"
    assert "remove-cell" in cell.metadata.get("tags", [])


def test_a_chapter_opened_alone_in_colab_installs_gdlab_and_runs(tmp_path, root):
    chapter = root / "chapters" / "02_gd_intuition.ipynb"
    python, site_packages = isolated_python(tmp_path)
    probe = subprocess.run([python, "-c", "import gdlab"], capture_output=True, text=True)
    assert probe.returncode != 0, "gdlab must not be importable before the bootstrap runs"

    workdir = tmp_path / "alone"
    workdir.mkdir()
    shutil.copy(chapter, workdir / chapter.name)
    notebook = nbformat.read(workdir / chapter.name, as_version=4)
    # Prove where gdlab came from, and that the widget manager was switched on.
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "import gdlab, google.colab.output\nprint(gdlab.__file__)\nprint(google.colab.output.enabled)"
        )
    )
    execute_in_colab(notebook, tmp_path, python, root, workdir)
    where, enabled = notebook.cells[-1].outputs[0]["text"].split()
    assert Path(where).is_relative_to(site_packages), f"gdlab was imported from {where}"
    assert enabled == "True"
    assert (site_packages / "gdlab" / "descent.py").exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_boxes_are_html_admonitions_that_jupyterlab_and_colab_render(path):
    """A MyST directive fence (```{admonition}) shows as a raw code block in JupyterLab and
    Colab; an HTML admonition renders there and, with myst's html_admonition, in the book."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        fences = re.findall(r"^(?:```+|:::+)\{[\w-]+\}", cell.source, re.M)
        assert not fences, f'{path.name}: write {fences[0]}... as <div class="admonition">'
        for box in re.findall(r"<div class=\"admonition[^\"]*\">.*?</div>", cell.source, re.S):
            assert "\n\n" not in box, "a blank line ends an HTML block: keep the box in one block"
            assert '<p class="admonition-title">' in box


def test_the_book_turns_html_boxes_into_admonitions(book_config):
    assert "html_admonition" in book_config["parse"]["myst_enable_extensions"]
