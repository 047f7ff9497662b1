"""Chapter 03's explorers, driven headless the way a reader drives them: set a control, read the result."""

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlab import schedules
from gdlab.regimes import REGIMES, parabola_run, path_regime, regime
from gdlab.widgets import RegimeExplorer
from gdlab.widgets.learning_rate import SCHEDULES, SETTINGS, TABLE, ScheduleExplorer

# --- the regimes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "lr,curvature,expected",
    [
        (0.1, 2.0, "monotone"),
        (0.5, 2.0, "monotone"),  # alpha * lambda = 1: one step to the minimum
        (0.9, 2.0, "oscillating"),
        (1.0, 2.0, "cycling"),
        (0.5, 4.0, "cycling"),
        (1.1, 2.0, "diverging"),
        (0.01, 0.5, "monotone"),
        (2.5, 0.8, "cycling"),
    ],
)
def test_regime_is_decided_by_the_product_of_rate_and_curvature(lr, curvature, expected):
    assert regime(lr, curvature) == expected


@settings(max_examples=200, deadline=None)
@given(lr=st.floats(0.01, 2.5), curvature=st.floats(0.5, 4.0))
def test_the_path_of_a_real_run_shows_the_regime_that_alpha_lambda_predicts(lr, curvature):
    _, run = parabola_run(lr, curvature, x0=1.0, steps=20)
    observed = "diverging" if run.diverged else path_regime(run.positions[:, 0])
    assert observed == regime(lr, curvature)


def test_regime_refuses_non_positive_inputs():
    for lr, curvature in [(0.0, 2.0), (0.1, -1.0), (float("nan"), 2.0)]:
        with pytest.raises(ValueError, match="must be positive"):
            regime(lr, curvature)


# The regimes explorer computes in the browser (tests/test_explorers_js.py checks its
# JavaScript against gdlab); here its Python side, as the chapter drives it.


def test_explorer_opens_monotone_and_the_path_agrees():
    explorer = RegimeExplorer(lr=0.1, curvature=2.0, x0=1.0, steps=20)
    assert explorer.regime == explorer.observed == "monotone"


def test_alpha_lambda_equal_to_two_reads_cycling_and_the_path_bounces_forever():
    explorer = RegimeExplorer(lr=0.5, curvature=2.0, x0=1.0, steps=30)
    explorer.lr = 1.0
    assert explorer.regime == explorer.observed == "cycling"
    run = explorer.trajectory()
    assert set(run.positions[:, 0].tolist()) == {1.0, -1.0} and run.steps_taken == 30


def test_above_two_reads_diverging_and_below_one_again_monotone():
    explorer = RegimeExplorer(lr=0.5, curvature=2.0, x0=1.0, steps=60)
    explorer.lr = 1.2
    assert explorer.regime == explorer.observed == "diverging"
    assert explorer.trajectory().diverged
    explorer.lr = 0.3
    assert explorer.regime == explorer.observed == "monotone"


def test_the_curvature_control_moves_the_boundaries():
    explorer = RegimeExplorer(lr=0.6, curvature=2.0)
    assert explorer.regime == explorer.observed == "oscillating"
    explorer.curvature = 4.0  # alpha * lambda = 2.4
    assert explorer.regime == explorer.observed == "diverging"
    explorer.curvature = 1.0  # 0.6
    assert explorer.regime == explorer.observed == "monotone"


def test_one_step_to_the_minimum_at_alpha_lambda_one():
    explorer = RegimeExplorer(lr=0.5, curvature=2.0, x0=1.0)
    run = explorer.trajectory()
    assert explorer.regime == explorer.observed == "monotone"
    assert run.positions[1, 0] == 0.0 and run.converged_at == 1


def test_regime_explorer_refuses_bad_rates_and_curvatures():
    with pytest.raises(ValueError, match="learning rate"):
        RegimeExplorer(lr=-0.1)
    with pytest.raises(ValueError, match="curvature must be positive"):
        RegimeExplorer(curvature=0.0)


def test_regime_names_are_the_four_of_the_chapter():
    assert REGIMES == ("monotone", "oscillating", "cycling", "diverging")


# --- the schedules -------------------------------------------------------------------
# The schedule explorer computes in the browser; test_explorers_js_static.py checks its
# JavaScript against gdlab.schedules. Here its Python side, as the chapter drives it.


@pytest.mark.parametrize("name", SCHEDULES)
def test_each_schedule_gives_what_gdlab_schedules_computes(name):
    explorer = ScheduleExplorer(schedule="step")
    explorer.schedule = name
    function = explorer.compute()
    assert explorer.error is None
    assert explorer.rates.tolist() == [function(t) for t in range(explorer.last_step + 1)]
    assert set(TABLE[name]["args"]) <= set(inspect.signature(getattr(schedules, name)).parameters)


def test_the_default_is_warmup_then_cosine_with_its_numbers():
    explorer = ScheduleExplorer(schedule="warmup_cosine", lr=0.1, steps=100)
    reference = schedules.warmup_cosine(0.1, 10, 100)
    assert explorer.rates.tolist() == [reference(t) for t in range(101)]
    assert int(np.argmax(explorer.rates)) == 10 and explorer.rates.max() == 0.1


def test_each_schedule_names_the_settings_it_uses_and_their_defaults_are_gdlabs():
    assert set(TABLE["step"]["args"].values()) == {"step_size", "gamma"}
    assert set(TABLE["one_cycle"]["args"].values()) == {
        "total_steps",
        "pct_start",
        "div_factor",
        "final_div_factor",
    }
    used = {setting for spec in TABLE.values() for setting in spec["args"].values()}
    assert used == set(SETTINGS)  # every setting feeds some schedule
    one_cycle = inspect.signature(schedules.one_cycle).parameters
    assert SETTINGS["pct_start"]["default"] == one_cycle["pct_start"].default
    assert SETTINGS["T_mult"]["default"] == 1
    assert all(spec["label"].strip() for spec in SETTINGS.values())
    explorer = ScheduleExplorer()
    assert explorer.table == {"schedules": TABLE, "settings": SETTINGS}
    assert {name: getattr(explorer, name) for name in SETTINGS} == {
        name: spec["default"] for name, spec in SETTINGS.items()
    }
    assert set(explorer.url_traits) == {"schedule", "lr", "steps", "log_scale", *SETTINGS}


def test_parameters_take_effect():
    explorer = ScheduleExplorer(schedule="step", lr=1.0)
    explorer.step_size = 10
    explorer.gamma = 0.5
    rates = explorer.rates
    assert rates[9] == 1.0 and rates[10] == 0.5 and rates[20] == 0.25
    explorer.schedule = "cosine_warm_restarts"
    explorer.T_0 = 5
    explorer.T_mult = 2
    rates = explorer.rates
    restarts = [t for t in range(1, len(rates)) if rates[t] == rates[0]]
    assert restarts == [5, 15, 35, 75]
    explorer.eta_min = 0.5  # a fraction of lr
    assert explorer.rates.min() >= 0.5


def test_an_invalid_combination_is_reported_by_the_schedules_own_message():
    explorer = ScheduleExplorer(schedule="warmup_cosine", steps=100)
    explorer.warmup_steps = 150  # longer than total_steps = 100
    assert "must be smaller than total_steps" in explorer.error
    with pytest.raises(ValueError, match="must be smaller than total_steps"):
        _ = explorer.rates
    explorer.warmup_steps = 20
    assert explorer.error is None and int(np.argmax(explorer.rates)) == 20


def test_one_cycle_stops_at_total_steps_like_torch():
    explorer = ScheduleExplorer(schedule="one_cycle", steps=300)
    explorer.total_steps = 120
    assert len(explorer.rates) == 121


def test_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="schedule must be one of"):
        ScheduleExplorer(schedule="triangular")
