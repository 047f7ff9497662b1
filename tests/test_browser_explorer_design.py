# ruff: noqa: F811 (the fixtures of test_browser.py are imported, then asked for by name)
"""The live explorers' shared design, in chromium on the built book with the network cut off.

The tables come from Python (the page embeds gdlab's), a typed formula is drawn or
explained, a link reproduces the settings (and several explorers on a page keep their own),
the figure's alt text is its readout, and every control is labelled and reachable from the
keyboard. Fixtures: tests/test_browser.py.
"""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from test_browser import Visit, browser, explorer_state, set_rate, set_slider, site  # noqa: F401

from gdlab.widgets.live import CurveExplorer, LandscapeExplorer, tables

PAGES = {
    "curve": "chapters/02_gd_intuition.html",
    "regimes": "chapters/03_learning_rate.html",
    "surface": "chapters/05_landscapes.html",
    "race": "chapters/07_optimizers.html",
}
STATE = re.compile(r'(<script type="application/vnd.jupyter.widget-state\+json">)(.*?)(</script>)', re.S)
VIEW = re.compile(r'<script type="application/vnd.jupyter.widget-view\+json">(.*?)</script>', re.S)


def explorer(page, kind, index=0):
    return page.locator(f'.downhill-explorer[data-kind="{kind}"]').nth(index)


def open_explorer(browser, site, path, kind):
    visit = Visit(browser, site, path)
    visit.page.wait_for_selector(f'.downhill-explorer[data-kind="{kind}"] svg polyline')
    return visit


def type_formula(root, text):
    box = root.get_by_label(re.compile("^Your formula"))
    box.fill(text)
    box.press("Enter")


def settings_in(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def wait_for_address(page, key):
    page.wait_for_function("k => new URL(location.href).searchParams.has(k)", arg=key)


def embedded(built_book, path):
    """A built page's HTML and the widget state it embeds (every model, by id)."""
    html = (built_book / path).read_text(encoding="utf-8")
    return html, json.loads(STATE.search(html).group(2))["state"]


def with_state(html, state):
    """The page with ``state`` embedded in place of its own."""
    document = json.loads(STATE.search(html).group(2))
    document["state"] = state
    return STATE.sub(lambda m: m.group(1) + json.dumps(document) + m.group(3), html, count=1)


def explorer_models(state, kind):
    return {mid: m for mid, m in state.items() if m["state"].get("kind") == kind}


@pytest.mark.parametrize("kind", PAGES)
def test_the_page_embeds_gdlabs_tables_and_draws_with_its_palette(browser, site, built_book, kind):
    _, state = embedded(built_book, PAGES[kind])
    models = explorer_models(state, kind)
    assert models and all(m["state"]["tables"] == tables() for m in models.values())
    visit = open_explorer(browser, site, PAGES[kind], kind)
    root = explorer(visit.page, kind)
    strokes = set(root.locator("svg polyline").evaluate_all("ls => ls.map(l => l.getAttribute('stroke'))"))
    palette = tables()
    assert strokes - {"none"} <= set(palette["sequence"]) | set(palette["palette"].values())
    assert visit.errors == [] and visit.left_localhost == []


@pytest.mark.parametrize("kind", PAGES)
def test_alt_text_is_the_readout_and_every_control_is_labelled_and_reachable_by_tab(browser, site, kind):
    visit = open_explorer(browser, site, PAGES[kind], kind)
    root = explorer(visit.page, kind)
    readout = root.locator(".downhill-readout").evaluate("r => r.textContent")
    alt = root.locator("svg[role=img]").get_attribute("aria-label")
    if kind == "race":  # one line per racer, read as one sentence
        for line in root.locator(".downhill-readout").inner_text().splitlines():
            assert line.replace("■ ", "") in alt
    else:
        assert readout and alt.endswith(readout)
    controls = root.locator("input, select, button")
    unlabelled = controls.evaluate_all(
        """cs => cs.filter(c => c.tagName === 'BUTTON' ? !c.textContent.trim()
                 : !(c.labels && c.labels.length && c.labels[0].innerText.trim())).length"""
    )
    assert unlabelled == 0
    # Tab from the first control visits every one of them in turn.
    count = controls.count()
    controls.first.focus()
    seen = set()
    for _ in range(count):
        seen.add(visit.page.evaluate("document.activeElement.id || document.activeElement.textContent"))
        visit.page.keyboard.press("Tab")
    assert len(seen) == count
    assert visit.errors == []


@pytest.mark.parametrize("kind", PAGES)
def test_nothing_animates_even_without_reduced_motion(browser, site, kind):
    visit = open_explorer(browser, site, PAGES[kind], kind)
    visit.page.emulate_media(reduced_motion="reduce")
    set_rate(visit.page, 0.01, index=0) if kind != "regimes" else set_rate(visit.page, 0.5)
    running = visit.page.evaluate(
        "[...document.querySelectorAll('.downhill-explorer')]"
        ".flatMap(e => e.getAnimations({subtree: true})).length"
    )
    assert running == 0


def test_a_typed_formula_is_drawn_and_equals_gdlab_and_a_bad_one_leaves_the_picture(browser, site):
    visit = open_explorer(browser, site, PAGES["curve"], "curve")
    root = explorer(visit.page, "curve")
    set_rate(visit.page, 0.01)
    set_slider(visit.page, "Start x₀", 2.5)
    set_slider(visit.page, "Steps", 200)
    root.get_by_label(re.compile("^Your formula")).focus()
    visit.page.keyboard.type("x^4 - 8*x^2 + x")
    visit.page.keyboard.press("Enter")
    state = explorer_state(visit.page)
    run = CurveExplorer(formula="x^4 - 8*x^2 + x", x0=2.5, lr=0.01, steps=200).trajectory()
    assert f"x = {float(f'{run.final[0]:.6g}')}" in state["readout"], (state["readout"], run.summary())
    assert "f(x) = x^4 - 8*x^2 + x" in state["svg"]
    for bad, message in [
        ("x^4 - 8*x^2 +", "expected a number, a name or '(' at character 14, found the end"),
        ("x^4 - 8*y", "unknown name 'y' at character 9"),
        ("log(x - 3)", "the formula is not finite at the start"),
    ]:
        type_formula(root, bad)
        assert message in root.locator(".downhill-formula output").inner_text()
        assert explorer_state(visit.page) == state, "a formula that fails must leave the picture as it was"
    # Choosing a named function leaves the typed formula.
    root.get_by_label("Function").select_option("bowl")
    assert "L(w) = (w − 3)²" in explorer_state(visit.page)["svg"]
    assert root.get_by_label(re.compile("^Your formula")).input_value() == ""
    assert visit.errors == [] and visit.left_localhost == []


def test_a_typed_surface_follows_gdlab_on_the_landscape_page(browser, site):
    visit = open_explorer(browser, site, PAGES["surface"], "surface")
    root = explorer(visit.page, "surface")
    root.get_by_label("Optimizer").select_option("momentum")
    set_slider(visit.page, "Start x", -1.5)
    set_slider(visit.page, "Start y", 2.0)
    type_formula(root, "(1 - x)^2 + 100*(y - x^2)^2")
    run = LandscapeExplorer(
        formula="(1 - x)^2 + 100*(y - x^2)^2", x0=(-1.5, 2.0), optimizer="momentum", lr=0.001, steps=500
    ).trajectory()
    where = ", ".join(str(float(f"{v:.5g}")) for v in run.final)
    assert f"({where})" in explorer_state(visit.page)["readout"]
    assert visit.errors == []


def test_a_link_reproduces_what_the_reader_sees(browser, site):
    visit = open_explorer(browser, site, PAGES["surface"], "surface")
    root = explorer(visit.page, "surface")
    root.get_by_label("Optimizer").select_option("adam")
    set_slider(visit.page, "Start y", 1.5)
    set_rate(visit.page, 0.05)
    type_formula(root, "x^2 + 3*sin(y)^2")
    wait_for_address(visit.page, "surface0.formula")
    visit.page.wait_for_function("() => new URL(location.href).searchParams.get('surface0.lr') === '0.05'")
    seen = explorer_state(visit.page)
    assert settings_in(visit.page.url) == {
        "surface0.optimizer": "adam",
        "surface0.x0": "-4,1.5",
        "surface0.lr": "0.05",
        "surface0.formula": "x^2 + 3*sin(y)^2",
    }
    root.get_by_role("button", name="Copy a link to these settings").click()
    copied = root.get_by_label("Link to these settings").input_value()
    assert settings_in(copied) == settings_in(visit.page.url)
    for link in (visit.page.url, copied):
        again = Visit(browser, site, link.split("/", 3)[3])
        again.page.wait_for_selector('.downhill-explorer[data-kind="surface"] svg polyline')
        again.page.wait_for_function(
            "() => document.querySelector('.downhill-explorer svg').ariaLabel.includes('adam')"
        )
        restored = explorer(again.page, "surface")
        assert explorer_state(again.page) == seen
        assert restored.get_by_label("Optimizer").input_value() == "adam"
        assert restored.get_by_label(re.compile("^Your formula")).input_value() == "x^2 + 3*sin(y)^2"
        assert again.errors == [] and again.left_localhost == []
        again.page.close()


def test_a_link_with_a_setting_it_cannot_use_says_so_and_draws_the_rest(browser, site):
    visit = Visit(browser, site, PAGES["curve"] + "?curve0.lr=-1&curve0.steps=50&curve0.function=everest")
    visit.page.wait_for_selector(".downhill-explorer svg polyline")
    root = explorer(visit.page, "curve")
    visit.page.wait_for_function("() => document.querySelector('.downhill-link output').textContent !== ''")
    said = root.locator(".downhill-link output").inner_text()
    assert "lr (Invalid learning rate: -1)" in said and "function (unknown function everest)" in said
    assert "after 50 steps" in explorer_state(visit.page)["readout"]
    assert visit.errors == []


def _page_with(built_book, path, name, edit):
    """A copy of a built page whose embedded state ``edit`` changed, next to it in the book."""
    html, state = embedded(built_book, path)
    html = edit(html, state)
    copy = built_book / path.replace(".html", f"_{name}.html")
    copy.write_text(html, encoding="utf-8")
    return copy


def _second_explorer(html, state):
    """The same page with a second Loss Landscape Explorer, at another rate, after the first."""
    (model_id, model), *_ = explorer_models(state, "surface").items()
    twin = json.loads(json.dumps(model))
    twin["state"]["lr"] = 0.002
    state["twin" + model_id[4:]] = twin
    view = next(m for m in VIEW.finditer(html) if json.loads(m.group(1))["model_id"] == model_id)
    tag = view.group(0).replace(model_id, "twin" + model_id[4:])
    html = html[: view.end()] + f'<div class="cell_output">{tag}</div>' + html[view.end() :]
    return with_state(html, state)


BOTH_DRAWN = """() => [...document.querySelectorAll('.downhill-explorer[data-kind=surface]')]
    .filter(e => e.querySelector('svg polyline')).length === 2"""


def test_two_explorers_of_one_kind_on_a_page_keep_their_own_settings_in_the_link(browser, site, built_book):
    copy = _page_with(built_book, PAGES["surface"], "twins", _second_explorer)
    try:
        path = str(copy.relative_to(built_book))
        visit = Visit(browser, site, path)
        visit.page.wait_for_function(BOTH_DRAWN)
        set_rate(visit.page, 0.01, index=1)
        wait_for_address(visit.page, "surface1.lr")
        assert settings_in(visit.page.url) == {"surface1.lr": "0.01"}
        again = Visit(browser, site, path + "?surface0.steps=40&surface1.optimizer=nesterov")
        again.page.wait_for_function(BOTH_DRAWN)
        first, second = explorer(again.page, "surface", 0), explorer(again.page, "surface", 1)
        again.page.wait_for_function(
            "() => [...document.querySelectorAll('select')].some(s => s.value === 'nesterov')"
        )
        assert first.get_by_label("Optimizer").input_value() == "sgd"
        assert second.get_by_label("Optimizer").input_value() == "nesterov"
        assert first.get_by_role("slider", name="Steps", exact=True).input_value() == "40"
        assert second.get_by_role("slider", name="Steps", exact=True).input_value() == "500"
        assert "learning rate 0.002" in second.locator("svg").get_attribute("aria-label")
        assert visit.errors == [] and again.errors == []
    finally:
        copy.unlink()


def test_a_hyperparameter_the_browser_does_not_implement_is_refused_in_the_explorer(
    browser, site, built_book
):
    def unknown_hyperparameter(html, state):
        for model in explorer_models(state, "surface").values():
            model["state"]["tables"]["presets"]["sgd"]["hyper"]["maximize"] = True
        return with_state(html, state)

    copy = _page_with(built_book, PAGES["surface"], "refused", unknown_hyperparameter)
    try:
        visit = Visit(browser, site, str(copy.relative_to(built_book)))
        visit.page.wait_for_selector(
            '.downhill-explorer[data-kind="surface"] .downhill-readout[data-status="error"]'
        )
        said = explorer(visit.page, "surface").locator(".downhill-readout").inner_text()
        assert said == "Cannot draw this: the browser's sgd does not implement the hyperparameter maximize"
    finally:
        copy.unlink()
