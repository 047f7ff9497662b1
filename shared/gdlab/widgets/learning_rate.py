"""Chapter 03's schedule explorer: pick a schedule from :mod:`gdlab.schedules`, see its rate.

(The regimes explorer of chapter 03 computes in the browser: :class:`gdlab.widgets.RegimeExplorer`.)
"""

import html

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from .. import schedules
from ..plotting import PALETTE
from ._render import Blitted

__all__ = ["SCHEDULES", "ScheduleExplorer"]


def _light_log_axis(axis):
    # Few major ticks, no minor ones, plain-text labels: mathtext labels such as 10^-5
    # cost most of a redraw on a log axis.
    axis.set_major_locator(LogLocator(numticks=6))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0e}"))


# --- schedules -----------------------------------------------------------------------

SCHEDULES = ("step", "exponential", "cosine", "cosine_warm_restarts", "warmup_cosine", "one_cycle")


class ScheduleExplorer:
    """Pick a schedule from :mod:`gdlab.schedules` and its parameters; see the rate per step.

    Only the controls the chosen schedule uses are shown. An invalid combination (say a
    warm-up longer than the whole run) is reported in the readout with the schedule's own
    error message, and the figure keeps the last valid curve.
    """

    def __init__(self, schedule="warmup_cosine", lr=0.1, steps=100):
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        style = {"description_width": "initial"}

        def layout():  # one Layout per control: each is shown or hidden on its own
            return widgets.Layout(width="420px")

        def int_slider(value, low, high, description):
            return widgets.IntSlider(
                value=value, min=low, max=high, description=description, style=style, layout=layout()
            )

        def float_slider(value, low, high, step, description, fmt=".2f"):
            return widgets.FloatSlider(
                value=value,
                min=low,
                max=high,
                step=step,
                description=description,
                style=style,
                layout=layout(),
                readout_format=fmt,
            )

        self.schedule = widgets.Dropdown(
            options=SCHEDULES, value=schedule, description="Schedule", style=style
        )
        self.lr = widgets.FloatLogSlider(
            value=lr,
            base=10,
            min=-4,
            max=0,
            step=0.05,
            description="lr (peak rate)",
            style=style,
            layout=layout(),
            readout_format=".3g",
        )
        self.steps = int_slider(steps, 10, 500, "Steps shown")
        self.log_scale = widgets.Checkbox(value=False, description="Log-scale rate axis", style=style)
        self.step_size = int_slider(30, 1, 200, "step_size")
        self.gamma = float_slider(0.1, 0.01, 0.99, 0.01, "gamma (per step_size)")
        self.decay = float_slider(0.97, 0.8, 0.999, 0.001, "gamma (per step)", ".3f")
        self.T_max = int_slider(100, 1, 500, "T_max")
        self.T_0 = int_slider(20, 1, 200, "T_0")
        self.T_mult = int_slider(2, 1, 4, "T_mult")
        self.warmup_steps = int_slider(10, 0, 200, "warmup_steps")
        self.total_steps = int_slider(100, 2, 500, "total_steps")
        self.pct_start = float_slider(0.3, 0.05, 0.95, 0.05, "pct_start")
        self.div_factor = float_slider(25.0, 1.0, 100.0, 1.0, "div_factor", ".0f")
        self.final_div_factor = widgets.FloatLogSlider(
            value=1e4,
            base=10,
            min=0,
            max=5,
            step=0.5,
            description="final_div_factor",
            style=style,
            layout=layout(),
            readout_format=".3g",
        )
        self.eta_min = float_slider(0.0, 0.0, 0.5, 0.01, "eta_min (fraction of lr)")
        self._uses = {
            "step": (self.step_size, self.gamma),
            "exponential": (self.decay,),
            "cosine": (self.T_max, self.eta_min),
            "cosine_warm_restarts": (self.T_0, self.T_mult, self.eta_min),
            "warmup_cosine": (self.warmup_steps, self.total_steps, self.eta_min),
            "one_cycle": (self.total_steps, self.pct_start, self.div_factor, self.final_div_factor),
        }
        self._parameters = [
            self.step_size,
            self.gamma,
            self.decay,
            self.T_max,
            self.T_0,
            self.T_mult,
            self.warmup_steps,
            self.total_steps,
            self.pct_start,
            self.div_factor,
            self.final_div_factor,
            self.eta_min,
        ]
        self.readout = widgets.HTML(layout=widgets.Layout(min_height="2.5em"))
        self.figure_view = widgets.HTML()
        self.rates = None
        self.function = None
        self.error = None

        self._figure = Figure(figsize=(7.5, 3.2), dpi=80)
        self._figure.subplots_adjust(left=0.12, right=0.97, bottom=0.16, top=0.89)
        self._ax = self._figure.subplots()
        (self._line,) = self._ax.plot([], [], "-", color=PALETTE["curve"], lw=2)
        self._ax.set_xlabel("step t")
        self._ax.set_ylabel("learning rate lr(t)")
        self._ax.xaxis.set_major_locator(MaxNLocator(6))
        self._ax.yaxis.set_major_locator(MaxNLocator(5))
        self._ax.set_title(" ", y=1.0)  # filled in on each update
        self._render = Blitted(self._figure, [self._line, self._ax.title])
        self._view = None  # (scale, steps, y-limits) the cached background was drawn with

        for control in [self.schedule, self.lr, self.steps, self.log_scale, *self._parameters]:
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.schedule, self.log_scale]),
                self.lr,
                self.steps,
                *self._parameters,
                self.readout,
                self.figure_view,
            ]
        )
        self.update()

    def _on_change(self, _change):
        self.update()

    def compute(self):
        """The schedule function for the current controls (raises ValueError if invalid)."""
        name, lr = self.schedule.value, self.lr.value
        eta_min = self.eta_min.value * lr
        if name == "step":
            return schedules.step(lr, self.step_size.value, self.gamma.value)
        if name == "exponential":
            return schedules.exponential(lr, self.decay.value)
        if name == "cosine":
            return schedules.cosine(lr, self.T_max.value, eta_min)
        if name == "cosine_warm_restarts":
            return schedules.cosine_warm_restarts(lr, self.T_0.value, self.T_mult.value, eta_min)
        if name == "warmup_cosine":
            return schedules.warmup_cosine(lr, self.warmup_steps.value, self.total_steps.value, eta_min)
        return schedules.one_cycle(
            lr,
            self.total_steps.value,
            self.pct_start.value,
            self.div_factor.value,
            self.final_div_factor.value,
        )

    def update(self):
        """Show the chosen schedule's controls, recompute lr(t) and redraw."""
        name = self.schedule.value
        for control in self._parameters:
            control.layout.display = None if control in self._uses[name] else "none"
        try:
            function = self.compute()
        except ValueError as error:
            self.error = str(error)
            self.readout.value = (
                f'<span role="status" aria-live="polite"><b style="color:#B22222">invalid</b> · '
                f"{html.escape(self.error)}</span>"
            )
            return None
        self.error = None
        last = self.steps.value
        if name == "one_cycle":
            last = min(last, self.total_steps.value)  # like torch, one_cycle ends at total_steps
        t = np.arange(last + 1)
        rates = np.array([function(int(k)) for k in t])
        self.function, self.rates = function, rates

        self._line.set_data(t, rates)
        scale = "log" if self.log_scale.value else "linear"
        high, low = float(rates.max()), float(rates.min())
        if scale == "log":
            floor = max(low, high * 1e-8)  # a rate of exactly 0 has no place on a log axis
            limits = (floor / 1.5, high * 1.5)
        else:
            limits = (-0.04 * high, 1.08 * high)
        view = (scale, self.steps.value, limits)
        if view != self._view:  # new axes: draw the static background again
            if self._ax.get_yscale() != scale:
                self._ax.set_yscale(scale)
                if scale == "log":
                    _light_log_axis(self._ax.yaxis)
                else:
                    self._ax.yaxis.set_major_locator(MaxNLocator(5))
            self._ax.set_xlim(0, max(self.steps.value, 1))
            self._ax.set_ylim(*limits)
            self._render.invalidate()
            self._view = view
        self._ax.set_title(f"{name}: lr(t) for t = 0 … {last}", y=1.0)

        peak = int(np.argmax(rates))
        self.readout.value = (
            f'<span role="status" aria-live="polite"><b>{name}</b> · lr(0) = {rates[0]:.4g}, '
            f"largest {high:.4g} at t = {peak}, smallest {low:.4g}, lr({last}) = {rates[-1]:.4g}</span>"
        )
        alt = (
            f"The learning rate of the {name} schedule for steps 0 to {last}: it starts at "
            f"{rates[0]:.3g}, peaks at {high:.3g} at step {peak} and ends at {rates[-1]:.3g}."
        )
        self.figure_view.value = self._render.png_html(alt)
        return rates

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
