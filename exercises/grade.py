"""Grade a folder of submitted exercise notebooks with otter-grader, without Docker.

Usage (from the repository root)::

    python exercises/grade.py SUBMISSIONS [--out FILE.csv] [--workers 2] [--timeout 120] [--cell-timeout 10]
                                          [--max-mb 20]
    make grade SUBMISSIONS=dir [OUT=file.csv]
    python exercises/grade.py --autograders [STEM ...]   # make autograder: the zips, for Gradescope

Every ``*.ipynb`` in ``SUBMISSIONS`` is graded with the public *and hidden* tests of its
exercise, by otter-grader's own grading (``otter.api.grade_submission``: the notebook is run
top to bottom in a fresh kernel, each ``grader.check`` runs the autograder's copy of the tests,
and every question not checked on the way is checked at the end). The results go to a CSV
(default ``SUBMISSIONS/grades.csv``) with the columns ``submission``, one per question,
``total``, ``max`` and ``notes``, and a feedback file per submission goes to a ``feedback/``
folder next to the CSV.

Which exercise a submission answers is read from the notebook: the name otter assign wrote
into its metadata (``metadata.otter.assignment_name``, e.g. ``03_learning_rate``); if that is
missing or unknown, from the file name's two-digit prefix (``03_learning_rate.ipynb``,
``03-alice.ipynb``). Submissions to different exercises may share a folder; a question column
is then blank for the rows of other exercises.

Otter's autograder for each exercise is built from its master, ``solutions/NN_topic.ipynb``,
with ``otter assign`` into ``_build/grading/`` (rebuilt when the master changes, never kept in
git). The hidden tests exist only there and in the masters.

Bad submissions are graded, not crashed on; each gets a score and a reason in ``notes``:

- a cell that raises (a syntax error, an exception, a name that was never defined) is
  reported with its number; the notebook goes on running, as in otter;
- a cell that runs longer than ``--cell-timeout`` seconds is stopped with a ``TimeoutError``
  (an endless loop costs only the questions that need that cell), and a notebook that still
  runs after ``--timeout`` seconds is killed and scores 0;
- deleted or reordered cells: each question is graded where its check cell stands, or at the
  end if the check cell is gone;
- edited public tests change nothing: only the autograder's copy of the tests counts;
- a notebook that rewrites or deletes the autograder's tests (otter copies them next to it)
  scores 0;
- a process the submission starts is killed when its grading ends, even one that detached;
- a file that is not a readable notebook, has no code cells, is over ``--max-mb`` MiB (not
  read), or answers no known exercise, scores 0.

One bad submission never stops the batch. Grading runs ``--workers`` notebooks at a time (2 by
default), each in a process forked from the grader (otter already imported) with its own kernel,
its own folder, temporary directory and IPython profile (deleted afterwards), and a pipe of its
own for its result (POSIX only; the killing of detached processes needs Linux). This keeps one
submission from reaching another or the CSV; it is no sandbox against the instructor's files
(see the README).

Where the time goes, per submission: the kernel's start and its first cell, otter's
``from otter import Notebook``, dominate. That import costs about 3 s of CPU, 2 of them spent by
jsonschema compiling an RFC 3987 grammar that notebook validation never uses; the grader's
kernels skip it (``KERNEL_STARTUP``). ``exercises/bench_grading.py`` measures each stage.
"""

import argparse
import csv
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__":  # the grader's own process skips what its kernels skip (KERNEL_STARTUP)
    sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # noqa: E402  (the sibling script: masters and otter assign)

ROOT = generate.ROOT
CACHE = ROOT / "_build" / "grading"
MARKER = "downhill_grader"  # metadata key of the cell the grader adds to its copy of a submission
CHECK = re.compile(r"""grader\.check\(\s*["']([^"']+)["']""")

TIME_LIMIT_CELL = """\
# Added by the grader: stop any cell that runs longer than {limit:g} s, and go back to the grading
# folder after each cell (otter finds its tests there; a submission's os.chdir must not cost it them).
import os as _grader_os
import signal as _grader_signal

_grader_folder = _grader_os.getcwd()


def _grader_time_limit(signum, frame):
    raise TimeoutError("the cell ran longer than {limit:g} s, the grader's limit per cell (an endless loop?)")


_grader_signal.signal(_grader_signal.SIGALRM, _grader_time_limit)
get_ipython().events.register(
    "pre_run_cell", lambda info: _grader_signal.setitimer(_grader_signal.ITIMER_REAL, {limit}, {limit})
)
get_ipython().events.register(
    "post_run_cell", lambda result: _grader_signal.setitimer(_grader_signal.ITIMER_REAL, 0)
)
get_ipython().events.register("post_run_cell", lambda result: _grader_os.chdir(_grader_folder))"""


MAX_BYTES = 20 * 2**20  # a submission over 20 MiB is not read: no exercise's notebook comes near it

# Run by each grading kernel before any cell (an IPython start-up file in a folder of the grader's
# own, so the instructor's IPython profile does not run either). jsonschema, imported by nbformat
# under otter, compiles an RFC 3987 grammar on import when rfc3987_syntax is installed: 2 of the 3
# seconds the kernel spends importing otter. Notebook validation never checks IRIs, so the grader's
# kernels go without it.
KERNEL_STARTUP = """\
import sys

sys.modules.setdefault("rfc3987_syntax", None)
"""


# --- the exercises and their autograders --------------------------------------------------------


def known_exercises():
    return {master.stem: master for master in generate.masters()}


def exercise_of(path, notebook, known):
    """The exercise a submission answers: its otter metadata, else its file name's NN_ prefix."""
    metadata = notebook.get("metadata") if isinstance(notebook, dict) else None
    otter = metadata.get("otter") if isinstance(metadata, dict) else None
    name = otter.get("assignment_name") if isinstance(otter, dict) else None
    if isinstance(name, str) and name in known:
        return name
    prefix = re.match(r"(\d\d)(?!\d)", path.name)
    if prefix:
        matches = [stem for stem in known if stem.startswith(prefix.group(1) + "_")]
        if len(matches) == 1:
            return matches[0]
    return None


def autograder(stem, master, log=None):
    """Otter's autograder zip for one exercise and its questions, built once per master version."""
    folder = CACHE / stem
    key = hashlib.sha256(master.read_bytes() + generate.otter_requirement().encode()).hexdigest()
    info = folder / "exercise.json"
    if info.exists():
        cached = json.loads(info.read_text())
        if cached["key"] == key and (folder / "autograder.zip").exists():
            return {**cached, "zip": str(folder / "autograder.zip")}
    if log is not None:
        print(f"building the autograder of {stem} (otter assign on {master.relative_to(ROOT)})", file=log)
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as workdir:
        assigned = generate.assign(master, workdir)
        staging = Path(workdir) / "out"
        staging.mkdir()
        shutil.copyfile(assigned.autograder, staging / "autograder.zip")
        cached = {
            "key": key,
            "stem": stem,
            "zip": str(folder / "autograder.zip"),
            "questions": [[name, points] for name, points in assigned.questions],
        }
        (staging / "exercise.json").write_text(json.dumps(cached, indent=1))
        shutil.rmtree(folder, ignore_errors=True)
        try:
            staging.rename(folder)
        except OSError:  # another grading run built it at the same moment: use theirs
            pass
    return cached


# --- grading one submission ---------------------------------------------------------------------


def prepare(notebook, stem, cell_timeout, path):
    """The grader's copy of a submission: a python3 kernel, the exercise's name, a time limit per cell."""
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    notebook.metadata.setdefault("otter", {})["assignment_name"] = stem
    limit = nbformat.v4.new_code_cell(TIME_LIMIT_CELL.format(limit=cell_timeout), metadata={MARKER: True})
    if (notebook.nbformat, notebook.nbformat_minor) < (4, 5):
        del limit["id"]
    notebook.cells.insert(0, limit)
    nbformat.write(notebook, path)


def _hint(message):
    """The last line of a failed test's report: the exception and the test's hint."""
    lines = [line for line in (message or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "failed"


def _cell_errors(executed):
    """Errors raised by the submission's own cells, numbered as in the submission (1 = first cell)."""
    cells = executed.cells if executed is not None else []
    start = next((i for i, cell in enumerate(cells) if cell.get("metadata", {}).get(MARKER)), None)
    if start is None:
        return []
    submitted = cells[start + 1 :]
    checks = [
        CHECK.search(cell.get("source", "")) if cell.get("cell_type") == "code" else None
        for cell in submitted
    ]
    errors = {}
    for number, cell in enumerate(submitted, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()[:160]
                # name the question: the first check cell at or after the failing cell
                question = next((m.group(1) for m in checks[number - 1 :] if m), None)
                errors.setdefault((text, question), []).append(number)
    return [(numbers, text, question) for (text, question), numbers in errors.items()]


def _test_files(folder):
    """A hash of each of the autograder's test files in ``folder``."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(Path(folder).glob("*.py"))
    }


def _watch_the_tests(changed):
    """Make otter's grading note, in ``changed``, the test files a submission rewrote or deleted.

    otter copies the autograder's tests next to the submission and reads each one when it checks a
    question, so a notebook could write its own tests there; the grader compares the files before
    and after the run (all files a submission can reach are listed in the README).
    """
    from otter.run.run_autograder.runners import python_runner

    original = python_runner.grade_notebook

    def grade_notebook(*args, **kwargs):
        before = _test_files(kwargs["test_dir"])
        try:
            return original(*args, **kwargs)
        finally:
            after = _test_files(kwargs["test_dir"])
            changed.extend(sorted(name for name in before if after.get(name) != before[name]))

    python_runner.grade_notebook = grade_notebook


def _stop_kernels_at_once():
    """Make otter's run kill its kernel once the notebook is done, not ask it to shut down and wait
    (a graceful shutdown costs a third of a second a notebook, and the kernel has nothing to save)."""
    import otter.execute
    from traitlets.config import Config

    def config():
        c = Config()
        c.ExecutePreprocessor.shutdown_kernel = "immediate"
        return c

    otter.execute.Config = config


def grade_one(job):
    """Grade one submission with otter (runs in a forked child, in its own folder); a JSON-able result."""
    from otter.api import grade_submission

    notebook_path = Path(job["folder"]) / f"{job['stem']}.ipynb"
    prepare(nbformat.from_dict(job["notebook"]), job["stem"], job["cell_timeout"], notebook_path)
    changed = []
    _watch_the_tests(changed)
    _stop_kernels_at_once()
    results = grade_submission(str(notebook_path), job["zip"], quiet=True)
    scores, failures = {}, {}
    for name, _ in job["questions"]:
        test_file = results.results.get(name)
        if test_file is None:
            continue
        scores[name] = float(test_file.score)
        failures[name] = [
            {"hidden": bool(r.test_case.hidden), "hint": _hint(r.message), "message": r.message}
            for r in test_file.test_case_results
            if not r.passed
        ]
    error = results.catastrophic_error
    error = f"otter could not grade it: {type(error).__name__}: {error}" if error else None
    if changed:
        # a notebook that rewrites the tests has graded itself: none of its scores stand
        scores = {name: 0.0 for name in scores}
        failures = {}
        error = f"the submission rewrote or deleted the autograder's tests ({', '.join(changed)}): scored 0"
    return {
        "scores": scores,
        "failures": failures,
        "cell_errors": _cell_errors(results.notebook),
        "error": error,
    }


def _become_subreaper():
    """Orphans of this process's descendants become its children (Linux), so none escapes _kill_tree."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass  # elsewhere a process that detaches itself can outlive the run


def _child(job, connection):
    """One submission, in a forked process: its own folder, temporary directory and IPython profile."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # otter's and the kernel's chatter
    os.dup2(devnull, 2)
    _become_subreaper()
    folder = Path(job["folder"])
    private = folder / "tmp"
    startup = folder / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    private.mkdir()
    (startup / "00-grader.py").write_text(KERNEL_STARTUP)
    os.environ["IPYTHONDIR"] = str(folder / "ipython")
    for variable in ("TMPDIR", "TEMP", "TMP"):  # otter's grading folder and the kernel's temporary files
        os.environ[variable] = str(private)
    tempfile.tempdir = None
    os.chdir(folder)
    try:
        result = grade_one(job)
    except BaseException as error:  # noqa: BLE001 - any failure is reported, never raised
        result = {"error": f"the grader failed: {type(error).__name__}: {error}"}
    _kill_tree(os.getpid(), itself=False)  # whatever the submission started and left running
    connection.send_bytes(json.dumps(result).encode())
    connection.close()
    os._exit(0)


def _kill_tree(pid, itself=True):
    """Kill a grading process and everything it started (its kernel runs in a session of its own)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        processes = parent.children(recursive=True) + ([parent] if itself else [])
    except psutil.NoSuchProcess:
        return
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=10)


def run_jobs(jobs, workers, timeout, log=None):
    """Grade the jobs, ``workers`` at a time, each in a forked child with a hard time limit.

    The parent imports otter once; each child is a fork of it (no interpreter start, no imports)
    and sends its result back through a pipe of its own, so no submission can touch another's.
    """
    import otter.api  # noqa: F401 - imported once here, inherited by every forked child

    context = multiprocessing.get_context("fork")
    pending, running, done = list(jobs), {}, {}
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop(0)
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(job, sender), daemon=False)
            process.start()
            sender.close()
            running[job["id"]] = (process, job, time.monotonic(), receiver)
        connections = [entry[3] for entry in running.values()]
        multiprocessing.connection.wait(connections, timeout=0.05)
        for key, (process, job, started, receiver) in list(running.items()):
            if receiver.poll():
                try:
                    done[key] = json.loads(receiver.recv_bytes())
                except EOFError:  # it died before it could answer
                    process.join()
                    done[key] = {"error": f"the grader died (exit code {process.exitcode})"}
            elif not process.is_alive():
                process.join()
                done[key] = {"error": f"the grader died (exit code {process.exitcode})"}
            elif time.monotonic() - started > timeout:
                limit = f"stopped after {timeout:g} s, the grader's limit per notebook (an endless loop?)"
                done[key] = {"error": limit}
            if key in done:
                _kill_tree(process.pid)
                process.join()
                receiver.close()
                shutil.rmtree(job["folder"], ignore_errors=True)
                del running[key]
                if log is not None:
                    print(f"  [{len(done)}/{len(jobs)}] {job['name']}", file=log, flush=True)
    return done


# --- reporting ----------------------------------------------------------------------------------


def _points(value):
    return f"{round(value, 2):g}"


def summarise(result, questions):
    """Scores per question, total, and the notes that explain a lost point."""
    notes = []
    if result.get("error"):
        notes.append(result["error"])
    for numbers, text, question in result.get("cell_errors", []):
        where = "cell" if len(numbers) == 1 else "cells"
        notes.append(f"{where} {', '.join(map(str, numbers))}{f' ({question})' if question else ''}: {text}")
    scores = {}
    for name, points in questions:
        scores[name] = result.get("scores", {}).get(name, 0.0)
        failed = result.get("failures", {}).get(name)
        if failed:
            notes.append(f"{name} {_points(scores[name])}/{_points(points)}: {failed[0]['hint']}")
        elif result and name not in result.get("scores", {}) and not result.get("error"):
            notes.append(f"{name}: not graded")
    return scores, notes


def feedback_text(row, result, questions):
    lines = [f"Feedback on {row['submission']} (exercise {row['exercise'] or 'unknown'})", ""]
    lines.append(f"Score: {row['total']} / {row['max']}")
    lines.append("")
    for name, points in questions:
        lines.append(f"{name}: {_points(row['scores'][name])} / {_points(points)}")
        for failure in (result or {}).get("failures", {}).get(name, []):
            if failure["hidden"]:
                lines.append(f"    a hidden check failed: {failure['hint']}")
            else:
                body = failure["message"].replace("❌ ", "").strip().splitlines()
                lines.extend("    " + line for line in ["a public check failed:", *body])
    if row["notes"]:
        lines += ["", "Notes:"] + [f"- {note}" for note in row["notes"]]
    return "\n".join(lines) + "\n"


def grade_folder(
    submissions, out=None, workers=2, timeout=120.0, cell_timeout=10.0, log=sys.stdout, max_bytes=MAX_BYTES
):
    """Grade every notebook in ``submissions``; write the CSV and the feedback files; return the rows."""
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise SystemExit(f"{submissions} is not a folder")
    out = Path(out) if out else submissions / "grades.csv"
    feedback = out.parent / "feedback"
    known = known_exercises()
    paths = sorted(p for p in submissions.glob("*.ipynb") if p.is_file())
    exercises, rows, jobs = {}, [], []
    with tempfile.TemporaryDirectory(prefix="grading-") as workdir:
        for number, path in enumerate(paths):
            row = {"submission": path.name, "exercise": None, "notes": [], "result": None}
            rows.append(row)
            notebook = None
            size = path.stat().st_size
            if size > max_bytes:
                row["notes"].append(
                    f"not read: {size / 2**20:.1f} MiB, over the grader's limit of {max_bytes / 2**20:g} MiB"
                )
            else:
                try:
                    notebook = nbformat.read(path, as_version=4)
                except Exception as error:  # noqa: BLE001 - whatever is wrong with the file, say so
                    row["notes"].append(f"not a readable notebook: {type(error).__name__}: {error}"[:200])
            if notebook is not None and not any(c.get("cell_type") == "code" for c in notebook.cells):
                row["notes"].append("the notebook has no code cells: nothing to grade")
                notebook = None
            stem = exercise_of(path, notebook if notebook is not None else {}, known)
            row["exercise"] = stem
            if stem is None:
                row["notes"].append("cannot tell which exercise it answers (no otter metadata or NN_ prefix)")
                continue
            if stem not in exercises:
                exercises[stem] = autograder(stem, known[stem], log)
            if notebook is None:
                continue
            folder = Path(workdir) / f"{number:04d}"
            folder.mkdir()
            jobs.append(
                {
                    "id": number,
                    "name": path.name,
                    "stem": stem,
                    "notebook": notebook,
                    "folder": str(folder),
                    "cell_timeout": cell_timeout,
                    "zip": exercises[stem]["zip"],
                    "questions": exercises[stem]["questions"],
                }
            )
        print(f"grading {len(jobs)} notebooks, {workers} at a time", file=log)
        results = run_jobs(jobs, workers, timeout, log)
    for number, row in enumerate(rows):
        questions = exercises[row["exercise"]]["questions"] if row["exercise"] in exercises else []
        row["result"] = results.get(number)
        scores, notes = summarise(row["result"] or {}, questions)
        row["scores"] = scores
        row["notes"] = row["notes"] + notes
        row["total"] = _points(sum(scores.values()))
        row["max"] = _points(sum(points for _, points in questions)) if questions else ""
    write_csv(rows, exercises, out)
    feedback.mkdir(parents=True, exist_ok=True)
    for row in rows:
        questions = exercises[row["exercise"]]["questions"] if row["exercise"] in exercises else []
        text = feedback_text(row, row["result"], questions)
        (feedback / (Path(row["submission"]).stem + ".txt")).write_text(text, encoding="utf-8")
    print(f"wrote {out} and {len(rows)} feedback files in {feedback}", file=log)
    return rows


def write_csv(rows, exercises, out):
    columns = [name for stem in sorted(exercises) for name, _ in exercises[stem]["questions"]]
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", *columns, "total", "max", "notes"])
        for row in rows:
            cells = [_points(row["scores"][c]) if c in row["scores"] else "" for c in columns]
            writer.writerow([row["submission"], *cells, row["total"], row["max"], "; ".join(row["notes"])])


def build_autograders(stems=(), log=sys.stdout):
    """Otter's autograder zip of each exercise (all, or those named), for Gradescope or ``otter run``."""
    known = known_exercises()
    unknown = [stem for stem in stems if stem not in known]
    if unknown:
        raise SystemExit(f"no master notebook for {', '.join(unknown)}; known: {', '.join(known)}")
    stems = list(stems or sorted(known))
    # otter assign takes a few seconds of one core per exercise and changes directory while it
    # runs: two at a time, each in a forked process of its own.
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {stem: pool.submit(autograder, stem, known[stem]) for stem in stems}
        built = {}
        for stem in stems:
            built[stem] = Path(futures[stem].result()["zip"])
            print(f"{stem}: {built[stem].relative_to(ROOT)}", file=log)
    return built


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", nargs="?", help="folder of submitted .ipynb files")
    parser.add_argument("--out", help="CSV file to write (default: SUBMISSIONS/grades.csv)")
    parser.add_argument("--workers", type=int, default=2, help="notebooks graded at a time (default 2)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per notebook (default 120)")
    parser.add_argument("--cell-timeout", type=float, default=10.0, help="seconds per cell (default 10)")
    parser.add_argument(
        "--max-mb", type=float, default=MAX_BYTES / 2**20, help="larger files are not read (default 20)"
    )
    parser.add_argument(
        "--autograders",
        nargs="*",
        metavar="STEM",
        help="grade nothing: build the autograder zip of every exercise (or those named) under _build/",
    )
    args = parser.parse_args(argv)
    if args.autograders is not None:
        build_autograders(args.autograders)
        return 0
    if args.submissions is None:
        parser.error("a folder of submissions is needed (or --autograders)")
    for name in ("workers", "timeout", "cell_timeout", "max_mb"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, not {getattr(args, name):g}")
    started = time.perf_counter()
    rows = grade_folder(
        args.submissions,
        args.out,
        args.workers,
        args.timeout,
        args.cell_timeout,
        max_bytes=args.max_mb * 2**20,
    )
    print(f"graded {len(rows)} submissions in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
