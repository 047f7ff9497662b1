"""Chapter 06's training explorer in the built book, in chromium with the network cut off.

The page has no kernel: every control must redraw the recorded run for its settings, Train
must replay it epoch by epoch up to the last epoch, and settings between the recorded ones
must say which run is shown. Uses the fixtures of tests/test_browser.py (it skips, or fails
in CI, where chromium is missing).
"""

import re

from test_browser import Visit, browser, site  # noqa: F401  (fixtures)

PAGE = "chapters/06_loss_curves.html"
EXPLORER = '.downhill-explorer[aria-label="Training explorer"]'


def open_explorer(browser, site, **options):  # noqa: F811
    visit = Visit(browser, site, PAGE) if not options else _visit_with(browser, site, **options)
    visit.page.wait_for_selector(f"{EXPLORER} svg polyline")
    return visit, visit.page.locator(EXPLORER)


def _visit_with(browser, site, **options):  # noqa: F811
    # A context of its own (reduced motion), with the same offline routing as Visit.
    context = browser.new_context(**options)
    original = browser.new_page
    browser_page = context.new_page
    try:
        browser.new_page = browser_page
        return Visit(browser, site, PAGE)
    finally:
        browser.new_page = original


def state(explorer):
    return {
        "readout": explorer.locator(".downhill-readout").inner_text(),
        "figure": explorer.locator("svg").get_attribute("aria-label"),
        "lines": explorer.locator("svg polyline").evaluate_all("ls => ls.map(l => l.getAttribute('points'))"),
        "cards": explorer.locator(".downhill-card").all_inner_texts(),
        "epoch": explorer.get_attribute("data-epoch"),
        "total": explorer.get_attribute("data-total"),
        "note": explorer.locator(".downhill-note").inner_text(),
    }


def move(explorer, name, value):
    control = explorer.get_by_label(name, exact=True)
    if control.evaluate("c => c.tagName") == "SELECT":
        control.select_option(str(value))  # as a reader picks an option: "input", then "change"
    else:
        control.evaluate(
            "(c, v) => { c.value = v; c.dispatchEvent(new Event('input', {bubbles: true})); }", str(value)
        )


def set_rate(explorer, value):
    box = explorer.get_by_label("α, exact value")
    box.fill(str(value))
    box.dispatch_event("change")


def changed(before, after):
    return (
        after["readout"] != before["readout"]
        and after["figure"] != before["figure"]
        and after["lines"] != before["lines"]
    )


def test_every_control_redraws_the_recorded_run_and_train_replays_it_to_the_last_epoch(browser, site):  # noqa: F811
    visit, explorer = open_explorer(browser, site)
    first = state(explorer)
    assert first["epoch"] == first["total"] == "150" and "Diagnosis: good" in first["readout"]
    assert explorer.get_by_role("button", name="Train").is_enabled()
    steps = [
        ("Hidden units per layer", "128"),
        ("Training points", "20"),
        ("Learning rate α (log scale)", "-2.301"),  # 10^-2.301 = 0.005
        ("Epochs", "600"),
    ]
    before = first
    for name, value in steps:
        move(explorer, name, value)
        after = state(explorer)
        assert changed(before, after), name
        before = after
    # The log slider gives α = 10^-2.301 = 0.0050003, between recorded rates: the page says so.
    assert "nearest recorded one" in before["note"]
    set_rate(explorer, 0.005)
    before = state(explorer)
    # 128 units, 20 points, α = 0.005, 600 epochs: the chapter's overfitting run.
    assert before["total"] == "600" and "Diagnosis: overfitting" in before["readout"]
    assert "16,897" in " ".join(before["cards"]) and "nearest recorded" not in before["note"]
    assert "replays runs recorded when the book was built" in before["note"]
    set_rate(explorer, 0.3)
    after = state(explorer)
    assert changed(before, after) and "α = 0.3" in after["readout"]

    # Train replays epoch by epoch: record every epoch the explorer shows.
    visit.page.evaluate(
        """root => {
            globalThis.__epochs = [];
            new MutationObserver(() => globalThis.__epochs.push(Number(root.dataset.epoch)))
                .observe(root, {attributes: true, attributeFilter: ['data-epoch']});
        }""",
        explorer.element_handle(),
    )
    explorer.get_by_role("button", name="Train").click()
    visit.page.wait_for_function(f"document.querySelector('{EXPLORER}').dataset.replay === 'done'")
    seen = visit.page.evaluate("globalThis.__epochs")
    assert seen[0] < 100 and seen[-1] == 600 and len(set(seen)) > 10, seen
    assert seen == sorted(seen)
    done = state(explorer)
    assert done["epoch"] == "600" and re.search(r"after 600 epochs\. Diagnosis: \w+", done["readout"])
    assert "600 of 600" in explorer.locator("output").all_inner_texts()
    assert visit.errors == [] and visit.left_localhost == []


def test_settings_between_the_recorded_ones_snap_and_the_page_says_so(browser, site):  # noqa: F811
    visit, explorer = open_explorer(browser, site)
    move(explorer, "Training points", 50)  # nearest on a log scale: 20 (2.5 times fewer), not 200
    move(explorer, "Epochs", 150)
    snapped = state(explorer)
    assert "nearest recorded one" in snapped["note"] and "20 training points" in snapped["note"]
    move(explorer, "Training points", 20)
    exact = state(explorer)
    assert "nearest" not in exact["note"] and exact["lines"] == snapped["lines"]  # the same recorded run
    move(explorer, "Hidden units per layer", 1)
    move(explorer, "Training points", 200)
    assert "Diagnosis: underfitting" in state(explorer)["readout"]  # one unit per layer
    assert visit.errors == []


def test_the_controls_are_labelled_and_work_from_the_keyboard(browser, site):  # noqa: F811
    visit, explorer = open_explorer(browser, site)
    unlabelled = explorer.evaluate(
        """root => [...root.querySelectorAll('input, select, progress')]
            .filter(c => !(c.labels && c.labels.length && c.labels[0].innerText.trim())).length"""
    )
    assert unlabelled == 0 and explorer.get_by_role("button", name="Train").inner_text() == "Train"
    assert explorer.locator("svg[role=img]").get_attribute("aria-label").startswith("Training loss")
    before = state(explorer)
    explorer.get_by_role("slider", name="Epochs").focus()
    visit.page.keyboard.press("ArrowRight")
    after = state(explorer)
    assert after["total"] == "160" and changed(before, after)
    explorer.get_by_role("button", name="Train").focus()
    visit.page.keyboard.press("Enter")
    visit.page.wait_for_function(f"document.querySelector('{EXPLORER}').dataset.replay === 'done'")
    assert state(explorer)["epoch"] == "160"


def test_with_reduced_motion_train_shows_the_last_epoch_at_once(browser, site):  # noqa: F811
    visit, explorer = open_explorer(browser, site, reduced_motion="reduce")
    visit.page.evaluate(
        """root => {
            globalThis.__epochs = [];
            new MutationObserver(() => globalThis.__epochs.push(Number(root.dataset.epoch)))
                .observe(root, {attributes: true, attributeFilter: ['data-epoch']});
        }""",
        explorer.element_handle(),
    )
    explorer.get_by_role("button", name="Train").click()
    assert explorer.get_attribute("data-replay") == "done"
    assert set(visit.page.evaluate("globalThis.__epochs")) <= {150}


def test_page_06_with_its_recorded_runs_weighs_at_most_1_mb(built_book):
    page = built_book / PAGE
    text = page.read_text()
    images = {m for m in re.findall(r'<img[^>]+src="([^"]+)"', text) if not m.startswith("data:")}
    size = len(text.encode()) + sum((page.parent / src).stat().st_size for src in images)
    assert size <= 1024 * 1024, f"{PAGE} weighs {size / 1024:.0f} KB"
