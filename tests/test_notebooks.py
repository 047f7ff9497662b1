"""Notebook hygiene, and every chapter opened alone "in Colab" runs to the end.

nbval (configured in pyproject.toml) executes every notebook; these tests check how the
notebooks are stored and that the bootstrap cell really makes them self-sufficient.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

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


def _isolated_python(tmp_path):
    """A Python where gdlab is *not* importable but everything else the course uses is.

    A new virtual environment sees the course's packages through a site directory of
    links into .venv that leaves out gdlab's editable install, so that pip, run by the
    bootstrap cell, installs gdlab there as it would in Colab.
    """
    env_dir = tmp_path / "colab-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    target_site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    linked = tmp_path / "course-packages"
    linked.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if "gdlab" in entry.name.lower():
            continue
        (linked / entry.name).symlink_to(entry)
    (target_site / "course_packages.pth").write_text(f"import site; site.addsitedir({str(linked)!r})\n")
    return python, target_site


def test_a_chapter_opened_alone_in_colab_installs_gdlab_and_runs(tmp_path, root):
    chapter = root / "chapters" / "02_gd_intuition.ipynb"
    python, site_packages = _isolated_python(tmp_path)
    probe = subprocess.run([python, "-c", "import gdlab"], capture_output=True, text=True)
    assert probe.returncode != 0, "gdlab must not be importable before the bootstrap runs"

    # Colab preloads google.colab; a stand-in module records that the widget manager was enabled.
    fake = tmp_path / "fake-colab"
    (fake / "google" / "colab").mkdir(parents=True)
    (fake / "google" / "__init__.py").write_text("")
    (fake / "google" / "colab" / "__init__.py").write_text("from . import output\n")
    (fake / "google" / "colab" / "output.py").write_text(
        "import types\n\nenabled = False\n_widgets = types.SimpleNamespace(_installed_url=None)\n\n"
        "def enable_custom_widget_manager():\n    global enabled\n    enabled = True\n"
    )
    ipython_dir = tmp_path / "ipython"
    (ipython_dir / "profile_default" / "startup").mkdir(parents=True)
    (ipython_dir / "profile_default" / "startup" / "00-colab.py").write_text("import google.colab\n")
    kernels = tmp_path / "jupyter" / "kernels" / "colab"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Colab stand-in",
                "language": "python",
                "env": {
                    "PYTHONPATH": str(fake),
                    "IPYTHONDIR": str(ipython_dir),
                    "DOWNHILL_REPOSITORY": f"file://{root}",
                    "MPLBACKEND": "agg",
                },
            }
        )
    )

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
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(tmp_path / "jupyter")
    try:
        NotebookClient(
            notebook,
            kernel_name="colab",
            timeout=600,
            resources={"metadata": {"path": str(workdir)}},
        ).execute()
    finally:
        if old is None:
            os.environ.pop("JUPYTER_PATH")
        else:
            os.environ["JUPYTER_PATH"] = old
    where, enabled = notebook.cells[-1].outputs[0]["text"].split()
    assert Path(where).is_relative_to(site_packages), f"gdlab was imported from {where}"
    assert enabled == "True"
    assert (site_packages / "gdlab" / "descent.py").exists()
