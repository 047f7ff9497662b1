"""Time ``exercises/grade.py`` on a class-sized batch: 50 submissions of one exercise.

Half of the copies are the solved exercise, half the blank one (alternating), all in one
temporary folder; ``grade.py`` grades them with its default two workers, as ``make grade``
does, from a cold start (the autograder is built first). The target is one minute on a
two-core machine. Timings are printed (and returned for ``tests/bench.py``), never asserted.

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
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(grade, check=True, capture_output=True)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(folder / "grades.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
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
        f"load average now {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
