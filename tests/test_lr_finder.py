"""The learning-rate range test on models whose critical rate 2 / lambda_max is known."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlab import data
from gdlab.lr_finder import LRRangeResult, ema, lr_range_test, plot_lr_range


def linear_regression(n=200, seed=0, scales=(1.0, 1.0, 1.0)):
    """A full-batch NumPy linear regression: step_fn, and the Hessian's largest eigenvalue.

    The MSE (1/n)|Xw - y|^2 is a quadratic in w with Hessian H = 2 X^T X / n, so
    gradient descent on it is stable exactly for lr < 2 / lambda_max(H).
    """
    d = data.linear(n=n, weights=(2.0, -1.0, 0.5), bias=1.0, noise=0.5, seed=seed)
    X = np.column_stack([d.X * np.asarray(scales), np.ones(n)])
    lambda_max = np.linalg.eigvalsh(2 * X.T @ X / n).max()
    w = np.zeros(X.shape[1])

    def step_fn(lr):
        nonlocal w
        residual = X @ w - d.y
        loss = float(np.mean(residual**2))
        w = w - lr * 2 * X.T @ residual / n
        return loss

    return step_fn, lambda_max


@pytest.mark.parametrize("smoothing", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("seed,scales", [(0, (1.0, 1.0, 1.0)), (1, (3.0, 1.0, 0.3)), (2, (10.0, 1.0, 1.0))])
def test_suggestion_lies_below_the_critical_rate_and_the_sweep_stops_after_the_blow_up(
    smoothing, seed, scales
):
    step_fn, lambda_max = linear_regression(seed=seed, scales=scales)
    critical = 2 / lambda_max
    result = lr_range_test(step_fn, smoothing=smoothing)
    assert result.stopped_early
    assert len(result.lrs) < 100 and result.lrs[-1] < 10
    assert result.suggestion < critical
    # It stopped because the loss blew up: past the critical rate, at 4x the smallest loss.
    assert result.lrs[-1] > critical
    assert result.losses[-1] > 4 * result.losses.min() or not np.isfinite(result.losses[-1])


def test_without_smoothing_every_rate_below_the_critical_one_lowers_the_loss():
    # A deterministic quadratic: a step with lr < 2 / lambda_max never raises the loss.
    step_fn, lambda_max = linear_regression()
    result = lr_range_test(step_fn, smoothing=0.0)
    rises = np.diff(result.losses) > 0
    assert not rises[result.lrs[:-1] < 2 / lambda_max].any()
    assert rises.any()


def test_the_sweep_is_exponential_from_start_to_end_lr():
    calls = []
    result = lr_range_test(lambda lr: calls.append(lr) or 1.0, start_lr=1e-4, end_lr=1.0, num_steps=5)
    assert calls == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0], rel=1e-12)
    assert np.allclose(result.lrs, calls) and not result.stopped_early
    assert isinstance(result, LRRangeResult) and result._fields == (
        "lrs",
        "losses",
        "suggestion",
        "stopped_early",
    )


def test_default_sweep_runs_from_1e_minus_7_to_10_in_100_steps():
    result = lr_range_test(lambda lr: 1.0)
    assert (
        len(result.lrs) == 100
        and result.lrs[0] == pytest.approx(1e-7)
        and result.lrs[-1] == pytest.approx(10)
    )


def test_a_non_finite_loss_stops_the_sweep_at_once_and_is_kept():
    losses = iter([1.0, 0.5, 0.25, math.nan, 0.1])
    result = lr_range_test(lambda lr: next(losses), num_steps=5, smoothing=0.0)
    assert result.stopped_early and len(result.losses) == 4 and math.isnan(result.losses[-1])
    assert result.suggestion == pytest.approx(result.lrs[0])  # 1 -> 0.5 is the largest fall per log-lr step


def test_the_stop_rule_is_four_times_the_smallest_loss():
    losses = iter([2.0, 1.0, 3.9, 4.1, 0.0])
    result = lr_range_test(lambda lr: next(losses), num_steps=5, smoothing=0.0)
    assert result.stopped_early and result.losses.tolist() == [2.0, 1.0, 3.9, 4.1]
    losses = iter([2.0, 1.0, 3.9, 4.1, 0.0])
    assert len(lr_range_test(lambda lr: next(losses), num_steps=5, smoothing=0.0, stop_factor=5).losses) == 5


def test_numpy_overflow_inside_step_fn_is_a_result_not_a_warning():
    w = np.array([1.0])

    def step_fn(lr):
        nonlocal w
        loss = float(w[0] ** 2)
        w = w - lr * 1e6 * w  # curvature 2e6: any rate above 1e-6 diverges fast
        return loss

    with np.errstate(all="raise"):  # a warning would be an error here
        result = lr_range_test(step_fn, smoothing=0.0)
    assert result.stopped_early and result.suggestion is not None


def test_no_suggestion_without_two_finite_losses():
    result = lr_range_test(lambda lr: math.inf)
    assert result.suggestion is None and result.stopped_early and len(result.losses) == 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 1e3), min_size=1, max_size=50), st.floats(0.0, 0.99))
def test_ema_of_a_constant_is_the_constant_and_stays_within_the_range(values, beta):
    smoothed = ema(values, beta)
    assert smoothed.shape == (len(values),)
    assert np.all(smoothed >= min(values) - 1e-9) and np.all(smoothed <= max(values) + 1e-9)
    assert np.allclose(ema([values[0]] * 5, beta), values[0])


def test_ema_without_smoothing_returns_the_losses():
    assert ema([3.0, 1.0, 2.0], 0.0).tolist() == [3.0, 1.0, 2.0]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(step_fn=None), "step_fn must be a function"),
        (dict(start_lr=0.0), "start_lr must be a positive, finite number"),
        (dict(start_lr=-1e-7), "start_lr must be a positive, finite number"),
        (dict(end_lr=math.inf), "end_lr must be a positive, finite number"),
        (dict(start_lr=1.0, end_lr=0.1), "must be larger than start_lr"),
        (dict(num_steps=2), "num_steps must be an integer of at least 3"),
        (dict(num_steps=10.5), "num_steps must be an integer of at least 3"),
        (dict(stop_factor=1.0), "stop_factor must exceed 1"),
        (dict(stop_factor=-4.0), "stop_factor must be a positive"),
        (dict(smoothing=1.0), r"smoothing must be in \[0, 1\)"),
        (dict(smoothing=-0.1), r"smoothing must be in \[0, 1\)"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    arguments = dict(step_fn=lambda lr: 1.0) | kwargs
    with pytest.raises(ValueError, match=message):
        lr_range_test(**arguments)


def test_step_fn_must_return_a_number():
    with pytest.raises(ValueError, match="step_fn must return the loss as a number"):
        lr_range_test(lambda lr: "low")


def test_plot_marks_the_suggestion_on_a_log_axis():
    step_fn, _ = linear_regression()
    result = lr_range_test(step_fn)
    fig, ax = plt.subplots()
    assert plot_lr_range(result, ax=ax) is ax
    assert ax.get_xscale() == "log" and ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert any(f"{result.suggestion:.2g}" in text.get_text() for text in ax.get_legend().get_texts())
    plt.close(fig)
    with pytest.raises(ValueError, match="LRRangeResult"):
        plot_lr_range((result.lrs, result.losses))
