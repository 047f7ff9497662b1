r"""Chapter 07's damping explorer: heavy-ball momentum on one quadratic direction, in the browser.

On :math:`f(x) = \tfrac12\lambda x^2`, SGD with momentum :math:`\mu` and rate :math:`\alpha`
moves the error by the linear recurrence
:math:`x_{t+1} = (1 + \mu - \alpha\lambda)\,x_t - \mu\,x_{t-1}`, whose 2×2 iteration matrix
has the characteristic polynomial :math:`z^2 - (1 + \mu - \alpha\lambda)\,z + \mu`. Its two
roots decide how the error shrinks: real and distinct (**overdamped**, no swing through the
minimum from the slow root), one double root at :math:`\mu = (1 - \sqrt{\alpha\lambda})^2`
(**critically damped**), or complex with modulus :math:`\sqrt\mu` (**underdamped**, it
swings). If the larger modulus reaches 1 the run does not converge (**diverging**).

:class:`MomentumExplorer` draws the iterates and the roots in the browser (the renderer
``momentum`` in ``explorers.js``); :func:`damping` is the same computation in Python, and a
test requires both to agree.

>>> damping(lr=0.04, momentum=0.64, curvature=1.0)["regime"]
'critically damped'
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypedDict

import traitlets

from .. import optim, surfaces
from ..descent import descend
from .live import _Explorer

if TYPE_CHECKING:
    from ..descent import Trajectory

__all__ = ["DAMPING_REGIMES", "Damping", "MomentumExplorer", "critical_momentum", "damping"]

DAMPING_REGIMES = ("overdamped", "critically damped", "underdamped", "diverging")

# The discriminant counts as zero within this tolerance, so that a slider set to the
# critical momentum, 0.64 for αλ = 0.04, reads "critically damped" despite rounding.
_TOL = 1e-9


class Damping(TypedDict):
    """What :func:`damping` returns (a plain dict at run time)."""

    roots: list[complex]
    rate: float
    discriminant: float
    critical: float | None
    regime: str


def critical_momentum(lr: float, curvature: float) -> float | None:
    r"""The momentum of the double root, :math:`\mu_c = (1 - \sqrt{\alpha\lambda})^2`.

    Below it the roots are real (overdamped), above it complex (underdamped). It lies in
    :math:`[0, 1)` only while :math:`0 < \alpha\lambda < 4`; otherwise there is none (``None``).

    >>> round(critical_momentum(0.04, 1.0), 12)
    0.64
    """
    if not (lr > 0 and curvature > 0):
        raise ValueError(f"lr and curvature must be positive, got lr={lr}, curvature={curvature}")
    product = lr * curvature
    if product >= 4:
        return None
    return (1 - math.sqrt(product)) ** 2


def damping(lr: float, momentum: float, curvature: float) -> Damping:
    r"""The roots of :math:`z^2 - (1 + \mu - \alpha\lambda) z + \mu`, their rate and the regime.

    Returns a dict: ``roots`` (two complex numbers, the larger modulus first), ``rate``
    (the larger modulus, the factor by which the error eventually shrinks per step),
    ``discriminant`` :math:`(1 + \mu - \alpha\lambda)^2 - 4\mu`, ``critical`` (see
    :func:`critical_momentum`) and ``regime``, one of :data:`DAMPING_REGIMES`.
    """
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1) for the damping regimes, got {momentum}")
    critical = critical_momentum(lr, curvature)
    a = 1 + momentum - lr * curvature
    disc = a * a - 4 * momentum
    if disc >= 0:
        root = math.sqrt(disc)
        roots = [complex((a + root) / 2), complex((a - root) / 2)]
    else:
        root = math.sqrt(-disc)
        roots = [complex(a / 2, root / 2), complex(a / 2, -root / 2)]
    roots.sort(key=abs, reverse=True)
    rate = abs(roots[0])
    if rate >= 1:
        regime = "diverging"
    elif abs(disc) <= _TOL:
        regime = "critically damped"
    elif disc > 0:
        regime = "overdamped"
    else:
        regime = "underdamped"
    return {"roots": roots, "rate": rate, "discriminant": disc, "critical": critical, "regime": regime}


class MomentumExplorer(_Explorer):
    r"""SGD with momentum on :math:`f(x) = \tfrac12\lambda x^2` (chapter 07), named by its damping.

    Set ``momentum``, ``lr`` or ``curvature`` and the browser redraws the iterates and the
    two roots; :attr:`regime` and :meth:`trajectory` are the same results computed here.

    >>> MomentumExplorer(momentum=0.9).regime
    'underdamped'
    """

    momentum = traitlets.Float(0.9).tag(sync=True)
    curvature = traitlets.Float(1.0).tag(sync=True)
    # The settings a link to this explorer carries.
    url_traits = traitlets.List(["momentum", "lr", "curvature", "steps"]).tag(sync=True)

    def __init__(
        self,
        momentum: float = 0.9,
        lr: float = 0.04,
        curvature: float = 1.0,
        x0: float = 1.0,
        steps: int = 60,
        **kwargs: Any,
    ) -> None:
        super().__init__(momentum=momentum, curvature=curvature, x0=[float(x0)], lr=lr, steps=steps, **kwargs)
        self.set_trait("kind", "momentum")

    @traitlets.validate("momentum")
    def _check_momentum(self, proposal: dict[str, Any]) -> float:
        value: float = proposal["value"]
        if not value >= 0:
            raise ValueError(f"Invalid momentum value: {value}")
        if not value < 1:
            raise ValueError(f"momentum must be below 1 for the damping regimes, got {value}")
        return value

    @traitlets.validate("curvature")
    def _check_curvature(self, proposal: dict[str, Any]) -> float:
        curvature: float = proposal["value"]
        if not (curvature > 0 and math.isfinite(curvature)):
            raise ValueError(f"curvature must be positive, got {curvature}")
        return curvature

    @property
    def analysis(self) -> Damping:
        """Roots, rate, critical momentum and regime for the current settings (:func:`damping`)."""
        return damping(self.lr, self.momentum, self.curvature)

    @property
    def regime(self) -> str:
        """Overdamped, critically damped, underdamped or diverging."""
        return self.analysis["regime"]

    @property
    def critical_momentum(self) -> float | None:
        """The momentum at which the roots meet, :math:`(1 - \\sqrt{\\alpha\\lambda})^2`."""
        return critical_momentum(self.lr, self.curvature)

    def trajectory(self) -> Trajectory:
        """The run the explorer draws: gdlab's SGD with momentum on the quadratic."""
        land = surfaces.quadratic([[self.curvature]], name="parabola")
        return descend(land, self.x0, optim.sgd(lr=self.lr, momentum=self.momentum), self.steps)
