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

# mypy's strict flags, set for the whole package: every gdlab module is annotated.
STRICT = ("disallow_untyped_defs", "disallow_incomplete_defs", "check_untyped_defs", "disallow_any_generics")


def test_mypy_passes_on_gdlab():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "shared/gdlab" in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]


def test_every_gdlab_module_is_checked_strictly():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert all(config.get(flag) is True for flag in STRICT), {flag: config.get(flag) for flag in STRICT}
    relaxed = [
        o["module"] for o in config.get("overrides", []) if any(o.get(flag) is False for flag in STRICT)
    ]
    assert relaxed == [], f"modules checked leniently: {relaxed}"


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
