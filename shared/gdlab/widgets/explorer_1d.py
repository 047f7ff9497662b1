"""The 1-D explorer of chapter 02: gradient descent on a curve, redrawn on every change.

>>> from gdlab.widgets import Explorer1D
>>> explorer = Explorer1D(function="bowl", lr=1.1, steps=200)   # doctest: +SKIP
>>> explorer.trajectory.status                                   # doctest: +SKIP
'diverged'
"""

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .. import landscapes, optim
from ..descent import descend
from ..plotting import PALETTE
from ._render import png_html

__all__ = ["Explorer1D"]

_FUNCTIONS_1D = ("valley", "bowl", "double_well")


class Explorer1D:
    """Gradient descent on a 1-D function: pick the function, start, learning rate, steps.

    Left: the curve with the path the optimizer took; right: the loss per step. The
    readout says whether the run converged, diverged or is still moving.
    Set the controls from code (``explorer.lr.value = 0.9``) as a reader would by hand.
    """

    def __init__(self, function="valley", x0=0.0, lr=0.1, steps=20):
        if function not in _FUNCTIONS_1D:
            raise ValueError(f"function must be one of {_FUNCTIONS_1D}, got {function!r}")
        style = {"description_width": "initial"}
        layout = widgets.Layout(width="420px")
        self.function = widgets.Dropdown(
            options=_FUNCTIONS_1D, value=function, description="Function", style=style
        )
        self.x0 = widgets.FloatSlider(
            value=x0,
            min=-3.0,
            max=6.0,
            step=0.05,
            description="Start x₀",
            style=style,
            layout=layout,
            readout_format=".2f",
        )
        self.lr = widgets.FloatLogSlider(
            value=lr,
            base=10,
            min=-3,
            max=0.5,
            step=0.01,
            description="Learning rate α",
            style=style,
            layout=layout,
            readout_format=".3g",
        )
        self.steps = widgets.IntSlider(
            value=steps, min=1, max=200, description="Steps", style=style, layout=layout
        )
        self.readout = widgets.HTML(layout=widgets.Layout(min_height="2.5em"))
        self.figure_view = widgets.HTML()
        self.trajectory = None

        self._figure = Figure(figsize=(9.0, 3.4), dpi=80)
        # Fixed margins: a layout engine would re-measure every label on each redraw.
        self._figure.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9, wspace=0.25)
        self._ax_curve, self._ax_loss = self._figure.subplots(1, 2)
        ax = self._ax_curve
        (self._curve,) = ax.plot([], [], color=PALETTE["curve"], lw=2)
        (self._path,) = ax.plot([], [], "-o", color=PALETTE["path"], ms=4, lw=1, alpha=0.8, label="path")
        (self._start,) = ax.plot([], [], "o", color=PALETTE["start"], ms=9, label="start")
        (self._end,) = ax.plot([], [], "s", color=PALETTE["end"], ms=8, label="end")
        ax.set_xlabel("x (parameter)")
        ax.set_ylabel("f(x) (loss)")
        ax.legend(loc="upper right", fontsize=8)
        (self._loss,) = self._ax_loss.plot([], [], "-o", color=PALETTE["path"], ms=3, lw=1.2)
        self._ax_loss.set_xlabel("step")
        self._ax_loss.set_ylabel("f(x) (loss)")
        self._ax_loss.set_title("Loss per step")
        for axis in (ax.xaxis, ax.yaxis, self._ax_loss.xaxis, self._ax_loss.yaxis):
            axis.set_major_locator(MaxNLocator(5))  # fewer labels to lay out on each redraw

        for control in (self.function, self.x0, self.lr, self.steps):
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.function, self.steps]),
                self.x0,
                self.lr,
                self.readout,
                self.figure_view,
            ]
        )
        self.update()

    def _on_change(self, _change):
        self.update()

    def compute(self):
        """The trajectory for the current controls (no drawing)."""
        landscape = landscapes.by_name(self.function.value)
        run = descend(landscape, self.x0.value, optim.sgd(lr=self.lr.value), self.steps.value)
        return landscape, run

    def update(self):
        """Recompute the run and redraw the figure and the readout."""
        landscape, run = self.compute()
        self.trajectory = run
        xs, ys = run.positions[:, 0], run.losses

        lo, hi = landscape.bounds[0]
        lo, hi = min(lo, xs.min()), max(hi, xs.max())
        pad = 0.05 * (hi - lo)
        grid = np.linspace(lo - pad, hi + pad, 300)
        curve = landscape.f(grid[None, :])
        self._curve.set_data(grid, curve)
        self._path.set_data(xs, ys)
        self._start.set_data([xs[0]], [ys[0]])
        self._end.set_data([xs[-1]], [ys[-1]])
        self._ax_curve.set_xlim(grid[0], grid[-1])
        top = max(curve.max(), ys.max())
        span = top - curve.min()
        self._ax_curve.set_ylim(curve.min() - 0.05 * span, top + 0.05 * span)
        self._ax_curve.set_title(landscape.text, y=1.0)  # a fixed title position skips a re-layout
        self._ax_loss.set_title(f"Loss per step, α = {self.lr.value:.3g}", y=1.0)
        self._loss.set_data(np.arange(len(ys)), ys)
        self._ax_loss.set_xlim(-0.5, max(len(ys) - 0.5, 1))
        low, high = ys.min(), ys.max()
        margin = 0.05 * (high - low) or 0.5
        self._ax_loss.set_ylim(low - margin, high + margin)

        status = run.status
        colour = {"converged": "#006400", "diverged": "#B22222", "running": "#8B4513"}[status]
        self.readout.value = (
            f'<span role="status" aria-live="polite"><b style="color:{colour}">{status}</b> · '
            f"{run.summary()}</span>"
        )
        alt = (
            f"Left: the curve {landscape.text} with the {run.steps_taken} steps gradient descent "
            f"took from x0 = {self.x0.value:.2f} at learning rate {self.lr.value:.3g}, ending at "
            f"x = {xs[-1]:.4g}. Right: the loss at each step, from {ys[0]:.4g} to {ys[-1]:.4g}. "
            f"Status: {status}."
        )
        self.figure_view.value = png_html(self._figure, alt)
        return run

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
