"""Explorers that compute in the browser, so they stay alive in the static HTML book.

Each is an anywidget: a Python model holding the traits that drive it (function, start,
optimizer, learning rate, steps) and one ES module, ``explorers.js``, that reimplements
the landscapes, optimizers and ``descend`` of gdlab and draws the result. The same widget
runs in JupyterLab, in Colab (custom widget manager) and in the built book, where no
kernel exists. Set a trait from Python and the view follows; :meth:`trajectory` gives the
run that the browser draws, computed by gdlab (a test checks that both agree).

>>> from gdlab.widgets import CurveExplorer
>>> explorer = CurveExplorer(function="bowl", lr=1.1, steps=200)
>>> explorer.trajectory().status
'diverged'
"""

from pathlib import Path

import anywidget
import traitlets

from .. import optim, surfaces
from ..descent import descend
from ..regimes import parabola_run, path_regime
from ..regimes import regime as _regime

__all__ = ["CurveExplorer", "LandscapeExplorer", "OptimizerRace", "RegimeExplorer", "optimizer_for"]

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


def optimizer_for(label, lr):
    """The gdlab optimizer behind an explorer's label (``"momentum"`` is SGD with 0.9)."""
    try:
        name, hyper = _OPTIMIZERS[label]
    except KeyError:
        raise ValueError(f"unknown optimizer {label!r}; choose one of {sorted(_OPTIMIZERS)}") from None
    return optim.by_name(name, lr=lr, **hyper)


class _Explorer(anywidget.AnyWidget):
    _esm = _ESM
    kind = traitlets.Unicode(read_only=True).tag(sync=True)
    lr = traitlets.Float(0.1).tag(sync=True)
    steps = traitlets.Int(20).tag(sync=True)
    x0 = traitlets.List(traitlets.Float()).tag(sync=True)

    def get_state(self, key=None, drop_defaults=False):
        """The traits to send to the browser: all of them, even where asked to drop defaults.

        ``embed_minimal_html`` and ``embed_data`` drop the traits that still hold their
        default, leaving the browser to fill them in, but the browser module has no defaults
        of its own (and the module itself, ``_esm``, is such a default): a page saved that way
        would show a dead explorer.
        """
        return super().get_state(key=key, drop_defaults=False)

    @traitlets.validate("lr")
    def _check_lr(self, proposal):
        lr = proposal["value"]
        if not lr > 0 or lr == float("inf"):
            raise ValueError(f"Invalid learning rate: {lr} (it must be a positive number)")
        return lr

    @traitlets.validate("steps")
    def _check_steps(self, proposal):
        if not 1 <= proposal["value"] <= 5000:
            raise ValueError(f"steps must be between 1 and 5000, got {proposal['value']}")
        return proposal["value"]


class CurveExplorer(_Explorer):
    """Gradient descent on a 1-D curve (chapter 02): function, start, learning rate, steps."""

    function = traitlets.Unicode("valley").tag(sync=True)

    def __init__(self, function="valley", x0=0.0, lr=0.1, steps=20, **kwargs):
        super().__init__(function=function, x0=[float(x0)], lr=lr, steps=steps, **kwargs)
        self.set_trait("kind", "curve")

    @traitlets.validate("function")
    def _check_function(self, proposal):
        if proposal["value"] not in _CURVES:
            raise ValueError(f"function must be one of {_CURVES}, got {proposal['value']!r}")
        return proposal["value"]

    def trajectory(self):
        """The run the explorer shows, computed by gdlab."""
        return descend(surfaces.by_name(self.function), self.x0, optim.sgd(lr=self.lr), self.steps)


class RegimeExplorer(_Explorer):
    """Plain gradient descent on f(x) = (λ/2)·x² (chapter 03), labelled by its regime."""

    curvature = traitlets.Float(2.0).tag(sync=True)

    def __init__(self, lr=0.1, curvature=2.0, x0=2.5, steps=30, **kwargs):
        super().__init__(curvature=curvature, x0=[float(x0)], lr=lr, steps=steps, **kwargs)
        self.set_trait("kind", "regimes")

    @traitlets.validate("curvature")
    def _check_curvature(self, proposal):
        if not proposal["value"] > 0:
            raise ValueError(f"curvature must be positive, got {proposal['value']}")
        return proposal["value"]

    @property
    def regime(self):
        """The regime αλ predicts: monotone, oscillating, cycling or diverging."""
        return _regime(self.lr, self.curvature)

    @property
    def observed(self):
        """The regime the path itself shows (it agrees with :attr:`regime`)."""
        run = self.trajectory()
        return "diverging" if run.diverged else path_regime(run.positions[:, 0])

    def trajectory(self):
        return parabola_run(self.lr, self.curvature, self.x0[0], self.steps)[1]


class LandscapeExplorer(_Explorer):
    """The Loss Landscape Explorer (chapter 05): a surface, a start, an optimizer and α."""

    function = traitlets.Unicode("himmelblau").tag(sync=True)
    optimizer = traitlets.Unicode("sgd").tag(sync=True)

    def __init__(
        self, function="himmelblau", x0=(-4.0, -4.0), optimizer="sgd", lr=0.001, steps=500, **kwargs
    ):
        super().__init__(
            function=function, x0=[float(v) for v in x0], optimizer=optimizer, lr=lr, steps=steps, **kwargs
        )
        self.set_trait("kind", "surface")

    @traitlets.validate("function")
    def _check_function(self, proposal):
        if proposal["value"] not in _SURFACES:
            raise ValueError(f"function must be one of {_SURFACES}, got {proposal['value']!r}")
        return proposal["value"]

    @traitlets.validate("optimizer")
    def _check_optimizer(self, proposal):
        optimizer_for(proposal["value"], 0.1)
        return proposal["value"]

    def trajectory(self):
        land = surfaces.by_name(self.function)
        return descend(land, self.x0, optimizer_for(self.optimizer, self.lr), self.steps)


class OptimizerRace(_Explorer):
    """Several optimizers from the same start on the same surface (chapter 07)."""

    function = traitlets.Unicode("rosenbrock").tag(sync=True)
    racers = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(
        self,
        function="rosenbrock",
        x0=(-1.5, 2.0),
        racers=("sgd", "momentum", "rmsprop", "adam"),
        lr=0.001,
        steps=1000,
        **kwargs,
    ):
        super().__init__(
            function=function, x0=[float(v) for v in x0], racers=list(racers), lr=lr, steps=steps, **kwargs
        )
        self.set_trait("kind", "race")

    @traitlets.validate("function")
    def _check_function(self, proposal):
        if proposal["value"] not in _SURFACES:
            raise ValueError(f"function must be one of {_SURFACES}, got {proposal['value']!r}")
        return proposal["value"]

    @traitlets.validate("racers")
    def _check_racers(self, proposal):
        if not proposal["value"]:
            raise ValueError("racers must name at least one optimizer")
        for label in proposal["value"]:
            optimizer_for(label, 0.1)
        return proposal["value"]

    def trajectories(self):
        land = surfaces.by_name(self.function)
        return {
            label: descend(land, self.x0, optimizer_for(label, self.lr), self.steps) for label in self.racers
        }
