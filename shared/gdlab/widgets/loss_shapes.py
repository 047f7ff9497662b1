"""The explorers of chapter 01: loss shapes and their gradients, and a line fitted through outliers.

Both compute in the browser (``explorers.js``, kinds ``loss_shapes`` and ``outliers``), so
they respond in the static book as well as in a running notebook. Each setting is a synced
trait; the Python side computes with gdlab what the browser draws (a node test checks that
the two agree within 1e-9).

>>> from gdlab.widgets.loss_shapes import LossShapesExplorer, OutlierExplorer
>>> shapes = LossShapesExplorer(error=2.0, delta=1.0)
>>> shapes.readings.huber                       # (value, gradient) at error 2
(1.5, 1.0)
>>> shapes.delta = 3.0                          # as a reader would move the slider
>>> shapes.readings.huber                       # now inside δ: e²/2 and e
(2.0, 2.0)
>>> outliers = OutlierExplorer(count=4, shift=20.0)
>>> outliers.slopes["MSE"] < outliers.slopes["Huber"] - 1
True
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import numpy as np
import traitlets

from .. import data, losses
from ..fitting import LOSS_NAMES, fit_lines
from ._render import BrowserExplorer

if TYPE_CHECKING:
    from numpy.typing import NDArray

    FloatArray = NDArray[np.float64]

Pair = tuple[float, float]  # a loss's (value, gradient), or a line's (w, b)

__all__ = ["LossReadings", "LossShapesExplorer", "OutlierExplorer"]


def _in_range(name: str, value: object, low: float, high: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be a number between {low} and {high}, got {value!r}")
    return value


# --- loss shapes ------------------------------------------------------------------------


class LossReadings(NamedTuple):
    """Each loss and its gradient at the explorer's chosen error and p_t, as (value, gradient)."""

    mse: Pair
    mae: Pair
    huber: Pair
    bce: Pair  # as a function of p_t (target 1): value, d/dp_t
    focal: Pair  # focal (alpha off) at the same p_t: value, d/d logit
    factor: float  # (1 - p_t) ** gamma: the share of cross-entropy that focal keeps


def _regression_curves(
    errors: FloatArray, delta: float
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    zero = np.zeros_like(errors)
    # reduction="none" gives one value per error: an array (gdlab.losses types it as Reduced).
    values = {
        "MSE": cast("FloatArray", losses.mse(errors, zero, reduction="none")),
        "MAE": cast("FloatArray", losses.mae(errors, zero, reduction="none")),
        "Huber": cast("FloatArray", losses.huber(errors, zero, delta=delta, reduction="none")),
    }
    grads = {
        "MSE": losses.mse_grad(errors, zero, reduction="none"),
        "MAE": losses.mae_grad(errors, zero, reduction="none"),
        "Huber": losses.huber_grad(errors, zero, delta=delta, reduction="none"),
    }
    return values, grads


def _bce_and_focal(p_t: FloatArray, gamma: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    ones = np.ones_like(p_t)
    logits = np.log(p_t) - np.log1p(-p_t)  # the logit whose sigmoid is p_t
    bce = cast("FloatArray", losses.binary_cross_entropy(p_t, ones, reduction="none"))
    focal = cast("FloatArray", losses.focal(logits, ones, gamma=gamma, alpha=-1, reduction="none"))
    return bce, focal, logits


class LossShapesExplorer(BrowserExplorer):
    """MSE, MAE and Huber against the error, with their gradients; BCE and focal against p_t.

    Settings: the error ``error`` to read off, Huber's ``delta``, the probability ``p_t`` the
    model gives the true class, and focal's ``gamma`` (class weight α switched off, so that
    the panel shows the modulating factor alone). :attr:`readings` holds the numbers the
    readout states; :meth:`compute` the curves the browser draws.
    """

    KIND = "loss_shapes"
    URL_TRAITS = ("error", "delta", "p_t", "gamma")
    ERRORS = (-4.0, 4.0, 321)  # numpy.linspace arguments of the error axis
    P_T = (0.005, 0.995, 199)  # and of the p_t axis

    error = traitlets.Float(2.0).tag(sync=True)
    delta = traitlets.Float(1.0).tag(sync=True)
    p_t = traitlets.Float(0.9).tag(sync=True)
    gamma = traitlets.Float(2.0).tag(sync=True)
    grids = traitlets.Dict().tag(sync=True)

    def __init__(
        self, error: float = 2.0, delta: float = 1.0, p_t: float = 0.9, gamma: float = 2.0, **kwargs: Any
    ) -> None:
        grids = {"errors": list(self.ERRORS), "p_t": list(self.P_T)}
        super().__init__(error=error, delta=delta, p_t=p_t, gamma=gamma, grids=grids, **kwargs)

    @traitlets.validate("error")
    def _check_error(self, proposal: dict[str, Any]) -> float:
        return _in_range("error", proposal["value"], -4.0, 4.0)

    @traitlets.validate("delta")
    def _check_delta(self, proposal: dict[str, Any]) -> float:
        return _in_range("delta", proposal["value"], 0.1, 4.0)

    @traitlets.validate("p_t")
    def _check_p_t(self, proposal: dict[str, Any]) -> float:
        return _in_range("p_t", proposal["value"], 0.01, 0.99)

    @traitlets.validate("gamma")
    def _check_gamma(self, proposal: dict[str, Any]) -> float:
        return _in_range("gamma", proposal["value"], 0.0, 5.0)

    @property
    def readings(self) -> LossReadings:
        """The numbers of the readout for the current settings."""
        return self.compute()[3]

    def compute(self) -> tuple[dict[str, FloatArray], dict[str, FloatArray], FloatArray, LossReadings]:
        """The curves and the readings for the current settings: what the browser draws."""
        delta, gamma = self.delta, self.gamma
        values, grads = _regression_curves(np.linspace(*self.ERRORS), delta)
        _, focal_curve, _ = _bce_and_focal(np.linspace(*self.P_T), gamma)
        at_values, at_grads = _regression_curves(np.array([self.error]), delta)
        p = np.array([self.p_t])
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


# --- outliers -----------------------------------------------------------------------------


class OutlierExplorer(BrowserExplorer):
    """A line through 40 noisy points (true slope 2, intercept 1), some of them outliers.

    Move the number of outliers ``count``, how far they sit above the line (``shift``),
    Huber's ``delta`` and the number of gradient-descent ``steps``; the explorer refits the
    line under MSE, MAE and Huber (:func:`gdlab.fitting.fit_lines`) and reports each fitted
    slope. :attr:`fits` holds the ``(w, b)`` of each loss and :attr:`slopes` the slopes.

    The browser rebuilds the data of ``data.linear`` from the table in ``points``: the
    points without outliers, and for each count which points are shifted and by how much
    noise on top of the shift (drawn by ``data.linear``'s own generator).
    """

    KIND = "outliers"
    URL_TRAITS = ("count", "shift", "delta", "steps")
    N, SLOPE, INTERCEPT, NOISE, SEED = 40, 2.0, 1.0, 0.5, 0
    MAX_COUNT = 10
    LR = 0.1

    count = traitlets.Int(4).tag(sync=True)
    shift = traitlets.Float(20.0).tag(sync=True)
    delta = traitlets.Float(1.0).tag(sync=True)
    points = traitlets.Dict().tag(sync=True)

    def __init__(
        self, count: int = 4, shift: float = 20.0, delta: float = 1.0, steps: int = 300, **kwargs: Any
    ) -> None:
        super().__init__(count=count, shift=shift, delta=delta, steps=steps, points=self._table(), **kwargs)

    @classmethod
    def _table(cls) -> dict[str, Any]:
        """What the browser needs to rebuild every data set the count slider can reach."""
        clean = cls._dataset(0)
        rng = np.random.default_rng(cls.SEED)  # data.linear's draws, in its order
        rng.normal(size=(cls.N, 1))
        rng.normal(size=cls.N)
        state = rng.bit_generator.state
        shifted = []
        for count in range(cls.MAX_COUNT + 1):
            rng.bit_generator.state = state
            chosen = rng.choice(cls.N, size=count, replace=False) if count else np.zeros(0, int)
            noise = rng.normal(size=count) if count else np.zeros(0)
            shifted.append({"index": chosen.tolist(), "noise": noise.tolist()})
        return {
            "x": clean.X[:, 0].tolist(),
            "y": clean.y.tolist(),
            "shifted": shifted,
            "slope": cls.SLOPE,
            "intercept": cls.INTERCEPT,
            "lr": cls.LR,
            "losses": list(LOSS_NAMES),
        }

    @classmethod
    def _dataset(cls, count: int, shift: float = 0.0) -> data.Regression:
        return data.linear(
            n=cls.N,
            weights=(cls.SLOPE,),
            bias=cls.INTERCEPT,
            noise=cls.NOISE,
            outliers=count,
            outlier_shift=shift,
            seed=cls.SEED,
        )

    @traitlets.validate("count")
    def _check_count(self, proposal: dict[str, Any]) -> int:
        value: int = proposal["value"]
        if not 0 <= value <= self.MAX_COUNT:
            raise ValueError(f"count must be between 0 and {self.MAX_COUNT} outliers, got {value}")
        return value

    @traitlets.validate("shift")
    def _check_shift(self, proposal: dict[str, Any]) -> float:
        return _in_range("shift", proposal["value"], 0.0, 50.0)

    @traitlets.validate("delta")
    def _check_delta(self, proposal: dict[str, Any]) -> float:
        return _in_range("delta", proposal["value"], 0.2, 5.0)

    @property
    def dataset(self) -> data.Regression:
        """The 40 points for the current count and shift (``data.linear``)."""
        return self._dataset(self.count, self.shift)

    def compute(self) -> tuple[data.Regression, FloatArray]:
        """The data set and the three fitted lines, rows in the order MSE, MAE, Huber."""
        dataset = self.dataset
        fits = fit_lines(dataset.X[:, 0], dataset.y, delta=self.delta, lr=self.LR, steps=self.steps)
        return dataset, fits

    @property
    def fits(self) -> dict[str, Pair]:
        """``{loss: (w, b)}`` for the current settings."""
        _, fits = self.compute()
        return {name: (float(w), float(b)) for name, (w, b) in zip(LOSS_NAMES, fits)}

    @property
    def slopes(self) -> dict[str, float]:
        return {name: wb[0] for name, wb in self.fits.items()}
