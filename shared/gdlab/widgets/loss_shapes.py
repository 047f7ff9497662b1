"""The explorers of chapter 01: loss shapes and their gradients, and a line fitted through outliers.

>>> from gdlab.widgets.loss_shapes import LossShapesExplorer, OutlierExplorer
>>> shapes = LossShapesExplorer(error=2.0, delta=1.0)
>>> shapes.readings.huber                       # (value, gradient) at error 2
(1.5, 1.0)
>>> shapes.delta.value = 3.0                    # as a reader would move the slider
>>> shapes.readings.huber                       # now inside δ: e²/2 and e
(2.0, 2.0)
>>> outliers = OutlierExplorer(count=4, shift=20.0)
>>> outliers.slopes["MSE"] < outliers.slopes["Huber"] - 1
True
"""

from typing import NamedTuple

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .. import data, losses
from ..fitting import LOSS_NAMES, fit_lines
from ..plotting import PALETTE, SEQUENCE
from ._render import Blitted

__all__ = ["LossReadings", "LossShapesExplorer", "OutlierExplorer"]

_COLOURS = dict(zip(LOSS_NAMES, SEQUENCE[:3]))
_STYLE = {"description_width": "initial"}
_LAYOUT = widgets.Layout(width="360px")


def _slider(value, lo, hi, step, description, fmt=".2f"):
    return widgets.FloatSlider(
        value=value,
        min=lo,
        max=hi,
        step=step,
        description=description,
        style=_STYLE,
        layout=_LAYOUT,
        readout_format=fmt,
        continuous_update=True,
    )


def _status(text):
    return f'<span role="status" aria-live="polite">{text}</span>'


# --- loss shapes ------------------------------------------------------------------------


class LossReadings(NamedTuple):
    """Each loss and its gradient at the explorer's chosen error and p_t, as (value, gradient)."""

    mse: tuple
    mae: tuple
    huber: tuple
    bce: tuple  # as a function of p_t (target 1): value, d/dp_t
    focal: tuple  # focal (alpha off) at the same p_t: value, d/d logit
    factor: float  # (1 - p_t) ** gamma: the share of cross-entropy that focal keeps


def _regression_curves(errors, delta):
    zero = np.zeros_like(errors)
    values = {
        "MSE": losses.mse(errors, zero, reduction="none"),
        "MAE": losses.mae(errors, zero, reduction="none"),
        "Huber": losses.huber(errors, zero, delta=delta, reduction="none"),
    }
    grads = {
        "MSE": losses.mse_grad(errors, zero, reduction="none"),
        "MAE": losses.mae_grad(errors, zero, reduction="none"),
        "Huber": losses.huber_grad(errors, zero, delta=delta, reduction="none"),
    }
    return values, grads


def _bce_and_focal(p_t, gamma):
    ones = np.ones_like(p_t)
    logits = np.log(p_t) - np.log1p(-p_t)  # the logit whose sigmoid is p_t
    bce = losses.binary_cross_entropy(p_t, ones, reduction="none")
    focal = losses.focal(logits, ones, gamma=gamma, alpha=-1, reduction="none")
    return bce, focal, logits


class LossShapesExplorer:
    """MSE, MAE and Huber against the error, with their gradients; BCE and focal against p_t.

    Controls: the error ``e`` to read off, Huber's ``δ``, the probability ``p_t`` the model
    gives the true class, and focal's ``γ`` (class weight α switched off, so that the panel
    shows the modulating factor alone). ``readings`` holds the numbers in the readout.
    """

    _ERRORS = np.linspace(-4.0, 4.0, 321)
    _P_T = np.linspace(0.005, 0.995, 199)

    def __init__(self, error=2.0, delta=1.0, p_t=0.9, gamma=2.0):
        self.error = _slider(error, -4.0, 4.0, 0.05, "Error e = ŷ − y")
        self.delta = _slider(delta, 0.1, 4.0, 0.05, "Huber δ")
        self.p_t = _slider(p_t, 0.01, 0.99, 0.01, "Probability of the true class pₜ")
        self.gamma = _slider(gamma, 0.0, 5.0, 0.1, "Focal γ", ".1f")
        self.readout = widgets.HTML(layout=widgets.Layout(min_height="3.5em"))
        self.figure_view = widgets.HTML()
        self.readings = None

        self._figure = Figure(figsize=(11.0, 3.3), dpi=80)
        self._figure.subplots_adjust(left=0.05, right=0.99, bottom=0.16, top=0.88, wspace=0.28)
        self._ax_loss, self._ax_grad, self._ax_prob = self._figure.subplots(1, 3)
        self._lines, self._grad_lines, self._marks, self._grad_marks = {}, {}, {}, {}
        for name in LOSS_NAMES:
            colour = _COLOURS[name]
            (self._lines[name],) = self._ax_loss.plot([], [], color=colour, lw=2, label=name)
            (self._grad_lines[name],) = self._ax_grad.plot([], [], color=colour, lw=2, label=name)
            (self._marks[name],) = self._ax_loss.plot([], [], "o", color=colour, ms=7)
            (self._grad_marks[name],) = self._ax_grad.plot([], [], "o", color=colour, ms=7)
        self._delta_lines = [
            ax.axvline(x, color=PALETTE["minimum"], ls=":", lw=1)
            for ax in (self._ax_loss, self._ax_grad)
            for x in (-1.0, 1.0)
        ]
        self._ax_loss.set(xlim=(-4, 4), ylim=(0, 8), xlabel="error e = ŷ − y", ylabel="loss")
        self._ax_loss.set_title("Loss against the error", y=1.0)
        self._ax_loss.legend(loc="upper center", fontsize=8)
        self._ax_grad.set(xlim=(-4, 4), ylim=(-8.5, 8.5), xlabel="error e = ŷ − y", ylabel="dloss/dŷ")
        self._ax_grad.set_title("Gradient against the error", y=1.0)

        (self._bce,) = self._ax_prob.plot([], [], color=PALETTE["curve"], lw=2, label="cross-entropy")
        (self._focal,) = self._ax_prob.plot([], [], color=PALETTE["path"], lw=2, label="focal")
        (self._bce_mark,) = self._ax_prob.plot([], [], "o", color=PALETTE["curve"], ms=7)
        (self._focal_mark,) = self._ax_prob.plot([], [], "o", color=PALETTE["path"], ms=7)
        self._ax_prob.set(
            xlim=(0, 1), ylim=(0, 5.4), xlabel="pₜ (probability of the true class)", ylabel="loss"
        )
        self._ax_prob.legend(loc="upper right", fontsize=8)
        self._ax_prob.set_title(" ", y=1.0)  # filled in on each update
        for axis in (self._ax_loss, self._ax_grad, self._ax_prob):
            axis.xaxis.set_major_locator(MaxNLocator(5))
            axis.yaxis.set_major_locator(MaxNLocator(5))
        moving = [
            *self._lines.values(),
            *self._grad_lines.values(),
            *self._marks.values(),
            *self._grad_marks.values(),
            *self._delta_lines,
            self._focal,
            self._bce_mark,
            self._focal_mark,
            self._ax_prob.title,
        ]
        self._render = Blitted(self._figure, moving)

        # The BCE curve and the loss curves' grid never change; draw them once.
        bce, _, _ = _bce_and_focal(self._P_T, 0.0)
        self._bce.set_data(self._P_T, bce)

        for control in (self.error, self.delta, self.p_t, self.gamma):
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.error, self.delta]),
                widgets.HBox([self.p_t, self.gamma]),
                self.readout,
                self.figure_view,
            ]
        )
        self.update()

    def _on_change(self, _change):
        self.update()

    def compute(self):
        """The curves and the readings for the current controls (no drawing)."""
        delta, gamma = self.delta.value, self.gamma.value
        values, grads = _regression_curves(self._ERRORS, delta)
        _, focal_curve, _ = _bce_and_focal(self._P_T, gamma)
        e = np.array([self.error.value])
        at_values, at_grads = _regression_curves(e, delta)
        p = np.array([self.p_t.value])
        bce, focal, logit = _bce_and_focal(p, gamma)
        readings = LossReadings(
            mse=(float(at_values["MSE"][0]), float(at_grads["MSE"][0])),
            mae=(float(at_values["MAE"][0]), float(at_grads["MAE"][0])),
            huber=(float(at_values["Huber"][0]), float(at_grads["Huber"][0])),
            bce=(float(bce[0]), float(losses.binary_cross_entropy_grad(p, np.ones(1), reduction="sum")[0])),
            focal=(
                float(focal[0]),
                float(losses.focal_grad(logit, np.ones(1), gamma=gamma, alpha=-1, reduction="sum")[0]),
            ),
            factor=float((1 - p[0]) ** gamma),
        )
        return values, grads, focal_curve, readings

    def update(self):
        """Recompute and redraw the figure and the readout."""
        values, grads, focal_curve, readings = self.compute()
        self.readings = readings
        e, delta, p, gamma = self.error.value, self.delta.value, self.p_t.value, self.gamma.value
        at = {"MSE": readings.mse, "MAE": readings.mae, "Huber": readings.huber}
        for name in LOSS_NAMES:
            self._lines[name].set_data(self._ERRORS, values[name])
            self._grad_lines[name].set_data(self._ERRORS, grads[name])
            self._marks[name].set_data([e], [at[name][0]])
            self._grad_marks[name].set_data([e], [at[name][1]])
        for line, x in zip(self._delta_lines, (-delta, delta, -delta, delta)):
            line.set_xdata([x, x])
        self._focal.set_data(self._P_T, focal_curve)
        self._bce_mark.set_data([p], [readings.bce[0]])
        self._focal_mark.set_data([p], [readings.focal[0]])
        self._ax_prob.set_title(f"Cross-entropy vs focal (γ = {gamma:.1f}, α off)", y=1.0)

        share = 100 * readings.factor
        self.readout.value = _status(
            f"At error e = {e:.2f}: MSE {readings.mse[0]:.3f} (gradient {readings.mse[1]:.3f}) · "
            f"MAE {readings.mae[0]:.3f} (gradient {readings.mae[1]:.0f}) · "
            f"Huber(δ = {delta:.2f}) {readings.huber[0]:.3f} (gradient {readings.huber[1]:.3f}).<br>"
            f"At pₜ = {p:.2f}: cross-entropy {readings.bce[0]:.4f}, focal(γ = {gamma:.1f}) "
            f"{readings.focal[0]:.4g}: the factor (1 − pₜ)^γ = {readings.factor:.4g} keeps "
            f"{share:.3g} % of it."
        )
        alt = (
            f"Left: MSE, MAE and Huber loss (delta {delta:.2f}) against the error from -4 to 4, with "
            f"dots at error {e:.2f}: MSE {readings.mse[0]:.3f}, MAE {readings.mae[0]:.3f}, Huber "
            f"{readings.huber[0]:.3f}. Middle: their gradients; MSE's is a straight line 2e, MAE's "
            f"jumps between -1 and +1, Huber's follows e and is capped at plus or minus delta. Right: "
            f"binary cross-entropy and focal loss with gamma {gamma:.1f} against the probability of "
            f"the true class; at p_t = {p:.2f} they are {readings.bce[0]:.4f} and {readings.focal[0]:.4g}."
        )
        self.figure_view.value = self._render.png_html(alt)
        return readings

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


# --- outliers -----------------------------------------------------------------------------


class OutlierExplorer:
    """A line through 40 noisy points (true slope 2, intercept 1), some of them outliers.

    Move the number of outliers and how far they sit above the line; the explorer refits the
    line under MSE, MAE and Huber by gradient descent and reports each fitted slope. ``fits``
    holds the ``(w, b)`` of each loss and ``slopes`` the slopes.
    """

    N, SLOPE, INTERCEPT, NOISE, SEED = 40, 2.0, 1.0, 0.5, 0

    def __init__(self, count=4, shift=20.0, delta=1.0, steps=300):
        self.count = widgets.IntSlider(
            value=count, min=0, max=10, description="Outliers", style=_STYLE, layout=_LAYOUT
        )
        self.shift = _slider(shift, 0.0, 50.0, 1.0, "Outlier shift (y units)", ".0f")
        self.delta = _slider(delta, 0.2, 5.0, 0.1, "Huber δ", ".1f")
        self.steps = steps
        self.readout = widgets.HTML(layout=widgets.Layout(min_height="2.5em"))
        self.figure_view = widgets.HTML()
        self.fits, self.slopes, self.dataset = None, None, None

        self._figure = Figure(figsize=(10.0, 3.6), dpi=80)
        self._figure.subplots_adjust(left=0.07, right=0.98, bottom=0.15, top=0.9, wspace=0.3)
        self._ax_fit, self._ax_bars = self._figure.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
        ax = self._ax_fit
        (self._inliers,) = ax.plot([], [], "o", color=PALETTE["curve"], ms=4, alpha=0.7, label="data")
        (self._outliers,) = ax.plot([], [], "X", color=PALETTE["minimum"], ms=8, label="outliers")
        self._grid = np.array([-3.0, 3.0])
        (self._truth,) = ax.plot(
            self._grid,
            self.SLOPE * self._grid + self.INTERCEPT,
            "--",
            color="grey",
            lw=1.5,
            label="true line",
        )
        self._lines = {
            name: ax.plot([], [], color=_COLOURS[name], lw=2, label=name)[0] for name in LOSS_NAMES
        }
        ax.set(xlim=(-3, 3), ylim=(-6, 10), xlabel="x", ylabel="y")
        ax.set_title(" ", y=1.0)  # filled in on each update
        ax.legend(loc="upper left", fontsize=8, ncol=2)
        self._bars = self._ax_bars.barh(
            range(3), [0, 0, 0], color=[_COLOURS[name] for name in LOSS_NAMES], height=0.6
        )
        self._ax_bars.set_yticks(range(3), LOSS_NAMES)
        self._ax_bars.invert_yaxis()
        self._ax_bars.axvline(0, color=PALETTE["minimum"], lw=1)
        self._ax_bars.set(xlim=(-1.0, 1.0), xlabel="fitted slope − true slope")
        self._ax_bars.set_title("Slope error", y=1.0)
        for axis in (ax.xaxis, ax.yaxis, self._ax_bars.xaxis):
            axis.set_major_locator(MaxNLocator(5))
        moving = [self._inliers, self._outliers, *self._lines.values(), *self._bars, ax.title]
        self._render = Blitted(self._figure, moving)

        for control in (self.count, self.shift, self.delta):
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox(
            [widgets.HBox([self.count, self.shift]), self.delta, self.readout, self.figure_view]
        )
        self.update()

    def _on_change(self, _change):
        self.update()

    def compute(self):
        """The data set and the three fitted lines for the current controls (no drawing)."""
        dataset = data.linear(
            n=self.N,
            weights=(self.SLOPE,),
            bias=self.INTERCEPT,
            noise=self.NOISE,
            outliers=self.count.value,
            outlier_shift=self.shift.value,
            seed=self.SEED,
        )
        fits = fit_lines(dataset.X[:, 0], dataset.y, delta=self.delta.value, steps=self.steps)
        return dataset, fits

    def update(self):
        """Refit and redraw."""
        dataset, fits = self.compute()
        self.dataset = dataset
        self.fits = {name: (float(w), float(b)) for name, (w, b) in zip(LOSS_NAMES, fits)}
        self.slopes = {name: wb[0] for name, wb in self.fits.items()}
        x, y, bad = dataset.X[:, 0], dataset.y, dataset.is_outlier
        self._inliers.set_data(x[~bad], y[~bad])
        self._outliers.set_data(x[bad], y[bad])
        for name, (w, b) in self.fits.items():
            self._lines[name].set_data(self._grid, w * self._grid + b)
        # The y range moves in steps of 10, so the static background is redrawn only then.
        limits = (min(-6.0, 10 * np.floor((y.min() - 1) / 10)), max(10.0, 10 * np.ceil((y.max() + 1) / 10)))
        if limits != self._ax_fit.get_ylim():
            self._ax_fit.set_ylim(*limits)
            self._render.invalidate()
        self._ax_fit.set_title(
            f"{self.count.value} outliers shifted up by {self.shift.value:.0f}; "
            f"Huber δ = {self.delta.value:.1f}",
            y=1.0,
        )
        errors = [self.slopes[name] - self.SLOPE for name in LOSS_NAMES]
        reach = max(1.0, float(np.ceil(max(abs(err) for err in errors) + 0.05)))  # whole units
        if (-reach, reach) != self._ax_bars.get_xlim():
            self._ax_bars.set_xlim(-reach, reach)
            self._render.invalidate()
        for bar, err in zip(self._bars, errors):
            bar.set_width(err)

        parts = " · ".join(
            f"{name} {self.slopes[name]:.3f} ({err:+.3f})" for name, err in zip(LOSS_NAMES, errors)
        )
        worst = LOSS_NAMES[int(np.argmax(np.abs(errors)))]
        self.readout.value = _status(
            f"True slope {self.SLOPE:.1f}. Fitted slope (error): {parts}. Pulled most: <b>{worst}</b>."
        )
        alt = (
            f"Left: {self.N} points around the line y = 2x + 1, {self.count.value} of them shifted up by "
            f"{self.shift.value:.0f}, with the lines fitted under MSE (slope {self.slopes['MSE']:.2f}), "
            f"MAE (slope {self.slopes['MAE']:.2f}) and Huber (slope {self.slopes['Huber']:.2f}). "
            f"Right: each fitted slope minus the true slope 2, as bars; the largest is {worst}'s."
        )
        self.figure_view.value = self._render.png_html(alt)
        return self.fits

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
