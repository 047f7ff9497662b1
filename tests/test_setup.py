"""The plumbing: pins in one place, Binder in step with them, one repository URL, lint."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pins(path):
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        name, _, version = line.partition("==")
        assert version, f"{path.name}: {line!r} is not pinned with =="
        found[name.lower().replace("_", "-")] = version
    return found


def test_requirements_pin_every_package_exactly():
    pinned = pins(ROOT / "requirements.txt")
    for must in [
        "jupyter-book",
        "numpy",
        "matplotlib",
        "ipywidgets",
        "torch",
        "nbval",
        "pytest",
        "ruff",
    ]:
        assert must in pinned, f"{must} is not pinned in requirements.txt"
    assert pinned["torch"] == "2.13.0", "use the CPU wheel: torch==2.13.0"
    assert pinned["jupyter-book"].startswith("1."), "the course is built with Jupyter Book 1.x"


def test_the_bench_peers_are_pinned_exactly_and_their_imports_are_pinned_too():
    # `make bench` installs them with --no-deps, so what they import must come from requirements.txt.
    peers = pins(ROOT / "requirements-bench.txt")
    assert peers == {"loss-landscapes": "3.0.6", "torch-lr-finder": "0.2.2"}
    pinned = pins(ROOT / "requirements.txt")
    for needed in ["torch", "numpy", "matplotlib", "tqdm", "packaging"]:
        assert needed in pinned, f"torch-lr-finder imports {needed}, which requirements.txt does not pin"
    assert "--no-deps -r requirements-bench.txt" in (ROOT / "Makefile").read_text()


def test_binder_agrees_with_the_pinned_versions():
    pinned = pins(ROOT / "requirements.txt")
    binder = pins(ROOT / "binder" / "requirements.txt")
    assert binder, "binder/requirements.txt pins nothing"
    for name, version in binder.items():
        assert pinned.get(name) == version, (
            f"binder pins {name}=={version}, requirements.txt {pinned.get(name)}"
        )
    text = (ROOT / "binder" / "requirements.txt").read_text()
    assert "download.pytorch.org/whl/cpu" in text, "Binder must take the CPU-only torch"
    assert re.search(r"^-e \.$", text, re.M), "Binder must install the course's package"
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_the_repository_url_is_written_once_and_everything_agrees(repository_url):
    slug = repository_url.removeprefix("https://github.com/")
    readme = (ROOT / "README.md").read_text()
    for url in re.findall(r"https://(?:mybinder\.org|colab\.research\.google\.com)[^\s)]+", readme):
        assert slug in url, f"README link {url} does not point at {repository_url}"
    for path in ROOT.rglob("*"):
        if (
            any(part in {".venv", "_build", ".git", "tests", "node_modules"} for part in path.parts)
            or not path.is_file()
        ):
            continue
        if path.suffix in {".py", ".yml", ".toml", ".md", ".txt", ".cfg"} and path.name != "_config.yml":
            text = path.read_text(errors="ignore")
            for other in re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", text):
                assert other == repository_url, f"{path} names another repository: {other}"


def test_ruff_lint_and_format_pass_on_code_and_notebooks():
    ruff = Path(sys.executable).with_name("ruff")
    lint = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = subprocess.run([ruff, "format", "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
