"""The live explorers, driven headless from Python: traits in, gdlab's run out.

What the browser draws is checked against gdlab in test_explorers_js.py and in a real
browser in test_browser.py; here, the Python side a notebook uses.
"""

import anywidget
import numpy as np
import pytest

from gdlab.widgets import CurveExplorer, LandscapeExplorer, OptimizerRace, RegimeExplorer
from gdlab.widgets.batch_size import BatchSizeExplorer
from gdlab.widgets.learning_rate import ScheduleExplorer
from gdlab.widgets.loss_shapes import LossShapesExplorer, OutlierExplorer


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


def test_a_typed_formula_replaces_the_named_function_and_an_empty_one_gives_it_back():
    explorer = CurveExplorer(function="double_well", x0=2.5, lr=0.01, steps=200)
    named = explorer.trajectory()
    explorer.formula = "x^4 - 8*x^2 + x"  # the double well, typed
    np.testing.assert_allclose(explorer.trajectory().positions, named.positions, rtol=1e-12)
    explorer.formula = "(x - 1)^2"
    # each step multiplies the distance to 1 by 1 - 2α = 0.98
    assert explorer.trajectory().final[0] == pytest.approx(1 + 1.5 * 0.98**200, rel=1e-9)
    explorer.formula = ""
    assert explorer.landscape().name == "double_well"
    surface = LandscapeExplorer(formula="x^2 + 10*y^2", x0=(2.0, 1.0), lr=0.05, steps=500)
    assert surface.trajectory().converged and np.allclose(surface.trajectory().final, 0.0, atol=1e-6)


def test_each_explorer_names_the_settings_a_link_reproduces():
    for explorer, names in [
        (CurveExplorer(), {"function", "formula", "x0", "lr", "steps"}),
        (RegimeExplorer(), {"curvature", "x0", "lr", "steps"}),
        (LandscapeExplorer(), {"function", "formula", "optimizer", "x0", "lr", "steps"}),
        (OptimizerRace(), {"function", "racers", "x0", "lr", "steps"}),
    ]:
        assert set(explorer.url_traits) == names and explorer.get_state()["url_traits"] == explorer.url_traits
        explorer.close()


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
        (
            lambda: CurveExplorer(formula="x^4 - 8*x^2 +"),
            "expected a number, a name or '\\(' at character 14",
        ),
        (lambda: CurveExplorer(formula="x + y"), "unknown name 'y'"),
        (lambda: LandscapeExplorer(formula="x * z"), "unknown name 'z'"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# --- every widget, under ipywidgets 7 (Colab) and 8 --------------------------------------------
# tests/test_colab.py runs this file again with Colab's ipywidgets 7.7.1.


def _dashboard():
    from gdlab.curves import History
    from gdlab.widgets.dashboard import TrainingDashboard

    dashboard = TrainingDashboard(parameters=1234, epochs=10, interval=0)
    dashboard.update(
        History(train_loss=[1.0, 0.5], val_loss=[1.2, 0.6], lr=[0.1, 0.1], stopped_reason="running")
    )
    return dashboard.widget, dashboard.status, "value", "Epoch 2 of 10"


def _live_training():
    from gdlab.widgets.dashboard import LiveTraining

    live = LiveTraining(hidden=4, n_train=16, lr=0.05, epochs=10)
    live.train()
    live.epochs = 20
    return live, live, "epochs", 20


def _regularization():
    import torch

    from gdlab import data
    from gdlab.regularization import precompute_grid
    from gdlab.widgets.regularization import RegularizationExplorer

    def pair(regression):
        x = torch.as_tensor(regression.X, dtype=torch.float32)
        return x, torch.as_tensor(regression.y, dtype=torch.float32).unsqueeze(1)

    grid = precompute_grid(
        lambda dropout: torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)),
        pair(data.polynomial(n=12, noise=0.3, seed=0)),
        pair(data.polynomial(n=20, noise=0.3, seed=1)),
        np.linspace(-1, 1, 11),
        weight_decays=(0.0, 1.0),
        dropouts=(0.0,),
        epochs=3,
    )
    explorer = RegularizationExplorer(grid)
    explorer.weight_decay = 1.0
    return explorer, explorer, "weight_decay", 1.0


def _explorer(make, trait, value):
    def build():
        explorer = make()
        setattr(explorer, trait, value)
        return explorer, explorer, trait, value

    return build


WIDGETS = {
    "LossShapesExplorer": _explorer(LossShapesExplorer, "delta", 3.0),
    "OutlierExplorer": _explorer(OutlierExplorer, "count", 6),
    "ScheduleExplorer": _explorer(ScheduleExplorer, "schedule", "cosine"),
    "BatchSizeExplorer": _explorer(BatchSizeExplorer, "batch_size", 64),
    "TrainingDashboard": _dashboard,
    "LiveTraining": _live_training,
    "RegularizationExplorer": _regularization,
    "CurveExplorer": _explorer(CurveExplorer, "lr", 0.9),
    "CurveExplorer with a formula": _explorer(CurveExplorer, "formula", "x^4 - 8*x^2 + x"),
    "RegimeExplorer": _explorer(RegimeExplorer, "curvature", 4.0),
    "LandscapeExplorer": _explorer(LandscapeExplorer, "optimizer", "adam"),
    "OptimizerRace": _explorer(OptimizerRace, "racers", ["sgd", "adam"]),
}


@pytest.mark.usefixtures("small_torch")
@pytest.mark.parametrize("name", WIDGETS)
def test_every_widget_embeds_its_changed_state_in_a_static_page(name, tmp_path):
    """Built, changed as a reader would, then saved as a page: the page holds the new state."""
    from ipywidgets.embed import embed_data, embed_minimal_html

    widget, changed, key, expected = WIDGETS[name]()
    data = embed_data(views=[widget])
    state = data["manager_state"]["state"]
    assert data["view_specs"][0]["model_id"] == widget.model_id
    assert changed.model_id in state, "the changed view is missing from the embedded state"
    held = state[changed.model_id]["state"][key]
    assert expected in held if isinstance(held, str) else held == expected
    if isinstance(widget, anywidget.AnyWidget):
        assert "export default" in state[widget.model_id]["state"]["_esm"], "the page needs the JS module"
    page = tmp_path / "page.html"
    embed_minimal_html(page, views=[widget], title=name)
    assert widget.model_id in page.read_text(encoding="utf-8")
