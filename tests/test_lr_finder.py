"""The learning-rate range test on models whose critical rate 2 / lambda_max is known."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
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
    result = lr_range_test(lambda lr: next(losses), num_steps=5, smoothing=0.0, skip_end=0)
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


# --- the learning-rate range test for torch models -------------------------------------


def _line_problem():
    torch.manual_seed(0)
    X = torch.linspace(-1, 1, 64, dtype=torch.float64).unsqueeze(1)
    y = 3 * X - 1
    model = torch.nn.Linear(1, 1).double()
    return model, X, y


def test_the_torch_range_test_is_the_shared_sweep_on_a_step_function():
    model, X, y = _line_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    result = lr_range_test(model, F.mse_loss, opt, (X, y), smoothing=0.0)

    twin = torch.nn.Linear(1, 1).double()
    twin.load_state_dict(model.state_dict())
    twin_opt = torch.optim.SGD(twin.parameters(), lr=0.1)

    def step_fn(lr):
        twin_opt.param_groups[0]["lr"] = lr
        twin_opt.zero_grad()
        loss = F.mse_loss(twin(X), y)
        loss.backward()
        twin_opt.step()
        return loss.item()

    expected = lr_range_test(step_fn, smoothing=0.0)
    np.testing.assert_array_equal(result.lrs, expected.lrs)
    np.testing.assert_array_equal(result.losses, expected.losses)
    assert result.suggestion == expected.suggestion and result.stopped_early


def test_the_range_test_stops_past_the_critical_rate_and_suggests_a_rate_below_it():
    model, X, y = _line_problem()
    # MSE of a line: Hessian 2 * mean([x, 1] [x, 1]^T); gradient descent diverges above 2 / lambda_max.
    features = torch.cat([X, torch.ones_like(X)], dim=1)
    critical = 2 / torch.linalg.eigvalsh(2 * features.T @ features / len(X)).max().item()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    result = lr_range_test(model, F.mse_loss, opt, (X, y), smoothing=0.0)
    assert result.stopped_early and result.lrs[-1] > critical
    assert 1e-3 < result.suggestion < critical


def test_the_range_test_puts_back_the_weights_and_the_optimizer_state():
    model, X, y = _line_problem()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    lr_range_test(model, F.mse_loss, opt, (X, y), batch_size=16, num_steps=30, seed=0)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])
    assert opt.param_groups[0]["lr"] == 0.01 and opt.state_dict()["state"] == {}


def test_the_range_test_refuses_bad_arguments():
    model, X, y = _line_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="same number of rows"):
        lr_range_test(model, F.mse_loss, opt, (X, y[:10]))
    with pytest.raises(ValueError, match="larger than start_lr"):
        lr_range_test(model, F.mse_loss, opt, (X, y), start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match="torch.optim.Optimizer"):
        lr_range_test(model, F.mse_loss, "sgd", (X, y))


def _minibatch_linear_regression(seed, scales):
    """Linear regression on 6400 rows in float64: the full-batch Hessian 2 F^T F / n (F the
    features with a column of ones) gives the critical rate 2 / lambda_max of gradient descent."""
    d = data.linear(n=6400, weights=(2.0, -1.0, 0.5), bias=1.0, noise=0.1, seed=seed)
    X = torch.tensor(d.X * np.asarray(scales), dtype=torch.float64)
    y = torch.tensor(d.y, dtype=torch.float64).unsqueeze(1)
    features = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1)
    critical = 2 / torch.linalg.eigvalsh(2 * features.T @ features / len(X)).max().item()
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 1).double(), X, y, critical


def test_on_mini_batches_of_64_skipping_the_first_steps_moves_the_suggestion_below_2_over_lambda_max():
    # The band: below the critical rate 2/lambda_max, where a step can still shrink every
    # direction of the quadratic, and above 1/30 of it, where 100 steps would barely move it
    # (the full-batch sweep of chapter 03 suggests critical / 9.5). Without the skip, the
    # bias-corrected average of the first few noisy batches holds the steepest "fall".
    within, within_without_skip, below = 0, 0, 0
    for seed in range(8):
        for scales in ((1.0, 1.0, 1.0), (3.0, 1.0, 0.3)):
            model, X, y, critical = _minibatch_linear_regression(seed, scales)
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            fixed = lr_range_test(model, F.mse_loss, opt, (X, y), batch_size=64, seed=seed)
            naive = lr_range_test(
                model, F.mse_loss, opt, (X, y), batch_size=64, seed=seed, skip_start=0, skip_end=0
            )
            within += critical / 30 < fixed.suggestion < critical
            within_without_skip += critical / 30 < naive.suggestion < critical
            below += fixed.suggestion < critical
    assert below == 16
    assert within >= 9 and within_without_skip <= 2, (within, within_without_skip)


def test_the_suggestion_skips_the_first_and_last_steps_and_needs_two_losses_between():
    # The steepest fall is from step 1 to 2; skipping the first two steps moves it to 3 -> 4.
    losses = [10.0, 1.0, 0.9, 0.8, 0.5, 0.45, 0.44, 0.43]
    lrs = 1e-4 * 10.0 ** np.arange(8)

    def sweep(**kwargs):
        feed = iter(losses)
        return lr_range_test(
            lambda lr: next(feed), start_lr=1e-4, end_lr=1e3, num_steps=8, smoothing=0.0, **kwargs
        )

    assert sweep(skip_start=0, skip_end=0).suggestion == pytest.approx(lrs[0])
    assert sweep(skip_start=2, skip_end=0).suggestion == pytest.approx(lrs[3])
    assert sweep(skip_start=2, skip_end=3).suggestion == pytest.approx(lrs[3])
    assert sweep(skip_start=2, skip_end=5).suggestion is None  # one loss left: no slope
    assert sweep(skip_start=4, skip_end=5).suggestion is None
    with pytest.raises(ValueError, match="skip_end must be a non-negative integer"):
        sweep(skip_end=-1)
    with pytest.raises(ValueError, match="a step function trains itself"):
        lr_range_test(lambda lr: 1.0, loss_fn=F.mse_loss)
