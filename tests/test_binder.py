"""Binder really works, and the course holds in a second floating-point environment.

One fresh virtual environment is built from ``binder/`` alone, as Binder builds it (only the
line naming PyTorch's CPU index is left out: that index is unreachable here, and the CPU wheel
is the one pip finds). In it, in the ``portable`` floating-point environment of
:mod:`float_envs` (torch's portable kernels, one thread, NumPy without AVX-512, strict
claims), every chapter, the appendix and every solution master runs to the end, every
exercise's set-up creates its grader and runs a check, and the solution of every exercise is
graded with its public and hidden tests to full marks. The first pass, in the machine's own
environment, is nbval's (``pyproject.toml``) and ``test_exercises.py``'s.
"""

import csv
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from background import BackgroundJob
from float_envs import environment, execute

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
UNREACHABLE = ("--extra-index-url", "--index-url", "-i ")
SECOND_PASS = "portable"
WORKERS = 2


def binder_requirements(target):
    """binder/requirements.txt as pip reads it here: index lines dropped, the paths of nested
    requirement and constraint files made absolute (pip reads them relative to the file)."""
    lines = []
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        if line.startswith(UNREACHABLE):
            continue
        if line.startswith(("-c ", "-r ")):
            flag, path = line.split(maxsplit=1)
            line = f"{flag} {(BINDER / path).resolve()}"
        lines.append(line)
    target.write_text("\n".join(lines) + "\n")
    return target


class Build(BackgroundJob):
    """The Binder environment, built in the background: pip spends minutes waiting on the
    package index, so conftest.py starts the build when the tests are collected and runs these
    tests last, and the rest of the suite runs meanwhile."""

    def __init__(self):
        super().__init__(prefix="downhill-binder-")
        self.python = self.where / "env" / "bin" / "python"
        requirements = binder_requirements(self.where / "requirements.txt")
        script = (
            f"{shlex.quote(sys.executable)} -m venv {shlex.quote(str(self.where / 'env'))} && "
            f"{shlex.quote(str(self.python))} -m pip install --quiet --no-compile -r "
            f"{shlex.quote(str(requirements))}"
        )
        self.started = time.perf_counter()
        # From the repository's root, as on Binder: "-e ." is the course itself.
        self.start(script, shell=True, cwd=ROOT)

    def wait(self):
        returncode, log = self.finish()
        assert returncode == 0, "pip could not build the Binder environment:\n" + log[-4000:]
        return self.python


_build = None


def start_building():
    """Start building the Binder environment (once); conftest.py calls this at collection."""
    global _build
    if _build is None:
        _build = Build()
    return _build


@pytest.fixture(scope="session")
def binder_python():
    """A Python with exactly what Binder installs: a fresh venv, ``pip install -r`` of binder/."""
    build = start_building()
    python = build.wait()
    print(f"Binder environment ready {time.perf_counter() - build.started:.0f} s after its build started")
    return python


def test_binder_installs_what_the_notebooks_import_and_no_other_gdlab(binder_python):
    probe = (
        "import anywidget, ipywidgets, matplotlib, numpy, otter, pandas, torch, tqdm, gdlab, sys\n"
        "print(gdlab.__file__); print(sys.prefix)"
    )
    result = subprocess.run([binder_python, "-c", probe], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    where, prefix = result.stdout.split()
    assert Path(where).is_relative_to(ROOT / "shared"), "Binder installs the course's own gdlab (-e .)"
    assert Path(prefix) == binder_python.parent.parent


@pytest.fixture(scope="session")
def second_pass(binder_python):
    """Every chapter and solution master, executed in the Binder environment, two at a time."""

    def run(path):
        start = time.perf_counter()
        ok, report = execute(path, SECOND_PASS, python=binder_python)
        return path, ok, report, time.perf_counter() - start

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return {path: (ok, report, took) for path, ok, report, took in pool.map(run, NOTEBOOKS)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_runs_in_binder_in_the_second_floating_point_environment(second_pass, path):
    ok, report, took = second_pass[path]
    assert ok, f"{path.name} failed in Binder's environment with {environment(SECOND_PASS)}:\n{report}"


def exercise_set_up_and_first_check(path):
    """The blank exercise's bootstrap, its otter set-up cell and its first ``grader.check``
    (the answer cells in between hold ``...`` and may not run on their own)."""
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    set_up = [c for c in code if "exercise-setup" in c.metadata.get("tags", [])]
    checks = [c for c in code if c.source.startswith("grader.check(")]
    assert len(set_up) == 1 and checks, f"{path.name} has no set-up cell or no check"
    notebook.cells = [code[0], set_up[0], checks[0]]
    return notebook


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_exercise_set_up_creates_the_grader_and_a_check_runs_in_binder(binder_python, path, tmp_path):
    notebook = exercise_set_up_and_first_check(path)
    nbformat.write(notebook, tmp_path / path.name)
    ok, report = execute(tmp_path / path.name, SECOND_PASS, python=binder_python, save=True)
    assert ok, report
    ran = nbformat.read(tmp_path / path.name, as_version=4)
    check = ran.cells[-1]
    question = check.source.split('"')[1]
    text = json.dumps(check.outputs)
    # blank, the answer fails its check: otter prints the question's results (not an error)
    assert f"{question} results" in text, f"the check of {question} printed no result: {text[:400]}"


def test_every_solution_is_graded_to_full_marks_with_its_hidden_tests_in_binder(binder_python, tmp_path):
    """The hidden tests run a second time: grading in Binder's environment, second float pass."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    for master in (ROOT / "solutions").glob("*.ipynb"):
        shutil.copy(master, folder / master.name)
    out = tmp_path / "grades.csv"
    run = subprocess.run(
        [binder_python, str(ROOT / "exercises" / "grade.py"), str(folder), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **environment(SECOND_PASS, binder_python)},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(EXERCISES)
    for row in rows:
        assert float(row["total"]) == float(row["max"]) > 0, f"{row['submission']}: {row['notes']}"
