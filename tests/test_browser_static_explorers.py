"""Chapters 01, 03, 04 and 08 in the built book: every control of every explorer responds offline.

Debian's chromium opens each page with the network cut off at localhost (the fixtures and
``Visit`` of test_browser.py); every control of each explorer is moved, by its own input
event as a reader's hand would fire it, and the figure AND the readout must change. One
slider per explorer is also moved from the keyboard. In CI these tests must run (see
test_browser.py).
"""

import pytest
from test_browser import Visit, browser, site  # noqa: F401  (the fixtures)

# (page, the explorer's aria-label, what the readout says when the page opens)
EXPLORERS = [
    ("chapters/01_loss_shapes.html", "Loss shapes explorer", "MSE 4.000 (gradient 4.000)"),
    ("chapters/01_loss_shapes.html", "Outlier explorer", "Pulled most: MSE"),
    ("chapters/03_learning_rate.html", "Learning-rate schedule explorer", "largest 0.1 at t = 10"),
    ("chapters/04_gd_variants.html", "Batch-size explorer", "B = 16: 16 updates per epoch"),
    ("chapters/08_regularization.html", "Regularization explorer", "epoch 300 of 300"),
]

# Set a control the way the page's own handlers listen for it, to a value a fraction of its
# range along (the first fraction whose value differs from the current one, once the
# browser has snapped it to the slider's step). Returns the value set, or null.
MOVE = """(c, fractions) => {
  const before = c.type === 'checkbox' ? String(c.checked) : c.value;
  if (c.type === 'checkbox') {
    c.checked = !c.checked;
    c.dispatchEvent(new Event('change', {bubbles: true}));
    return String(c.checked);
  }
  if (c.tagName === 'SELECT') {
    const other = [...c.options].map(o => o.value).find(v => v !== before);
    c.value = other;
    c.dispatchEvent(new Event('input', {bubbles: true}));
    return other;
  }
  if (c.type === 'number') {
    c.value = String(Number(before) * 2);
    c.dispatchEvent(new Event('change', {bubbles: true}));
    return c.value;
  }
  for (const f of fractions) {
    c.value = String(Number(c.min) + f * (Number(c.max) - Number(c.min)));
    if (c.value !== before) {
      c.dispatchEvent(new Event('input', {bubbles: true}));
      return c.value;
    }
  }
  return null;
}"""


def explorer(page, label):
    return page.locator(f'.downhill-explorer[aria-label="{label}"]')


def state(box):
    return {
        "readout": box.locator(".downhill-readout").inner_text(),
        "figure": box.locator("svg").evaluate("s => s.innerHTML"),
        "alt": box.locator("svg").get_attribute("aria-label"),
    }


def visible_controls(box):
    return [
        c
        for c in box.locator("input, select").all()
        # the read-only link box under the figure holds the settings, it is not one of them
        if c.evaluate("c => c.parentElement.style.display !== 'none' && !c.readOnly")
    ]


def move_every_control(box, name, skip=()):
    """Move each visible control once; the figure and the readout must both change."""
    moved = []
    for control in visible_controls(box):
        if control.evaluate("c => c.labels[0].innerText.trim()") in skip:
            continue
        label = control.evaluate("c => c.labels[0].innerText.trim()")
        before = state(box)
        value = control.evaluate(MOVE, [0.3, 0.7, 1.0, 0.0])
        assert value is not None, f"{name}: could not move {label}"
        after = state(box)
        assert after["readout"] != before["readout"], f"{name}: {label} = {value} left the readout as it was"
        assert after["figure"] != before["figure"], f"{name}: {label} = {value} left the figure as it was"
        assert after["alt"], f"{name}: the figure lost its description"
        moved.append(label)
    return moved


@pytest.mark.parametrize("path, label, opening", EXPLORERS, ids=[e[1] for e in EXPLORERS])
def test_every_control_moves_the_figure_and_the_readout_offline(browser, site, path, label, opening):  # noqa: F811
    visit = Visit(browser, site, path)
    box = explorer(visit.page, label)
    box.locator(".downhill-readout", has_text=opening).wait_for()
    # Every control has a visible label, and the figure a description.
    unlabelled = box.evaluate(
        """b => [...b.querySelectorAll('input, select')]
            .filter(c => !(c.labels && c.labels.length && c.labels[0].innerText.trim())).length"""
    )
    assert unlabelled == 0
    assert box.locator("svg[role=img]").get_attribute("aria-label")
    if label == "Learning-rate schedule explorer":
        moved = set()
        schedule = box.get_by_label("Schedule", exact=True)
        for name in schedule.evaluate("s => [...s.options].map(o => o.value)"):
            before = state(box)
            schedule.select_option(name)
            if name != "warmup_cosine":  # the opening schedule
                assert state(box)["figure"] != before["figure"] and name in state(box)["readout"]
            moved |= set(move_every_control(box, f"{label} ({name})", skip=("Schedule",)))
            assert "invalid" not in box.locator(".downhill-readout").inner_text()
        assert len(moved) == 16  # log scale, rate (slider and box), steps and the 12 settings
    else:
        move_every_control(box, label)
    # From the keyboard: focus the first slider and press an arrow key.
    first = box.get_by_role("slider").first
    first.focus()
    before = state(box)
    visit.page.keyboard.press("ArrowLeft" if first.evaluate("s => s.value === s.max") else "ArrowRight")
    assert state(box)["readout"] != before["readout"]
    assert visit.errors == [] and visit.left_localhost == []
    visit.page.close()


def test_the_schedule_explorer_reports_an_invalid_combination_and_keeps_the_last_curve(browser, site):  # noqa: F811
    visit = Visit(browser, site, "chapters/03_learning_rate.html")
    box = explorer(visit.page, "Learning-rate schedule explorer")
    box.locator("svg polyline").first.wait_for()
    before = state(box)
    warmup = box.get_by_role("slider", name="warmup_steps", exact=True)
    warmup.evaluate("s => { s.value = 150; s.dispatchEvent(new Event('input', {bubbles: true})); }")
    after = state(box)
    assert (
        after["readout"].startswith("invalid")
        and "must be smaller than total_steps (100)" in after["readout"]
    )
    assert after["figure"] == before["figure"]
    assert visit.errors == []
    visit.page.close()


def test_the_outlier_slider_and_the_plot_agree(browser, site):  # noqa: F811
    # The symptom: the slider read 8 while the plot still showed 4 outliers.
    visit = Visit(browser, site, "chapters/01_loss_shapes.html")
    box = explorer(visit.page, "Outlier explorer")
    box.locator("svg path").first.wait_for(state="attached")
    assert box.locator("svg path").count() == 4  # each outlier is drawn as a cross
    box.get_by_role("slider", name="Outliers", exact=True).evaluate(
        "s => { s.value = 8; s.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    assert box.locator("svg path").count() == 8
    assert "8 outliers shifted up by 20" in box.locator("svg").evaluate("s => s.textContent")
    visit.page.close()
