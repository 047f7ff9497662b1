"""Chapter 01's explorers, driven headless: set a trait, read the readings and the fits.

What the browser draws from these traits is checked against this Python side in
test_explorers_js_static.py, and in a real browser in test_browser_static_explorers.py.
"""

import itertools
import math

import numpy as np
import pytest

from gdlab import data, losses
from gdlab.fitting import LOSS_NAMES, fit_lines
from gdlab.widgets.loss_shapes import LossShapesExplorer, OutlierExplorer

# --- LossShapesExplorer ---------------------------------------------------------------------


def test_loss_shapes_reads_the_three_regression_losses_at_the_chosen_error():
    explorer = LossShapesExplorer(error=2.0, delta=1.0)
    r = explorer.readings
    assert r.mse == pytest.approx((4.0, 4.0))  # e², 2e
    assert r.mae == pytest.approx((2.0, 1.0))  # |e|, sign e
    assert r.huber == pytest.approx((1.5, 1.0))  # δ(|e| − δ/2), δ·sign e


def test_inside_delta_huber_is_half_the_squared_error_with_gradient_e():
    explorer = LossShapesExplorer(error=2.0, delta=1.0)
    explorer.delta = 2.5
    explorer.error = -1.5
    assert explorer.readings.huber == pytest.approx((0.5 * 1.5**2, -1.5))
    assert explorer.readings.mae == pytest.approx((1.5, -1.0))
    values, grads, _, _ = explorer.compute()
    assert grads["Huber"].max() == 2.5 and values["Huber"][-1] == pytest.approx(2.5 * (4 - 1.25))


def test_focal_keeps_the_share_1_minus_p_t_to_the_gamma_of_cross_entropy():
    explorer = LossShapesExplorer(p_t=0.9, gamma=2.0)
    r = explorer.readings
    assert r.bce[0] == pytest.approx(-math.log(0.9), rel=1e-12)
    assert r.factor == pytest.approx(0.01, rel=1e-12)
    assert r.focal[0] == pytest.approx(0.01 * -math.log(0.9), rel=1e-12)


def test_gamma_zero_makes_focal_plain_cross_entropy():
    explorer = LossShapesExplorer(p_t=0.3, gamma=2.0)
    explorer.gamma = 0.0
    r = explorer.readings
    assert r.focal[0] == pytest.approx(r.bce[0], rel=1e-12) and r.factor == 1.0
    assert r.focal[1] == pytest.approx(0.3 - 1.0, rel=1e-12)  # d/dlogit of cross-entropy: p − y
    assert r.bce[1] == pytest.approx(-1 / 0.3, rel=1e-12)  # d/dp of −log p


def test_loss_shapes_settings_are_traits_a_link_reproduces_and_bad_values_are_refused():
    explorer = LossShapesExplorer()
    assert explorer.kind == "loss_shapes" and explorer.url_traits == ["error", "delta", "p_t", "gamma"]
    explorer.error = 3.0
    assert explorer.readings.mse == (9.0, 6.0)
    for name, value in [("error", 5.0), ("delta", 0.0), ("p_t", 1.0), ("gamma", -1.0)]:
        with pytest.raises(ValueError, match=f"{name} must be a number between"):
            setattr(explorer, name, value)


# --- fit_lines -------------------------------------------------------------------------------


def outlier_data(outliers=5, shift=20.0, seed=0):
    d = data.linear(
        n=40, weights=(2.0,), bias=1.0, noise=0.5, outliers=outliers, outlier_shift=shift, seed=seed
    )
    return d.X[:, 0], d.y


def test_fit_lines_mse_row_is_the_least_squares_line():
    x, y = outlier_data()
    (w, b), _, _ = fit_lines(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    assert w == pytest.approx(slope, abs=1e-9) and b == pytest.approx(intercept, abs=1e-9)


def test_fit_lines_huber_row_is_a_stationary_point_of_the_huber_loss():
    x, y = outlier_data()
    _, _, (w, b) = fit_lines(x, y, delta=1.0, steps=600)
    dpred = losses.huber_grad(w * x + b, y, delta=1.0)
    assert abs(dpred @ x) < 1e-8 and abs(dpred.sum()) < 1e-8  # convex and smooth: the minimum


def test_fit_lines_mae_row_is_within_a_hair_of_the_best_line_through_two_points():
    # A least-absolute-deviations line passes through two data points: try them all.
    x, y = outlier_data()
    best = min(
        losses.mae((y[j] - y[i]) / (x[j] - x[i]) * (x - x[i]) + y[i], y)
        for i, j in itertools.combinations(range(len(x)), 2)
    )
    _, (w, b), _ = fit_lines(x, y)
    assert losses.mae(w * x + b, y) == pytest.approx(best, abs=1e-3)


# --- OutlierExplorer -------------------------------------------------------------------------


def test_without_outliers_the_three_losses_agree_on_the_slope():
    explorer = OutlierExplorer(count=0, shift=20.0)
    for name in LOSS_NAMES:
        assert explorer.slopes[name] == pytest.approx(2.0, abs=0.1)
    assert abs(explorer.slopes["MSE"] - explorer.slopes["Huber"]) < 0.05


def test_outliers_pull_the_mse_line_most_and_the_readout_says_so():
    explorer = OutlierExplorer(count=4, shift=20.0)
    errors = {name: abs(slope - 2.0) for name, slope in explorer.slopes.items()}
    assert errors["MSE"] > 5 * max(errors["MAE"], errors["Huber"])
    mse_fit = explorer.fits["MSE"]
    assert mse_fit == pytest.approx(
        tuple(np.polyfit(explorer.dataset.X[:, 0], explorer.dataset.y, 1)), abs=1e-9
    )


def test_the_mse_slope_moves_linearly_with_the_outlier_shift_while_huber_stays_put():
    explorer = OutlierExplorer(count=4, shift=0.0)
    slopes = {}
    for shift in (0.0, 10.0, 20.0, 40.0):
        explorer.shift = shift
        slopes[shift] = dict(explorer.slopes)
    mse = [slopes[s]["MSE"] for s in (0.0, 10.0, 20.0, 40.0)]
    # least squares is linear in y, so the slope is an affine function of the shift
    assert mse[2] - mse[1] == pytest.approx(mse[1] - mse[0], rel=1e-6)
    assert mse[3] - mse[0] == pytest.approx(4 * (mse[1] - mse[0]), rel=1e-6)
    huber = [slopes[s]["Huber"] for s in (10.0, 20.0, 40.0)]
    assert max(huber) - min(huber) < 0.02  # once the outliers are far out, their pull is capped


def test_count_delta_and_steps_take_effect():
    explorer = OutlierExplorer(count=2, shift=30.0)
    explorer.count = 6
    assert explorer.dataset.is_outlier.sum() == 6
    huber_before = explorer.slopes["Huber"]
    explorer.delta = 5.0
    assert explorer.slopes["Huber"] != huber_before
    explorer.steps = 20
    x, y = explorer.dataset.X[:, 0], explorer.dataset.y
    assert explorer.fits["MSE"] == tuple(fit_lines(x, y, delta=5.0, steps=20)[0])
    assert explorer.url_traits == ["count", "shift", "delta", "steps"]
    with pytest.raises(ValueError, match="count must be between 0 and 10"):
        explorer.count = 11
