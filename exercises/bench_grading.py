"""Time ``exercises/grade.py`` on a class-sized batch: 50 submissions of one exercise.

Half of the copies are the solved exercise, half the blank one (alternating), all in one
temporary folder; ``grade.py`` grades them with its default two workers, as ``make grade``
does, from a cold start (the autograder is built first). The target is one minute on a
two-core machine. Timings are printed (and returned for ``tests/bench.py``), never asserted, with the split of
one submission's time by stage (see ``stages``) and the load average before the run began.

Usage (from the repository root)::

    python exercises/bench_grading.py [--count 50] [--stem 01_loss_shapes] [--workers 2]
"""

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # noqa: E402

ROOT = generate.ROOT
TARGET_SECONDS = 60


def _cpu_of(command):
    """Wall and CPU seconds of a command run in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def stages(notebook, zip_path, workdir):
    """Where one submission's grading time goes, each stage timed alone (wall seconds, CPU seconds).

    ``kernel``: start an IPython kernel, wait until it answers, stop it (what otter does per notebook);
    ``kernel imports otter``: the first cell otter adds, ``from otter import Notebook``, in a fresh
    interpreter, as grade.py's kernels run it and as a kernel with nothing skipped would;
    ``one submission``: the whole grading of one notebook by grade.py, in a forked child.
    """
    import grade

    python = sys.executable
    kernel = [
        python,
        "-c",
        "from jupyter_client.manager import start_new_kernel as s; m, c = s(); m.shutdown_kernel(now=True)",
    ]
    otter = "from otter import Notebook"
    figures = {
        "kernel start, ready, stop": _cpu_of(kernel),
        "kernel imports otter (as grade.py's kernels)": _cpu_of([python, "-c", grade.KERNEL_STARTUP + otter]),
        "kernel imports otter (nothing skipped)": _cpu_of([python, "-c", otter]),
    }
    import otter.api  # noqa: F401 - as grade.py's parent process has it

    folder = Path(workdir) / "one"
    folder.mkdir()
    job = {
        "id": 0,
        "name": "one",
        "stem": notebook.metadata["otter"]["assignment_name"],
        "notebook": notebook,
        "folder": str(folder),
        "cell_timeout": 10.0,
        "zip": str(zip_path),
        "questions": [],
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    grade.run_jobs([job], workers=1, timeout=120.0)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures["one submission, all of it"] = (
        wall,
        (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
    )
    return {name: {"wall": round(w, 3), "cpu": round(c, 3)} for name, (w, c) in figures.items()}


def bench_grading(count=50, stem=None, workers=2):
    """Grade ``count`` submissions of one exercise; an entry for tests/bench.py's table."""
    master = generate.masters([stem] if stem else [])[0]
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as workdir:
        assigned = generate.assign(master, Path(workdir) / "assign")
        folder = Path(workdir) / "submissions"
        folder.mkdir()
        for number in range(count):
            solved = number % 2 == 0
            notebook = assigned.solved if solved else assigned.exercise
            nbformat.write(notebook, folder / f"learner-{number:02d}-{'solved' if solved else 'blank'}.ipynb")
        grade = [sys.executable, str(ROOT / "exercises" / "grade.py"), str(folder), "--workers", str(workers)]
        # Time it as a first `make grade` runs: building the autograder included.
        shutil.rmtree(ROOT / "_build" / "grading" / master.stem, ignore_errors=True)
        load_before = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(grade, check=True, capture_output=True)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(folder / "grades.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        split = stages(
            assigned.solved, Path(ROOT / "_build" / "grading" / master.stem / "autograder.zip"), workdir
        )
    full = sum(points for _, points in assigned.questions)
    solved_ok = all(float(r["total"]) == full for r in rows if "solved" in r["submission"])
    blank_ok = all(float(r["total"]) == 0 for r in rows if "blank" in r["submission"])
    if len(rows) != count or not (solved_ok and blank_ok):
        raise RuntimeError("the benchmark's grades are wrong; run the tests (tests/test_exercises.py)")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "name": f"grade {count} submissions of {master.stem} ({workers} workers)",
        "median": seconds,
        "unit": "s",
        "target": TARGET_SECONDS,
        "cpu_seconds": cpu,  # grade.py, its workers and their kernels; cpu / workers: the time on idle cores
        "load_before": load_before,  # other work on the machine when the run began (1-minute load average)
        "stages": split,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--stem", default=None, help="exercise to grade (default: the first)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    entry = bench_grading(args.count, args.stem, args.workers)
    print(f"{entry['name']}: {entry['median']:.1f} s (target {entry['target']} s)")
    cpu = entry["cpu_seconds"]
    print(
        f"CPU time {cpu:.1f} s in all ({cpu / args.count:.2f} s per notebook): "
        f"{cpu / args.workers:.1f} s on {args.workers} otherwise idle cores; "
        f"load average {entry['load_before']:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print("one submission, stage by stage (each timed alone):")
    for name, figures in entry["stages"].items():
        print(f"  {figures['wall']:6.2f} s wall  {figures['cpu']:6.2f} s CPU  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
