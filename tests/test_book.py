"""The book builds with no warnings, and the pages carry what readers need."""

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


class Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """Build the whole book once, into a scratch folder, with warnings as errors."""
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
    # The kernel's own start-up notice is not a problem of the book.
    noise = "Kernel is running over TCP without encryption"
    warnings = [line for line in log.splitlines() if re.search(r"WARNING|ERROR", line) and noise not in line]
    assert not warnings, "the build printed warnings:\n" + "\n".join(warnings)
    yield out / "_build" / "html"
    shutil.rmtree(out, ignore_errors=True)


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [c["file"] for part in toc["parts"] for c in part["chapters"]]


def test_every_toc_entry_exists_and_every_chapter_is_listed():
    listed = toc_files()
    for entry in listed:
        assert list(ROOT.glob(entry + ".*")), f"_toc.yml lists {entry}, which does not exist"
    for chapter in (ROOT / "chapters").glob("*.ipynb"):
        assert f"chapters/{chapter.stem}" in listed, f"{chapter.name} is missing from _toc.yml"


def test_every_chapter_page_is_built_with_figures_that_have_alt_text(built_book):
    assert (built_book / "intro.html").exists()
    for entry in toc_files():
        page = built_book / f"{entry}.html"
        assert page.exists(), f"{page} was not built"
        html = page.read_text()
        parser = Images()
        parser.feed(html)
        figures = [img for img in parser.images if "_images/" in img.get("src", "")]
        if entry.startswith("chapters/"):
            assert figures, f"{entry} has no figures"
        for img in figures:
            assert img.get("alt", "").strip(), f"{entry}: figure {img['src']} has no alt text"
            assert (page.parent / img["src"]).resolve().exists(), f"{entry}: {img['src']} is missing"


def test_chapter_02_renders_its_explorer_and_its_maths(built_book):
    html = (built_book / "chapters" / "02_gd_intuition.html").read_text()
    assert "application/vnd.jupyter.widget-view+json" in html, "the explorer's widget view is missing"
    assert "application/vnd.jupyter.widget-state+json" in html, "the widget state is not embedded"
    assert "Learning rate" in html
    assert "\\(" in html or "math" in html
    assert "<details" in html, "interview answers should be in dropdowns"


def test_launch_buttons_point_at_the_configured_repository(built_book, repository_url):
    html = (built_book / "chapters" / "02_gd_intuition.html").read_text()
    slug = repository_url.removeprefix("https://github.com/")
    assert f"https://mybinder.org/v2/gh/{slug}/main?urlpath=lab/tree/chapters/02_gd_intuition.ipynb" in html
    assert f"https://colab.research.google.com/github/{slug}/blob/main/chapters/02_gd_intuition.ipynb" in html
    assert repository_url in html
