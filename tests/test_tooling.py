"""The contributor's checks: mypy on gdlab, and the pre-commit hooks, run as CI runs them."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_setup import pins  # noqa: E402

# The modules whose public API is annotated, checked with disallow_untyped_defs.
TYPED = [
    "_checks",
    "claims",
    "critical",
    "curves",
    "data",
    "descent",
    "fitting",
    "formula",
    "losses",
    "loss_slices",
    "lr_finder",
    "minibatch",
    "models",
    "optim",
    "plotting",
    "recorded",
    "regimes",
    "regularization",
    "schedules",
    "surfaces",
    "torch_check",
    "training",
    "widgets",
    "widgets._render",
    "widgets.batch_size",
    "widgets.dashboard",
    "widgets.learning_rate",
    "widgets.live",
    "widgets.loss_shapes",
    "widgets.momentum",
    "widgets.regularization",
]


def test_mypy_passes_on_gdlab():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "shared/gdlab" in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]


def test_the_typed_modules_are_checked_strictly():
    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    strict = {m for o in overrides if o.get("disallow_untyped_defs") for m in o["module"]}
    assert {f"gdlab.{name}" for name in TYPED} <= strict


def test_every_hook_is_local_and_its_tool_pinned():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    pinned = pins(ROOT / "requirements.txt")
    assert "pre-commit" in pinned
    for repo in config["repos"]:
        assert repo["repo"] == "local", "a hook from a remote repository needs GitHub to install"
        for hook in repo["hooks"]:
            assert hook["language"] == "system", hook["id"]
            tool = hook["entry"].split()
            tool = tool[2] if tool[1:2] == ["-m"] else Path(tool[0]).name
            if tool != "python":
                assert tool in pinned, f"hook {hook['id']} runs {tool}, which requirements.txt does not pin"


def _copy_of_the_tree(tmp_path):
    """The working tree as git would commit it (tracked and new files), as a fresh repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    copy = tmp_path / "tree"
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    (copy / ".venv").symlink_to(Path(sys.executable).parents[1])
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    subprocess.run([*git, "add", "-A"], cwd=copy, check=True)
    subprocess.run([*git, "commit", "-qm", "tree"], cwd=copy, check=True)
    return copy


def _pre_commit(copy, tmp_path):
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    pre_commit = Path(sys.executable).with_name("pre-commit")
    return subprocess.run(
        [str(pre_commit), "run", "--all-files", "--show-diff-on-failure"],
        cwd=copy,
        capture_output=True,
        text=True,
        env=env,
    )


def test_pre_commit_passes_on_the_tree_and_strips_a_notebook_with_outputs(tmp_path):
    copy = _copy_of_the_tree(tmp_path)
    clean = _pre_commit(copy, tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    path = copy / "chapters" / "02_gd_intuition.ipynb"
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="left over\n")]
    cell.execution_count = 3
    nbformat.write(notebook, path)
    dirty = _pre_commit(copy, tmp_path)
    assert dirty.returncode != 0, "a notebook with outputs was accepted"
    assert "02_gd_intuition.ipynb: outputs cleared" in dirty.stdout
    stripped = nbformat.read(path, as_version=4)
    assert all(c.get("outputs", []) == [] for c in stripped.cells if c.cell_type == "code")
    assert [c.id for c in stripped.cells] == [c.id for c in notebook.cells], "cell ids must be kept"
