"""The explorers, driven headless the way a reader drives them: set a control, read the result."""

import re

import pytest

from gdlab.widgets import Explorer1D


def test_explorer_starts_with_the_valley_run_of_chapter_02():
    explorer = Explorer1D()
    assert explorer.trajectory.steps_taken == 20
    assert round(float(explorer.trajectory.final[0]), 4) == 1.9769
    assert "after 20 steps" in explorer.readout.value


def test_changing_the_learning_rate_recomputes_and_redraws():
    explorer = Explorer1D(function="bowl", lr=0.1, steps=50)
    before_image, before_path = explorer.figure_view.value, explorer.trajectory.positions.copy()
    explorer.lr.value = 0.9
    assert explorer.trajectory.lr == pytest.approx(0.9)
    assert explorer.figure_view.value != before_image
    assert (
        explorer.trajectory.positions.shape != before_path.shape
        or (explorer.trajectory.positions != before_path).any()
    )


def test_a_rate_above_the_critical_one_reads_diverged():
    # On (w - 3)^2 the curvature is 2, so every rate above 2 / 2 = 1 diverges.
    explorer = Explorer1D(function="bowl", lr=0.5, steps=200)
    explorer.lr.value = 1.2
    assert explorer.trajectory.diverged
    assert "diverged" in explorer.readout.value
    explorer.lr.value = 0.5
    assert "converged" in explorer.readout.value


def test_every_control_has_a_visible_label_and_the_figure_has_alt_text():
    explorer = Explorer1D()
    for control in (explorer.function, explorer.x0, explorer.lr, explorer.steps):
        assert control.description.strip()
    alt = re.search(r'alt="([^"]+)"', explorer.figure_view.value).group(1)
    assert "learning rate 0.1" in alt and "Status: running" in alt
    assert 'role="status"' in explorer.readout.value


def test_function_and_steps_controls_take_effect():
    explorer = Explorer1D()
    explorer.function.value = "double_well"
    explorer.x0.value = 2.5
    explorer.lr.value = 0.01
    explorer.steps.value = 200
    # From x0 = 2.5 the run settles in the right-hand (local, not global) minimum.
    assert explorer.trajectory.final[0] == pytest.approx(1.96798540068, abs=1e-6)
    assert "x⁴" in explorer.figure_view.value


def test_unknown_function_is_refused():
    with pytest.raises(ValueError, match="function must be one of"):
        Explorer1D(function="everest")
