r"""The four regimes of gradient descent on a parabola, named from the product αλ alone.

On :math:`f(x) = \tfrac12\lambda x^2` one step of gradient descent multiplies the distance
to the minimum by :math:`1 - \alpha\lambda` (chapter 03):

>>> regime(0.1, 2.0), regime(0.8, 2.0), regime(1.0, 2.0), regime(1.1, 2.0)
('monotone', 'oscillating', 'cycling', 'diverging')

:func:`path_regime` names what a real path did, so the prediction can be checked against it.
"""

import math

import numpy as np
from numpy.typing import ArrayLike

from . import optim, surfaces
from .descent import Trajectory, descend
from .surfaces import Landscape

__all__ = ["REGIMES", "parabola_run", "path_regime", "regime"]

REGIMES = ("monotone", "oscillating", "cycling", "diverging")
_TOLERANCE = 1e-9  # relative: how close alpha * lambda must be to 2 to count as exactly 2


def regime(lr: float, curvature: float) -> str:
    r"""The regime of gradient descent at rate ``lr`` on a parabola of curvature ``curvature``.

    The step factor is :math:`1 - \alpha\lambda`: ``"monotone"`` for
    :math:`0 < \alpha\lambda \le 1` (at 1 it lands on the minimum in one step),
    ``"oscillating"`` (and converging) for :math:`1 < \alpha\lambda < 2`, ``"cycling"``
    for :math:`\alpha\lambda = 2`, ``"diverging"`` above 2.
    """
    if not (lr > 0 and curvature > 0 and math.isfinite(lr) and math.isfinite(curvature)):
        raise ValueError(f"lr and curvature must be positive, finite numbers, got {lr} and {curvature}")
    product = lr * curvature
    if abs(product - 2) <= _TOLERANCE * 2:
        return "cycling"
    if product > 2:
        return "diverging"
    if product > 1 + _TOLERANCE:
        return "oscillating"
    return "monotone"


def path_regime(positions: ArrayLike, center: float = 0.0) -> str:
    """The regime a 1-D path shows: does it cross the minimum, and does its distance shrink?"""
    offsets = np.asarray(positions, dtype=np.float64).reshape(-1) - center
    distances = np.abs(offsets)
    if len(distances) < 2 or distances[1] <= 1e-12 * distances[0]:
        return "monotone"  # did not move, or landed on the minimum at once
    ratios = distances[1:] / distances[:-1]
    crosses = np.all(np.sign(offsets[1:]) == -np.sign(offsets[:-1]))
    if np.all(np.abs(ratios - 1) <= 1e-9):
        return "cycling" if crosses else "monotone"
    if np.all(ratios > 1):
        return "diverging"
    return "oscillating" if crosses else "monotone"


def parabola_run(
    lr: float, curvature: float, x0: float = 1.0, steps: int = 20
) -> tuple[Landscape, Trajectory]:
    """Plain gradient descent on :math:`f(x) = \\tfrac12\\lambda x^2` from ``x0``: landscape and run."""
    landscape = surfaces.quadratic([[curvature]], name="parabola")
    return landscape, descend(landscape, x0, optim.sgd(lr=lr), steps)
