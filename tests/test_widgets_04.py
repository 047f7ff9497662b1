"""The batch-size explorer of chapter 04, driven headless: set a trait, read the run.

What the browser draws from these traits is checked against this Python side in
test_explorers_js_static.py, and in a real browser in test_browser_static_explorers.py.
"""

import numpy as np
import pytest

from gdlab import descend, optim, surfaces
from gdlab.minibatch import linear_mse
from gdlab.widgets.batch_size import BatchSizeExplorer


def test_full_batch_path_is_plain_gradient_descent_smooth_and_deterministic():
    explorer = BatchSizeExplorer(batch_size=16, lr=0.05, epochs=10)
    n = len(explorer.data.y)
    explorer.batch_size = n
    run = explorer.run
    assert run.updates_per_epoch == 1 and len(run.positions) == 11
    # gradient descent on the loss's quadratic form, Hessian 2 X^T X / n, from (0, 0)
    X = explorer.data.X
    bowl = surfaces.quadratic(2 * X.T @ X / n, center=explorer.minimum)
    walk = descend(bowl, [0.0, 0.0], optim.sgd(lr=0.05), steps=10)
    np.testing.assert_allclose(run.positions, walk.positions, rtol=0, atol=1e-12)
    assert np.all(np.diff(run.losses) < 0)  # smooth: the loss falls at every update
    for seed in (1, 7):  # a full batch holds every sample whatever the shuffle: same path, to rounding
        explorer.seed = seed
        np.testing.assert_allclose(explorer.run.positions, run.positions, rtol=0, atol=1e-14)


def test_smaller_batches_give_a_noisier_loss_near_the_end():
    explorer = BatchSizeExplorer(batch_size=256, lr=0.05, epochs=20)
    jitter = {}
    for size in (256, 64, 16, 1):
        explorer.batch_size = size
        jitter[size] = explorer.last_epoch_jitter()
    assert jitter[256] < 1e-8  # converged, no noise at all
    assert jitter[256] < jitter[64] < jitter[16] < jitter[1]


def test_the_same_settings_give_the_same_path_and_another_seed_another_path():
    explorer = BatchSizeExplorer(batch_size=4, lr=0.05, epochs=3, seed=0)
    first_path = explorer.run.positions.copy()
    explorer.seed = 1
    assert not np.array_equal(explorer.run.positions, first_path)
    explorer.seed = 0
    assert np.array_equal(explorer.run.positions, first_path)
    again = BatchSizeExplorer(batch_size=4, lr=0.05, epochs=3, seed=0)
    assert np.array_equal(again.run.positions, first_path)


def test_every_epoch_visits_every_example_once():
    explorer = BatchSizeExplorer(batch_size=32, lr=0.01, epochs=2)
    assert len(explorer.run.positions) == 1 + 2 * 8 and explorer.run.epoch_ends.tolist() == [0, 8, 16]
    explorer.epochs = 5
    assert len(explorer.run.positions) == 1 + 5 * 8
    explorer.lr = 0.1
    assert explorer.run.lr == pytest.approx(0.1)
    loss = linear_mse(explorer.run.positions[-1], explorer.data.X, explorer.data.y)
    assert explorer.run.losses[-1] == pytest.approx(loss, rel=1e-9)


def test_a_learning_rate_far_above_the_stable_range_diverges_and_stops_there():
    explorer = BatchSizeExplorer(batch_size=1, lr=0.05, epochs=40)
    explorer.lr = 1.0
    run = explorer.run
    assert run.diverged and len(run.positions) == run.diverged_at
    assert np.all(np.isfinite(run.losses))


def test_the_page_carries_the_data_compactly_and_the_python_side_uses_the_same_numbers():
    explorer = BatchSizeExplorer()
    problem = explorer.problem
    assert problem["sizes"] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert all(round(v, 4) == v for v in problem["x1"] + problem["x2"] + problem["y"])
    assert np.array_equal(np.column_stack([problem["x1"], problem["x2"]]), explorer.data.X)
    assert explorer.url_traits == ["batch_size", "lr", "epochs", "seed"] and explorer.kind == "batch_size"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 3}, "batch_size must be one of"),
        ({"weights": (1.0, 2.0, 3.0)}, "weights must hold 2 numbers"),
        ({"epochs": 0}, "epochs must be between"),
        ({"seed": 99}, "seed must be between"),
        ({"lr": -1.0}, "Invalid learning rate"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchSizeExplorer(**kwargs)
