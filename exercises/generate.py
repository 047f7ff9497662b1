"""Generate the learners' exercises from their masters, with otter-grader's ``otter assign``.

Each chapter's graded exercise has one source: its *master* notebook, ``solutions/NN_topic.ipynb``
(prompts, solutions, public and hidden tests, in otter assign's format). This script runs
``otter assign`` on a master and writes the student version, ``exercises/NN_topic.ipynb``: the
solutions replaced by ``...``, the public tests stored in the notebook's metadata, a
``grader.check(...)`` cell after each question and a ``grader.check_all()`` cell at the end.
The hidden tests stay in the master and in the autograder that ``exercises/grade.py`` builds
at grading time (under ``_build/``, never in git).

Two touches are added to what otter writes, both the same for every exercise:

- a set-up cell right after the course bootstrap cell (which must stay the notebook's first
  code cell, identical to the chapters'). It creates the ``grader``; in Colab, where a
  notebook opens on its own, it first installs otter-grader and writes the public tests to
  ``tests/``, read from the repository's copy of the exercise (Colab's otter reads tests only
  from files);
- the final ``grader.check_all()`` cell also prints the total of the public checks;

and every cell gets a stable id, so that regenerating an unchanged master gives no diff.

A learner's edits are never overwritten silently: an exercise that differs from what its
master generates is left alone unless ``--force`` is given.

Usage (from the repository root)::

    python exercises/generate.py                    # every master in solutions/
    python exercises/generate.py 03_learning_rate   # one or more chapters, by stem
    python exercises/generate.py --check            # only report; exit 1 if one is out of date
    python exercises/generate.py --force            # overwrite exercises that differ
"""

import argparse
import contextlib
import copy
import glob
import importlib.metadata
import io
import re
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

SETUP_TAG = "exercise-setup"
COURSE_REPOSITORY = "https://github.com/downhill-course/downhill"  # as in the bootstrap cell
PYTHON_VERSION = "3.11"  # the autograder's Python on Gradescope: the oldest the course supports

SETUP_SOURCE = """\
# Exercise set-up: the autograder, otter-grader, with this exercise's public checks.
# In Colab, where this notebook opens on its own, install otter-grader and fetch the checks
# from the course repository (REPOSITORY, set by the bootstrap cell above: run that first).
# Everywhere else otter-grader is installed and the checks are stored in this notebook.
import sys

NOTEBOOK = "{notebook}"
if "google.colab" in sys.modules:
    import json
    import os
    import subprocess
    import tempfile

    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "{requirement}"], check=True)
    clone = tempfile.mkdtemp()
    subprocess.run(["git", "clone", "--quiet", "--depth=1", REPOSITORY, clone], check=True)
    with open(os.path.join(clone, "exercises", NOTEBOOK), encoding="utf-8") as f:
        checks = json.load(f)["metadata"]["otter"]["tests"]
    os.makedirs("tests", exist_ok=True)
    for question, source in checks.items():
        with open(os.path.join("tests", question + ".py"), "w", encoding="utf-8") as f:
            f.write(source)
    NOTEBOOK = None  # Colab keeps the notebook elsewhere; otter reads the checks from tests/

import otter

grader = otter.Notebook(NOTEBOOK)"""

CHECK_ALL_SOURCE = """\
# Rerun every public check, then add up the points (the grader, grading, skips this cell).
results = grader.check_all()
if results is not None:
    print(results)
    print(f"\\nTotal: {results.total:g} / {results.possible:g} points from the public checks.")"""


class Assigned(NamedTuple):
    """What ``otter assign`` makes of one master."""

    exercise: nbformat.NotebookNode  # the student version, as stored in exercises/
    solved: nbformat.NotebookNode  # the same notebook with the solutions in: a full-marks submission
    autograder: Path  # otter's autograder zip (public and hidden tests)
    questions: list  # [(name, points), ...] in the order of the master


def masters(stems=()):
    """The master notebooks, all of them or those named by stem."""
    found = {path.stem: path for path in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))}
    unknown = [stem for stem in stems if stem not in found]
    if unknown:
        raise SystemExit(f"no master notebook for {', '.join(unknown)} in {SOLUTIONS}")
    return [found[stem] for stem in stems] if stems else list(found.values())


def otter_requirement():
    """The otter-grader the course is pinned to, for Colab to install."""
    return f"otter-grader=={importlib.metadata.version('otter-grader')}"


def _first_code_cell(notebook):
    return next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")


def finish(notebook, stem):
    """Add the set-up cell and the total to otter's output; give every cell a stable id."""
    notebook = copy.deepcopy(notebook)
    setup = nbformat.v4.new_code_cell(
        SETUP_SOURCE.format(notebook=f"{stem}.ipynb", requirement=otter_requirement()),
        metadata={"tags": ["remove-cell", SETUP_TAG], "editable": False, "deletable": False},
    )
    notebook.cells.insert(_first_code_cell(notebook) + 1, setup)
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.strip() == "grader.check_all()":
            cell.source = CHECK_ALL_SOURCE
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"{stem[:2]}-{number:03d}"
    return notebook


def questions_of(master):
    """The (name, points) of each question, in the order the master asks them."""
    import yaml

    found = []
    for cell in nbformat.read(master, as_version=4).cells:
        lines = cell.source.splitlines()
        if cell.cell_type == "raw" and lines and lines[0].strip().upper() == "# BEGIN QUESTION":
            config = yaml.safe_load("\n".join(lines[1:]))
            found.append((config["name"], config.get("points", 1)))
    return found


def autograder_requirements():
    """The requirements.txt of an autograder zip: the course's pins, the CPU build of torch, gdlab.

    The pins are the lines of the course's own requirements.txt, unchanged; otter adds its own
    ``otter-grader[grading,plugins]`` at the same version. gdlab comes from the repository named
    by the exercises' bootstrap cell, as in Colab.
    """
    pins = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return (
        "\n".join(
            [
                "--extra-index-url https://download.pytorch.org/whl/cpu",
                *pins,
                f"gdlab @ git+{COURSE_REPOSITORY}",
            ]
        )
        + "\n"
    )


def _with_course_requirements(master, copy_path):
    """Copy ``master`` to ``copy_path``, its ASSIGNMENT CONFIG told to pin the course's requirements
    (and Python 3.11) in the autograder zip; the student notebook does not change."""
    notebook = nbformat.read(master, as_version=4)
    config = next(c for c in notebook.cells if c.cell_type == "raw" and "ASSIGNMENT CONFIG" in c.source)
    if re.search(r"^(requirements|python_version):", config.source, re.M):
        raise ValueError(
            f"{master.name}: its ASSIGNMENT CONFIG already names requirements; generate.py sets them"
        )
    config.source = (
        config.source.rstrip() + f'\nrequirements: requirements.txt\npython_version: "{PYTHON_VERSION}"\n'
    )
    nbformat.write(notebook, copy_path)
    (copy_path.parent / "requirements.txt").write_text(autograder_requirements(), encoding="utf-8")


def assign(master, workdir):
    """Run ``otter assign`` on ``master`` inside ``workdir``; return what it made."""
    from otter.assign import main as otter_assign

    master, workdir = Path(master), Path(workdir)
    stem = master.stem
    # otter assign writes next to the master's folder; work on a copy so that solutions/ stays clean.
    source = workdir / "master" / master.name
    source.parent.mkdir(parents=True, exist_ok=True)
    _with_course_requirements(master, source)
    dist = workdir / "dist"
    with contextlib.redirect_stdout(io.StringIO()):
        otter_assign(str(source), str(dist), no_pdfs=True, no_run_tests=True)
    student = nbformat.read(dist / "student" / master.name, as_version=4)
    solved = nbformat.read(dist / "autograder" / master.name, as_version=4)
    zips = glob.glob(str(dist / "autograder" / "*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"otter assign made {len(zips)} autograder zips for {master.name}")
    return Assigned(finish(student, stem), finish(solved, stem), Path(zips[0]), questions_of(master))


def render(notebook):
    """The exact text nbformat writes, so that comparing texts is comparing files."""
    text = nbformat.writes(notebook)
    return text if text.endswith("\n") else text + "\n"


def _shown(path):
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def generate(stems=(), force=False, check=False, out=None):
    """Write (or, with ``check``, only compare) each exercise.

    Returns ``(stale, refused)``: the stems whose exercise was missing or different, and those
    among them left alone because the exercise differs and ``force`` was not given.
    """
    out = out or sys.stdout
    stale, refused = [], []
    for master in masters(stems):
        target = EXERCISES / master.name
        with tempfile.TemporaryDirectory() as workdir:
            text = render(assign(master, workdir).exercise)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            print(f"{_shown(target)}: up to date", file=out)
            continue
        stale.append(master.stem)
        if check:
            state = "missing" if current is None else "differs from what its master generates"
            print(f"{_shown(target)}: {state}", file=out)
        elif current is not None and not force:
            refused.append(master.stem)
            print(
                f"{_shown(target)}: differs from what {_shown(master)} generates "
                "(a learner's edits, or a changed master); NOT overwritten. "
                "Rerun with --force to replace it.",
                file=out,
            )
        else:
            target.write_text(text, encoding="utf-8")
            print(f"{_shown(target)}: {'rewritten' if current else 'written'}", file=out)
    return stale, refused


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stems", nargs="*", help="chapter stems such as 03_learning_rate (default: all)")
    parser.add_argument("--force", action="store_true", help="overwrite exercises that differ")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if one is out of date")
    args = parser.parse_args(argv)
    stale, refused = generate(args.stems, force=args.force, check=args.check)
    return 1 if (args.check and stale) or refused else 0


if __name__ == "__main__":
    sys.exit(main())
