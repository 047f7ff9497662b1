"""The live explorers, driven headless from Python: traits in, gdlab's run out.

What the browser draws is checked against gdlab in test_explorers_js.py and in a real
browser in test_browser.py; here, the Python side a notebook uses.
"""

import pytest

from gdlab.widgets import CurveExplorer, LandscapeExplorer, OptimizerRace, RegimeExplorer


def test_curve_explorer_opens_on_the_valley_walk_of_chapter_02():
    explorer = CurveExplorer()
    run = explorer.trajectory()
    assert explorer.kind == "curve" and run.steps_taken == 20
    assert round(float(run.final[0]), 4) == 1.9769


def test_setting_a_trait_changes_the_run():
    explorer = CurveExplorer(function="bowl", lr=0.1, steps=50)
    before = explorer.trajectory()
    explorer.lr = 0.9
    after = explorer.trajectory()
    assert (
        after.lr == pytest.approx(0.9) and (after.positions != before.positions[: len(after.positions)]).any()
    )
    # On (w - 3)^2 the curvature is 2, so every rate above 2 / 2 = 1 diverges.
    explorer.lr = 1.2
    explorer.steps = 200
    assert explorer.trajectory().status == "diverged"


def test_regime_explorer_names_each_regime_from_alpha_times_lambda():
    explorer = RegimeExplorer(lr=0.1, curvature=2.0)
    expected = {0.1: "monotone", 0.5: "monotone", 0.75: "oscillating", 1.0: "cycling", 1.1: "diverging"}
    for lr, regime in expected.items():
        explorer.lr = lr
        assert explorer.regime == regime
    explorer.lr = 1.1
    explorer.steps = 500
    assert explorer.trajectory().diverged


def test_landscape_explorer_and_race_follow_their_optimizers():
    explorer = LandscapeExplorer(function="himmelblau", x0=(-4.0, -4.0), optimizer="sgd", lr=0.001, steps=500)
    assert explorer.trajectory().converged
    explorer.optimizer = "adam"
    assert explorer.trajectory().optimizer == "adam"
    race = OptimizerRace(function="rosenbrock", racers=("sgd", "momentum"), lr=0.001, steps=1000)
    runs = race.trajectories()
    assert set(runs) == {"sgd", "momentum"}
    assert runs["momentum"].losses[-1] < runs["sgd"].losses[-1]


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: CurveExplorer(function="everest"), "function must be one of"),
        (lambda: CurveExplorer(lr=-0.1), "Invalid learning rate"),
        (lambda: CurveExplorer(steps=0), "steps must be between"),
        (lambda: RegimeExplorer(curvature=0.0), "curvature must be positive"),
        (lambda: LandscapeExplorer(optimizer="lion"), "unknown optimizer"),
        (lambda: LandscapeExplorer(function="valley"), "function must be one of"),
        (lambda: OptimizerRace(racers=()), "at least one"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()
