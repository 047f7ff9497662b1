"""Shared fixtures: where the course lives and what its configuration says."""

import os
import re
import sys
from pathlib import Path

import pytest
import yaml
from background import BackgroundJob

ROOT = Path(__file__).resolve().parents[1]

# Strict mode (gdlab.claims): every claim a notebook makes that does not hold stops its run, in
# the kernels nbval, the book build and the tests start, however pytest was started.
os.environ["DOWNHILL_STRICT"] = "1"
# No progress bars in test output (gdlab.training reads this; notebook kernels inherit it).
os.environ["GDLAB_QUIET"] = "1"


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def book_config():
    return yaml.safe_load((ROOT / "_config.yml").read_text())


@pytest.fixture(scope="session")
def repository_url(book_config):
    return book_config["repository"]["url"]


class _BookBuild(BackgroundJob):
    """The whole book, built once per test run into a scratch folder, warnings as errors.

    The build executes every notebook (about two minutes of one core) while the suite itself
    keeps the other core busy, so it starts in the background when the tests are collected
    (``pytest_collection_modifyitems``) and the ``built_book`` fixture waits for it. Its
    kernels run on one thread (``OMP_NUM_THREADS=1``, one of the environments every claim must
    hold in, see float_envs.py), so that the two jobs do not fight over the cores.
    """

    def __init__(self):
        super().__init__(prefix="downhill-book-")
        jupyter_book = Path(sys.executable).with_name("jupyter-book")
        command = [
            str(jupyter_book),
            "build",
            str(ROOT),
            "--path-output",
            str(self.where),
            "--warningiserror",
            "--keep-going",
        ]
        one_thread = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.start(command, cwd=ROOT, env={**os.environ, **one_thread})

    def wait(self):
        returncode, log = self.finish()
        assert returncode == 0, f"the book build failed:\n{log[-6000:]}"
        # _config.yml caches executions for authors; a fresh output folder has an empty cache, so
        # here every notebook runs (with DOWNHILL_STRICT=1) and none is taken from a cache.
        assert "Using cached notebook" not in log, "the test build took outputs from an execution cache"
        # The kernel's own start-up notice is not a problem of the book.
        noise = "Kernel is running over TCP without encryption"
        lines = log.splitlines()
        warnings = [line for line in lines if re.search(r"WARNING|ERROR", line) and noise not in line]
        assert not warnings, "the build printed warnings:\n" + "\n".join(warnings)
        return self.where / "_build" / "html"


_book_build = None


def _start_book_build():
    global _book_build
    if _book_build is None and not os.environ.get("DOWNHILL_BUILT_BOOK"):
        _book_build = _BookBuild()
    return _book_build


@pytest.fixture(scope="session")
def built_book():
    """The built book's HTML folder (see :class:`_BookBuild`).

    While working on the browser tests, DOWNHILL_BUILT_BOOK=_build/html reuses a book that
    `make book` built instead (CI never sets it).
    """
    reuse = os.environ.get("DOWNHILL_BUILT_BOOK")
    if reuse:
        return Path(reuse).resolve()
    return _start_book_build().wait()


@pytest.fixture(scope="session")
def assigned(tmp_path_factory):
    """``otter assign`` on every master once per run (test_exercises.assign_all)."""
    import test_exercises

    return test_exercises.assign_all(tmp_path_factory.mktemp("assign"))


@pytest.fixture(scope="session")
def graded(assigned, tmp_path_factory):
    """One batch of submissions graded by exercises/grade.py once per run (test_exercises.grade_batch)."""
    import test_exercises

    return test_exercises.grade_batch(assigned, tmp_path_factory.mktemp("submissions"))


@pytest.fixture
def small_torch():
    """Tests of small torch models: float32, and one thread (for models this small a second
    thread only waits, and on a busy machine an OpenMP barrier makes it 10-50x slower).
    Both are put back afterwards."""
    import torch

    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(1)
    yield
    torch.set_default_dtype(dtype)
    torch.set_num_threads(threads)


def pytest_collection_modifyitems(session, config, items):
    """The book build (see :class:`_BookBuild`) starts now, in the background, if a test needs it.

    Some tests need a virtual environment that pip takes minutes to build, mostly waiting on
    the network (Binder's, in test_binder.py): their modules define ``start_building()``.
    Start those builds now, in the background, and run those tests last, after the book's."""
    book = [item for item in items if "built_book" in getattr(item, "fixturenames", ())]
    if book:
        _start_book_build()
    late = [item for item in items if hasattr(getattr(item, "module", None), "start_building")]
    if book or late:
        # The tests of the built book after the others, so that its build has time to finish.
        book_set, late_set = set(book), set(late)
        rest = [item for item in items if item not in book_set and item not in late_set]
        items[:] = rest + [item for item in book if item not in late_set] + late
    if late:
        for module in dict.fromkeys(item.module for item in late):
            module.start_building()
