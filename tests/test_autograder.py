"""The autograder zips of `make autograder`: what Gradescope (or `otter run`) grades a class with.

Each exercise's zip is built as `make autograder` builds it, unpacked and read, then given
every solution, two blank exercises and three broken submissions of tests/test_exercises.py
through otter's own command line, ``otter run``; every score must be the one `make grade`
gave the same notebook.
"""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml
from test_exercises import BAD_CASES, BAD_CASES_STEM, STEMS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "exercises"))
import generate  # noqa: E402
import grade  # noqa: E402

OTTER = Path(sys.executable).parent / "otter"
# Graded by `make grade` only: `otter run` has no time limit per cell (the endless loops), kills no
# process a notebook leaves behind, and trusts whatever tests it finds next to the notebook (a
# notebook that rewrites them gets full marks there; `make grade` scores it 0).
ONLY_MAKE_GRADE = {"endless-loop", "swallowed-time-limit", "outliving-process", "rewritten-checks"}
RUN_CASES = [case for case, *_ in BAD_CASES if case not in ONLY_MAKE_GRADE]
pytestmark = pytest.mark.filterwarnings("ignore:Traits should be given as instances:DeprecationWarning")


@pytest.fixture(scope="module")
def zips():
    """`make autograder`: one zip per exercise under _build/grading/."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "exercises" / "grade.py"), "--autograders"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    built = {stem: grade.CACHE / stem / "autograder.zip" for stem in STEMS}
    for stem, path in built.items():
        assert f"{stem}: {path.relative_to(ROOT)}" in run.stdout
    return built


@pytest.mark.parametrize("stem", STEMS)
def test_every_exercise_has_an_autograder_zip_with_its_hidden_tests(zips, stem, tmp_path):
    from otter.test_files.exception_test import ExceptionTestFile

    with zipfile.ZipFile(zips[stem]) as archive:
        archive.extractall(tmp_path)
    questions = [name for name, _ in generate.questions_of(ROOT / "solutions" / f"{stem}.ipynb")]
    assert sorted(p.stem for p in (tmp_path / "tests").glob("*.py")) == sorted(questions)
    cases = [
        case
        for name in questions
        for case in ExceptionTestFile.from_file(str(tmp_path / "tests" / f"{name}.py")).test_cases
    ]
    assert any(case.hidden for case in cases) and any(not case.hidden for case in cases)
    config = json.loads((tmp_path / "otter_config.json").read_text())
    assert config["assignment_name"] == stem
    for name in ("run_autograder", "run_otter.py", "setup.sh"):
        assert (tmp_path / name).is_file(), f"Gradescope needs {name} in the zip"


def test_the_zip_pins_the_course_requirements_and_python(zips, tmp_path):
    """otter 7 writes the requirements into the zip's environment.yml (its pip section)."""
    with zipfile.ZipFile(zips[BAD_CASES_STEM]) as archive:
        environment = yaml.safe_load(archive.read("environment.yml"))
    dependencies = environment["dependencies"]
    assert f"python={generate.PYTHON_VERSION}" in dependencies
    pip = next(entry["pip"] for entry in dependencies if isinstance(entry, dict))
    pins = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert pins and all(pin in pip for pin in pins), "every pin of requirements.txt must be in the zip"
    assert f"gdlab @ git+{generate.COURSE_REPOSITORY}" in pip
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip, "torch is the CPU build"
    assert pip.count(f"otter-grader=={generate.otter_requirement().split('==')[1]}") == 1


def _otter_run(zip_path, notebook, tmp_path):
    """Grade ``notebook`` with ``otter run`` against the zip; the score of each question."""
    folder = tmp_path / "submission"
    folder.mkdir()
    submission = folder / f"{notebook.metadata['otter']['assignment_name']}.ipynb"
    nbformat.write(notebook, submission)
    run = subprocess.run(
        [str(OTTER), "run", "-a", str(zip_path), "-o", str(folder), "--no-logo", str(submission)],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    results = json.loads((folder / "results.json").read_text())
    return {test["name"]: test["score"] for test in results["tests"] if "score" in test}


# `otter run` takes 7 to 10 s a notebook, so it grades what proves each zip: every exercise's
# solution (full marks from its hidden tests), two blank exercises, and the broken submissions
# that reach otter's own code paths differently. The whole batch of tests/test_exercises.py
# (every blank exercise, every broken case) is graded by `make grade`, whose scores these match.
RUN_BLANK = ("01_loss_shapes", "05_landscapes")
RUN_BROKEN = ("syntax-error", "exception", "edited-public-tests")


def _submissions():
    for stem in STEMS:
        yield pytest.param(stem, "solved", id=f"{stem}-solved")
    for stem in RUN_BLANK:
        yield pytest.param(stem, "blank", id=f"{stem}-blank")
    for case in RUN_BROKEN:
        yield pytest.param(BAD_CASES_STEM, case, id=f"{BAD_CASES_STEM}-{case}")


def test_the_cases_given_to_otter_run_exist():
    assert set(RUN_BLANK) <= set(STEMS)
    assert set(RUN_BROKEN) <= set(RUN_CASES), "otter run cannot grade the cases only make grade survives"


@pytest.mark.parametrize(("stem", "case"), list(_submissions()))
def test_otter_run_on_the_zip_gives_the_scores_of_make_grade(zips, graded, assigned, stem, case, tmp_path):
    if case in {"solved", "blank"}:
        name = f"{case}-{stem}.ipynb"
        notebook = assigned[stem].solved if case == "solved" else assigned[stem].exercise
    else:
        name = f"{case}.ipynb"
        notebook = nbformat.read(graded["folder"] / name, as_version=4)
    scores = _otter_run(zips[stem], nbformat.from_dict(json.loads(json.dumps(notebook))), tmp_path)
    row = graded["rows"][name]
    for question, _ in assigned[stem].questions:
        assert scores[question] == float(row[question]), f"{question}: otter run {scores}, make grade {row}"


def test_bad_arguments_are_refused_with_a_reason(tmp_path, capsys):
    with pytest.raises(SystemExit, match="no master notebook for 99_nothing"):
        grade.main(["--autograders", "99_nothing"])
    for option in ("--workers", "--timeout", "--cell-timeout", "--max-mb"):
        with pytest.raises(SystemExit) as stopped:
            grade.main([str(tmp_path), option, "0"])
        assert stopped.value.code == 2 and f"{option} must be positive" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        grade.main([])
    assert stopped.value.code == 2 and "a folder of submissions is needed" in capsys.readouterr().err
