"""Chapter 08's recorded runs (gdlab.regularization) and the explorer that browses them, driven
headless: set a trait, read the stored run. What the page carries and draws is checked in
test_explorers_js_static.py and test_browser_static_explorers.py."""

import json

import numpy as np
import pytest
import torch

from gdlab import data
from gdlab.regularization import RegularizationGrid, precompute_grid, record_run, status
from gdlab.training import evaluate
from gdlab.widgets.regularization import RegularizationExplorer, decode_grid, encode_grid

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
    i, j = grid.position(weight_decay, dropout)
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


def test_state_holds_the_stored_numbers_of_the_chosen_run_and_epoch(grid):
    explorer = RegularizationExplorer(grid)
    for weight_decay, dropout, epoch in [(0.0, 0.0, EPOCHS), (1.0, 0.0, 7), (1.0, 0.2, 1), (0.0, 0.2, 23)]:
        explorer.weight_decay = weight_decay
        explorer.dropout = dropout
        explorer.epoch = epoch
        i, j = grid.position(weight_decay, dropout)
        state = explorer.state
        assert state["train_loss"] == grid.train_loss[i, j, epoch - 1]
        assert state["val_loss"] == grid.val_loss[i, j, epoch - 1]
        assert state["best_epoch"] == int(np.argmin(grid.val_loss[i, j])) + 1
        assert np.array_equal(state["prediction"], grid.predictions[i, j, epoch - 1])
        rms = np.sqrt(np.mean((grid.predictions[i, j, epoch - 1] - grid.true_curve) ** 2))
        assert state["rms_to_truth"] == rms
        assert state["status"] == status(grid.val_loss[i, j], epoch)


def test_the_page_carries_every_epoch_of_every_run_to_four_significant_digits(grid):
    packed = RegularizationExplorer(grid).runs
    decoded = decode_grid(packed)
    for name in ("train_loss", "val_loss"):
        assert decoded[name].shape == grid.train_loss.shape
        np.testing.assert_allclose(decoded[name], getattr(grid, name), rtol=1e-4)
    kept = grid.predictions[..., 2::5]
    assert decoded["predictions"].shape == kept.shape
    step = np.ptp(kept) / 65535
    assert np.abs(decoded["predictions"] - kept).max() <= step / 2 + 1e-12
    assert packed["x"] == np.round(grid.x_grid[2::5], 4).tolist()
    codes = [status(grid.val_loss[i, j], k) for i in range(2) for j in range(2) for k in range(1, EPOCHS + 1)]
    assert [packed["statuses"][int(c)] for c in packed["status"]] == codes
    assert len(json.dumps(packed)) < 2.5 * (decoded["predictions"].size + 2 * grid.train_loss.size) + 20000


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


def test_settings_are_traits_a_link_reproduces(grid):
    explorer = RegularizationExplorer(grid, weight_decay=1.0, dropout=0.2, epoch=9)
    assert (explorer.kind, explorer.url_traits) == ("regularization", ["weight_decay", "dropout", "epoch"])
    assert (explorer.weight_decay, explorer.dropout, explorer.epoch) == (1.0, 0.2, 9)
    assert explorer.runs["weight_decays"] == list(WEIGHT_DECAYS) and explorer.runs["epochs"] == EPOCHS
    assert explorer.runs == encode_grid(grid)


def test_without_a_true_curve_the_readout_leaves_out_the_distance(task):
    train, val, x_grid, _ = task
    grid = precompute_grid(make_mlp, train, val, x_grid, weight_decays=(0.0,), dropouts=(0.0,), epochs=3)
    explorer = RegularizationExplorer(grid)
    assert explorer.state["rms_to_truth"] is None and explorer.runs["rms_to_truth"] is None


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
