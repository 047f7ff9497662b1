"""descend: the trajectory is exactly gradient descent; divergence is a clean result."""

import math
import sys
import warnings

import numpy as np
import pytest

from gdlab import descend, optim, surfaces


def test_valley_matches_the_closed_form():
    # x_{k+1} = x_k - 0.1 (2 x_k - 4) = 0.8 x_k + 0.4, so x_k = 2 - 2 * 0.8^k from x_0 = 0.
    run = descend(surfaces.valley, 0.0, optim.sgd(lr=0.1), steps=20)
    k = np.arange(21)
    np.testing.assert_allclose(run.positions[:, 0], 2 - 2 * 0.8**k, rtol=0, atol=1e-14)
    assert round(float(run.positions[-1, 0]), 4) == 1.9769
    assert round(float(run.losses[-1]), 4) == 1.0005
    assert run.status == "running" and run.steps_taken == 20


def test_convergence_is_detected_and_stops_the_run():
    run = descend(surfaces.valley, 0.0, optim.sgd(lr=0.1), steps=1000, tol=1e-8)
    assert run.converged and run.status == "converged"
    # |grad| = 2 |x - 2| = 4 * 0.8^k < 1e-8  <=>  k > log(2.5e-9) / log(0.8) = 88.2...
    assert run.converged_at == 89 and run.steps_taken == 89
    full = descend(surfaces.valley, 0.0, optim.sgd(lr=0.1), steps=200, stop_at_convergence=False)
    assert full.converged_at == 89 and full.steps_taken == 200


def test_divergence_stops_cleanly_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = descend(surfaces.bowl, 0.0, optim.sgd(lr=1.1), steps=5000, escape_radius=np.inf)
    assert run.diverged and run.status == "diverged"
    assert np.all(np.isfinite(run.positions)) and np.all(np.isfinite(run.losses))
    # The error is multiplied by 1 - 2 * 1.1 = -1.2 each step, so the loss is 9 * 1.44^k
    # (up to rounding), which overflows float64 at the first k with 9 * 1.44^k > max float.
    first_overflow = math.floor(math.log(sys.float_info.max / 9) / math.log(1.44)) + 1
    assert run.diverged_at == first_overflow == 1941
    assert "diverged" in run.summary()


def test_regimes_of_the_bowl():
    # Step factor 1 - 2 lr: monotone below 0.5, oscillating but converging up to 1,
    # a two-cycle at exactly 1, divergence above.
    slow = descend(surfaces.bowl, 0.0, optim.sgd(lr=0.1), 100, stop_at_convergence=False)
    assert np.all(np.diff(slow.positions[:, 0]) > 0)
    wobbly = descend(surfaces.bowl, 0.0, optim.sgd(lr=0.9), 100, stop_at_convergence=False)
    assert np.all(np.diff(np.sign(wobbly.positions[:12, 0] - 3)) != 0)
    assert abs(wobbly.final[0] - 3) < 1e-8
    cycle = descend(surfaces.bowl, 0.0, optim.sgd(lr=1.0), 50)
    assert set(np.round(cycle.positions[:, 0], 12)) == {0.0, 6.0} and cycle.status == "running"
    assert descend(surfaces.bowl, 0.0, optim.sgd(lr=1.01), 5000).diverged


def test_two_dimensional_run_finds_the_revenue_optimum():
    run = descend(surfaces.revenue, [0.0, 0.0], optim.sgd(lr=0.1), 500)
    assert run.converged
    np.testing.assert_allclose(run.final, [50.0, 25.0], atol=1e-8)
    assert run.positions.shape == (run.steps_taken + 1, 2)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(x0=np.nan), "NaN"),
        (dict(x0=[0.0, 1.0]), "1 coordinate"),
        (dict(steps=-1), "non-negative"),
        (dict(steps=2.5), "non-negative"),
        (dict(tol=0.0), "tol"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    args = dict(landscape=surfaces.valley, x0=0.0, optimizer=optim.sgd(lr=0.1), steps=10) | kwargs
    with pytest.raises(ValueError, match=match):
        descend(**args)
    with pytest.raises(ValueError, match="Landscape"):
        descend(lambda x: x**2, 0.0, optim.sgd(lr=0.1), 10)
