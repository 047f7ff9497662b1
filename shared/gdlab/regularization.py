r"""Weight decay and dropout on an overfitting fit: runs recorded epoch by epoch (chapter 08).

A run is recorded once, ahead of time, so that looking at it later costs nothing:
:func:`record_run` trains with :func:`gdlab.training.fit` and keeps, after every epoch, the
training and validation loss and the fitted function on a grid of inputs;
:func:`precompute_grid` does that for every pair of a grid of weight decays :math:`\lambda`
and dropout rates :math:`p`. Every run minimises the same data loss with AdamW, whose
decoupled decay multiplies the weights by :math:`1 - \alpha\lambda` before each step.
Chapter 08's explorer (:class:`gdlab.widgets.regularization.RegularizationExplorer`) browses
such a grid; it trains nothing itself.

>>> import numpy as np, torch
>>> from gdlab.regularization import precompute_grid
>>> x = torch.linspace(-1, 1, 8).unsqueeze(1)
>>> nn = torch.nn
>>> def build(p):
...     return nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Dropout(p), nn.Linear(8, 1))
>>> grid = precompute_grid(build, (x, x**3), (x + 0.1, (x + 0.1) ** 3), np.linspace(-1, 1, 5),
...                        weight_decays=(0.0, 1.0), dropouts=(0.0,), epochs=3)
>>> grid.train_loss.shape, grid.predictions.shape
((2, 1, 3), (2, 1, 3, 5))
"""

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from .curves import History
from .training import fit

__all__ = ["STATUSES", "RegularizationGrid", "Run", "precompute_grid", "record_run", "status"]

_NEAR_BEST = 1.1  # within 10 % of the run's lowest validation loss counts as "near its best"
STATUSES = ("still learning", "near its best", "overfitting")

FloatArray = NDArray[np.float64]
Pair = tuple[torch.Tensor, torch.Tensor]  # (X, y): inputs of shape (n, 1) and their targets


class Run(NamedTuple):
    """One training run, recorded after every epoch (epochs count from 1)."""

    train_loss: FloatArray  # (E,) loss on the training pairs, eval mode (no dropout), after each epoch
    val_loss: FloatArray  # (E,) validation loss after each epoch (the History's val_loss)
    predictions: FloatArray  # (E, G) the model's output on the input grid after each epoch, eval mode
    history: History  # what gdlab.training.fit returned


class RegularizationGrid(NamedTuple):
    """Runs on a grid of weight decays (axis 0) and dropout rates (axis 1), ``epochs`` each."""

    weight_decays: tuple[float, ...]
    dropouts: tuple[float, ...]
    epochs: int
    x_grid: FloatArray  # (G,) inputs the fitted functions were evaluated at
    train_loss: FloatArray  # (W, D, E)
    val_loss: FloatArray  # (W, D, E)
    predictions: FloatArray  # (W, D, E, G)
    x_train: FloatArray  # (n,) the training pairs, for the figure
    y_train: FloatArray
    x_val: FloatArray
    y_val: FloatArray
    true_curve: FloatArray | None  # (G,) the function the data came from, if known

    def position(self, weight_decay: float, dropout: float) -> tuple[int, int]:
        """The grid position ``(i, j)`` of a stored ``(weight_decay, dropout)`` pair."""
        if weight_decay not in self.weight_decays:
            raise ValueError(f"weight_decay must be one of {self.weight_decays}, got {weight_decay!r}")
        if dropout not in self.dropouts:
            raise ValueError(f"dropout must be one of {self.dropouts}, got {dropout!r}")
        return self.weight_decays.index(weight_decay), self.dropouts.index(dropout)


def _column(values: ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or len(array) == 0 or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be a non-empty column of finite numbers (shape (n,) or (n, 1))")
    return array


def _check_pair(data: object, name: str) -> tuple[FloatArray, FloatArray]:
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise ValueError(f"{name} must be a pair (X, y) of tensors")
    X, y = data
    if not (isinstance(X, torch.Tensor) and X.ndim == 2 and X.shape[1] == 1):
        raise ValueError(f"{name}: X must be a tensor of shape (n, 1): one input per row")
    return _column(X.detach().numpy(), f"{name} X"), _column(y.detach().numpy(), f"{name} y")


def _check_x_grid(x_grid: ArrayLike) -> FloatArray:
    x_grid = _column(x_grid, "x_grid")
    if len(x_grid) < 2 or np.any(np.diff(x_grid) <= 0):
        raise ValueError("x_grid must hold at least 2 strictly increasing inputs")
    return x_grid


def record_run(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    train_data: Pair,
    val_data: Pair,
    x_grid: ArrayLike,
    epochs: int = 300,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    fit_data: Iterable[Pair] | None = None,
    **fit_kwargs: Any,
) -> Run:
    r"""Train with :func:`gdlab.training.fit` and record, after every epoch, what the explorer shows.

    The training loss is measured like the validation loss, in eval mode after the epoch
    (as :func:`gdlab.training.evaluate` would on ``train_data``, an ``(X, y)`` pair with one
    input column), so with dropout both are losses of the same network;
    ``history.train_loss`` is the mean during the epoch, with dropout on. ``fit_data`` (an
    iterable of batches, e.g. augmented copies) is trained on instead of ``train_data`` if
    given. Other keyword arguments (``seed``, ``early_stopping``, ...) go to ``fit``;
    ``progress`` is off. With early stopping the model ends on its best weights, while the
    record keeps every epoch as trained: the restored model's validation loss is
    :math:`\mathcal L_{\text{val}}` at epoch ``history.best_epoch``, ``val_loss[best_epoch - 1]``.

    >>> import numpy as np, torch
    >>> _ = torch.manual_seed(0)
    >>> X = torch.linspace(-1, 1, 16).unsqueeze(1)
    >>> model = torch.nn.Linear(1, 1)
    >>> run = record_run(model, torch.optim.SGD(model.parameters(), lr=0.5), (X, 2 * X), (X, 2 * X),
    ...                  np.array([0.0, 1.0]), epochs=40)
    >>> run.predictions.shape, bool(abs(run.predictions[-1, 1] - 2.0) < 1e-3)
    ((40, 2), True)
    """
    loss_fn = torch.nn.functional.mse_loss if loss_fn is None else loss_fn
    x_grid = _check_x_grid(x_grid)
    _check_pair(train_data, "train_data")
    X_train, y_train = train_data
    inputs = torch.as_tensor(x_grid, dtype=X_train.dtype, device=X_train.device).unsqueeze(1)
    both, n = torch.cat([X_train, inputs]), len(X_train)
    train_losses, predictions = [], []

    def after_epoch(_history: History) -> None:
        model.eval()  # one forward pass for the training loss and the fitted function
        with torch.no_grad():
            output = model(both)
            train_losses.append(float(loss_fn(output[:n], y_train)))
            predictions.append(output[n:].reshape(-1).double().numpy())
        model.train()

    extra = fit_kwargs.pop("callbacks", None) or []
    callbacks = [after_epoch, *([extra] if callable(extra) else extra)]
    history = fit(
        model,
        loss_fn,
        optimizer,
        train_data if fit_data is None else fit_data,
        val_data,
        epochs=epochs,
        progress=False,
        callbacks=callbacks,
        **fit_kwargs,
    )
    return Run(np.array(train_losses), np.array(history.val_loss), np.array(predictions), history)


def precompute_grid(
    build_model: Callable[[float], torch.nn.Module],
    train_data: Pair,
    val_data: Pair,
    x_grid: ArrayLike,
    weight_decays: Sequence[float] = (0.0, 0.3, 1.0, 3.0),
    dropouts: Sequence[float] = (0.0, 0.1, 0.2),
    epochs: int = 300,
    lr: float = 0.01,
    seed: int = 0,
    true_curve: ArrayLike | None = None,
) -> RegularizationGrid:
    r"""Train one model per ``(weight_decay, dropout)`` pair, full batch, and keep every epoch.

    For each pair: ``torch.manual_seed(seed)``, ``model = build_model(dropout)`` (so every run
    starts from the same weights when the architecture allows),
    ``torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)``, then
    :func:`record_run` for ``epochs`` epochs with ``seed`` (the dropout masks). The decay is
    :math:`\theta \leftarrow \theta(1 - \alpha\lambda)` per step. ``train_data`` and
    ``val_data`` are ``(X, y)`` tensor pairs with one input column.
    """
    x_train, y_train = _check_pair(train_data, "train_data")
    x_val, y_val = _check_pair(val_data, "val_data")
    x_grid = _check_x_grid(x_grid)
    weight_decays = tuple(float(w) for w in weight_decays)
    dropouts = tuple(float(p) for p in dropouts)
    if not weight_decays or any(not (math.isfinite(w) and w >= 0) for w in weight_decays):
        raise ValueError(f"weight_decays must be non-negative finite numbers, got {weight_decays}")
    if not dropouts or any(not 0 <= p < 1 for p in dropouts):
        raise ValueError(f"dropout probability has to be between 0 and 1 (1 excluded), got {dropouts}")
    for values, name in ((weight_decays, "weight_decays"), (dropouts, "dropouts")):
        if any(b <= a for a, b in zip(values, values[1:])):
            raise ValueError(f"{name} must be strictly increasing, got {values}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if true_curve is not None:
        true_curve = _column(true_curve, "true_curve")
        if true_curve.shape != x_grid.shape:
            raise ValueError(
                f"true_curve must have one value per x_grid input: {true_curve.shape} vs {x_grid.shape}"
            )

    shape = (len(weight_decays), len(dropouts), epochs)
    train_loss, val_loss = np.empty(shape), np.empty(shape)
    predictions = np.empty((*shape, len(x_grid)))
    for i, weight_decay in enumerate(weight_decays):
        for j, dropout in enumerate(dropouts):
            torch.manual_seed(seed)
            model = build_model(dropout)
            optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
            run = record_run(model, optimizer, train_data, val_data, x_grid, epochs=epochs, seed=seed)
            if len(run.train_loss) != epochs:
                raise ValueError(
                    f"the run with weight_decay={weight_decay}, dropout={dropout} stopped early: "
                    f"{run.history.message}"
                )
            train_loss[i, j], val_loss[i, j], predictions[i, j] = (
                run.train_loss,
                run.val_loss,
                run.predictions,
            )
    return RegularizationGrid(
        weight_decays,
        dropouts,
        epochs,
        x_grid,
        train_loss,
        val_loss,
        predictions,
        x_train,
        y_train,
        x_val,
        y_val,
        true_curve,
    )


def status(val_loss: ArrayLike, epoch: int) -> str:
    """Where epoch ``epoch`` (from 1) stands in a run's validation curve ``val_loss``.

    ``"near its best"`` within 10 % of the run's lowest validation loss; otherwise
    ``"overfitting"`` after the best epoch and ``"still learning"`` before it.

    >>> status([0.5, 0.2, 0.3], 2), status([0.5, 0.2, 0.3], 3), status([0.5, 0.2, 0.3], 1)
    ('near its best', 'overfitting', 'still learning')
    """
    val_loss = np.asarray(val_loss, dtype=np.float64)
    if not 1 <= epoch <= len(val_loss):
        raise ValueError(f"epoch must be between 1 and {len(val_loss)}, got {epoch}")
    best = int(np.argmin(val_loss))
    if val_loss[epoch - 1] <= _NEAR_BEST * val_loss[best]:
        return "near its best"
    return "overfitting" if epoch - 1 > best else "still learning"
