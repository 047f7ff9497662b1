"""`make bench`: measure the course's speed targets and write _build/bench.json.

Each entry is {"name", "median", "unit", "target"}; the table printed at the end gives
the ratio of each median to its target (below 1 is within target). Timings are
measured here, never asserted in the tests.
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "bench.json"


def median_of(fn, repeats):
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def execute_notebook(path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()


def bench_import():
    code = "import time; t = time.perf_counter(); import gdlab; print(time.perf_counter() - t)"
    samples = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(7)
    ]
    return {"name": "import gdlab", "median": statistics.median(samples), "unit": "s", "target": 0.5}


def bench_explorer_1d():
    from gdlab.widgets import Explorer1D

    explorer = Explorer1D(function="valley", x0=0.0, lr=0.1, steps=50)
    rates = [0.01 + 0.02 * i for i in range(40)]
    samples = []
    for lr in rates:
        start = time.perf_counter()
        explorer.lr.value = lr  # the observer recomputes the run and redraws the figure
        samples.append(time.perf_counter() - start)
    return {
        "name": "1-D explorer update (compute and redraw)",
        "median": statistics.median(samples),
        "unit": "s",
        "target": 0.05,
    }


CHAPTER_TARGETS = {"02_gd_intuition": 10.0}


def bench_chapters(repeats=3):
    entries = []
    for stem, target in CHAPTER_TARGETS.items():
        path = ROOT / "chapters" / f"{stem}.ipynb"
        if path.exists():
            seconds = median_of(lambda p=path: execute_notebook(p), repeats)
            entries.append(
                {"name": f"chapter {stem} executes", "median": seconds, "unit": "s", "target": target}
            )
    return entries


def recorded_make_times():
    timings_file = ROOT / "_build" / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    entries = []
    for name in ("book", "test"):
        if name in timings:
            kind = "clean " if timings[name]["clean"] else ""
            entries.append(
                {
                    "name": f"{kind}make {name} (last run, {timings[name]['when']})",
                    "median": timings[name]["seconds"],
                    "unit": "s",
                    "target": None,
                }
            )
        else:
            entries.append(
                {
                    "name": f"make {name} (not run yet: run it, then make bench)",
                    "median": None,
                    "unit": "s",
                    "target": None,
                }
            )
    return entries


def main():
    entries = [bench_import(), bench_explorer_1d(), *bench_chapters(), *recorded_make_times()]
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(entries, indent=2))
    print(f"{'measurement':<58} {'median':>10} {'target':>9} {'ratio':>7}")
    for e in entries:
        median = "-" if e["median"] is None else f"{e['median']:.4g} {e['unit']}"
        target = "-" if e["target"] is None else f"{e['target']:g} {e['unit']}"
        ratio = "-" if e["target"] is None or e["median"] is None else f"{e['median'] / e['target']:.2f}"
        print(f"{e['name']:<58} {median:>10} {target:>9} {ratio:>7}")
    print(f"written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
