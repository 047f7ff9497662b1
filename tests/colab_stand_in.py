"""A stand-in for Google Colab, for the tests of a notebook opened alone there.

Colab runs one notebook in an empty folder, in a Python where the course's packages are
installed but gdlab is not, with ``google.colab`` already imported. :func:`isolated_python`
builds such a Python (a virtual environment that sees .venv's packages through a folder of
links leaving out gdlab), and :func:`execute_in_colab` runs a notebook in it with a stand-in
``google.colab`` whose ``output.enabled`` records that the custom widget manager was switched
on. ``DOWNHILL_REPOSITORY`` points the notebook's bootstrap at a local repository instead of
the real one, and :func:`repository_snapshot` makes such a repository of the working tree.

:data:`COLAB_VERSIONS` holds what Colab itself ships, read from :data:`COLAB_SOURCE`;
:func:`colab_environment` builds a virtual environment with those packages (or the oldest that
gdlab's pyproject.toml allows, whichever is older), to pass to :func:`isolated_python` in place
of .venv's packages (tests/test_colab.py).
"""

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

from nbclient import NotebookClient
from packaging.requirements import Requirement
from packaging.version import Version

# What a Colab runtime ships, from Colab's own published `pip freeze` (its README: "the state as of
# the most recent submitted changes"; there may be a day or two of delay to production). Read on
# 2026-12-07 at the newest commit of that file, "Upgrade to Python 3.13" (2026-08-19).
COLAB_SOURCE = {
    "url": "https://github.com/googlecolab/backend-info/blob/"
    "a72407924822ea377410b69f0a290150bcb5c9c2/pip-freeze.txt",
    "commit_date": "2026-08-19",
    "read_on": "2026-12-07",
    "python": "3.13.15",  # os-info.txt at the same commit; the stand-in runs this machine's 3.11
}
COLAB_VERSIONS = {
    "numpy": "2.1.3",
    "pandas": "2.2.3",
    "matplotlib": "3.10.0",
    "pillow": "11.3.0",
    "ipywidgets": "7.7.1",  # with widgetsnbextension 3.6.10 and jupyterlab_widgets 3.0.16
    "anywidget": "0.9.21",
    "torch": "2.11.0",  # torch @ .../whl/cpu/torch-2.11.0%2Bcpu-cp313-...whl
    "traitlets": "5.7.1",
    "ipykernel": "6.17.1",
    "ipython": "7.34.0",
}
# Installed by pip in the Colab environment: Colab's packages (versions from COLAB_VERSIONS or
# pyproject.toml's lower bounds), then what a kernel needs, as pinned in requirements.txt. The
# rest (torch 2.13.0, the only torch this machine installs; the kernel's and the tests' tools)
# comes from .venv through a folder of links, leaving out what Colab does not ship and the
# exercises install themselves.
COLAB_PACKAGES = ("numpy", "pandas", "matplotlib", "pillow", "ipywidgets", "anywidget")
KERNEL_PACKAGES = ("ipykernel", "nbclient")
NOT_IN_COLAB = ("otter-grader",)

_OUTPUT_MODULE = """\
import types

enabled = False
_widgets = types.SimpleNamespace(_installed_url=None)  # what anywidget reads in Colab


def enable_custom_widget_manager():
    global enabled
    enabled = True
"""


def isolated_python(tmp_path, packages=None, leave_out=()):
    """A Python where gdlab is *not* importable but everything else the course uses is;
    returns the interpreter and its site-packages (where the bootstrap's pip installs).

    ``packages`` is the site-packages folder it sees (by default .venv's), less the files of
    the distributions named in ``leave_out``; what pip installs lands in the new environment,
    in front of it, and leaves that folder as it was."""
    packages = Path(packages or sysconfig.get_paths()["purelib"])
    hidden = _files_of(packages, leave_out)
    env_dir = tmp_path / "colab-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    linked = tmp_path / "course-packages"
    linked.mkdir()
    for entry in packages.iterdir():
        if "gdlab" not in entry.name.lower() and entry.name not in hidden:
            (linked / entry.name).symlink_to(entry)
    Path(site, "course_packages.pth").write_text(f"import site; site.addsitedir({str(linked)!r})\n")
    return python, Path(site)


def execute_in_colab(notebook, tmp_path, python, repository, workdir, env=None):
    """Execute ``notebook`` (in place) in ``workdir`` with the Colab stand-in kernel."""
    fake = tmp_path / "fake-colab"
    (fake / "google" / "colab").mkdir(parents=True)
    (fake / "google" / "__init__.py").write_text("")
    (fake / "google" / "colab" / "__init__.py").write_text("from . import output\n")
    (fake / "google" / "colab" / "output.py").write_text(_OUTPUT_MODULE)
    ipython_dir = tmp_path / "ipython"
    (ipython_dir / "profile_default" / "startup").mkdir(parents=True)
    (ipython_dir / "profile_default" / "startup" / "00-colab.py").write_text("import google.colab\n")
    kernels = tmp_path / "jupyter" / "kernels" / "colab"
    kernels.mkdir(parents=True)
    kernel_env = {
        "PYTHONPATH": str(fake),
        "IPYTHONDIR": str(ipython_dir),
        "DOWNHILL_REPOSITORY": f"file://{repository}",
        "MPLBACKEND": "agg",
        **(env or {}),
    }
    (kernels / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Colab stand-in",
                "language": "python",
                "env": kernel_env,
            }
        )
    )
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(tmp_path / "jupyter")
    try:
        NotebookClient(
            notebook, kernel_name="colab", timeout=600, resources={"metadata": {"path": str(workdir)}}
        ).execute()
    finally:
        if old is None:
            os.environ.pop("JUPYTER_PATH")
        else:
            os.environ["JUPYTER_PATH"] = old
    return notebook


def repository_snapshot(tmp_path, root):
    """A git repository holding the working tree of ``root`` as it is now (tracked and
    untracked files that git does not ignore), for Colab's clone and pip install."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    snapshot = tmp_path / "repository"
    for name in filter(None, listed):
        source = Path(root, name)
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    git = [
        "git",
        "-c",
        "user.name=test",
        "-c",
        "user.email=test@example.org",
        "-c",
        "init.defaultBranch=main",
    ]
    subprocess.run([*git, "init", "-q"], cwd=snapshot, check=True)
    subprocess.run([*git, "add", "-A"], cwd=snapshot, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "snapshot"], cwd=snapshot, check=True)
    return snapshot


def lower_bounds(pyproject):
    """``{name: version}``: the ``>=`` bound of each of gdlab's dependencies, extras included."""
    project = tomllib.loads(Path(pyproject).read_text())["project"]
    declared = project["dependencies"] + [
        r for extra in project["optional-dependencies"].values() for r in extra
    ]
    bounds = {}
    for line in declared:
        requirement = Requirement(line)
        bounds[requirement.name.lower()] = next(
            s.version for s in requirement.specifier if s.operator == ">="
        )
    return bounds


def colab_pins(pyproject, requirements):
    """The ``name==version`` lines pip installs in the Colab environment: for each of Colab's
    packages the older of what Colab ships and gdlab's lower bound; the kernel's as pinned."""
    bounds = lower_bounds(pyproject)
    pinned = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", Path(requirements).read_text(), re.M))
    pinned = {name.lower(): version for name, version in pinned.items()}
    pins = []
    for name in COLAB_PACKAGES:
        versions = [COLAB_VERSIONS[name]] + ([bounds[name]] if name in bounds else [])
        pins.append(f"{name}=={min(versions, key=Version)}")
    return pins + [f"{name}=={pinned[name]}" for name in KERNEL_PACKAGES]


def _files_of(packages, names):
    """The top-level entries of ``packages`` that belong to the distributions ``names``."""
    wanted = {re.sub(r"[-_.]+", "-", name).lower() for name in names}
    entries = set()
    for dist in importlib.metadata.distributions(path=[str(packages)]):
        if re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower() in wanted:
            entries |= {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
    return entries


def colab_environment(tmp_path, pins):
    """A fresh virtual environment where pip installed ``pins`` in front of .venv's other
    packages (less :data:`NOT_IN_COLAB`); returns its interpreter and site-packages."""
    python, site = isolated_python(tmp_path, leave_out=COLAB_PACKAGES + NOT_IN_COLAB)
    pip = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pins],
        capture_output=True,
        text=True,
    )
    if pip.returncode:
        raise RuntimeError(f"pip could not build the Colab environment from {pins}:\n{pip.stderr[-3000:]}")
    return python, site
