"""gdlab.training.fit: it trains, stops early on the best weights, survives NaN, clips, repeats, saves."""

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
from gdlab.training import evaluate, fit

# Small torch models in float32 on one thread (the fixture lives in conftest.py).
pytestmark = pytest.mark.usefixtures("small_torch")


def tensors(X, y):
    return torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32).reshape(-1, 1)


def linear_data(n=64, noise=0.0, seed=0):
    d = data.linear(n=n, noise=noise, seed=seed)
    return tensors(d.X, d.y)


def polynomial_sets():
    train = data.polynomial(n=15, noise=0.3, seed=0)
    val = data.polynomial(n=100, noise=0.3, seed=1)
    return tensors(train.X, train.y), tensors(val.X, val.y)


def big_mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(1, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 1),
    )


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
