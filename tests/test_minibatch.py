"""gdlab.minibatch: batches as torch's DataLoader makes them, training as torch.optim.SGD does it."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import BatchSampler, SequentialSampler

from gdlab import data, descend, optim, plotting, surfaces
from gdlab.minibatch import batch_indices, linear_mse, linear_mse_grad, race_rows, train_linear


@pytest.fixture(autouse=True)
def float64_by_default():
    """These comparisons with torch run in float64; the default is put back afterwards."""
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(dtype)


DATA = data.linear(n=60, weights=(2.0, -1.5, 0.5), noise=0.5, seed=3)


@pytest.mark.parametrize(
    "n, batch_size, drop_last",
    [(n, b, drop) for n, b in [(10, 1), (10, 3), (10, 10), (64, 32), (7, 2)] for drop in (False, True)]
    + [(10, 16, False)],  # with drop_last, a batch larger than the data is refused (see below)
)
def test_unshuffled_batches_match_torch_batch_sampler(n, batch_size, drop_last):
    expected = list(BatchSampler(SequentialSampler(range(n)), batch_size, drop_last))
    assert [b.tolist() for b in batch_indices(n, batch_size, drop_last=drop_last)] == expected


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 200), batch_size=st.integers(1, 64), seed=st.integers(0, 2**32 - 1))
def test_a_shuffled_epoch_visits_every_sample_exactly_once(n, batch_size, seed):
    batches = batch_indices(n, batch_size, shuffle=True, generator=seed)
    assert sorted(np.concatenate(batches).tolist()) == list(range(n))  # without replacement
    assert len(batches) == -(-n // batch_size)
    assert all(len(b) == batch_size for b in batches[:-1]) and 1 <= len(batches[-1]) <= batch_size


def test_drop_last_leaves_out_only_the_short_batch():
    batches = batch_indices(10, 4, shuffle=True, drop_last=True, generator=0)
    assert [len(b) for b in batches] == [4, 4]
    assert len(set(np.concatenate(batches).tolist())) == 8


def test_the_same_seed_gives_the_same_batches_and_another_seed_does_not():
    first = batch_indices(50, 8, shuffle=True, generator=1)
    again = batch_indices(50, 8, shuffle=True, generator=1)
    other = batch_indices(50, 8, shuffle=True, generator=2)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_loss_and_gradient_match_torch_autograd():
    w = np.array([0.3, -2.0, 1.0])
    w_t = torch.tensor(w, requires_grad=True)
    loss = F.mse_loss(torch.tensor(DATA.X) @ w_t, torch.tensor(DATA.y))
    loss.backward()
    assert linear_mse(w, DATA.X, DATA.y) == pytest.approx(loss.item(), rel=1e-14)
    np.testing.assert_allclose(linear_mse_grad(w, DATA.X, DATA.y), w_t.grad.numpy(), rtol=1e-13)


def torch_run(X, y, batch_size, lr, epochs, seed, drop_last=False):
    """The textbook loop: nn.Linear without bias, F.mse_loss, torch.optim.SGD, given batches."""
    model = torch.nn.Linear(X.shape[1], 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    X_t, y_t = torch.tensor(X), torch.tensor(y)
    rng = np.random.default_rng(seed)
    weights = [model.weight.detach().numpy().ravel().copy()]
    for _ in range(epochs):
        for batch in batch_indices(len(y), batch_size, shuffle=True, drop_last=drop_last, generator=rng):
            idx = torch.from_numpy(batch)
            opt.zero_grad()
            F.mse_loss(model(X_t[idx]).squeeze(1), y_t[idx]).backward()
            opt.step()
            weights.append(model.weight.detach().numpy().ravel().copy())
    return np.array(weights)


@pytest.mark.parametrize(
    "batch_size, drop_last", [(1, False), (7, False), (7, True), (32, False), (60, False)]
)
def test_training_matches_torch_sgd_update_for_update(batch_size, drop_last):
    ours = train_linear(DATA.X, DATA.y, batch_size, lr=0.05, epochs=4, seed=11, drop_last=drop_last)
    theirs = torch_run(DATA.X, DATA.y, batch_size, lr=0.05, epochs=4, seed=11, drop_last=drop_last)
    assert ours.positions.shape == theirs.shape
    np.testing.assert_allclose(ours.positions, theirs, rtol=0, atol=1e-12)


def test_every_update_is_a_step_of_gdlab_optim_sgd(monkeypatch):
    """The update rule lives in gdlab.optim: train_linear takes each step through optim.sgd."""
    steps = []
    real_sgd = optim.sgd

    def counting_sgd(**hyperparams):
        opt = real_sgd(**hyperparams)

        def step(params, grads, state):
            steps.append(hyperparams["lr"])
            return opt.step(params, grads, state)

        return opt._replace(step=step)

    monkeypatch.setattr(optim, "sgd", counting_sgd)
    run = train_linear(DATA.X, DATA.y, batch_size=7, lr=0.05, epochs=3, seed=2)
    assert steps == [0.05] * (len(run.positions) - 1) == [0.05] * (3 * 9)


def test_a_rate_from_a_numpy_array_is_accepted_as_the_float_it_is():
    rate = np.array([0.05])[0]
    assert train_linear(DATA.X, DATA.y, 7, lr=rate, epochs=1).lr == 0.05


def test_full_batch_is_plain_gradient_descent_on_the_quadratic_loss():
    X, y = DATA.X, DATA.y
    run = train_linear(X, y, batch_size=len(y), lr=0.1, epochs=30, seed=5)
    assert run.updates_per_epoch == 1 and run.positions.shape == (31, 3)
    w, path = np.zeros(3), [np.zeros(3)]
    for _ in range(30):
        w = w - 0.1 * linear_mse_grad(w, X, y)
        path.append(w)
    np.testing.assert_allclose(run.positions, path, rtol=0, atol=1e-13)
    # the same walk as gdlab.descend on the quadratic with Hessian 2 X^T X / n
    best = np.linalg.lstsq(X, y, rcond=None)[0]
    bowl = surfaces.quadratic(2 * X.T @ X / len(y), center=best)
    walk = descend(bowl, np.zeros(3), optim.sgd(lr=0.1), steps=30)
    np.testing.assert_allclose(run.positions, walk.positions, rtol=0, atol=1e-12)
    assert np.all(np.diff(run.losses) < 0)


def test_losses_are_the_full_data_and_batch_mse_of_each_step():
    run = train_linear(DATA.X, DATA.y, batch_size=8, lr=0.05, epochs=2, seed=0)
    direct = [linear_mse(w, DATA.X, DATA.y) for w in run.positions]
    np.testing.assert_allclose(run.losses, direct, rtol=1e-12)
    rng = np.random.default_rng(0)
    batches = [b for _ in range(2) for b in batch_indices(60, 8, shuffle=True, generator=rng)]
    per_batch = [linear_mse(w, DATA.X[b], DATA.y[b]) for w, b in zip(run.positions[:-1], batches)]
    np.testing.assert_allclose(run.batch_losses, per_batch, rtol=1e-10, atol=1e-14)
    assert run.updates_per_epoch == 8  # ceil(60 / 8)
    assert run.epoch_ends.tolist() == [0, 8, 16]
    assert np.array_equal(run.epoch_losses, run.losses[[0, 8, 16]])


def test_the_same_seed_gives_the_same_run():
    a = train_linear(DATA.X, DATA.y, batch_size=4, lr=0.05, epochs=3, seed=9)
    b = train_linear(DATA.X, DATA.y, batch_size=4, lr=0.05, epochs=3, seed=9)
    c = train_linear(DATA.X, DATA.y, batch_size=4, lr=0.05, epochs=3, seed=10)
    assert np.array_equal(a.positions, b.positions) and not np.array_equal(a.positions, c.positions)


def test_a_diverging_run_stops_where_the_loss_overflows_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = train_linear(DATA.X, DATA.y, batch_size=60, lr=5.0, epochs=2000, seed=0)
    assert run.diverged and 0 < run.diverged_at < 2000
    assert len(run.losses) == run.diverged_at and np.all(np.isfinite(run.losses))
    assert np.all(np.isfinite(run.positions)) and run.epoch_ends[-1] < run.diverged_at
    assert not train_linear(DATA.X, DATA.y, 60, lr=0.1, epochs=5).diverged


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 6), batch_size=st.integers(1, 10), seed=st.integers(0, 1000))
def test_averaging_k_equal_batch_gradients_gives_the_gradient_of_their_union(k, batch_size, seed):
    rng = np.random.default_rng(seed)
    X, y, w = rng.normal(size=(k * batch_size, 3)), rng.normal(size=k * batch_size), rng.normal(size=3)
    batches = batch_indices(len(y), batch_size, shuffle=True, generator=rng)
    accumulated = sum(linear_mse_grad(w, X[b], y[b]) for b in batches) / k
    np.testing.assert_allclose(accumulated, linear_mse_grad(w, X, y), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: batch_indices(10, 0), "batch_size should be a positive integer value"),
        (lambda: batch_indices(10, 2.5), "batch_size should be a positive integer value"),
        (lambda: batch_indices(0, 2), "n should be a positive integer value"),
        (lambda: batch_indices(3, 5, drop_last=True), "would leave no batch"),
        (lambda: train_linear(DATA.X, DATA.y, 8, lr=0.0, epochs=1), "Invalid learning rate: 0.0"),
        (lambda: train_linear(DATA.X, DATA.y, 8, lr=float("nan"), epochs=1), "Invalid learning rate"),
        (lambda: train_linear(DATA.X, DATA.y, 8, lr=0.1, epochs=-1), "epochs must be a non-negative"),
        (lambda: train_linear(DATA.X, DATA.y, True, lr=0.1, epochs=1), "batch_size should be"),
        (lambda: train_linear(DATA.X, DATA.y[:-1], 8, lr=0.1, epochs=1), "same n"),
        (lambda: train_linear(DATA.X[:, 0], DATA.y, 8, lr=0.1, epochs=1), "must be a matrix"),
        (lambda: train_linear(DATA.X, DATA.y, 8, lr=0.1, epochs=1, w0=[0.0]), "one weight per feature"),
        (lambda: linear_mse([1.0, np.nan, 0.0], DATA.X, DATA.y), "NaN"),
    ],
)
def test_bad_inputs_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_first_below_gives_the_first_update_and_its_epoch_or_none():
    run = train_linear(DATA.X, DATA.y, batch_size=8, lr=0.05, epochs=3, seed=0)
    threshold = float(run.losses[11]) * 1.0000001  # the loss falls at every one of these updates
    first = int(np.flatnonzero(run.losses < threshold)[0])
    assert run.first_below(threshold) == (first, first / 8)
    assert run.first_below(0.0) == (None, None)
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        run.first_below(float("nan"))


def test_race_rows_give_one_row_per_run_and_refuse_other_records():
    runs = {B: train_linear(DATA.X, DATA.y, B, lr=0.05, epochs=5, seed=0) for B in (1, 60)}
    rows = race_rows(runs, threshold=2.0)
    for B, run in runs.items():
        updates, epochs = run.first_below(2.0)
        assert rows[B]["updates to loss < 2"] == updates and rows[B]["epochs to loss < 2"] == epochs
        assert rows[B]["updates per epoch"] == 60 // B
        assert rows[B]["loss after the last epoch"] == run.losses[-1]
    walk = descend(surfaces.bowl, 1.0, optim.sgd(lr=0.1), steps=3)
    with pytest.raises(ValueError, match="LinearRun records, got a Trajectory"):
        race_rows({"walk": walk})


def test_a_linear_run_is_drawn_by_the_plotting_helpers_written_for_trajectories():
    X, y = DATA.X[:, :2], DATA.y
    run = train_linear(X, y, batch_size=8, lr=0.05, epochs=2, seed=0)
    bowl = surfaces.quadratic(2 * X.T @ X / len(y), center=np.linalg.lstsq(X, y, rcond=None)[0])
    fig, (ax_map, ax_loss) = plt.subplots(1, 2)
    plotting.contours_with_paths(bowl, [run], labels=["B = 8"], ax=ax_map)
    plotting.loss_per_step(run, ax=ax_loss)  # one run, not a tuple of fields
    drawn = [line.get_xydata() for line in ax_map.lines]
    assert any(d.shape == run.positions.shape and np.array_equal(d, run.positions) for d in drawn)
    assert len(ax_loss.lines) == 1 and np.array_equal(ax_loss.lines[0].get_ydata(), run.losses)
    plt.close(fig)
