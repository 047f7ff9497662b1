"""gdlab.training.fit: it trains, stops early on the best weights, survives NaN, clips, repeats, saves."""

import copy
import math
import sys
import types
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gdlab import data, training
from gdlab.curves import History
from gdlab.models import mlp
from gdlab.training import EpochResult, evaluate, fit, train_epoch

# Small torch models in float32 on one thread (the fixture lives in conftest.py).
pytestmark = pytest.mark.usefixtures("small_torch")


def tensors(X, y):
    return torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32).reshape(-1, 1)


def linear_data(n=64, noise=0.0, seed=0):
    d = data.linear(n=n, noise=noise, seed=seed)
    return tensors(d.X, d.y)


def polynomial_points(n, seed):
    d = data.polynomial(n=n, noise=0.3, seed=seed)
    return tensors(d.X, d.y)


def polynomial_sets():
    return polynomial_points(15, seed=0), polynomial_points(100, seed=1)


def big_mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(1, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 1),
    )


# --- fit is the loop a reader writes, float for float ---


def hand_batches(data, batch_size, shuffle):
    """The batches of one epoch: a DataLoader's own, or rows of (X, y) in a (shuffled) order."""
    if isinstance(data, torch.utils.data.DataLoader):
        yield from data
        return
    X, y = data
    if batch_size is None:
        yield X, y
        return
    order = torch.randperm(len(X)) if shuffle else torch.arange(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start : start + batch_size]
        yield X[rows], y[rows]


def hand_evaluate(model, loss_fn, data, batch_size):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for X, y in hand_batches(data, batch_size, shuffle=False):
            total += loss_fn(model(X), y).item() * len(X)
            count += len(X)
    model.train()
    return total / count


def hand_written_loop(
    model,
    loss_fn,
    optimizer,
    train,
    val,
    epochs,
    batch_size=None,
    scheduler=None,
    max_norm=None,
    patience=None,
):
    """zero_grad, forward, backward, clip, step; evaluate; keep the last finite and the best weights."""
    record = dict(train_loss=[], val_loss=[] if val is not None else None, lr=[], grad_norm=[])
    reason, last_good, best, best_weights, waited = (
        "completed",
        copy.deepcopy(model.state_dict()),
        math.inf,
        None,
        0,
    )
    val_batch_size = None if isinstance(val, torch.utils.data.DataLoader) else batch_size
    with torch.random.fork_rng():
        torch.manual_seed(0)
        for _ in range(epochs):
            lr = optimizer.param_groups[0]["lr"]
            model.train()
            total, count, norms, finite = 0.0, 0, [], True
            for X, y in hand_batches(train, batch_size, shuffle=True):
                optimizer.zero_grad()
                loss = loss_fn(model(X), y)
                if not math.isfinite(loss.item()):
                    finite = False
                    break
                loss.backward()
                norm = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])
                if not math.isfinite(norm.item()):
                    finite = False
                    break
                if max_norm is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                optimizer.step()
                total += loss.item() * len(X)
                count += len(X)
                norms.append(norm.item())
            val_loss = (
                hand_evaluate(model, loss_fn, val, val_batch_size) if finite and val is not None else None
            )
            if not finite or (val_loss is not None and not math.isfinite(val_loss)):
                model.load_state_dict(last_good)
                reason = "non_finite"
                break
            record["train_loss"].append(total / count)
            record["grad_norm"].append(sum(norms) / len(norms))
            record["lr"].append(lr)
            if val is not None:
                record["val_loss"].append(val_loss)
            last_good = copy.deepcopy(model.state_dict())
            watched = val_loss if val is not None else total / count
            if watched < best:
                best, best_weights, waited = watched, copy.deepcopy(model.state_dict()), 0
            else:
                waited += 1
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(watched)
            elif scheduler is not None:
                scheduler.step()
            if patience is not None and waited >= patience:
                reason = "early_stopping"
                break
    if patience is not None and best_weights is not None:
        model.load_state_dict(best_weights)
    return record, reason


def rmse(input, target):
    # Its gradient is 0/0 = NaN where the residual is exactly zero.
    return ((input - target) ** 2).mean().sqrt()


def loader(data, batch_size, shuffle=False):
    return torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(*data), batch_size=batch_size, shuffle=shuffle
    )


def steep_data():
    X, y = linear_data(n=48, noise=0.2)
    return 10 * X, y


def validation_with_an_inf():
    X, y = linear_data(n=16, seed=1)
    X[3, 1] = math.inf
    return X, y


def line_at_zero_with_bias_one_half():
    model = torch.nn.Linear(3, 1)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.fill_(0.5)
    return model


# Each: build the model, its optimizer, its scheduler (or None), train and val data, fit's keyword
# arguments, and how the run ends.
SAME_AS_BY_HAND = {
    "shuffled batches, seed, dropout, momentum, validation": (
        lambda: mlp(3, 16, 1, activation="relu", dropout=0.2, seed=0),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
        None,
        lambda: linear_data(n=60, noise=0.3, seed=0),
        lambda: linear_data(n=30, noise=0.3, seed=1),
        dict(epochs=8, batch_size=7),
        "completed",
    ),
    "early stopping on mini-batches": (
        lambda: mlp(1, 32, 32, 1, seed=1),
        lambda p: torch.optim.Adam(p, lr=0.01),
        None,
        lambda: polynomial_points(40, seed=0),
        lambda: polynomial_sets()[1],
        dict(epochs=300, batch_size=8, early_stopping=6),
        "early_stopping",
    ),
    "ReduceLROnPlateau on the validation loss": (
        lambda: mlp(1, 32, 32, 1, seed=2),
        lambda p: torch.optim.Adam(p, lr=0.02),
        lambda opt: torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2),
        lambda: polynomial_sets()[0],
        lambda: polynomial_sets()[1],
        dict(epochs=60, batch_size=5),
        "completed",
    ),
    "ReduceLROnPlateau on the training loss": (
        lambda: mlp(3, 1, seed=0),
        lambda p: torch.optim.SGD(p, lr=0.3),
        lambda opt: torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.3, patience=1),
        lambda: linear_data(n=64, noise=0.5),
        lambda: None,
        dict(epochs=40, batch_size=16),
        "completed",
    ),
    "StepLR and clipping": (
        lambda: mlp(3, 1, seed=0),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5),
        lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
        steep_data,
        lambda: linear_data(n=20, noise=0.2, seed=1),
        dict(epochs=12, batch_size=12, clip_grad_norm=1.0),
        "completed",
    ),
    "a NaN stop after a blow-up": (
        lambda: mlp(3, 1, seed=0),
        lambda p: torch.optim.SGD(p, lr=5.0),
        None,
        lambda: linear_data(n=64, noise=0.5, seed=0),
        lambda: linear_data(n=64, noise=0.5, seed=1),
        dict(epochs=100),
        "non_finite",
    ),
    "a NaN gradient with a finite loss": (
        line_at_zero_with_bias_one_half,
        lambda p: torch.optim.SGD(p, lr=0.125),  # the bias falls 0.5, 0.375, ..., 0 exactly
        None,
        lambda: (torch.zeros(16, 3), torch.zeros(16, 1)),
        lambda: None,
        dict(epochs=30, loss_fn=rmse),
        "non_finite",
    ),
    "a non-finite validation loss": (
        lambda: mlp(3, 1, seed=0),
        lambda p: torch.optim.SGD(p, lr=0.1),
        None,
        lambda: linear_data(n=64, noise=0.1),
        validation_with_an_inf,
        dict(epochs=5, batch_size=16),
        "non_finite",
    ),
    "DataLoaders, shuffled, with cosine annealing and clipping": (
        lambda: mlp(3, 8, 1, activation="relu", dropout=0.1, seed=0),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
        lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6),
        lambda: loader(linear_data(n=40, noise=0.2), batch_size=8, shuffle=True),
        lambda: loader(linear_data(n=25, noise=0.2, seed=1), batch_size=10),
        dict(epochs=6, clip_grad_norm=0.5),
        "completed",
    ),
}


@pytest.mark.parametrize("case", SAME_AS_BY_HAND)
def test_fit_gives_exactly_the_losses_norms_and_weights_of_the_hand_written_loop(case):
    build, make_optimizer, make_scheduler, train, val, kwargs, ends = SAME_AS_BY_HAND[case]
    kwargs = dict(kwargs)
    loss_fn = kwargs.pop("loss_fn", F.mse_loss)
    runs = []
    for by_hand in (False, True):
        model = build()
        optimizer = make_optimizer(model.parameters())
        scheduler = make_scheduler(optimizer) if make_scheduler else None
        if by_hand:
            record, reason = hand_written_loop(
                model,
                loss_fn,
                optimizer,
                train(),
                val(),
                kwargs["epochs"],
                kwargs.get("batch_size"),
                scheduler,
                kwargs.get("clip_grad_norm"),
                kwargs.get("early_stopping"),
            )
        else:
            h = fit(
                model,
                loss_fn,
                optimizer,
                train(),
                val(),
                scheduler=scheduler,
                seed=0,
                progress=False,
                **kwargs,
            )
            record, reason = (
                dict(train_loss=h.train_loss, val_loss=h.val_loss, lr=h.lr, grad_norm=h.grad_norm),
                h.stopped_reason,
            )
        runs.append((record, reason, copy.deepcopy(model.state_dict())))
    (fitted, fit_reason, fit_weights), (hand, hand_reason, hand_weights) = runs
    assert fitted == hand  # every float equal (==), not close
    assert fit_reason == hand_reason
    assert fit_weights.keys() == hand_weights.keys()
    assert all(torch.equal(fit_weights[k], hand_weights[k]) for k in fit_weights)
    assert fit_reason == ends  # each case reaches what it is named for
    if ends == "non_finite":
        assert len(fitted["train_loss"]) < kwargs["epochs"]
    if make_scheduler is not None:
        assert len(set(fitted["lr"])) > 1


def test_train_epoch_is_one_pass_and_reports_the_nan_guard():
    X, y = linear_data(n=12, noise=0.2)
    model = mlp(3, 1, seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    first = train_epoch(model, F.mse_loss, opt, (X, y), batch_size=4, shuffle=False)
    assert (
        isinstance(first, EpochResult)
        and first.problem is None
        and first._fields
        == (
            "train_loss",
            "grad_norm",
            "problem",
        )
    )
    assert model.training and train_epoch(model, F.mse_loss, opt, (X, y)).train_loss < first.train_loss
    X[5, 0] = math.nan  # in the second batch of 4 rows
    before = copy.deepcopy(model.state_dict())
    broken = train_epoch(model, F.mse_loss, opt, (X, y), batch_size=4, shuffle=False, epoch=7)
    assert broken.problem == "non-finite training loss (nan) at epoch 7, batch 2"
    assert math.isfinite(broken.train_loss) and math.isfinite(broken.grad_norm)  # the first batch's
    assert not torch.equal(
        before["0.weight"], model.state_dict()["0.weight"]
    )  # batch 1 stepped, batch 2 did not
    with pytest.raises(ValueError, match="epoch must be a positive integer"):
        train_epoch(model, F.mse_loss, opt, (X, y), epoch=0)
    with pytest.raises(ValueError, match="clip_grad_norm must be a positive finite number"):
        train_epoch(model, F.mse_loss, opt, (X, y), clip_grad_norm=0.0)


def test_fit_trains_a_linear_regression_to_near_zero_loss():
    train = linear_data()
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    h = fit(model, F.mse_loss, opt, train, epochs=100, progress=False)
    assert h.stopped_reason == "completed" and len(h) == 100 and h.epochs == list(range(1, 101))
    assert h.val_loss is None and h.best_epoch == 100
    assert h.train_loss[-1] < 1e-8 < h.train_loss[0]
    assert h.lr == [0.1] * 100
    assert h.grad_norm[-1] < 1e-3 * h.grad_norm[0]
    assert all(t >= 0 for t in h.epoch_time)
    assert torch.allclose(model.weight.detach(), torch.tensor([[2.0, -1.0, 0.5]]), atol=1e-4)


def test_full_batch_epoch_records_the_loss_and_gradient_norm_at_the_starting_weights():
    X, y = linear_data(n=32, noise=0.1)
    torch.manual_seed(1)
    model = torch.nn.Linear(3, 1)
    loss = F.mse_loss(model(X), y)
    loss.backward()
    norm = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).norm()
    model.zero_grad()
    h = fit(model, F.mse_loss, torch.optim.SGD(model.parameters(), lr=0.05), (X, y), epochs=1, progress=False)
    assert h.train_loss[0] == pytest.approx(loss.item(), rel=1e-6)
    assert h.grad_norm[0] == pytest.approx(norm.item(), rel=1e-5)


def test_early_stopping_restores_the_weights_of_the_best_validation_epoch():
    train, val = polynomial_sets()
    model = big_mlp()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    h = fit(model, F.mse_loss, opt, train, val, epochs=2000, early_stopping=10, progress=False)
    assert h.stopped_reason == "early_stopping"
    assert len(h) == h.best_epoch + 10 < 2000
    assert min(h.val_loss) == h.val_loss[h.best_epoch - 1] < h.val_loss[-1]
    # The model now holds the best epoch's weights: its validation loss is that epoch's, exactly.
    assert evaluate(model, F.mse_loss, val) == h.val_loss[h.best_epoch - 1]
    assert "restored the best weights" in h.message


def test_early_stopping_restores_the_best_weights_even_when_all_epochs_run():
    train, val = polynomial_sets()
    model = big_mlp()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    h = fit(model, F.mse_loss, opt, train, val, epochs=150, early_stopping=1000, progress=False)
    assert h.stopped_reason == "completed" and h.best_epoch < 150
    assert evaluate(model, F.mse_loss, val) == h.val_loss[h.best_epoch - 1]


def test_nan_guard_stops_a_diverging_run_and_restores_the_last_finite_weights():
    train, val = linear_data(n=64, noise=0.5, seed=0), linear_data(n=64, noise=0.5, seed=1)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=5.0)  # the curvature is about 2: 5 x 2 >> 2
    h = fit(model, F.mse_loss, opt, train, val, epochs=500, progress=False)
    assert h.stopped_reason == "non_finite" and 1 <= len(h) < 500
    assert "non-finite" in h.message and f"end of epoch {len(h)}" in h.message
    assert all(math.isfinite(v) for v in h.train_loss + h.val_loss)
    assert h.train_loss[-1] > 1e6 * h.train_loss[0]  # it was blowing up when it stopped
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert evaluate(model, F.mse_loss, val) == h.val_loss[-1]


def test_nan_guard_restores_the_starting_weights_when_the_first_epoch_fails():
    X, y = linear_data()
    X[0, 0] = math.inf
    model = torch.nn.Linear(3, 1)
    start = [p.detach().clone() for p in model.parameters()]
    h = fit(model, F.mse_loss, torch.optim.SGD(model.parameters(), lr=0.1), (X, y), epochs=5, progress=False)
    assert h.stopped_reason == "non_finite" and len(h) == 0 and h.best_epoch is None
    assert "epoch 1, batch 1" in h.message and "restored the weights it had before training" in h.message
    assert all(torch.equal(a, b) for a, b in zip(start, model.parameters()))


def test_without_the_guard_nan_runs_on_and_is_recorded():
    train = linear_data(n=64, noise=0.5)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    h = fit(
        model,
        F.mse_loss,
        torch.optim.SGD(model.parameters(), lr=5.0),
        train,
        epochs=300,
        nan_guard=False,
        progress=False,
    )
    assert h.stopped_reason == "completed" and len(h) == 300
    assert math.isnan(h.train_loss[-1]) and math.isfinite(h.train_loss[0])


def test_clipping_bounds_each_update_to_lr_times_max_norm():
    X, y = linear_data(n=32, noise=0.1)
    X = 10 * X  # steep: the raw gradient norm is far above the clip
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    twin = torch.nn.Linear(3, 1)
    twin.load_state_dict(model.state_dict())
    before = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    lr, max_norm = 0.01, 1.0
    h = fit(
        model,
        F.mse_loss,
        torch.optim.SGD(model.parameters(), lr=lr),
        (X, y),
        epochs=1,
        clip_grad_norm=max_norm,
        progress=False,
    )
    after = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    assert h.grad_norm[0] > 100 * max_norm  # the recorded norm is the one before clipping
    assert (after - before).norm().item() <= lr * max_norm * (1 + 1e-6)
    assert (after - before).norm().item() == pytest.approx(lr * max_norm, rel=1e-4)
    # Same step as torch's own recipe: backward, clip_grad_norm_, step.
    opt = torch.optim.SGD(twin.parameters(), lr=lr)
    F.mse_loss(twin(X), y).backward()
    torch.nn.utils.clip_grad_norm_(twin.parameters(), max_norm)
    opt.step()
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))


def dropout_run(seed, shuffle=True):
    train, val = linear_data(n=60, noise=0.3, seed=0), linear_data(n=30, noise=0.3, seed=1)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(16, 1)
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    h = fit(
        model, F.mse_loss, opt, train, val, epochs=8, batch_size=7, shuffle=shuffle, seed=seed, progress=False
    )
    return h, [p.detach().clone() for p in model.parameters()]


def test_the_same_seed_gives_identical_runs():
    (h1, w1), (h2, w2) = dropout_run(seed=3), dropout_run(seed=3)
    assert h1.train_loss == h2.train_loss and h1.val_loss == h2.val_loss and h1.grad_norm == h2.grad_norm
    assert all(torch.equal(a, b) for a, b in zip(w1, w2))
    h3, _ = dropout_run(seed=4)  # another shuffle and other dropout masks
    assert h3.train_loss != h1.train_loss


def test_a_seeded_fit_leaves_the_global_generator_where_it_was():
    X, y = linear_data(n=20, noise=0.3)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.3), torch.nn.Linear(8, 1))
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    fit(
        model,
        F.mse_loss,
        torch.optim.SGD(model.parameters(), lr=0.01),
        (X, y),
        epochs=3,
        batch_size=5,
        seed=3,
        progress=False,
    )
    assert torch.equal(torch.random.get_rng_state(), before)


def test_a_dataloader_gives_the_same_history_as_tensor_pairs_in_the_same_order():
    X, y = linear_data(n=40, noise=0.2)
    runs = []
    for train in [(X, y), torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=8)]:
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        batch_size = 8 if isinstance(train, tuple) else None
        runs.append(
            fit(model, F.mse_loss, opt, train, epochs=5, batch_size=batch_size, shuffle=False, progress=False)
        )
    a, b = runs
    assert a.train_loss == b.train_loss and a.grad_norm == b.grad_norm


def test_tensor_pairs_for_training_and_a_dataloader_for_validation_mix():
    X, y = linear_data(n=40, noise=0.2)
    val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X[:12], y[:12]), batch_size=5)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    h = fit(model, F.mse_loss, opt, (X, y), val, epochs=2, batch_size=8, progress=False)
    assert h.val_loss[-1] == pytest.approx(evaluate(model, F.mse_loss, (X[:12], y[:12])), rel=1e-6)


def test_the_training_loss_is_the_size_weighted_mean_of_the_batch_losses():
    X, y = linear_data(n=10, noise=0.2)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    twin = torch.nn.Linear(3, 1)
    twin.load_state_dict(model.state_dict())
    h = fit(
        model,
        F.mse_loss,
        torch.optim.SGD(model.parameters(), lr=0.1),
        (X, y),
        epochs=1,
        batch_size=4,
        shuffle=False,
        progress=False,
    )
    opt, total = torch.optim.SGD(twin.parameters(), lr=0.1), 0.0
    for start in range(0, 10, 4):  # batches of 4, 4 and 2 rows
        opt.zero_grad()
        loss = F.mse_loss(twin(X[start : start + 4]), y[start : start + 4])
        loss.backward()
        opt.step()
        total += loss.item() * len(X[start : start + 4])
    assert h.train_loss[0] == pytest.approx(total / 10, rel=1e-12)


def test_reduce_lr_on_plateau_is_stepped_with_the_validation_loss():
    train, val = polynomial_sets()
    model = big_mlp()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    h = fit(model, F.mse_loss, opt, train, val, epochs=120, scheduler=plateau, progress=False)
    # Replay the recorded validation losses through a fresh scheduler: same learning rates.
    replay_opt = torch.optim.Adam(big_mlp().parameters(), lr=0.01)
    replay = torch.optim.lr_scheduler.ReduceLROnPlateau(replay_opt, factor=0.5, patience=2)
    lrs = []
    for v in h.val_loss:
        lrs.append(replay_opt.param_groups[0]["lr"])
        replay.step(v)
    assert h.lr == lrs and h.lr[-1] < h.lr[0]


def test_other_schedulers_step_once_per_epoch():
    X, y = linear_data()
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.08)
    step = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    h = fit(model, F.mse_loss, opt, (X, y), epochs=6, batch_size=16, scheduler=step, progress=False)
    assert h.lr == [0.08, 0.08, 0.04, 0.04, 0.02, 0.02]


def test_callbacks_see_the_history_after_every_epoch_while_it_runs():
    X, y = linear_data()
    model = torch.nn.Linear(3, 1)
    seen = []
    h = fit(
        model,
        F.mse_loss,
        torch.optim.SGD(model.parameters(), lr=0.1),
        (X, y),
        epochs=4,
        progress=False,
        callbacks=lambda history: seen.append((len(history), history.stopped_reason)),
    )
    assert seen == [(1, "running"), (2, "running"), (3, "running"), (4, "running")]
    assert h.stopped_reason == "completed"


def test_fit_restores_the_models_mode_and_evaluates_in_eval_mode():
    X, y = linear_data()
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 1))
    model.eval()
    fit(model, F.mse_loss, torch.optim.SGD(model.parameters(), lr=0.01), (X, y), epochs=1, progress=False)
    assert not model.training
    model.train()
    assert evaluate(model, F.mse_loss, (X, y)) == evaluate(model, F.mse_loss, (X, y))  # no dropout noise
    assert model.training


def test_history_round_trips_exactly_through_json_and_csv(tmp_path):
    train, val = polynomial_sets()
    model = big_mlp()
    h = fit(
        model,
        F.mse_loss,
        torch.optim.Adam(model.parameters(), lr=0.01),
        train,
        val,
        epochs=40,
        early_stopping=5,
        progress=False,
    )
    h.to_json(tmp_path / "h.json")
    h.to_csv(tmp_path / "h.csv")
    assert History.from_json(tmp_path / "h.json") == h
    assert History.from_csv(tmp_path / "h.csv") == h
    no_val = fit(
        model, F.mse_loss, torch.optim.SGD(model.parameters(), lr=0.01), train, epochs=3, progress=False
    )
    no_val.to_json(tmp_path / "n.json")
    no_val.to_csv(tmp_path / "n.csv")
    assert History.from_json(tmp_path / "n.json") == no_val
    assert History.from_csv(tmp_path / "n.csv") == no_val and no_val.val_loss is None


def test_a_history_with_nan_round_trips_too(tmp_path):
    h = History(
        train_loss=[1.0, math.inf, math.nan],
        val_loss=[1.5, math.nan, math.nan],
        lr=[0.1] * 3,
        grad_norm=[3.0, math.inf, math.nan],
        epoch_time=[0.1, 0.2, 0.3],
    )
    for save, load in [(h.to_json, History.from_json), (h.to_csv, History.from_csv)]:
        save(tmp_path / "h")
        back = load(tmp_path / "h")
        for name in ["train_loss", "val_loss", "lr", "grad_norm", "epoch_time"]:
            np.testing.assert_array_equal(getattr(back, name), getattr(h, name))
        assert (back.stopped_reason, back.best_epoch, back.message) == (h.stopped_reason, 1, h.message)


def test_an_empty_history_round_trips_with_or_without_validation(tmp_path):
    for h in [
        History(stopped_reason="non_finite", message="non-finite training loss (nan)"),
        History(val_loss=[]),
    ]:
        h.to_json(tmp_path / "e.json")
        h.to_csv(tmp_path / "e.csv")
        assert History.from_json(tmp_path / "e.json") == h == History.from_csv(tmp_path / "e.csv")


def test_reading_a_file_that_is_not_a_history_raises(tmp_path):
    (tmp_path / "x.json").write_text('{"format": "something else"}')
    (tmp_path / "x.csv").write_text("epoch,train_loss\n1,0.5\n")
    with pytest.raises(ValueError, match="not a saved History"):
        History.from_json(tmp_path / "x.json")
    with pytest.raises(ValueError, match="not a History"):
        History.from_csv(tmp_path / "x.csv")


X_OK, Y_OK = torch.zeros(8, 3, dtype=torch.float32), torch.zeros(8, 1, dtype=torch.float32)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(epochs=0), "epochs must be a positive integer"),
        (dict(epochs=-3), "epochs must be a positive integer"),
        (dict(epochs=2.5), "epochs must be a positive integer"),
        (dict(epochs=True), "epochs must be a positive integer"),
        (dict(batch_size=0), "batch_size must be a positive integer"),
        (dict(batch_size=-1), "batch_size must be a positive integer"),
        (dict(train_data=(torch.zeros(0, 3), torch.zeros(0, 1))), "empty"),
        (dict(train_data=(X_OK, torch.zeros(7, 1))), "same number of rows, got 8 and 7"),
        (dict(train_data=(np.zeros((8, 3)), np.zeros((8, 1)))), "torch.Tensor.*ndarray"),
        (dict(train_data=(X_OK, [0.0] * 8)), "torch.Tensor"),
        (dict(train_data=X_OK), "pair \\(X, y\\)"),
        (dict(train_data=3), "pair \\(X, y\\)"),
        (dict(val_data=(X_OK, torch.zeros(5, 1))), "val_data.*got 8 and 5"),
        (dict(early_stopping=3), "early_stopping watches the validation loss"),
        (dict(early_stopping=0, val_data=(X_OK, Y_OK)), "early_stopping"),
        (dict(clip_grad_norm=-1.0), "clip_grad_norm must be a positive finite number"),
        (dict(clip_grad_norm=math.inf), "clip_grad_norm"),
        (dict(clip_grad_norm=True), "clip_grad_norm"),
        (dict(scheduler="step"), "scheduler must have a step"),
        (dict(callbacks=["not callable"]), "callbacks"),
        (dict(optimizer="sgd"), "optimizer must be a torch.optim.Optimizer"),
        (dict(model=lambda x: x), "model must be a torch.nn.Module"),
        (dict(loss_fn="mse"), "loss_fn must be callable"),
        (dict(train_data=[(X_OK, Y_OK)], batch_size=4), "batch_size applies to \\(X, y\\) tensor pairs"),
        (dict(train_data=[]), "yielded no batches"),
        (dict(loss_fn=lambda out, y: (out - y) ** 2), "scalar tensor.*shape \\(8, 1\\)"),
        (dict(loss_fn=lambda out, y: 0.5), "scalar tensor.*0.5"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    model = torch.nn.Linear(3, 1)
    arguments = dict(
        model=model,
        loss_fn=F.mse_loss,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        train_data=(X_OK, Y_OK),
        epochs=2,
        progress=False,
    )
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fit(**arguments)


def test_fit_emits_no_warnings_and_no_output(capsys):
    train, val = polynomial_sets()
    model = big_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*train), batch_size=4, shuffle=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(
            model,
            F.mse_loss,
            opt,
            loader,
            val,
            epochs=20,
            scheduler=schedule,
            clip_grad_norm=1.0,
            early_stopping=5,
            seed=0,
        )
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt)
        fit(model, F.mse_loss, opt, train, epochs=3, scheduler=plateau, seed=0)
    assert capsys.readouterr() == ("", "")


def test_the_progress_bar_is_quiet_unless_someone_is_watching(monkeypatch):
    assert not training._show_progress(False)
    assert not training._show_progress(True)  # the suite sets GDLAB_QUIET (tests/conftest.py)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    monkeypatch.delenv("GDLAB_QUIET", raising=False)
    assert training._show_progress(True)
    monkeypatch.setenv("GDLAB_QUIET", "1")
    assert not training._show_progress(True)
    monkeypatch.setenv("GDLAB_QUIET", "0")
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    assert not training._show_progress(True)  # output captured or redirected to a file

    class ZMQInteractiveShell:  # stands in for ipykernel's shell; Colab's subclasses it
        pass

    class ColabShell(ZMQInteractiveShell):
        pass

    fake_ipython = types.SimpleNamespace(get_ipython=ColabShell)
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    assert training._show_progress(True)  # a notebook: tqdm.auto shows a widget
    monkeypatch.setenv("GDLAB_QUIET", "1")
    assert not training._show_progress(True)  # e.g. a book build that sets GDLAB_QUIET
