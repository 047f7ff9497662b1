"""A stand-in for Google Colab, for the tests of a notebook opened alone there.

Colab runs one notebook in an empty folder, in a Python where the course's packages are
installed but gdlab is not, with ``google.colab`` already imported. :func:`isolated_python`
builds such a Python (a virtual environment that sees .venv's packages through a folder of
links leaving out gdlab), and :func:`execute_in_colab` runs a notebook in it with a stand-in
``google.colab`` whose ``output.enabled`` records that the custom widget manager was switched
on. ``DOWNHILL_REPOSITORY`` points the notebook's bootstrap at a local repository instead of
the real one.
"""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from nbclient import NotebookClient

_OUTPUT_MODULE = """\
import types

enabled = False
_widgets = types.SimpleNamespace(_installed_url=None)  # what anywidget reads in Colab


def enable_custom_widget_manager():
    global enabled
    enabled = True
"""


def isolated_python(tmp_path):
    """A Python where gdlab is *not* importable but everything else the course uses is;
    returns the interpreter and its site-packages (where the bootstrap's pip installs)."""
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
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if "gdlab" not in entry.name.lower():
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
