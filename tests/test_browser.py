"""The built book in a real browser (Debian's chromium, driven by Playwright), offline.

Every request that leaves localhost is refused and recorded, so a page that needs a CDN
fails here. In CI (CI=true) chromium is installed by .ci/run and these tests must run.
"""

import functools
import http.server
import os
import statistics
import threading
from pathlib import Path

import pytest
import yaml
from headless import CHROMIUM, FLAGS, Quiet

ROOT = Path(__file__).resolve().parents[1]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the browser tests: .ci/run installs Debian's chromium")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def site(built_book):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=built_book))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


class Visit:
    """A page opened with the network cut off at localhost, recording what went wrong."""

    def __init__(self, browser, site, path):
        self.page = browser.new_page()
        self.left_localhost, self.errors = [], []
        self.page.route("**/*", self._route(site))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )
        self.page.goto(f"{site}/{path}", wait_until="load")

    def _route(self, site):
        def handle(route):
            url = route.request.url
            if url.startswith(site) or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                self.left_localhost.append(url)
                route.abort()

        return handle


def book_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [f"{f}.html" for f in files] + ["search.html", "genindex.html"]


@pytest.mark.parametrize("path", book_pages())
def test_page_loads_offline_without_errors_and_every_image_loads(browser, site, path):
    visit = Visit(browser, site, path)
    visit.page.wait_for_load_state("networkidle")
    assert visit.left_localhost == [], f"{path} asked for {visit.left_localhost}"
    assert visit.errors == [], f"{path}: {visit.errors}"
    broken = visit.page.evaluate(
        "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert broken == []
    visit.page.close()


def explorer_state(page, index=0):
    explorer = page.locator(".downhill-explorer").nth(index)
    return {
        "readout": explorer.locator(".downhill-readout").inner_text(),
        "svg": explorer.locator("svg").get_attribute("aria-label"),
        "paths": explorer.locator("svg polyline").evaluate_all("ls => ls.map(l => l.getAttribute('points'))"),
    }


def set_slider(page, name, value, index=0):
    slider = page.locator(".downhill-explorer").nth(index).get_by_role("slider", name=name, exact=True)
    slider.evaluate(
        "(s, v) => { s.value = v; s.dispatchEvent(new Event('input', {bubbles: true})); }", str(value)
    )


def set_rate(page, value, index=0):
    box = page.locator(".downhill-explorer").nth(index).get_by_label("α, exact value")
    box.fill(str(value))
    box.dispatch_event("change")


def test_chapter_02_explorer_responds_and_reports_divergence(browser, site):
    visit = Visit(browser, site, "chapters/02_gd_intuition.html")
    visit.page.wait_for_selector(".downhill-explorer svg polyline")
    before = explorer_state(visit.page)
    assert "after 20 steps" in before["readout"] and "1.97694" in before["readout"]
    set_rate(visit.page, 0.3)  # (0.9 would land on the same x after 20 steps: |1 - 2α| = 0.8 for both)
    after = explorer_state(visit.page)
    assert after["readout"] != before["readout"] and after["paths"] != before["paths"]
    assert "learning rate 0.3" in after["svg"]
    # The valley's curvature is 2: any rate above 2 / 2 = 1 diverges.
    set_slider(visit.page, "Steps", 200)
    set_rate(visit.page, 1.1)
    assert "diverged" in explorer_state(visit.page)["readout"]
    # Keyboard: focus the learning-rate slider and press an arrow key.
    slider = visit.page.locator(".downhill-explorer").get_by_role(
        "slider", name="Learning rate α (log scale)"
    )
    slider.focus()
    readout = explorer_state(visit.page)["readout"]
    visit.page.keyboard.press("ArrowLeft")
    visit.page.keyboard.press("ArrowLeft")
    assert explorer_state(visit.page)["readout"] != readout
    assert visit.errors == [] and visit.left_localhost == []


LIVE_EXPLORER_PAGES = [
    "chapters/02_gd_intuition.html",
    "chapters/03_learning_rate.html",
    "chapters/05_landscapes.html",
    "chapters/07_optimizers.html",
]


@pytest.mark.parametrize("path", LIVE_EXPLORER_PAGES)
def test_every_control_has_a_visible_label_and_the_state_is_read_out(browser, site, path):
    visit = Visit(browser, site, path)
    visit.page.wait_for_selector(".downhill-explorer svg polyline")
    controls = visit.page.locator(".downhill-explorer input, .downhill-explorer select")
    assert controls.count() >= 4
    # A text readout that assistive technology announces, and a described figure.
    assert visit.page.locator(".downhill-explorer .downhill-readout").first.inner_text().strip()
    assert visit.page.locator(".downhill-explorer svg[role=img]").first.get_attribute("aria-label")
    unlabelled = visit.page.evaluate(
        """[...document.querySelectorAll('.downhill-explorer input, .downhill-explorer select')]
            .filter(c => !(c.labels && c.labels.length && c.labels[0].innerText.trim())).length"""
    )
    assert unlabelled == 0


def test_launch_buttons_point_at_the_configured_repository(browser, site, repository_url):
    visit = Visit(browser, site, "chapters/02_gd_intuition.html")
    hrefs = visit.page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)")
    slug = repository_url.removeprefix("https://github.com/")
    assert any(h.startswith(f"https://mybinder.org/v2/gh/{slug}/main") for h in hrefs)
    assert any(h.startswith(f"https://colab.research.google.com/github/{slug}/blob/main/") for h in hrefs)
    assert (
        repository_url in hrefs
        or f"{repository_url}/" in hrefs
        or any(h.startswith(repository_url) for h in hrefs)
    )


def test_search_finds_momentum(browser, site):
    visit = Visit(browser, site, "search.html?q=momentum")
    visit.page.wait_for_selector("#search-results ul.search li", timeout=15000)
    hits = visit.page.locator("#search-results ul.search li").all_inner_texts()
    assert hits, "searching for 'momentum' found nothing"
    assert visit.errors == []


def test_redraw_latency_is_recorded_for_a_500_step_run(browser, site):
    """Each redraw is timed in the page (window.__downhillTimings); make bench reports the median."""
    visit = Visit(browser, site, "chapters/02_gd_intuition.html")
    visit.page.wait_for_selector(".downhill-explorer svg polyline")
    set_slider(visit.page, "Steps", 500)
    visit.page.evaluate("globalThis.__downhillTimings = []")
    for i in range(20):
        set_rate(visit.page, round(0.05 + 0.04 * i, 3))
    timings = visit.page.evaluate("globalThis.__downhillTimings")
    assert len(timings) == 20
    assert statistics.median(timings) > 0


def test_chapter_03_regimes_explorer_names_each_regime_as_the_rate_moves(browser, site):
    visit = Visit(browser, site, "chapters/03_learning_rate.html")
    visit.page.wait_for_selector(".downhill-explorer svg polyline")
    before = explorer_state(visit.page)
    assert before["readout"].startswith("monotone")  # alpha = 0.1 on curvature 2
    seen = {}
    for rate, expected in [(0.9, "oscillating"), (1.0, "cycling"), (1.1, "diverging")]:
        set_rate(visit.page, rate)
        state = explorer_state(visit.page)
        assert state["readout"].startswith(expected), state["readout"]
        seen[rate] = state["paths"]
    assert len({str(p) for p in [before["paths"], *seen.values()]}) == 4
    assert visit.errors == [] and visit.left_localhost == []


def test_chapter_05_landscape_explorer_converges_then_diverges(browser, site):
    visit = Visit(browser, site, "chapters/05_landscapes.html")
    visit.page.wait_for_selector(".downhill-explorer svg polyline")
    before = explorer_state(visit.page)
    assert before["readout"].startswith("converged")  # plain GD on Himmelblau at 0.001
    set_rate(visit.page, 0.01)
    after = explorer_state(visit.page)
    assert after["readout"] != before["readout"] and after["paths"] != before["paths"]
    set_rate(visit.page, 0.05)  # gdlab says: diverged at step 14
    assert explorer_state(visit.page)["readout"].startswith("diverged")
    assert visit.errors == [] and visit.left_localhost == []


def explorer_index(page, title):
    """The position of the explorer whose group is labelled ``title`` among the page's explorers."""
    titles = page.locator(".downhill-explorer").evaluate_all(
        "es => es.map(e => e.getAttribute('aria-label'))"
    )
    return titles.index(title)


def test_chapter_07_race_responds_and_reports_which_racers_diverge(browser, site):
    visit = Visit(browser, site, "chapters/07_optimizers.html")
    visit.page.wait_for_selector(".downhill-explorer svg polyline")
    race = explorer_index(visit.page, "Optimizer race")
    before = explorer_state(visit.page, race)
    assert "diverged" not in before["readout"]
    set_rate(visit.page, 0.01, race)  # gdlab: SGD and momentum diverge on Rosenbrock, RMSprop and Adam do not
    after = explorer_state(visit.page, race)
    assert after["paths"] != before["paths"]
    lines = dict(line.split(": ", 1) for line in after["readout"].splitlines() if ": " in line)
    diverged = {name.strip("■ ").strip() for name, state in lines.items() if state.startswith("diverged")}
    assert diverged == {"sgd", "momentum"}
    assert visit.errors == [] and visit.left_localhost == []


def test_chapter_07_damping_explorer_names_each_regime_as_momentum_moves(browser, site):
    visit = Visit(browser, site, "chapters/07_optimizers.html")
    visit.page.wait_for_selector(".downhill-explorer svg polyline")
    damper = explorer_index(visit.page, "Momentum damping explorer")
    before = explorer_state(visit.page, damper)
    assert before["readout"].startswith("underdamped")  # μ = 0.9 at αλ = 0.04, as in the chapter
    assert before["svg"] == before["readout"]  # the readout is the figure's alt text
    seen = {}
    for momentum, expected in [(0.64, "critically damped"), (0.3, "overdamped"), (0.0, "overdamped")]:
        set_slider(visit.page, "Momentum μ", momentum, damper)
        state = explorer_state(visit.page, damper)
        assert state["readout"].startswith(expected), state["readout"]
        assert state["svg"] == state["readout"]
        seen[momentum] = state
    assert all("0.64 for αλ = 0.04" in s["readout"] for s in seen.values())  # the critical μ, named
    assert len({str(s["paths"]) for s in [before, *seen.values()]}) == 4  # the iterates are redrawn
    set_slider(visit.page, "Curvature λ", 4, damper)
    set_rate(visit.page, 0.9, damper)  # αλ = 3.6 with μ = 0: the root −2.6 lies outside the unit circle
    assert explorer_state(visit.page, damper)["readout"].startswith("diverging")
    assert visit.errors == [] and visit.left_localhost == []
