"""The book builds with no warnings (the built_book fixture, in conftest.py, fails otherwise),
and the pages carry what readers need."""

from html.parser import HTMLParser
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


class Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [c["file"] for part in toc["parts"] for c in part["chapters"]]


def test_every_toc_entry_exists_and_every_chapter_is_listed():
    listed = toc_files()
    for entry in listed:
        assert list(ROOT.glob(entry + ".*")), f"_toc.yml lists {entry}, which does not exist"
    for folder in ("chapters", "exercises", "solutions"):
        for notebook in (ROOT / folder).glob("*.ipynb"):
            assert f"{folder}/{notebook.stem}" in listed, f"{folder}/{notebook.name} is missing from _toc.yml"


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


def test_no_page_carries_widgets_it_does_not_show(built_book):
    """Every explorer a notebook creates is embedded in its page, shown or not; a live one
    carries the whole browser module (about 28 KB). Explorers made only for their numbers
    must be closed, so each page holds only the explorers a reader sees."""
    import json
    import re

    for entry in toc_files():
        html = (built_book / f"{entry}.html").read_text()
        states = re.findall(
            r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S
        )
        if not states:
            continue
        models = json.loads(states[0])["state"]
        shown = set(re.findall(r'widget-view\+json">\{[^}]*"model_id": "([0-9a-f]+)"', html))
        hidden_explorers = [
            key for key, m in models.items() if m["model_name"] == "AnyModel" and key not in shown
        ]
        assert not hidden_explorers, f"{entry} embeds {len(hidden_explorers)} explorers it never shows"
