"""The regularization explorer of chapter 08, driven headless: set a control, read the stored run."""

import base64
import io
import re

import numpy as np
import pytest
import torch
from PIL import Image

from gdlab import data
from gdlab.training import evaluate
from gdlab.widgets.regularization import (
    RegularizationExplorer,
    RegularizationGrid,
    precompute_grid,
    record_run,
    status,
)

torch.set_num_threads(1)  # small models run fastest on one thread

EPOCHS = 40
WEIGHT_DECAYS = (0.0, 1.0)
DROPOUTS = (0.0, 0.2)


def make_mlp(dropout=0.0, hidden=16):
    layers = [torch.nn.Linear(1, hidden), torch.nn.Tanh()]
    if dropout:
        layers.append(torch.nn.Dropout(dropout))
    layers.append(torch.nn.Linear(hidden, 1))
    return torch.nn.Sequential(*layers)


def as_pair(regression):
    return (
        torch.as_tensor(regression.X, dtype=torch.float32),
        torch.as_tensor(regression.y, dtype=torch.float32).unsqueeze(1),
    )


@pytest.fixture(scope="module")
def task():
    train = as_pair(data.polynomial(n=12, noise=0.3, seed=0))
    val = as_pair(data.polynomial(n=50, noise=0.3, seed=1))
    x_grid = np.linspace(-1, 1, 41)
    true_curve = np.polynomial.polynomial.polyval(x_grid, (0.5, -1.0, 0.0, 2.0))
    return train, val, x_grid, true_curve


@pytest.fixture(scope="module")
def grid(task):
    train, val, x_grid, true_curve = task
    return precompute_grid(
        make_mlp,
        train,
        val,
        x_grid,
        weight_decays=WEIGHT_DECAYS,
        dropouts=DROPOUTS,
        epochs=EPOCHS,
        lr=0.02,
        seed=0,
        true_curve=true_curve,
    )


def alt_text(explorer):
    return re.search(r'alt="([^"]+)"', explorer.figure_view.value).group(1)


def image(explorer):
    encoded = re.search(r'src="data:image/png;base64,([^"]+)"', explorer.figure_view.value).group(1)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))))


def test_grid_holds_one_curve_per_epoch_and_one_fitted_function_per_epoch(grid):
    assert isinstance(grid, RegularizationGrid)
    assert grid.train_loss.shape == grid.val_loss.shape == (2, 2, EPOCHS)
    assert grid.predictions.shape == (2, 2, EPOCHS, 41)
    assert np.all(np.isfinite(grid.predictions)) and np.all(grid.train_loss > 0)
    assert grid.weight_decays == WEIGHT_DECAYS and grid.dropouts == DROPOUTS


@pytest.mark.parametrize("weight_decay, dropout", [(0.0, 0.0), (1.0, 0.2)])
def test_each_grid_cell_is_the_adamw_run_it_names(grid, task, weight_decay, dropout):
    train, val, x_grid, _ = task
    torch.manual_seed(0)
    model = make_mlp(dropout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.02, weight_decay=weight_decay)
    run = record_run(model, optimizer, train, val, x_grid, epochs=EPOCHS, seed=0)
    i, j = grid.index(weight_decay, dropout)
    assert np.array_equal(grid.val_loss[i, j], run.val_loss)
    assert np.array_equal(grid.train_loss[i, j], run.train_loss)
    assert np.array_equal(grid.predictions[i, j], run.predictions)
    # the record ends where the model ends: eval-mode losses and function of the final weights
    assert run.train_loss[-1] == pytest.approx(evaluate(model, torch.nn.functional.mse_loss, train), rel=1e-6)
    assert run.val_loss[-1] == evaluate(model, torch.nn.functional.mse_loss, val)
    model.eval()
    with torch.no_grad():
        final = model(torch.as_tensor(x_grid, dtype=torch.float32).unsqueeze(1)).numpy().ravel()
    np.testing.assert_allclose(run.predictions[-1], final, rtol=0, atol=1e-6)


def test_weight_decay_and_dropout_change_the_run(grid):
    base = grid.val_loss[0, 0]
    assert not np.array_equal(grid.val_loss[1, 0], base)  # decay moves the weights
    assert not np.array_equal(grid.val_loss[0, 1], base)  # dropout changes the steps


def test_record_run_measures_the_training_loss_with_dropout_off(task):
    train, val, x_grid, _ = task
    torch.manual_seed(0)
    model = make_mlp(0.5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    run = record_run(model, optimizer, train, val, x_grid, epochs=5, seed=0)
    assert model.training  # fit leaves the model in the mode it came in
    assert run.train_loss[-1] == pytest.approx(evaluate(model, torch.nn.functional.mse_loss, train), rel=1e-6)
    # what fit logs is the loss of the thinned network during the epoch: a different number
    assert run.history.train_loss[-1] != pytest.approx(run.train_loss[-1], rel=1e-3)


def test_record_run_with_early_stopping_keeps_every_trained_epoch(task):
    train, val, x_grid, _ = task
    torch.manual_seed(0)
    model = make_mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    run = record_run(model, optimizer, train, val, x_grid, epochs=300, seed=0, early_stopping=5)
    history = run.history
    assert history.stopped_reason == "early_stopping"
    assert len(run.val_loss) == len(run.train_loss) == len(run.predictions) == len(history)
    assert history.best_epoch == int(np.argmin(run.val_loss)) + 1
    restored = evaluate(model, torch.nn.functional.mse_loss, val)
    assert restored == pytest.approx(run.val_loss[history.best_epoch - 1], rel=1e-6)


def test_readout_quotes_the_stored_losses_of_the_chosen_run_and_epoch(grid):
    explorer = RegularizationExplorer(grid)
    for weight_decay, dropout, epoch in [(0.0, 0.0, EPOCHS), (1.0, 0.0, 7), (1.0, 0.2, 1), (0.0, 0.2, 23)]:
        explorer.weight_decay.value = weight_decay
        explorer.dropout.value = dropout
        explorer.epoch.value = epoch
        i, j = grid.index(weight_decay, dropout)
        train, val = grid.train_loss[i, j, epoch - 1], grid.val_loss[i, j, epoch - 1]
        state = explorer.state
        assert state["train_loss"] == train and state["val_loss"] == val
        assert state["best_epoch"] == int(np.argmin(grid.val_loss[i, j])) + 1
        readout = explorer.readout.value
        assert f"training loss {train:.4f}" in readout and f"validation loss {val:.4f}" in readout
        assert f"epoch {epoch} of {EPOCHS}" in readout and f"λ = {weight_decay:g}, p = {dropout:g}" in readout
        rms = np.sqrt(np.mean((grid.predictions[i, j, epoch - 1] - grid.true_curve) ** 2))
        assert f"RMS distance to the true function {rms:.4f}" in readout
        assert state["status"] == status(grid.val_loss[i, j], epoch) and state["status"] in readout


def test_epoch_slider_selects_a_prefix_of_the_stored_curves(grid):
    explorer = RegularizationExplorer(grid, weight_decay=1.0, dropout=0.2)
    i, j = grid.index(1.0, 0.2)
    for epoch in (1, 12, EPOCHS):
        explorer.epoch.value = epoch
        assert np.array_equal(explorer._val.get_ydata(), grid.val_loss[i, j, :epoch])
        assert np.array_equal(explorer._train.get_xdata(), np.arange(1, epoch + 1))
        assert np.array_equal(explorer._train_all.get_ydata(), grid.train_loss[i, j])  # the whole run, faint
        assert np.array_equal(explorer._fit.get_ydata(), grid.predictions[i, j, epoch - 1])
        assert list(explorer._now.get_xdata()) == [epoch, epoch]


def test_status_names_where_an_epoch_stands_on_the_validation_curve():
    curve = [1.0, 0.5, 0.4, 0.42, 0.6]
    assert [status(curve, k) for k in range(1, 6)] == [
        "still learning",
        "still learning",
        "near its best",
        "near its best",
        "overfitting",
    ]
    with pytest.raises(ValueError, match="epoch must be between 1 and 5"):
        status(curve, 6)


def test_every_control_has_a_visible_label_and_the_figure_has_alt_text(grid):
    explorer = RegularizationExplorer(grid, weight_decay=1.0, dropout=0.2, epoch=9)
    for control in (explorer.weight_decay, explorer.dropout, explorer.epoch):
        assert control.description.strip()
    assert [value for _, value in explorer.weight_decay.options] == list(WEIGHT_DECAYS)
    assert (explorer.epoch.min, explorer.epoch.max) == (1, EPOCHS)
    assert 'role="status"' in explorer.readout.value
    alt = alt_text(explorer)
    assert "weight decay 1" in alt and "dropout 0.2" in alt and "epoch 9 of 40" in alt
    assert f"Status: {explorer.state['status']}" in alt


def test_artists_are_updated_in_place_and_the_background_leaves_no_trace(grid):
    explorer = RegularizationExplorer(grid)
    lines = (explorer._train, explorer._val, explorer._fit)
    first = image(explorer)
    assert first.shape[:2] == (288, 720)  # 9 x 3.6 inches at 80 dpi
    explorer.weight_decay.value = 1.0
    explorer.epoch.value = 5
    changed = image(explorer)
    assert (explorer._train, explorer._val, explorer._fit) == lines
    moved = np.any(first != changed, axis=2)
    assert moved[:, :360].any() and moved[:, 360:].any()  # both panels changed
    explorer.weight_decay.value = 0.0
    explorer.epoch.value = EPOCHS
    assert np.array_equal(image(explorer), first)


def test_without_a_true_curve_the_readout_leaves_out_the_distance(task):
    train, val, x_grid, _ = task
    grid = precompute_grid(make_mlp, train, val, x_grid, weight_decays=(0.0,), dropouts=(0.0,), epochs=3)
    explorer = RegularizationExplorer(grid)
    assert explorer.state["rms_to_truth"] is None and "RMS" not in explorer.readout.value


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dropouts": (0.0, 1.0)}, "dropout probability has to be between 0 and 1"),
        ({"weight_decays": (1.0, 0.0)}, "weight_decays must be strictly increasing"),
        ({"weight_decays": (-0.1,)}, "weight_decays must be non-negative"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"x_grid": np.array([0.0, 0.0, 1.0])}, "x_grid must hold at least 2 strictly increasing"),
        ({"true_curve": np.zeros(3)}, "true_curve must have one value per x_grid input"),
    ],
)
def test_bad_grid_settings_are_refused(task, kwargs, message):
    train, val, x_grid, _ = task
    settings = {"x_grid": x_grid, "epochs": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        precompute_grid(make_mlp, train, val, **settings)


def test_training_data_must_have_one_input_column(task):
    train, val, x_grid, _ = task
    wide = (torch.cat([train[0], train[0]], dim=1), train[1])
    with pytest.raises(ValueError, match=r"shape \(n, 1\)"):
        precompute_grid(make_mlp, wide, val, x_grid, epochs=2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"weight_decay": 0.5}, "weight_decay must be one of"),
        ({"dropout": 0.1}, "dropout must be one of"),
        ({"epoch": EPOCHS + 1}, "epoch must be an integer between 1 and 40"),
    ],
)
def test_explorer_refuses_settings_that_were_not_computed(grid, kwargs, message):
    with pytest.raises(ValueError, match=message):
        RegularizationExplorer(grid, **kwargs)


def test_explorer_needs_a_precomputed_grid():
    with pytest.raises(ValueError, match="grid must be a RegularizationGrid"):
        RegularizationExplorer({"weight_decays": (0.0,)})
