r"""The regularization explorer of chapter 08: weight decay, dropout and epochs on an overfitting fit.

Training a network takes a second; moving a slider must take milliseconds. So the runs
are made once, ahead of time, on a grid of weight decays :math:`\lambda` times dropout
rates :math:`p` (:func:`precompute_grid`); each run records, after every epoch, the
training and validation loss and the fitted function on a grid of inputs
(:func:`record_run`). The explorer only looks runs up, and its epoch slider picks a prefix
of the stored curves. Every run minimises the same data loss with AdamW, whose decoupled
decay multiplies the weights by :math:`1 - \alpha\lambda` before each step.

>>> import numpy as np, torch
>>> from gdlab.widgets.regularization import precompute_grid
>>> x = torch.linspace(-1, 1, 8).unsqueeze(1)
>>> nn = torch.nn
>>> def build(p):
...     return nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Dropout(p), nn.Linear(8, 1))
>>> grid = precompute_grid(build, (x, x**3), (x + 0.1, (x + 0.1) ** 3), np.linspace(-1, 1, 5),
...                        weight_decays=(0.0, 1.0), dropouts=(0.0,), epochs=3)
>>> grid.train_loss.shape, grid.predictions.shape
((2, 1, 3), (2, 1, 3, 5))
"""

import html
import math
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from ..curves import History
from ..plotting import PALETTE
from ..training import fit
from ._render import Blitted

__all__ = ["RegularizationExplorer", "RegularizationGrid", "Run", "precompute_grid", "record_run", "status"]

_NEAR_BEST = 1.1  # within 10 % of the run's lowest validation loss counts as "near its best"
_COLOURS = {"near its best": "#006400", "overfitting": "#B22222", "still learning": "#8B4513"}


class Run(NamedTuple):
    """One training run, recorded after every epoch (epochs count from 1)."""

    train_loss: np.ndarray  # (E,) loss on the training pairs, eval mode (no dropout), after each epoch
    val_loss: np.ndarray  # (E,) validation loss after each epoch (the History's val_loss)
    predictions: np.ndarray  # (E, G) the model's output on the input grid after each epoch, eval mode
    history: History  # what gdlab.training.fit returned


class RegularizationGrid(NamedTuple):
    """Runs on a grid of weight decays (axis 0) and dropout rates (axis 1), ``epochs`` each."""

    weight_decays: tuple
    dropouts: tuple
    epochs: int
    x_grid: np.ndarray  # (G,) inputs the fitted functions were evaluated at
    train_loss: np.ndarray  # (W, D, E)
    val_loss: np.ndarray  # (W, D, E)
    predictions: np.ndarray  # (W, D, E, G)
    x_train: np.ndarray  # (n,) the training pairs, for the figure
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    true_curve: np.ndarray | None  # (G,) the function the data came from, if known

    def index(self, weight_decay, dropout):
        """The grid position ``(i, j)`` of a stored ``(weight_decay, dropout)`` pair."""
        if weight_decay not in self.weight_decays:
            raise ValueError(f"weight_decay must be one of {self.weight_decays}, got {weight_decay!r}")
        if dropout not in self.dropouts:
            raise ValueError(f"dropout must be one of {self.dropouts}, got {dropout!r}")
        return self.weight_decays.index(weight_decay), self.dropouts.index(dropout)


def _column(values, name):
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or len(array) == 0 or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be a non-empty column of finite numbers (shape (n,) or (n, 1))")
    return array


def _check_pair(data, name):
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise ValueError(f"{name} must be a pair (X, y) of tensors")
    X, y = data
    if not (isinstance(X, torch.Tensor) and X.ndim == 2 and X.shape[1] == 1):
        raise ValueError(f"{name}: X must be a tensor of shape (n, 1): one input per row")
    return _column(X.detach().numpy(), f"{name} X"), _column(y.detach().numpy(), f"{name} y")


def _check_x_grid(x_grid):
    x_grid = _column(x_grid, "x_grid")
    if len(x_grid) < 2 or np.any(np.diff(x_grid) <= 0):
        raise ValueError("x_grid must hold at least 2 strictly increasing inputs")
    return x_grid


def record_run(
    model, optimizer, train_data, val_data, x_grid, epochs=300, loss_fn=None, fit_data=None, **fit_kwargs
):
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

    def after_epoch(_history):
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
    build_model,
    train_data,
    val_data,
    x_grid,
    weight_decays=(0.0, 0.3, 1.0, 3.0),
    dropouts=(0.0, 0.1, 0.2),
    epochs=300,
    lr=0.01,
    seed=0,
    true_curve=None,
):
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


def status(val_loss, epoch):
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


def _light_log_axis(axis):
    # Few major ticks, no minor ones, plain-text labels: mathtext labels are slow to lay out.
    axis.set_major_locator(LogLocator(numticks=5))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


class RegularizationExplorer:
    """Weight decay, dropout and epochs over the loss curves and the fitted function of a stored grid.

    Left: training and validation loss against epoch (log scale): the whole run faint, the
    epochs up to the slider bold. Right: the fitted function after that epoch over the
    training points, the validation points and (if known) the true function. Moving a
    control only looks up stored numbers and redraws the moving lines over a cached
    background. Drive it from code as a reader would by hand: ``explorer.weight_decay.value = 1.0``.
    """

    def __init__(self, grid, weight_decay=None, dropout=None, epoch=None):
        if not isinstance(grid, RegularizationGrid):
            raise ValueError(
                f"grid must be a RegularizationGrid from precompute_grid, got {type(grid).__name__}"
            )
        weight_decay = grid.weight_decays[0] if weight_decay is None else weight_decay
        dropout = grid.dropouts[0] if dropout is None else dropout
        epoch = grid.epochs if epoch is None else epoch
        grid.index(weight_decay, dropout)  # refuses values that were not computed
        if (
            isinstance(epoch, bool)
            or not isinstance(epoch, (int, np.integer))
            or not 1 <= epoch <= grid.epochs
        ):
            raise ValueError(f"epoch must be an integer between 1 and {grid.epochs}, got {epoch!r}")
        self.grid = grid

        style = {"description_width": "initial"}
        layout = widgets.Layout(width="420px")
        self.weight_decay = widgets.SelectionSlider(
            options=[(f"{w:g}", w) for w in grid.weight_decays],
            value=weight_decay,
            description="Weight decay λ",
            style=style,
            layout=layout,
        )
        self.dropout = widgets.SelectionSlider(
            options=[(f"{p:g}", p) for p in grid.dropouts],
            value=dropout,
            description="Dropout p",
            style=style,
            layout=layout,
        )
        self.epoch = widgets.IntSlider(
            value=int(epoch), min=1, max=grid.epochs, description="Epoch", style=style, layout=layout
        )
        self.readout = widgets.HTML(layout=widgets.Layout(min_height="3.5em"))
        self.figure_view = widgets.HTML()
        self.state = None

        self._figure = Figure(figsize=(9.0, 3.6), dpi=80)
        # Fixed margins: a layout engine would re-measure every label on each redraw.
        self._figure.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.9, wspace=0.25)
        self._ax_loss, self._ax_fit = self._figure.subplots(1, 2)
        self._draw_static()
        ax = self._ax_loss
        train_colour, val_colour = PALETTE["train"], PALETTE["validation"]
        (self._train_all,) = ax.plot([], [], "-", color=train_colour, lw=0.8, alpha=0.3)
        (self._val_all,) = ax.plot([], [], "-", color=val_colour, lw=0.8, alpha=0.3)
        (self._train,) = ax.plot([], [], "-", color=train_colour, lw=1.8, label="training (eval mode)")
        (self._val,) = ax.plot([], [], "-", color=val_colour, lw=1.8, label="validation")
        (self._best,) = ax.plot([], [], "*", color=PALETTE["minimum"], ms=10, label="lowest validation")
        self._now = ax.axvline(grid.epochs, color="grey", lw=0.8, ls="--")
        ax.legend(loc="lower left", fontsize=7)
        (self._fit,) = self._ax_fit.plot([], [], "-", color=PALETTE["path"], lw=2, label="fitted function")
        self._ax_fit.legend(loc="upper left", fontsize=7)
        self._ax_loss.set_title(" ", y=1.0)  # filled in on each update
        self._ax_fit.set_title(" ", y=1.0)
        moving = [
            self._train_all,
            self._val_all,
            self._train,
            self._val,
            self._best,
            self._now,
            self._fit,
            self._ax_loss.title,
            self._ax_fit.title,
        ]
        self._render = Blitted(self._figure, moving)

        for control in (self.weight_decay, self.dropout, self.epoch):
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox(
            [widgets.HBox([self.weight_decay, self.dropout]), self.epoch, self.readout, self.figure_view]
        )
        self.update()

    def _draw_static(self):
        """Axes, limits, data points and the true function: the same for every setting."""
        grid = self.grid
        losses = np.concatenate([grid.train_loss.ravel(), grid.val_loss.ravel()])
        low, high = max(losses.min(), 1e-8), losses.max()
        ax = self._ax_loss
        ax.set_yscale("log")
        _light_log_axis(ax.yaxis)
        ax.set_ylim(low / 1.5, high * 1.5)
        ax.set_xlim(0, grid.epochs + 1)
        ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("MSE (log scale)")

        ax = self._ax_fit
        if grid.true_curve is not None:
            ax.plot(
                grid.x_grid, grid.true_curve, "--", color=PALETTE["minimum"], lw=1.2, label="true function"
            )
        ax.plot(grid.x_val, grid.y_val, ".", color=PALETTE["validation"], ms=3, alpha=0.6, label="validation")
        ax.plot(grid.x_train, grid.y_train, "o", color=PALETTE["train"], ms=5, label="training")
        ys = np.concatenate(
            [grid.y_train, grid.y_val] + ([grid.true_curve] if grid.true_curve is not None else [])
        )
        pad = 0.15 * (ys.max() - ys.min())
        ax.set_xlim(grid.x_grid[0], grid.x_grid[-1])
        ax.set_ylim(ys.min() - pad, ys.max() + pad)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.yaxis.set_major_locator(MaxNLocator(5))
        ax.set_xlabel("x (input)")
        ax.set_ylabel("y (target)")

    def _on_change(self, _change):
        self.update()

    def compute(self):
        """The stored numbers for the current controls (no drawing): a dict."""
        grid = self.grid
        i, j = grid.index(self.weight_decay.value, self.dropout.value)
        k = int(self.epoch.value)
        train, val = grid.train_loss[i, j], grid.val_loss[i, j]
        best = int(np.argmin(val)) + 1
        state = {
            "weight_decay": grid.weight_decays[i],
            "dropout": grid.dropouts[j],
            "epoch": k,
            "train_loss": float(train[k - 1]),
            "val_loss": float(val[k - 1]),
            "best_epoch": best,
            "best_val_loss": float(val[best - 1]),
            "prediction": grid.predictions[i, j, k - 1],
            "status": status(val, k),
            "rms_to_truth": None,
        }
        if grid.true_curve is not None:
            state["rms_to_truth"] = float(np.sqrt(np.mean((state["prediction"] - grid.true_curve) ** 2)))
        return state

    def update(self):
        """Look up the run for the current controls and redraw the figure and the readout."""
        state = self.compute()
        self.state = state
        grid = self.grid
        i, j = grid.index(state["weight_decay"], state["dropout"])
        k, E = state["epoch"], grid.epochs
        epochs = np.arange(1, E + 1)
        train, val = grid.train_loss[i, j], grid.val_loss[i, j]
        self._train_all.set_data(epochs, train)
        self._val_all.set_data(epochs, val)
        self._train.set_data(epochs[:k], train[:k])
        self._val.set_data(epochs[:k], val[:k])
        self._best.set_data([state["best_epoch"]], [state["best_val_loss"]])
        self._now.set_xdata([k, k])
        self._fit.set_data(grid.x_grid, state["prediction"])
        wd, p = state["weight_decay"], state["dropout"]
        self._ax_loss.set_title(f"Loss per epoch, λ = {wd:g}, p = {p:g}", y=1.0)
        self._ax_fit.set_title(f"Fitted function after epoch {k}", y=1.0)

        word = state["status"]
        truth = (
            ""
            if state["rms_to_truth"] is None
            else f" · RMS distance to the true function {state['rms_to_truth']:.4f}"
        )
        self.readout.value = (
            f'<span role="status" aria-live="polite"><b style="color:{_COLOURS[word]}">{word}</b> · '
            f"λ = {wd:g}, p = {p:g}, epoch {k} of {E}: training loss {state['train_loss']:.4f}, "
            f"validation loss {state['val_loss']:.4f} (gap {state['val_loss'] - state['train_loss']:+.4f}) · "
            f"lowest validation loss of this run {state['best_val_loss']:.4f} at epoch {state['best_epoch']}"
            f"{html.escape(truth)}</span>"
        )
        alt = (
            f"Left: training and validation loss against epoch on a log scale for weight decay {wd:g} and "
            f"dropout {p:g}, shown up to epoch {k} of {E}: training loss {state['train_loss']:.3g}, "
            f"validation loss {state['val_loss']:.3g}, lowest validation loss {state['best_val_loss']:.3g} "
            f"at epoch {state['best_epoch']}. Right: the fitted function after epoch {k} "
            f"over {len(grid.x_train)} training points and {len(grid.x_val)} validation points. "
            f"Status: {word}."
        )
        self.figure_view.value = self._render.png_html(alt)
        return state

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
