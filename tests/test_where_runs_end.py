"""Where runs end up, asked of gdlab instead of each chapter's own helpers: ``optim.iterate`` (many
starts at once through the one optimizer code path), ``critical.nearest``, ``critical.escape_step``
and ``critical.settled_at``; and ``models.mlp`` builds the very networks chapter 05 wrote by hand."""

import numpy as np
import pytest
import torch
from torch import nn

from gdlab import critical, descend, models, optim, surfaces

DOUBLE_WELL = surfaces.double_well


# --- optim.iterate ---------------------------------------------------------------------------


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_iterate_on_many_starts_is_descend_on_each_start(momentum):
    starts = np.linspace(-3.0, 3.0, 13)
    ends = optim.iterate(optim.sgd(lr=0.01, momentum=momentum), DOUBLE_WELL.grad, starts[None], 400)
    assert ends.shape == (1, 13)
    for column, x0 in enumerate(starts):
        run = descend(DOUBLE_WELL, x0, optim.sgd(lr=0.01, momentum=momentum), 400, stop_at_convergence=False)
        assert ends[0, column] == run.final[0]  # the same operations: bit for bit


def test_iterate_matches_the_momentum_rule_written_out():
    # torch.optim.SGD's rule: b <- mu b + g (b starts at the first gradient), x <- x - lr b
    x, buffer = np.array([[-1.0, 0.5, 2.0]]), None
    for _ in range(50):
        g = 4 * x**3 - 16 * x + 1
        buffer = g if buffer is None else 0.9 * buffer + g
        x = x - 0.01 * buffer
    ends = optim.iterate(optim.sgd(lr=0.01, momentum=0.9), DOUBLE_WELL.grad, [[-1.0, 0.5, 2.0]], 50)
    np.testing.assert_array_equal(ends, x)


def test_iterate_accepts_a_list_of_arrays_and_zero_steps():
    params = [np.array([1.0, 2.0]), np.array([[3.0]])]
    ends = optim.iterate(optim.adam(lr=0.1), lambda p: [2 * leaf for leaf in p], params, 30)
    assert isinstance(ends, list) and [e.shape for e in ends] == [(2,), (1, 1)]
    assert all(np.all(np.abs(e) < np.abs(p)) for e, p in zip(ends, params))
    np.testing.assert_array_equal(optim.iterate(optim.sgd(lr=0.1), lambda p: p, [5.0], 0), [5.0])


def test_iterate_stops_with_a_clear_error_when_a_run_blows_up():
    with pytest.raises(ValueError, match=r"step \d+ left a non-finite parameter: the run diverged"):
        optim.iterate(optim.sgd(lr=1.5), surfaces.bowl.grad, [[0.0, 10.0]], 2000)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((lambda p: p, lambda p: p, [1.0], 3), "optimizer must be a gdlab.optim.Optimizer"),
        ((optim.sgd(lr=0.1), "grad", [1.0], 3), "grad_fn must be callable"),
        ((optim.sgd(lr=0.1), lambda p: p, [1.0], -1), "steps must be a non-negative integer"),
        ((optim.sgd(lr=0.1), lambda p: p, [1.0], 2.5), "steps must be a non-negative integer"),
        ((optim.sgd(lr=0.1), lambda p: p, [np.nan], 3), "params contains NaN"),
    ],
)
def test_iterate_refuses_bad_input(arguments, message):
    with pytest.raises(ValueError, match=message):
        optim.iterate(*arguments)


# --- critical.nearest -----------------------------------------------------------------------


def test_nearest_names_the_well_each_end_point_is_in():
    wells = critical.critical_points(DOUBLE_WELL, np.linspace(-3.0, 3.0, 13))[:2]  # both minima, deeper first
    ends = np.array([[-2.0305, 1.968, -2.0, 2.5]])
    found = critical.nearest(wells, ends)
    assert found.which.tolist() == [0, 1, 0, 1]
    expected = np.abs(ends[0] - np.array([wells[i].point[0] for i in (0, 1, 0, 1)]))
    np.testing.assert_allclose(found.distance, expected, rtol=1e-14)


def test_nearest_of_one_point_gives_scalars_and_takes_bare_coordinates():
    minima = surfaces.himmelblau.minima
    found = critical.nearest(minima, [3.1, 2.1])
    assert int(found.which) == int(np.argmin([np.linalg.norm(np.array([3.1, 2.1]) - m) for m in minima]))
    assert np.isclose(found.distance, np.hypot(0.1, 0.1))


def test_nearest_keeps_the_shape_of_a_grid_of_positions():
    grid = np.stack(np.meshgrid(np.linspace(-5, 5, 7), np.linspace(-5, 5, 5)))  # shape (2, 5, 7)
    found = critical.nearest(surfaces.himmelblau.minima, grid)
    assert found.which.shape == found.distance.shape == (5, 7)
    for i in range(5):
        for j in range(7):
            distances = [np.linalg.norm(grid[:, i, j] - m) for m in surfaces.himmelblau.minima]
            assert found.which[i, j] == np.argmin(distances)
            assert np.isclose(found.distance[i, j], min(distances), rtol=1e-14)


def test_nearest_with_atol_refuses_a_run_that_has_not_settled():
    wells = DOUBLE_WELL.minima
    critical.nearest(wells, [[wells[0][0] + 1e-7]], atol=1e-6)  # close enough: fine
    with pytest.raises(ValueError, match=r"1 position\(s\) lie farther than atol=1e-06 from every point"):
        critical.nearest(wells, [[wells[0][0] + 1e-7, 0.0]], atol=1e-6)


@pytest.mark.parametrize(
    ("points", "x", "atol", "message"),
    [
        ([], [0.0], None, "points must be a non-empty sequence"),
        ([[0.0, 0.0], [1.0]], [0.0], None, "points must be a non-empty sequence"),
        ([[0.0, 0.0]], [0.0, 0.0, 0.0], None, r"x must have shape \(2,\) or \(2, ...\)"),
        ([[0.0, 0.0]], 1.0, None, r"x must have shape \(2,\)"),
        ([[0.0]], [[np.nan]], None, "x contains 1 NaN"),
        ([[0.0]], [[1.0]], -1.0, "atol must be non-negative"),
    ],
)
def test_nearest_refuses_bad_input(points, x, atol, message):
    with pytest.raises(ValueError, match=message):
        critical.nearest(points, x, atol=atol)


# --- critical.escape_step and critical.settled_at ------------------------------------------


@pytest.mark.parametrize("nudge", [1e-1, 1e-4, 1e-8, 1e-12])
def test_escape_step_follows_the_saddle_formula(nudge):
    run = descend(surfaces.saddle, (1.0, nudge), optim.sgd(lr=0.1), 400)
    assert critical.escape_step(run) == int(np.ceil(np.log(1 / nudge) / np.log(1.2)))
    assert critical.escape_step(run, radius=0.5, coordinate=1) < critical.escape_step(run)


def test_escape_step_is_none_on_the_ridge_and_counts_the_start():
    on_ridge = descend(surfaces.saddle, (1.0, 0.0), optim.sgd(lr=0.1), 100)
    assert critical.escape_step(on_ridge) is None
    outside = descend(surfaces.saddle, (1.0, 3.0), optim.sgd(lr=0.1), 5)
    assert critical.escape_step(outside) == 0 and critical.escape_step(outside, coordinate=0) == 0


def test_settled_at_waits_for_the_last_swing_out():
    # momentum overshoots 3 and swings back in and out before it settles
    run = descend(surfaces.bowl, 0.0, optim.sgd(lr=0.05, momentum=0.9), 400, stop_at_convergence=False)
    w = run.positions[:, 0]
    k = critical.settled_at(run, [3.0], tol=1e-3)
    assert np.all(np.abs(w[k:] - 3) < 1e-3) and abs(w[k - 1] - 3) >= 1e-3
    assert np.any(np.abs(w[: k - 1] - 3) < 1e-3)  # it had been inside before: a swing went out again
    assert critical.settled_at(run, [3.0], tol=10.0) == 0
    short = descend(surfaces.bowl, 0.0, optim.sgd(lr=0.05, momentum=0.9), 30, stop_at_convergence=False)
    assert critical.settled_at(short, [3.0], tol=1e-3) is None  # still swinging at the end


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda run: critical.escape_step(run.positions), "run must be a gdlab.Trajectory"),
        (lambda run: critical.escape_step(run, radius=0.0), "radius must be positive"),
        (lambda run: critical.escape_step(run, coordinate=2), "coordinate must be an index"),
        (lambda run: critical.escape_step(run, coordinate=True), "coordinate must be an index"),
        (lambda run: critical.settled_at(run, [0.0], tol=1e-3), "point must have the run's 2 coordinate"),
        (lambda run: critical.settled_at(run, [0.0, 0.0], tol=0.0), "tol must be positive"),
    ],
)
def test_escape_step_and_settled_at_refuse_bad_input(call, message):
    run = descend(surfaces.saddle, (1.0, 1e-3), optim.sgd(lr=0.1), 50)
    with pytest.raises(ValueError, match=message):
        call(run)


# --- models.mlp builds chapter 05's networks ---------------------------------------------------


def _hand_written(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))


@pytest.mark.parametrize("dtype", [None, torch.float64])
def test_mlp_has_the_weights_of_the_network_written_by_hand(dtype):
    by_hand = _hand_written(seed=0)
    if dtype is not None:
        by_hand = by_hand.double()  # chapter 05's small_start: built, then cast
    built = models.mlp(2, 16, 1, seed=0, dtype=dtype)
    assert (
        list(built.state_dict()) == list(by_hand.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    )
    for name, tensor in by_hand.state_dict().items():
        assert built.state_dict()[name].dtype == tensor.dtype
        assert torch.equal(built.state_dict()[name], tensor)
