"""Chapter 03's schedule explorer: pick a schedule from :mod:`gdlab.schedules`, see its rate.

It computes in the browser (``explorers.js``, kind ``schedules``), so it responds in the
static book too. Python hands the browser the table of schedules, their arguments and the
settings behind them (:data:`TABLE`); the browser keeps only the formulas. A node test checks
every schedule against :mod:`gdlab.schedules` within 1e-12. (The regimes explorer of chapter
03 is :class:`gdlab.widgets.RegimeExplorer`.)

>>> from gdlab.widgets.learning_rate import ScheduleExplorer
>>> explorer = ScheduleExplorer(schedule="step", lr=1.0)
>>> explorer.step_size, explorer.gamma = 10, 0.5
>>> explorer.rates[[9, 10, 20]].tolist()
[1.0, 0.5, 0.25]
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import traitlets

from .. import schedules
from ._render import BrowserExplorer

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ..schedules import Schedule

__all__ = ["SCHEDULES", "SETTINGS", "TABLE", "ScheduleExplorer"]

# Each schedule of gdlab.schedules: its first argument (the peak rate, from the lr setting)
# and, for each further argument, the explorer setting that feeds it.
TABLE: dict[str, dict[str, Any]] = {
    "step": {"rate": "lr", "args": {"step_size": "step_size", "gamma": "gamma"}},
    "exponential": {"rate": "lr", "args": {"gamma": "decay"}},
    "cosine": {"rate": "lr", "args": {"T_max": "T_max", "eta_min": "eta_min"}},
    "cosine_warm_restarts": {"rate": "lr", "args": {"T_0": "T_0", "T_mult": "T_mult", "eta_min": "eta_min"}},
    "warmup_cosine": {
        "rate": "lr",
        "args": {"warmup_steps": "warmup_steps", "total_steps": "total_steps", "eta_min": "eta_min"},
    },
    "one_cycle": {
        "rate": "max_lr",
        "args": {
            "total_steps": "total_steps",
            "pct_start": "pct_start",
            "div_factor": "div_factor",
            "final_div_factor": "final_div_factor",
        },
    },
}
SCHEDULES = tuple(TABLE)

# The settings behind the arguments: label, slider range and step, integer or not, log scale.
# eta_min is set as a fraction of lr (the schedule gets eta_min * lr).
SETTINGS: dict[str, dict[str, Any]] = {
    "step_size": {"label": "step_size", "min": 1, "max": 200, "step": 1, "int": True, "default": 30},
    "gamma": {"label": "gamma (per step_size)", "min": 0.01, "max": 0.99, "step": 0.01, "default": 0.1},
    "decay": {"label": "gamma (per step)", "min": 0.8, "max": 0.999, "step": 0.001, "default": 0.97},
    "T_max": {"label": "T_max", "min": 1, "max": 500, "step": 1, "int": True, "default": 100},
    "T_0": {"label": "T_0", "min": 1, "max": 200, "step": 1, "int": True, "default": 20},
    "T_mult": {"label": "T_mult", "min": 1, "max": 4, "step": 1, "int": True, "default": 2},
    "warmup_steps": {"label": "warmup_steps", "min": 0, "max": 200, "step": 1, "int": True, "default": 10},
    "total_steps": {"label": "total_steps", "min": 2, "max": 500, "step": 1, "int": True, "default": 100},
    "pct_start": {"label": "pct_start", "min": 0.05, "max": 0.95, "step": 0.05, "default": 0.3},
    "div_factor": {"label": "div_factor", "min": 1.0, "max": 100.0, "step": 1.0, "default": 25.0},
    "final_div_factor": {
        "label": "final_div_factor (log scale)",
        "min": 0.0,
        "max": 5.0,
        "step": 0.5,
        "log": True,
        "default": 1e4,
    },
    "eta_min": {"label": "eta_min (fraction of lr)", "min": 0.0, "max": 0.5, "step": 0.01, "default": 0.0},
}

# Where gdlab.schedules has a default for an argument, the explorer starts from it.
for _name, _spec in TABLE.items():
    for _arg, _setting in _spec["args"].items():
        _default = inspect.signature(getattr(schedules, _name)).parameters[_arg].default
        if _default is not inspect.Parameter.empty and _setting != "eta_min":
            SETTINGS[_setting]["default"] = _default


def _setting_trait(spec: dict[str, Any]) -> traitlets.Int[int, int] | traitlets.Float[float, int | float]:
    trait = traitlets.Int(spec["default"]) if spec.get("int") else traitlets.Float(spec["default"])
    return trait.tag(sync=True)


class ScheduleExplorer(BrowserExplorer):
    """Pick a schedule from :mod:`gdlab.schedules` and its parameters; see the rate per step.

    Only the controls the chosen schedule uses are shown. An invalid combination (say a
    warm-up longer than the whole run) is reported in the readout with the schedule's own
    error message, and the figure keeps the last valid curve. Every setting is a trait:
    ``explorer.schedule = "one_cycle"``, ``explorer.total_steps = 120``.
    """

    KIND = "schedules"
    URL_TRAITS = ("schedule", "lr", "steps", "log_scale", *SETTINGS)

    schedule = traitlets.Unicode("warmup_cosine").tag(sync=True)
    log_scale = traitlets.Bool(False).tag(sync=True)
    table = traitlets.Dict().tag(sync=True)
    # One trait per entry of SETTINGS (a test checks that the two lists agree).
    step_size = _setting_trait(SETTINGS["step_size"])
    gamma = _setting_trait(SETTINGS["gamma"])
    decay = _setting_trait(SETTINGS["decay"])
    T_max = _setting_trait(SETTINGS["T_max"])
    T_0 = _setting_trait(SETTINGS["T_0"])
    T_mult = _setting_trait(SETTINGS["T_mult"])
    warmup_steps = _setting_trait(SETTINGS["warmup_steps"])
    total_steps = _setting_trait(SETTINGS["total_steps"])
    pct_start = _setting_trait(SETTINGS["pct_start"])
    div_factor = _setting_trait(SETTINGS["div_factor"])
    final_div_factor = _setting_trait(SETTINGS["final_div_factor"])
    eta_min = _setting_trait(SETTINGS["eta_min"])

    def __init__(
        self, schedule: str = "warmup_cosine", lr: float = 0.1, steps: int = 100, **kwargs: Any
    ) -> None:
        table = {"schedules": TABLE, "settings": SETTINGS}
        super().__init__(schedule=schedule, lr=lr, steps=steps, table=table, **kwargs)

    @traitlets.validate("schedule")
    def _check_schedule(self, proposal: dict[str, Any]) -> str:
        schedule: str = proposal["value"]
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        return schedule

    @traitlets.validate("steps")
    def _check_steps(self, proposal: dict[str, Any]) -> int:
        steps: int = proposal["value"]
        if not 1 <= steps <= 1000:
            raise ValueError(f"steps must be between 1 and 1000, got {steps}")
        return steps

    def compute(self) -> Schedule:
        """The schedule function for the current settings (raises ValueError if invalid)."""
        spec = TABLE[self.schedule]
        args: dict[str, float] = {}
        for arg, setting in spec["args"].items():
            value = getattr(self, setting)
            args[arg] = value * self.lr if setting == "eta_min" else value
        function: Schedule = getattr(schedules, self.schedule)(self.lr, **args)
        return function

    @property
    def error(self) -> str | None:
        """The schedule's own message if the settings are invalid, else ``None``."""
        try:
            self.compute()
        except ValueError as error:
            return str(error)
        return None

    @property
    def last_step(self) -> int:
        """The last step drawn: ``steps``, or ``total_steps`` for one_cycle, which ends there."""
        if self.schedule == "one_cycle":
            # An Int trait (SETTINGS marks total_steps "int"); _setting_trait's type cannot say which.
            return min(self.steps, cast(int, self.total_steps))
        return self.steps

    @property
    def rates(self) -> NDArray[np.float64]:
        """lr(t) for t = 0 ... :attr:`last_step`, as the browser draws it (raises if invalid)."""
        function = self.compute()
        return np.array([function(t) for t in range(self.last_step + 1)])
