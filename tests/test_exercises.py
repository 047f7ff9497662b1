"""The graded exercises: masters, generated exercises, and grading with otter-grader.

Each master (``solutions/NN_topic.ipynb``) is executed by nbval like every notebook; here
``otter assign`` runs on each master once (the ``assigned`` fixture), and one batch of
submissions, solved, blank and broken in every way the course promises to survive, goes
through ``exercises/grade.py`` as an instructor would run it (the ``graded`` fixture).
"""

import csv
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest
from colab_stand_in import execute_in_colab, isolated_python, repository_snapshot
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "exercises"))
import generate  # noqa: E402
import grade  # noqa: E402

MASTERS = sorted((ROOT / "solutions").glob("*.ipynb"))
STEMS = [master.stem for master in MASTERS]
BAD_CASES_STEM = "01_loss_shapes"  # the broken submissions are built from this exercise
CELL_TIMEOUT, NOTEBOOK_TIMEOUT = 5, 40  # seconds, for the graded batch below
# otter's import of traitlets-based exporters warns about traitlets' own API
pytestmark = pytest.mark.filterwarnings("ignore:Traits should be given as instances:DeprecationWarning")


def _assign(master, workdir):
    return generate.assign(master, workdir)


def assign_all(workdir):
    """``otter assign`` on every master, two at a time (each in its own process: it changes directory).

    The ``assigned`` fixture (conftest.py, so that test_autograder.py shares the one run)."""
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = {m.stem: pool.submit(_assign, m, workdir / m.stem) for m in MASTERS}
        return {stem: future.result() for stem, future in futures.items()}


# --- masters and exercises ----------------------------------------------------------------------


def test_every_master_has_its_exercise_and_every_exercise_its_master():
    exercises = sorted(p.stem for p in (ROOT / "exercises").glob("*.ipynb"))
    assert STEMS, "no master notebooks in solutions/"
    assert exercises == STEMS


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.stem)
def test_master_is_named_after_its_chapter_and_states_its_points(master):
    notebook = nbformat.read(master, as_version=4)
    config = next(c for c in notebook.cells if c.cell_type == "raw" and "ASSIGNMENT CONFIG" in c.source)
    assert re.search(rf"^name: {master.stem}$", config.source, re.M), "the assignment name must be the stem"
    questions = generate.questions_of(master)
    assert 3 <= len(questions) <= 5, "each exercise asks 3 to 5 questions"
    words = {3: "three", 4: "four", 5: "five"}[len(questions)]
    total = sum(points for _, points in questions)
    intro = " ".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert f"{words} questions worth {total} points" in " ".join(intro.split()), (
        f"the introduction should say: {words} questions worth {total} points"
    )


def test_question_names_are_unique_across_the_course():
    names = [name for master in MASTERS for name, _ in generate.questions_of(master)]
    assert len(names) == len(set(names)), "a grading CSV may mix exercises: question names must differ"


@pytest.mark.parametrize("stem", STEMS)
def test_exercise_is_in_sync_with_its_master(assigned, stem):
    stored = (ROOT / "exercises" / f"{stem}.ipynb").read_text(encoding="utf-8")
    assert stored == generate.render(assigned[stem].exercise), (
        f"exercises/{stem}.ipynb is not what its master generates: run python exercises/generate.py {stem}"
    )


def _solution_lines(master):
    """Code lines otter assign must strip (inside BEGIN/END SOLUTION, or ending in # SOLUTION)
    that the master does not also use outside its solutions."""
    solution, other, inside = [], set(), False
    for cell in nbformat.read(master, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped == "# BEGIN SOLUTION":
                inside = True
            elif stripped == "# END SOLUTION":
                inside = False
            elif inside or stripped.endswith("# SOLUTION"):
                solution.append(stripped.removesuffix("# SOLUTION").strip())
            else:
                other.add(stripped)
    return [line for line in solution if len(line) > 12 and line not in other]


@pytest.mark.parametrize("stem", STEMS)
def test_exercise_holds_no_solution_code_and_no_hidden_test(stem):
    from otter.test_files.exception_test import ExceptionTestFile

    master = ROOT / "solutions" / f"{stem}.ipynb"
    exercise = nbformat.read(ROOT / "exercises" / f"{stem}.ipynb", as_version=4)
    code = "\n".join(c.source for c in exercise.cells if c.cell_type == "code")
    solutions = _solution_lines(master)
    assert solutions, "the master marks no solution code"
    exercise_lines = {line.strip() for line in code.splitlines()}
    for line in solutions:
        assert line not in exercise_lines, f"solution code leaked into the exercise: {line}"
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "# HIDDEN", "# IGNORE", "BEGIN QUESTION"):
        assert marker not in code, f"otter markup {marker!r} leaked into the exercise"
    tests = exercise.metadata["otter"]["tests"]
    assert sorted(tests) == sorted(name for name, _ in generate.questions_of(master))
    for name, source in tests.items():
        cases = ExceptionTestFile.from_string(source).test_cases
        assert cases and not any(case.hidden for case in cases), (
            f"{name}: the exercise must carry public tests only"
        )
    hidden = [
        re.search(r"^def (\w+)", c.source, re.M).group(1)
        for c in nbformat.read(master, as_version=4).cells
        if c.cell_type == "code" and c.source.startswith("# HIDDEN")
    ]
    assert hidden, "every master has hidden tests"
    for function in hidden:
        assert function not in json.dumps(exercise), f"the hidden test {function} leaked into the exercise"


@pytest.mark.parametrize("stem", STEMS)
def test_exercise_keeps_the_bootstrap_first_then_the_otter_set_up(stem):
    exercise = nbformat.read(ROOT / "exercises" / f"{stem}.ipynb", as_version=4)
    code = [c for c in exercise.cells if c.cell_type == "code"]
    chapter_bootstrap = next(
        c
        for c in nbformat.read(ROOT / "chapters" / "02_gd_intuition.ipynb", as_version=4).cells
        if c.cell_type == "code"
    )
    assert code[0].source == chapter_bootstrap.source
    assert generate.SETUP_TAG in code[1].metadata["tags"] and "grader = otter.Notebook(" in code[1].source
    assert f'NOTEBOOK = "{stem}.ipynb"' in code[1].source
    assert f'"{generate.otter_requirement()}"' in code[1].source, "Colab must install the pinned otter-grader"
    checks = [c.source for c in code if c.source.startswith("grader.check(")]
    assert checks == [
        f'grader.check("{name}")' for name, _ in generate.questions_of(ROOT / "solutions" / f"{stem}.ipynb")
    ]
    assert "grader.check_all()" in code[-1].source and "Total" in code[-1].source


def test_generator_refuses_to_overwrite_a_learners_edits_without_force(
    assigned, tmp_path, monkeypatch, capsys
):
    stem = STEMS[0]
    monkeypatch.setattr(generate, "EXERCISES", tmp_path)
    monkeypatch.setattr(generate, "ROOT", tmp_path.parent)
    monkeypatch.setattr(generate, "assign", lambda master, workdir: assigned[Path(master).stem])
    target = tmp_path / f"{stem}.ipynb"

    assert generate.main([stem]) == 0 and "written" in capsys.readouterr().out
    pristine = target.read_text(encoding="utf-8")
    assert generate.main([stem, "--check"]) == 0, "a freshly generated exercise is in sync"
    assert generate.main([stem]) == 0 and "up to date" in capsys.readouterr().out

    learner = nbformat.read(target, as_version=4)
    answer = next(c for c in learner.cells if "otter_answer_cell" in c.metadata.get("tags", []))
    answer.source += "\n# my own work"
    nbformat.write(learner, target)
    edited = target.read_text(encoding="utf-8")

    assert generate.main([stem, "--check"]) == 1
    assert target.read_text(encoding="utf-8") == edited
    assert generate.main([stem]) == 1, "regenerating over a learner's edits must fail without --force"
    out = capsys.readouterr().out
    assert "NOT overwritten" in out and "--force" in out
    assert target.read_text(encoding="utf-8") == edited, "the learner's edits must survive"

    assert generate.main([stem, "--force"]) == 0
    assert target.read_text(encoding="utf-8") == pristine


# --- grading ------------------------------------------------------------------------------------


def _answer_cell(notebook, name):
    """The cell that defines ``name`` (a function or a variable)."""
    pattern = re.compile(rf"^(def {name}\(|{name} = )", re.M)
    return next(c for c in notebook.cells if c.cell_type == "code" and pattern.search(c.source))


def _replace_answer(notebook, name, source):
    _answer_cell(notebook, name).source = source
    return notebook


def _syntax_error(solved, blank):
    return _replace_answer(solved, "huber_grad", "def huber_grad(error, delta=1.0)\n    return error\n")


def _exception(solved, blank):
    return _replace_answer(
        solved, "huber", "def huber(error, delta=1.0):\n    raise ValueError('not finished')\n"
    )


def _endless_loop(solved, blank):
    return _replace_answer(
        solved, "fit_line", "def fit_line(x, y, grad_fn, lr=0.1, steps=500):\n    while True:\n        pass\n"
    )


def _loop_that_swallows_the_time_limit(solved, blank):
    cell = nbformat.v4.new_code_cell(
        "import time\n\nwhile True:\n    try:\n        time.sleep(0.2)\n    except Exception:\n        pass\n"
    )
    solved.cells.insert(5, cell)
    return solved


def _missing_function(solved, blank):
    cell = _answer_cell(solved, "fit_line")
    cell.source = cell.source.replace("def fit_line(", "def fit_a_line(")
    return solved


def _deleted_cells(solved, blank):
    solved.cells = [
        c
        for c in solved.cells
        if not (
            "grader.check" in c.source
            or generate.SETUP_TAG in c.metadata.get("tags", [])
            or c.cell_type == "markdown"
        )
    ]
    return solved


def _reordered_cells(solved, blank):
    answer = _answer_cell(solved, "fit_line")
    position = solved.cells.index(answer)
    solved.cells.remove(answer)
    solved.cells.insert(position + 1, answer)  # after its own check cell
    return solved


def _edited_public_tests(solved, blank):
    _replace_answer(solved, "huber", "def huber(error, delta=1.0):\n    return 0.5 * error**2\n")
    solved.metadata["otter"]["tests"]["huber_loss"] = (
        'from otter.test_files import test_case\n\nOK_FORMAT = False\n\nname = "huber_loss"\npoints = 2\n\n'
        "@test_case(points=None, hidden=False)\ndef test_anything():\n    pass\n"
    )
    return solved


def _rewritten_checks(solved, blank):
    """A blank exercise that writes its own passing tests over the autograder's (next to the notebook)."""
    cell = nbformat.v4.new_code_cell(
        "import glob\nimport os\n\nfor path in glob.glob('tests/*.py'):\n"
        "    name = os.path.basename(path)[:-3]\n"
        "    with open(path, 'w') as f:\n"
        "        f.write(f'OK_FORMAT = False\\nname = {name!r}\\npoints = 3\\n'\n"
        "                'from otter.test_files import test_case\\n\\n'\n"
        "                '@test_case(points=None, hidden=False)\\ndef test_passes():\\n    pass\\n')\n"
    )
    blank.cells.insert(3, cell)
    return blank


ORPHAN_MARKER = f"downhill-orphan-{os.getpid()}"  # in the command line of the process the next case leaves


def _outliving_process(solved, blank):
    """A solution that also starts a process meant to outlive it (its shell exits at once)."""
    command = f"{{sys.executable}} -c 'import time; time.sleep(600)' {ORPHAN_MARKER} &"
    cell = nbformat.v4.new_code_cell(
        f'import subprocess\nimport sys\n\nsubprocess.run(["sh", "-c", f"{command}"], check=True)'
    )
    solved.cells.insert(5, cell)
    return solved


# (case, its changes, expected score per question of 01_loss_shapes, a phrase its notes must hold)
BAD_CASES = [
    ("syntax-error", _syntax_error, [2, 0, 3, 0], "SyntaxError"),
    ("exception", _exception, [0, 1, 3, 3], "ValueError: not finished"),
    ("endless-loop", _endless_loop, [2, 2, 0, 0], f"TimeoutError: the cell ran longer than {CELL_TIMEOUT} s"),
    ("swallowed-time-limit", _loop_that_swallows_the_time_limit, [0, 0, 0, 0], "grader's limit per notebook"),
    ("missing-function", _missing_function, [2, 2, 0, 0], "define a function fit_line"),
    ("deleted-cells", _deleted_cells, [2, 2, 3, 3], None),
    (
        "reordered-cells",
        _reordered_cells,
        [2, 2, 0, 3],
        "fit_line 0/3: AssertionError: define a function fit_line",
    ),
    ("edited-public-tests", _edited_public_tests, [0, 1, 3, 3], "huber_loss 0/2"),
    ("rewritten-checks", _rewritten_checks, [0, 0, 0, 0], "rewrote or deleted the autograder's tests"),
    ("outliving-process", _outliving_process, [2, 2, 3, 3], None),
]


def grade_batch(assigned, folder):
    """One batch through exercises/grade.py, as an instructor runs it: every case in one folder.

    The ``graded`` fixture (conftest.py, so that test_autograder.py shares the one batch)."""
    for stem, result in assigned.items():
        nbformat.write(result.solved, folder / f"solved-{stem}.ipynb")
        nbformat.write(result.exercise, folder / f"blank-{stem}.ipynb")
    solved, blank = assigned[BAD_CASES_STEM].solved, assigned[BAD_CASES_STEM].exercise
    for case, change, _, _ in BAD_CASES:
        solved_copy, blank_copy = (nbformat.from_dict(json.loads(json.dumps(nb))) for nb in (solved, blank))
        nbformat.write(change(solved_copy, blank_copy), folder / f"{case}.ipynb")
    (folder / f"{BAD_CASES_STEM[:2]}-not-json.ipynb").write_text("{ this is not a notebook")
    nbformat.write(nbformat.v4.new_notebook(), folder / f"{BAD_CASES_STEM[:2]}-no-cells.ipynb")
    huge = nbformat.from_dict(json.loads(json.dumps(solved)))
    huge.cells.append(nbformat.v4.new_markdown_cell("x" * (grade.MAX_BYTES + 2**20)))
    nbformat.write(huge, folder / f"{BAD_CASES_STEM[:2]}-huge.ipynb")
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), folder / "unknown.ipynb"
    )
    out = folder / "out" / "grades.csv"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "exercises" / "grade.py"),
            str(folder),
            "--out",
            str(out),
            "--cell-timeout",
            str(CELL_TIMEOUT),
            "--timeout",
            str(NOTEBOOK_TIMEOUT),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {"rows": {row["submission"]: row for row in rows}, "out": out, "folder": folder}


def test_grading_writes_one_row_per_submission_with_the_promised_columns(graded, assigned):
    with open(graded["out"], newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    questions = [name for stem in sorted(assigned) for name, _ in assigned[stem].questions]
    assert header == ["submission", *questions, "total", "max", "notes"]
    notebooks = sorted(p.name for p in graded["folder"].glob("*.ipynb"))
    assert sorted(graded["rows"]) == notebooks
    for name in notebooks:
        assert (graded["out"].parent / "feedback" / f"{Path(name).stem}.txt").exists()


@pytest.mark.parametrize("stem", STEMS)
def test_a_solution_scores_full_marks(graded, assigned, stem):
    row = graded["rows"][f"solved-{stem}.ipynb"]
    full = sum(points for _, points in assigned[stem].questions)
    assert float(row["max"]) == full
    assert float(row["total"]) == full, row["notes"]
    for name, points in assigned[stem].questions:
        assert float(row[name]) == points


@pytest.mark.parametrize("stem", STEMS)
def test_a_blank_exercise_scores_zero_without_crashing_the_grader(graded, assigned, stem):
    row = graded["rows"][f"blank-{stem}.ipynb"]
    assert float(row["total"]) == 0 and float(row["max"]) == sum(p for _, p in assigned[stem].questions)
    for name, _ in assigned[stem].questions:
        assert row[name] == "0" and f"{name} 0/" in row["notes"], "each lost point needs a reason"
    feedback = (graded["out"].parent / "feedback" / f"blank-{stem}.txt").read_text()
    assert "a public check failed" in feedback and "Score: 0 /" in feedback


@pytest.mark.parametrize(
    ("case", "expected", "phrase"), [c[:1] + c[2:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES]
)
def test_a_bad_submission_is_graded_with_a_reason(graded, assigned, case, expected, phrase):
    row = graded["rows"][f"{case}.ipynb"]
    questions = assigned[BAD_CASES_STEM].questions
    assert [float(row[name]) for name, _ in questions] == expected, row["notes"]
    assert float(row["total"]) == sum(expected)
    if phrase:
        assert phrase in row["notes"]
    else:
        assert row["notes"] == ""


def test_a_file_that_is_not_a_notebook_scores_zero_with_a_reason(graded, assigned):
    row = graded["rows"][f"{BAD_CASES_STEM[:2]}-not-json.ipynb"]
    assert row["total"] == "0" and float(row["max"]) == sum(p for _, p in assigned[BAD_CASES_STEM].questions)
    assert "not a readable notebook" in row["notes"]


def test_a_notebook_with_no_cells_scores_zero_with_a_reason(graded, assigned):
    row = graded["rows"][f"{BAD_CASES_STEM[:2]}-no-cells.ipynb"]
    assert row["total"] == "0" and float(row["max"]) == sum(p for _, p in assigned[BAD_CASES_STEM].questions)
    assert "no code cells" in row["notes"]


def test_a_notebook_far_over_any_reasonable_size_is_not_read(graded):
    row = graded["rows"][f"{BAD_CASES_STEM[:2]}-huge.ipynb"]
    assert row["total"] == "0" and "over the grader's limit of 20 MiB" in row["notes"]


def test_no_process_a_submission_starts_outlives_the_grading_run(graded):
    import psutil

    survivors = []
    for process in psutil.process_iter(["cmdline"]):
        if ORPHAN_MARKER in " ".join(process.info["cmdline"] or []):
            survivors.append(process)
            process.kill()
    assert not survivors, "a process started by a submission survived the grading run"


def test_a_notebook_of_no_known_exercise_is_reported(graded):
    row = graded["rows"]["unknown.ipynb"]
    assert row["total"] == "0" and row["max"] == ""
    assert "cannot tell which exercise" in row["notes"]


def test_the_chapter_is_read_from_metadata_then_from_the_file_name():
    known = {"01_loss_shapes": None, "03_learning_rate": None}
    tagged = {"metadata": {"otter": {"assignment_name": "03_learning_rate"}}}
    assert grade.exercise_of(Path("alice.ipynb"), tagged, known) == "03_learning_rate"
    assert grade.exercise_of(Path("01_loss_shapes-alice.ipynb"), {"metadata": {}}, known) == "01_loss_shapes"
    assert grade.exercise_of(Path("01-bob.ipynb"), {}, known) == "01_loss_shapes"
    assert grade.exercise_of(Path("bob.ipynb"), {"metadata": {}}, known) is None
    assert grade.exercise_of(Path("012.ipynb"), {}, known) is None


def test_a_learner_who_solves_an_exercise_passes_every_public_check(assigned, tmp_path):
    """Locally (or on Binder) otter reads the public checks from the saved notebook's metadata."""
    stem = STEMS[0]
    exercise = nbformat.read(ROOT / "exercises" / f"{stem}.ipynb", as_version=4)
    solved = assigned[stem].solved
    code = [c for c in exercise.cells if c.cell_type == "code"]
    answers = [c for c in solved.cells if c.cell_type == "code"]
    assert len(code) == len(answers)
    for mine, answer in zip(code, answers):
        if "otter_answer_cell" in mine.metadata.get("tags", []):
            mine.source = answer.source  # the learner fills in every answer, and saves
    nbformat.write(exercise, tmp_path / f"{stem}.ipynb")
    NotebookClient(
        exercise, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    checks = [c for c in exercise.cells if c.cell_type == "code" and c.source.startswith("grader.check(")]
    assert len(checks) == len(assigned[stem].questions)
    for cell in checks:
        text = json.dumps(cell.outputs)
        assert "passed!" in text and "failed" not in text, text[:500]
    full = sum(points for _, points in assigned[stem].questions)
    assert f"Total: {full} / {full} points" in json.dumps(exercise.cells[-1].outputs)


# --- Colab ----------------------------------------------------------------------------------------


def test_an_exercise_opened_alone_in_colab_installs_what_it_needs_and_its_checks_run(assigned, tmp_path):
    stem = STEMS[0]
    python, site_packages = isolated_python(tmp_path)
    assert subprocess.run([python, "-c", "import gdlab"], capture_output=True).returncode != 0
    repository = repository_snapshot(tmp_path, ROOT)

    pip_log = tmp_path / "pip.log"
    # In Colab the notebook opens on its own: an empty folder, no copy of the notebook on disk.
    workdir = tmp_path / "content"
    workdir.mkdir()
    notebook = nbformat.from_dict(json.loads(json.dumps(assigned[stem].solved)))
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "import gdlab, otter\nprint(gdlab.__file__)\nprint(sorted(os.listdir('tests')))"
        )
    )
    execute_in_colab(notebook, tmp_path, python, repository, workdir, env={"PIP_LOG": str(pip_log)})

    where, tests = notebook.cells[-1].outputs[0]["text"].splitlines()
    assert Path(where).is_relative_to(site_packages), f"gdlab was imported from {where}"
    questions = [name for name, _ in assigned[stem].questions]
    assert tests == str(sorted(f"{name}.py" for name in questions)), "the public checks were not fetched"
    log = pip_log.read_text()
    assert f"Requirement already satisfied: {generate.otter_requirement()}" in log.replace(
        "otter_grader", "otter-grader"
    )
    checks = [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith("grader.check(")]
    assert len(checks) == len(questions)
    for cell in checks:
        text = json.dumps(cell.outputs)
        assert "passed!" in text and "failed" not in text, text[:500]
    total = next(c for c in notebook.cells if "grader.check_all()" in c.source)
    full = sum(points for _, points in assigned[stem].questions)
    assert f"Total: {full} / {full} points" in json.dumps(total.outputs)


# --- one submission cannot reach the next ---------------------------------------------------------

POLLUTER = """\
import builtins
import json
import os
import tempfile

leaks = [os.path.abspath("leak.txt"), os.path.join(tempfile.gettempdir(), "leak.txt")]
for path in leaks:
    with open(path, "w") as f:
        f.write("left by the previous submission")
with open({record!r}, "w") as f:
    json.dump(leaks, f)
builtins.downhill_leak = True
os.environ["DOWNHILL_LEAK"] = "1"
os.chdir("/")"""

PROBE = """\
import builtins
import os
import tempfile

seen = [p for p in ("leak.txt", os.path.join(tempfile.gettempdir(), "leak.txt")) if os.path.exists(p)]
seen += ["a global"] if hasattr(builtins, "downhill_leak") else []
seen += ["an environment variable"] if "DOWNHILL_LEAK" in os.environ else []
seen += ["the working directory"] if os.getcwd() == "/" else []
assert not seen, f"the previous submission reached this one: {{seen}}"
"""


def test_nothing_one_submission_does_reaches_the_next(assigned, tmp_path):
    """Files, globals, the environment, the working directory: graded one after the other (one worker)."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    record = tmp_path / "leaks.json"
    for name, source in (("1-polluter", POLLUTER.format(record=str(record))), ("2-probe", PROBE.format())):
        notebook = nbformat.from_dict(json.loads(json.dumps(assigned[BAD_CASES_STEM].solved)))
        notebook.cells.insert(3, nbformat.v4.new_code_cell(source))
        nbformat.write(notebook, folder / f"{BAD_CASES_STEM[:2]}-{name}.ipynb")
    run = subprocess.run(
        [sys.executable, str(ROOT / "exercises" / "grade.py"), str(folder), "--workers", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    with open(folder / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["submission"]: row for row in csv.DictReader(f)}
    full = sum(points for _, points in assigned[BAD_CASES_STEM].questions)
    for name in ("1-polluter", "2-probe"):
        row = rows[f"{BAD_CASES_STEM[:2]}-{name}.ipynb"]
        assert float(row["total"]) == full and row["notes"] == "", row["notes"]
    leaks = json.loads(record.read_text())
    assert len(leaks) == 2 and not any(Path(path).exists() for path in leaks), (
        "a submission's files outlived it"
    )
