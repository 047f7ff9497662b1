"""Floating-point environments the course must hold in, and a runner that executes a notebook
in one of them.

A seeded float32 run is repeatable on one machine, not across machines: the SIMD kernels that
torch and NumPy pick at start-up (AVX-512, AVX2 or portable C), the number of threads that split
a reduction, and the library versions all move the last bits, and after a few hundred training
steps those bits reach the printed digits. The course's claims must hold in all of them, so
``make test`` runs every notebook twice: as the machine comes, and in ``portable``.

- ``native``: the machine as it is.
- ``portable``: torch's portable kernels (``ATEN_CPU_CAPABILITY=default``), one OpenMP/BLAS
  thread, and NumPy with its AVX-512 kernels switched off (on a machine that has them).
- ``avx2``: torch's and NumPy's AVX2 kernels, one thread: the kind of machine on which the course
  first failed. Not run by ``make test``; use it when you audit a claim.

``DOWNHILL_STRICT=1`` is set in every one of them, so that a claim that does not hold stops the
run (see :mod:`gdlab.claims`). ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` are left as the
machine sets them: older OpenBLAS builds compute wrong results without them.

Usage (from the repository root)::

    .venv/bin/python tests/float_envs.py portable chapters/05_landscapes.ipynb [...]
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def numpy_avx512_features(python=sys.executable):
    """The NumPy dispatch targets above AVX2 that this machine runs (empty without AVX-512)."""
    probe = (
        "import json\n"
        "from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__\n"
        "print(json.dumps([f for f in __cpu_dispatch__ if __cpu_features__.get(f)]))\n"
    )
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout
    return [f for f in json.loads(out) if f.startswith(("X86_V4", "AVX512"))]


def environment(name, python=sys.executable):
    """The variables that make up the environment ``name``, on top of the current ones."""
    variables = {"DOWNHILL_STRICT": "1", "GDLAB_QUIET": "1", "MPLBACKEND": "agg"}
    if name == "native":
        return variables
    avx512 = numpy_avx512_features(python)
    if avx512:
        variables["NPY_DISABLE_CPU_FEATURES"] = " ".join(avx512)
    if name == "portable":
        return {**variables, **_ONE_THREAD, "ATEN_CPU_CAPABILITY": "default"}
    if name == "avx2":
        return {**variables, **_ONE_THREAD, "ATEN_CPU_CAPABILITY": "avx2"}
    raise ValueError(f"unknown floating-point environment {name!r}: use native, portable or avx2")


def execute(path, name, python=sys.executable, timeout=600, cwd=None, save=False):
    """Execute the notebook at ``path`` in the environment ``name`` with ``python``'s kernel
    (``save=True`` writes the executed notebook back to ``path``).

    Returns ``(ok, report)``: ``report`` names the failing cell and ends with its traceback.
    """
    env = {**os.environ, **environment(name, python)}
    for _attempt in (1, 2):
        result = subprocess.run(
            [str(python), __file__, "--execute", str(Path(path).resolve()), str(timeout)] + ["--save"] * save,
            env=env,
            capture_output=True,
            text=True,
            cwd=cwd or Path(path).resolve().parent,
        )
        report = _ANSI.sub("", result.stdout + result.stderr).replace(_KERNEL_NOTICE, "")
        # Two kernels started at the same moment can be handed the same free port; the second
        # then never starts and no cell ran. Only that start-up race is tried again, once.
        if result.returncode == 0 or _PORT_TAKEN not in report:
            break
    return result.returncode == 0, report.strip()[-5000:]


_PORT_TAKEN = "zmq.error.ZMQError: Address already in use"


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_KERNEL_NOTICE = (
    "[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication "
    "(including code and outputs) is sent in plain text and is susceptible to eavesdropping. Use "
    "IPC transport or launch with kernel manager-provisioned CurveZMQ keys to enable transport "
    "encryption."
)


def _execute_here(path, timeout, save):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": os.getcwd()}}
    )
    try:
        client.execute()
    except CellExecutionError as error:
        index = next(
            (i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and _has_error(c)), None
        )
        print(f"{Path(path).name}: cell {index} failed\n{error}")
        return 1
    finally:
        if save:
            nbformat.write(notebook, path)
    return 0


def _has_error(cell):
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


def main(argv):
    if argv[:1] == ["--execute"]:
        return _execute_here(argv[1], int(argv[2]), "--save" in argv[3:])
    if len(argv) < 2:
        print(__doc__)
        return 2
    name, paths = argv[0], argv[1:]
    failed = 0
    for path in paths:
        start = time.perf_counter()
        ok, report = execute(path, name)
        took = time.perf_counter() - start
        print(f"{'ok  ' if ok else 'FAIL'} {name:9s} {path} ({took:.1f} s)")
        if not ok:
            failed += 1
            print(report)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
