"""Shared fixtures: where the course lives and what its configuration says."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Build the whole book once per test run, into a scratch folder, warnings as errors.

    While working on the browser tests, DOWNHILL_BUILT_BOOK=_build/html reuses a book that
    `make book` built instead (CI never sets it).
    """
    reuse = os.environ.get("DOWNHILL_BUILT_BOOK")
    if reuse:
        yield Path(reuse).resolve()
        return
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [
            str(jupyter_book),
            "build",
            str(ROOT),
            "--path-output",
            str(out),
            "--warningiserror",
            "--keep-going",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"the book build failed:\n{log[-6000:]}"
    # _config.yml caches executions for authors; a fresh output folder has an empty cache, so
    # here every notebook runs (with DOWNHILL_STRICT=1) and none is taken from a cache.
    assert "Using cached notebook" not in log, "the test build took outputs from an execution cache"
    # The kernel's own start-up notice is not a problem of the book.
    noise = "Kernel is running over TCP without encryption"
    warnings = [line for line in log.splitlines() if re.search(r"WARNING|ERROR", line) and noise not in line]
    assert not warnings, "the build printed warnings:\n" + "\n".join(warnings)
    yield out / "_build" / "html"
    shutil.rmtree(out, ignore_errors=True)


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
    """Some tests need a virtual environment that pip takes minutes to build, mostly waiting on
    the network (Binder's, in test_binder.py): their modules define ``start_building()``.
    Start those builds now, in the background, and run those tests last."""
    late = [item for item in items if hasattr(getattr(item, "module", None), "start_building")]
    if late:
        items[:] = [item for item in items if item not in late] + late
        for module in dict.fromkeys(item.module for item in late):
            module.start_building()
