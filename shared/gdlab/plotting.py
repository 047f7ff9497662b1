"""The course's palette and the figure helpers every chapter shares.

Each helper draws onto an ``Axes`` it is given (or a new one) and returns it, with a
title and labelled axes; none of them computes a trajectory.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import cycle
from typing import TYPE_CHECKING, TypeAlias

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullFormatter
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from .curves import History
    from .descent import Trajectory
    from .surfaces import Landscape

# What loss_per_step draws as one curve: a trajectory's losses, or the losses themselves.
_Curve: TypeAlias = "Trajectory | ArrayLike"

__all__ = [
    "PALETTE",
    "SEQUENCE",
    "contours_with_paths",
    "curve_with_path",
    "loss_per_step",
    "plot_history",
    "readable_log_axis",
    "style",
]

# One colour per role, used the same way in every chapter (colour-blind safe, Okabe-Ito).
PALETTE = {
    "curve": "#0072B2",  # the function being descended
    "path": "#D55E00",  # the optimizer's path
    "start": "#009E73",  # where the path begins
    "end": "#CC79A7",  # where it ends
    "minimum": "#000000",  # known minima
    "train": "#0072B2",
    "validation": "#E69F00",
    "grid": "#DDDDDD",
}
# For several paths on one figure, in this order.
SEQUENCE = ["#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


def style() -> None:
    """Apply the course's Matplotlib defaults (figure size for the page, grid, fonts)."""
    plt.rcParams.update(
        {
            "figure.figsize": (7.0, 4.0),
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.color": PALETTE["grid"],
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": plt.cycler(color=SEQUENCE),
            "font.size": 10,
        }
    )


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    new: Axes = plt.subplots()[1]  # typed here: pyplot types the axes of subplots() as Any
    return new


def curve_with_path(
    landscape: Landscape,
    trajectory: Trajectory | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    xlim: tuple[float, float] | None = None,
    label: str = "path",
) -> Axes:
    """Draw a 1-D landscape and, if given, the points a trajectory visited on it."""
    ax = _axes(ax)
    lo, hi = xlim if xlim is not None else landscape.bounds[0]
    if trajectory is not None and len(trajectory.positions):
        xs = trajectory.positions[:, 0]
        lo, hi = min(lo, xs.min()), max(hi, xs.max())
        pad = 0.05 * (hi - lo)
        lo, hi = lo - pad, hi + pad
    grid = np.linspace(lo, hi, 400)
    ax.plot(
        grid,
        landscape.f(grid[None, :]),
        color=PALETTE["curve"],
        lw=2,
        label=f"${landscape.formula}$",
    )
    for m in landscape.minima:
        ax.plot(m[0], landscape.f(m), marker="*", ms=12, color=PALETTE["minimum"], ls="none")
    if trajectory is not None:
        ys = trajectory.losses
        ax.plot(xs, ys, "-o", color=PALETTE["path"], ms=4, lw=1, alpha=0.8, label=label)
        ax.plot(xs[0], ys[0], "o", color=PALETTE["start"], ms=9, label="start")
        ax.plot(xs[-1], ys[-1], "s", color=PALETTE["end"], ms=8, label="end")
    ax.set_xlabel("x (parameter)")
    ax.set_ylabel("f(x) (loss)")
    ax.set_title(title or f"Gradient descent on {landscape.name}")
    ax.legend(loc="best", fontsize=8)
    return ax


def contours_with_paths(
    landscape: Landscape,
    trajectories: Sequence[Trajectory] = (),
    labels: Sequence[str | None] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    levels: int | ArrayLike = 30,
    bounds: Sequence[tuple[float, float]] | None = None,
    log_levels: bool = False,
    xlabel: str = "x",
    ylabel: str = "y",
    colorbar_label: str = "f(x, y)",
    equal_aspect: bool = False,
) -> Axes:
    """Contours of a 2-D landscape with each trajectory's path drawn over them."""
    ax = _axes(ax)
    (x_lo, x_hi), (y_lo, y_hi) = bounds if bounds is not None else landscape.bounds
    X, Y = np.meshgrid(np.linspace(x_lo, x_hi, 200), np.linspace(y_lo, y_hi, 200))
    Z = np.asarray(landscape.f(np.stack([X, Y])))  # an array: f over a grid
    if log_levels:
        if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)):
            raise ValueError(
                "log_levels=True spaces the contour levels geometrically, so levels must be their "
                f"number, got {type(levels).__name__}"
            )
        shift = Z.min() - 1e-3
        levels = np.geomspace(1e-3, Z.max() - shift, levels) + shift
    contour = ax.contour(X, Y, Z, levels=levels, cmap="viridis", linewidths=0.8)
    ax.figure.colorbar(contour, ax=ax, label=colorbar_label)
    for m in landscape.minima:
        ax.plot(*m, marker="*", ms=12, color=PALETTE["minimum"], ls="none")
    labels = labels or [None] * len(trajectories)
    for trajectory, label, color in zip(trajectories, labels, cycle(SEQUENCE)):
        path = trajectory.positions
        ax.plot(path[:, 0], path[:, 1], "-", color=color, lw=1.5, label=label)
        ax.plot(*path[0], "o", color=color, ms=7)
        ax.plot(*path[-1], "s", color=color, ms=7)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if equal_aspect:
        ax.set_aspect("equal")
    ax.set_title(title or f"Paths on {landscape.name}")
    if any(labels):
        ax.legend(loc="best", fontsize=8)
    return ax


def loss_per_step(
    trajectories: _Curve | list[_Curve] | tuple[_Curve, ...],
    labels: Sequence[str | None] | None = None,
    ax: Axes | None = None,
    title: str = "Loss per step",
    log: bool = False,
    ylabel: str = "loss",
) -> Axes:
    """Loss against step for one trajectory or a list or tuple of them (each may also be an
    array of losses; a list is always read as several curves)."""
    ax = _axes(ax)
    if not isinstance(trajectories, (list, tuple)):
        trajectories = [trajectories]
    labels = labels or [None] * len(trajectories)
    for trajectory, label, color in zip(trajectories, labels, cycle(SEQUENCE)):
        losses = np.asarray(getattr(trajectory, "losses", trajectory), dtype=float)
        ax.plot(np.arange(len(losses)), losses, "-", color=color, lw=1.5, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if any(labels):
        ax.legend(loc="best", fontsize=8)
    return ax


def plot_history(
    history: History, ax: Axes | None = None, title: str | None = None, log: bool = False
) -> Axes:
    """Training and validation loss of a :class:`gdlab.curves.History` against epoch, the
    best epoch marked; returns the ``Axes``.

    Non-finite losses are left as gaps.
    """
    ax = _axes(ax)
    epochs = np.asarray(history.epochs)

    def finite(values: ArrayLike) -> NDArray[np.float64]:
        values = np.asarray(values, dtype=np.float64)
        return np.where(np.isfinite(values), values, np.nan)

    ax.plot(epochs, finite(history.train_loss), "-", color=PALETTE["train"], lw=1.8, label="training")
    if history.val_loss is not None:
        ax.plot(
            epochs, finite(history.val_loss), "-", color=PALETTE["validation"], lw=1.8, label="validation"
        )
    best = history.best_epoch
    if best is not None:
        monitored = history.val_loss if history.val_loss is not None else history.train_loss
        color = PALETTE["validation"] if history.val_loss is not None else PALETTE["train"]
        ax.plot(best, monitored[best - 1], "o", color=color, mec="black", ms=7, label=f"best (epoch {best})")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if title is None:
        title = "Training and validation loss" if history.val_loss is not None else "Training loss"
        if history.stopped_reason not in ("completed", "running"):
            title += f" (stopped: {history.stopped_reason.replace('_', ' ')})"
    ax.set_title(title)
    if len(history):
        ax.legend(loc="best", fontsize=8)
    return ax


def readable_log_axis(ax: Axes, label: str) -> Axes:
    """Plain numbers on a log-scaled y axis (``0.05``, not ``5 × 10⁻²``), with ``label``.

    Matplotlib writes a log axis's ticks as powers of ten and leaves the ticks between them
    bare. Here every tick reads as a number to two significant digits; the in-between ticks
    are labelled too, in a smaller font, when the axis spans less than a factor of 20 (wider
    than that, they would crowd). Call it after the data are drawn, so the limits are known.

    >>> import matplotlib.pyplot as plt
    >>> _, ax = plt.subplots()
    >>> _ = ax.plot([1, 2, 3], [0.05, 0.1, 0.5])
    >>> ax.set_yscale("log")
    >>> ax = readable_log_axis(ax, "loss (log scale)")
    >>> ax.yaxis.get_major_formatter()(0.05, 0), ax.get_ylabel()
    ('0.05', 'loss (log scale)')
    >>> plt.close("all")
    """
    if ax.get_yscale() != "log":
        raise ValueError(f"readable_log_axis needs a log-scaled y axis, got {ax.get_yscale()!r}")
    plain = FuncFormatter(lambda value, _: f"{value:.2g}")
    low, high = ax.get_ylim()
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain if high / low < 20 else NullFormatter())
    ax.tick_params(axis="y", which="minor", labelsize=7)
    ax.set_ylabel(label)
    return ax
