"""Explorers that compute in the browser, so they stay alive in the static HTML book.

Each is an anywidget: a Python model holding the traits that drive it (function, start,
optimizer, learning rate, steps) and one ES module, ``explorers.js``, that reimplements
the maths of gdlab's landscapes, optimizers and ``descend`` and draws the result. Every
table the browser needs (landscape names, bounds and descriptions, optimizer presets and
each optimizer's hyperparameters, tolerances, divergence limits, the palette) is built
here from gdlab and sent as the synced trait ``tables``: the browser keeps no copy. The
same widget runs in JupyterLab, in Colab (custom widget manager) and in the built book,
where no kernel exists. Set a trait from Python and the view follows; :meth:`trajectory`
gives the run that the browser draws, computed by gdlab (a test checks that both agree).
The settings named in ``url_traits`` are written into the page's address, so a link
reproduces what the reader sees.

>>> from gdlab.widgets import CurveExplorer
>>> explorer = CurveExplorer(function="bowl", lr=1.1, steps=200)
>>> explorer.trajectory().status
'diverged'
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import numpy as np
import traitlets

from .. import formula as _formula
from .. import optim, plotting, regimes, surfaces
from ..descent import descend
from ..regimes import parabola_run, path_regime
from ..regimes import regime as _regime

if TYPE_CHECKING:
    from ..descent import Trajectory
    from ..optim import Optimizer
    from ..surfaces import Landscape

__all__ = [
    "CurveExplorer",
    "LandscapeExplorer",
    "OptimizerRace",
    "RegimeExplorer",
    "optimizer_for",
    "tables",
]

_ESM = Path(__file__).with_name("explorers.js")
_CURVES = ("valley", "bowl", "double_well")
_SURFACES = ("himmelblau", "rosenbrock", "saddle", "revenue")

# The optimizers the explorers offer, by label (the browser module has the same table).
_OPTIMIZERS = {
    "sgd": ("sgd", {}),
    "momentum": ("sgd", {"momentum": 0.9}),
    "nesterov": ("sgd", {"momentum": 0.9, "nesterov": True}),
    "rmsprop": ("rmsprop", {}),
    "adagrad": ("adagrad", {}),
    "adam": ("adam", {}),
}


def optimizer_for(label: str, lr: float) -> Optimizer[Any]:
    """The gdlab optimizer behind an explorer's label (``"momentum"`` is SGD with 0.9)."""
    try:
        name, hyper = _OPTIMIZERS[label]
    except KeyError:
        raise ValueError(f"unknown optimizer {label!r}; choose one of {sorted(_OPTIMIZERS)}") from None
    return optim.by_name(name, lr=lr, **hyper)


def _defaults(function: Callable[..., object]) -> dict[str, Any]:
    """A function's keyword arguments and their defaults (``None`` where it has none)."""
    return {
        name: None if p.default is inspect.Parameter.empty else p.default
        for name, p in inspect.signature(function).parameters.items()
    }


def _plain(value: object) -> object:
    # JSON has lists, not tuples.
    return list(value) if isinstance(value, tuple) else value


def tables() -> dict[str, Any]:
    """Every table the browser module needs, built from gdlab: the browser's only copy.

    >>> tables()["presets"]["momentum"]
    {'optimizer': 'sgd', 'hyper': {'momentum': 0.9}}
    """
    descend_defaults = _defaults(descend)
    return {
        "landscapes": {
            name: {
                "dim": land.dim,
                "text": land.text,
                "bounds": [list(b) for b in land.bounds],
            }
            for name in _CURVES + _SURFACES
            for land in [surfaces.by_name(name)]
        },
        "curves": list(_CURVES),
        "surfaces": list(_SURFACES),
        "optimizers": {
            name: {k: _plain(v) for k, v in _defaults(factory).items()}
            for name, factory in optim._FACTORIES.items()
        },
        "presets": {
            label: {"optimizer": name, "hyper": dict(hyper)} for label, (name, hyper) in _OPTIMIZERS.items()
        },
        "descend": {"tol": descend_defaults["tol"], "escape_radius": descend_defaults["escape_radius"]},
        "regime_tolerance": regimes._TOLERANCE,
        "regime_bounds": [list(b) for b in surfaces.quadratic([[1.0]]).bounds],
        "steps": [1, _MAX_STEPS],
        "formula": {
            "functions": list(_formula.FUNCTIONS),
            "constants": dict(_formula.CONSTANTS),
            "variables": list(_formula.VARIABLES),
            "max_length": _formula.MAX_LENGTH,
            "looped_power": _formula._LOOPED_POWER,
            "bounds": {"1": [[-4.0, 4.0]], "2": [[-3.0, 3.0], [-3.0, 3.0]]},
        },
        "palette": dict(plotting.PALETTE),
        "sequence": list(plotting.SEQUENCE),
    }


_MAX_STEPS = 5000


def _formula_landscape(text: str, dim: int) -> Landscape:
    bounds = tables()["formula"]["bounds"][str(dim)]
    return _formula.landscape(text, dim, bounds=bounds)


def _check_start(land: Landscape, x0: Sequence[float]) -> None:
    with np.errstate(all="ignore"):
        value, grad = float(land.f(x0)), land.grad(x0)
    if not (math.isfinite(value) and np.all(np.isfinite(grad))):
        raise ValueError(
            f"the formula is not finite at the start {list(x0)}: f = {value}, gradient {grad.tolist()}"
        )


def _url_traits(*names: str) -> traitlets.List[str]:
    """The synced trait listing the settings a link reproduces (generic code in explorers.js)."""
    return traitlets.List(traitlets.Unicode(), default_value=list(names)).tag(sync=True)


class _Explorer(anywidget.AnyWidget):
    _esm = _ESM
    kind = traitlets.Unicode(read_only=True).tag(sync=True)
    lr = traitlets.Float(0.1).tag(sync=True)
    steps = traitlets.Int(20).tag(sync=True)
    x0 = traitlets.List(traitlets.Float()).tag(sync=True)
    # The tables the browser computes and draws with (see tables()), and the settings a link
    # to the page reproduces.
    tables = traitlets.Dict(read_only=True).tag(sync=True)
    url_traits = _url_traits()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.set_trait("tables", tables())

    def get_state(
        self, key: str | Iterable[str] | None = None, drop_defaults: bool = False
    ) -> dict[str, Any]:
        """The traits to send to the browser: all of them, even where asked to drop defaults.

        ``embed_minimal_html`` and ``embed_data`` drop the traits that still hold their
        default, leaving the browser to fill them in, but the browser module has no defaults
        of its own (and the module itself, ``_esm``, is such a default): a page saved that way
        would show a dead explorer.
        """
        state: dict[str, Any] = super().get_state(key=key, drop_defaults=False)
        return state

    @traitlets.validate("lr")
    def _check_lr(self, proposal: dict[str, Any]) -> float:
        lr: float = proposal["value"]
        if not lr > 0 or lr == float("inf"):
            raise ValueError(f"Invalid learning rate: {lr} (it must be a positive number)")
        return lr

    @traitlets.validate("steps")
    def _check_steps(self, proposal: dict[str, Any]) -> int:
        steps: int = proposal["value"]
        if not 1 <= steps <= _MAX_STEPS:
            raise ValueError(f"steps must be between 1 and {_MAX_STEPS}, got {steps}")
        return steps


class _FormulaMixin:
    """A typed ``formula`` (empty: use ``function``), parsed by :mod:`gdlab.formula`."""

    # What the explorer that mixes this in provides (its traits and its dimension).
    _dim: int
    formula: str
    function: str
    x0: list[float]

    def landscape(self) -> Landscape:
        """The landscape the explorer descends: the typed formula, else the named function."""
        if self.formula:
            land = _formula_landscape(self.formula, self._dim)
            _check_start(land, self.x0)
            return land
        return surfaces.by_name(self.function)

    @traitlets.validate("formula")
    def _check_formula(self, proposal: dict[str, Any]) -> str:
        text: str = proposal["value"]
        if text:
            _formula.parse(text, self._dim)
        return text


class CurveExplorer(_FormulaMixin, _Explorer):
    """Gradient descent on a 1-D curve (chapter 02): function (or a typed formula), start,
    learning rate, steps."""

    _dim = 1
    url_traits = _url_traits("function", "formula", "x0", "lr", "steps")
    function = traitlets.Unicode("valley").tag(sync=True)
    formula = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        function: str = "valley",
        x0: float = 0.0,
        lr: float = 0.1,
        steps: int = 20,
        formula: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(function=function, formula=formula, x0=[float(x0)], lr=lr, steps=steps, **kwargs)
        self.set_trait("kind", "curve")

    @traitlets.validate("function")
    def _check_function(self, proposal: dict[str, Any]) -> str:
        function: str = proposal["value"]
        if function not in _CURVES:
            raise ValueError(f"function must be one of {_CURVES}, got {function!r}")
        return function

    def trajectory(self) -> Trajectory:
        """The run the explorer shows, computed by gdlab."""
        return descend(self.landscape(), self.x0, optim.sgd(lr=self.lr), self.steps)


class RegimeExplorer(_Explorer):
    """Plain gradient descent on f(x) = (λ/2)·x² (chapter 03), labelled by its regime."""

    url_traits = _url_traits("curvature", "x0", "lr", "steps")
    curvature = traitlets.Float(2.0).tag(sync=True)

    def __init__(
        self, lr: float = 0.1, curvature: float = 2.0, x0: float = 2.5, steps: int = 30, **kwargs: Any
    ) -> None:
        super().__init__(curvature=curvature, x0=[float(x0)], lr=lr, steps=steps, **kwargs)
        self.set_trait("kind", "regimes")

    @traitlets.validate("curvature")
    def _check_curvature(self, proposal: dict[str, Any]) -> float:
        curvature: float = proposal["value"]
        if not curvature > 0:
            raise ValueError(f"curvature must be positive, got {curvature}")
        return curvature

    @property
    def regime(self) -> str:
        """The regime αλ predicts: monotone, oscillating, cycling or diverging."""
        return _regime(self.lr, self.curvature)

    @property
    def observed(self) -> str:
        """The regime the path itself shows (it agrees with :attr:`regime`)."""
        run = self.trajectory()
        return "diverging" if run.diverged else path_regime(run.positions[:, 0])

    def trajectory(self) -> Trajectory:
        return parabola_run(self.lr, self.curvature, self.x0[0], self.steps)[1]


class LandscapeExplorer(_FormulaMixin, _Explorer):
    """The Loss Landscape Explorer (chapter 05): a surface (or a typed formula in x and y), a
    start, an optimizer and α."""

    _dim = 2
    url_traits = _url_traits("function", "formula", "optimizer", "x0", "lr", "steps")
    function = traitlets.Unicode("himmelblau").tag(sync=True)
    formula = traitlets.Unicode("").tag(sync=True)
    optimizer = traitlets.Unicode("sgd").tag(sync=True)

    def __init__(
        self,
        function: str = "himmelblau",
        x0: Sequence[float] = (-4.0, -4.0),
        optimizer: str = "sgd",
        lr: float = 0.001,
        steps: int = 500,
        formula: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            function=function,
            formula=formula,
            x0=[float(v) for v in x0],
            optimizer=optimizer,
            lr=lr,
            steps=steps,
            **kwargs,
        )
        self.set_trait("kind", "surface")

    @traitlets.validate("function")
    def _check_function(self, proposal: dict[str, Any]) -> str:
        function: str = proposal["value"]
        if function not in _SURFACES:
            raise ValueError(f"function must be one of {_SURFACES}, got {function!r}")
        return function

    @traitlets.validate("optimizer")
    def _check_optimizer(self, proposal: dict[str, Any]) -> str:
        label: str = proposal["value"]
        optimizer_for(label, 0.1)
        return label

    def trajectory(self) -> Trajectory:
        """The run the explorer shows, computed by gdlab."""
        return descend(self.landscape(), self.x0, optimizer_for(self.optimizer, self.lr), self.steps)


class OptimizerRace(_Explorer):
    """Several optimizers from the same start on the same surface (chapter 07)."""

    url_traits = _url_traits("function", "racers", "x0", "lr", "steps")
    function = traitlets.Unicode("rosenbrock").tag(sync=True)
    racers = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(
        self,
        function: str = "rosenbrock",
        x0: Sequence[float] = (-1.5, 2.0),
        racers: Sequence[str] = ("sgd", "momentum", "rmsprop", "adam"),
        lr: float = 0.001,
        steps: int = 1000,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            function=function, x0=[float(v) for v in x0], racers=list(racers), lr=lr, steps=steps, **kwargs
        )
        self.set_trait("kind", "race")

    @traitlets.validate("function")
    def _check_function(self, proposal: dict[str, Any]) -> str:
        function: str = proposal["value"]
        if function not in _SURFACES:
            raise ValueError(f"function must be one of {_SURFACES}, got {function!r}")
        return function

    @traitlets.validate("racers")
    def _check_racers(self, proposal: dict[str, Any]) -> list[str]:
        racers: list[str] = proposal["value"]
        if not racers:
            raise ValueError("racers must name at least one optimizer")
        for label in racers:
            optimizer_for(label, 0.1)
        return racers

    def trajectories(self) -> dict[str, Trajectory]:
        land = surfaces.by_name(self.function)
        return {
            label: descend(land, self.x0, optimizer_for(label, self.lr), self.steps) for label in self.racers
        }
