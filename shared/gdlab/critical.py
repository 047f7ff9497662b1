r"""Find a landscape's critical points and tell minima, maxima and saddles apart.

A critical point is where the gradient vanishes, :math:`\nabla f(x) = 0`. Gradient descent
only looks for minima, so to *list* every critical point we run Newton's method on the
gradient from many starts, :math:`x \leftarrow x - H(x)^{-1}\nabla f(x)`, which converges to
a critical point of any kind (usually, but not always, a nearby one). Each point found is then classified by
the signs of its Hessian's eigenvalues: all positive, a minimum; all negative, a maximum;
both signs, a saddle; a zero eigenvalue and no negative one (or no positive one), degenerate
(second derivatives cannot decide).

>>> import numpy as np
>>> from gdlab import surfaces
>>> from gdlab.critical import critical_points
>>> found = critical_points(surfaces.double_well, np.linspace(-3.0, 3.0, 7))
>>> [(p.kind, round(float(p.point[0]), 4)) for p in found]
[('minimum', -2.0305), ('minimum', 1.968), ('maximum', 0.0626)]
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._checks import as_float_array

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .descent import Trajectory
    from .surfaces import Landscape

__all__ = [
    "CriticalPoint",
    "Nearest",
    "classify",
    "critical_points",
    "escape_step",
    "nearest",
    "newton",
    "newton_iterate",
    "settled_at",
]

_KINDS = ("minimum", "saddle", "maximum", "degenerate")


class CriticalPoint(NamedTuple):
    """One critical point: where it is, the value there, the Hessian's eigenvalues, its kind."""

    point: NDArray[np.float64]  # shape (dim,)
    value: float
    eigenvalues: NDArray[np.float64]  # of the Hessian at ``point``, ascending
    kind: str  # "minimum", "saddle", "maximum" or "degenerate"


def classify(hessian: ArrayLike, atol: float = 1e-8) -> str:
    r"""Name a critical point by its Hessian: ``"minimum"``, ``"maximum"``, ``"saddle"`` or ``"degenerate"``.

    With eigenvalues :math:`\lambda_i` of the symmetric Hessian and the tolerance
    :math:`\tau = \text{atol}\cdot\max(1, \max_i|\lambda_i|)`: all :math:`\lambda_i > \tau`
    is a minimum, all :math:`\lambda_i < -\tau` a maximum, some above :math:`\tau` and some
    below :math:`-\tau` a saddle (downhill along some directions, uphill along others), and
    anything else degenerate: a near-zero eigenvalue leaves the kind to higher derivatives.

    >>> classify([[2.0, 0.0], [0.0, -2.0]]), classify([[2.0, 0.0], [0.0, 0.0]])
    ('saddle', 'degenerate')
    """
    H = as_float_array(hessian, "hessian")
    if H.ndim != 2 or H.shape[0] != H.shape[1] or H.shape[0] == 0:
        raise ValueError(f"hessian must be a non-empty square matrix, got shape {H.shape}")
    if not np.allclose(H, H.T, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(H).max()))):
        raise ValueError("hessian must be symmetric: a Hessian of a twice-differentiable function is")
    if not atol >= 0:
        raise ValueError(f"atol must be non-negative, got {atol}")
    eigenvalues = np.linalg.eigvalsh(H)
    tau = atol * max(1.0, float(np.abs(eigenvalues).max()))
    if np.all(eigenvalues > tau):
        return "minimum"
    if np.all(eigenvalues < -tau):
        return "maximum"
    if eigenvalues.min() < -tau and eigenvalues.max() > tau:
        return "saddle"
    return "degenerate"


def newton(
    landscape: "Landscape", x0: ArrayLike, max_iter: int = 50, tol: float = 1e-10
) -> NDArray[np.float64] | None:
    r"""Newton's method on the gradient, :math:`x \leftarrow x - H(x)^{-1}\nabla f(x)`, from ``x0``.

    Returns the point once :math:`\lVert\nabla f(x)\rVert <` ``tol``, or ``None`` if that does
    not happen within ``max_iter`` steps (a singular Hessian, a point that runs off to
    infinity, or slow convergence). Near a critical point of any kind the error squares at
    every step, so a handful of steps usually suffice. The iteration itself is
    :func:`newton_iterate`, which also refines the published minima of :mod:`gdlab.surfaces`.

    >>> from gdlab import surfaces
    >>> newton(surfaces.saddle, [1.0, -0.5]).tolist()
    [0.0, 0.0]
    """
    _check_landscape(landscape)
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative integer, got {max_iter!r}")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    x = as_float_array(x0, "x0").reshape(-1)
    if x.shape != (landscape.dim,):
        raise ValueError(
            f"x0 must hold {landscape.dim} coordinate(s) for {landscape.name}, got shape {x.shape}"
        )
    return newton_iterate(landscape.grad, landscape.hessian, x, max_iter=max_iter, tol=tol)


def newton_iterate(
    grad_fn: Callable[[NDArray[np.float64]], ArrayLike],
    hessian_fn: Callable[[NDArray[np.float64]], ArrayLike],
    x0: ArrayLike,
    max_iter: int = 50,
    tol: float = 0.0,
) -> NDArray[np.float64] | None:
    r"""The Newton iteration :math:`x \leftarrow x - H(x)^{-1}\nabla f(x)` on bare functions.

    Stops with the point when :math:`\lVert\nabla f(x)\rVert <` ``tol``, or when a step no
    longer moves ``x`` beyond rounding (:math:`\max|\Delta x| < 10^{-15}(1 + \max|x|)`):
    with ``tol=0`` that refines a point to machine precision. Returns ``None`` when the
    gradient or the point stops being finite, the Hessian is singular, or ``max_iter`` steps
    pass first. No input checks: :func:`newton` is the checked entry point.

    >>> newton_iterate(lambda x: 2 * (x - 3.0), lambda x: [[2.0]], [0.0]).tolist()
    [3.0]
    """
    x = np.asarray(x0, dtype=np.float64).reshape(-1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for _ in range(max_iter + 1):
            grad = np.atleast_1d(np.asarray(grad_fn(x), dtype=np.float64)).reshape(-1)
            if not np.all(np.isfinite(grad)):
                return None
            if np.linalg.norm(grad) < tol:
                return x
            try:
                step = np.linalg.solve(np.atleast_2d(hessian_fn(x)), grad)
            except np.linalg.LinAlgError:  # singular Hessian: no Newton step from here
                return None
            x = x - step
            if not np.all(np.isfinite(x)):
                return None
            if np.max(np.abs(step)) < 1e-15 * (1 + np.max(np.abs(x))):
                return x
    return None


def _check_landscape(landscape: object) -> None:
    from .surfaces import Landscape  # here, not at the top: surfaces uses newton_iterate

    if not isinstance(landscape, Landscape):
        raise ValueError(f"landscape must be a gdlab.surfaces.Landscape, got {type(landscape).__name__}")


def critical_points(
    landscape: "Landscape",
    starts: ArrayLike,
    max_iter: int = 50,
    tol: float = 1e-10,
    merge_radius: float = 1e-6,
    atol: float = 1e-8,
) -> tuple[CriticalPoint, ...]:
    r"""Every distinct critical point that Newton's method reaches from ``starts``, classified.

    ``starts`` has shape ``(n, dim)`` (or ``(n,)`` for a one-variable landscape). Newton runs
    from each (see :func:`newton`); starts that fail are dropped, and points closer than
    ``merge_radius`` count as one. Each point is classified with :func:`classify` (``atol``).
    Returns a tuple of :class:`CriticalPoint`, minima first, then saddles, maxima and
    degenerate points, each group by value (to 9 decimals) and then by coordinates. Which points turn up
    depends on the starts: a grid that covers the region of interest finds them all there.

    >>> import numpy as np
    >>> from gdlab import surfaces
    >>> found = critical_points(surfaces.saddle, [[1.0, 1.0], [-2.0, 0.5]])
    >>> len(found), found[0].kind, found[0].eigenvalues.tolist()
    (1, 'saddle', [-2.0, 2.0])
    """
    _check_landscape(landscape)
    starts = as_float_array(starts, "starts")
    if landscape.dim == 1 and starts.ndim == 1:
        starts = starts.reshape(-1, 1)
    if starts.ndim != 2 or starts.shape[1] != landscape.dim or len(starts) == 0:
        expected = f"(n, {landscape.dim}) with n >= 1"
        raise ValueError(f"starts must have shape {expected} for {landscape.name}, got {starts.shape}")
    if not merge_radius > 0:
        raise ValueError(f"merge_radius must be positive, got {merge_radius}")
    found: list[NDArray[np.float64]] = []
    for start in starts:
        x = newton(landscape, start, max_iter=max_iter, tol=tol)
        if x is not None and all(np.linalg.norm(x - other) >= merge_radius for other in found):
            found.append(x)
    points = []
    for x in found:
        H = landscape.hessian(x)
        H = (H + H.T) / 2  # symmetric up to rounding; make it exactly so
        eigenvalues = cast("NDArray[np.float64]", np.linalg.eigvalsh(H))  # stubs say floating[Any]
        points.append(CriticalPoint(x, float(landscape.f(x)), eigenvalues, classify(H, atol=atol)))
    return tuple(sorted(points, key=lambda p: (_KINDS.index(p.kind), round(p.value, 9), *p.point.tolist())))


# --- where runs end up: near which critical point, and when they settle or escape ---------


class Nearest(NamedTuple):
    """For each position: the index of the nearest candidate point and the distance to it."""

    which: NDArray[np.intp]
    distance: NDArray[np.float64]


def nearest(
    points: "Sequence[CriticalPoint | ArrayLike]", x: ArrayLike, atol: float | None = None
) -> Nearest:
    r"""Which of ``points`` each position in ``x`` is nearest to, and how far away it is.

    ``points`` are critical points (or bare coordinates, each of shape ``(dim,)``); ``x``
    holds positions the way a :class:`~gdlab.surfaces.Landscape` takes them, shape
    ``(dim,)`` for one or ``(dim, ...)`` for many (the end points of many runs at once).
    Returns a :class:`Nearest` of arrays shaped ``x.shape[1:]``: the index into ``points``
    and the Euclidean distance :math:`\min_j \lVert x - p_j\rVert`. With ``atol``, a
    position farther than ``atol`` from every point raises ``ValueError``: the run that
    ended there has not settled at any of them.

    >>> from gdlab import surfaces
    >>> wells = surfaces.double_well.minima  # the deeper well first
    >>> found = nearest(wells, [[-1.5, 0.5, 2.5]])
    >>> found.which.tolist(), found.distance.round(2).tolist()
    ([0, 1, 1], [0.53, 1.47, 0.53])
    """
    coordinates = [
        as_float_array(p.point if isinstance(p, CriticalPoint) else p, "points").reshape(-1) for p in points
    ]
    if not coordinates or len({c.shape for c in coordinates}) != 1:
        raise ValueError("points must be a non-empty sequence of points of one dimension each")
    centres = np.stack(coordinates)  # shape (len(points), dim)
    dim = centres.shape[1]
    positions = as_float_array(x, "x")
    if positions.ndim == 0 or positions.shape[0] != dim:
        raise ValueError(
            f"x must have shape ({dim},) or ({dim}, ...) for points of dimension {dim}, got {positions.shape}"
        )
    if atol is not None and not atol >= 0:
        raise ValueError(f"atol must be non-negative, got {atol}")
    offsets = positions[None] - centres.reshape(centres.shape + (1,) * (positions.ndim - 1))
    distances = np.sqrt(np.sum(offsets**2, axis=1))  # shape (len(points), *x.shape[1:])
    which = np.argmin(distances, axis=0)
    distance = np.min(distances, axis=0)
    if atol is not None and np.any(distance > atol):
        far = int(np.count_nonzero(distance > atol))
        raise ValueError(
            f"{far} position(s) lie farther than atol={atol} from every point (up to "
            f"{float(distance.max()):.3g} away): those runs have not settled at any of them"
        )
    return Nearest(which, distance)


def _positions(run: "Trajectory") -> NDArray[np.float64]:
    from .descent import Trajectory  # here, not at the top: descent imports surfaces, which imports us

    if not isinstance(run, Trajectory):
        raise ValueError(f"run must be a gdlab.Trajectory (from gdlab.descend), got {type(run).__name__}")
    return run.positions


def escape_step(run: "Trajectory", radius: float = 1.0, coordinate: int = -1) -> int | None:
    r"""The first step at which the run's ``coordinate`` reaches :math:`|x_i| \ge` ``radius``.

    Near a saddle at the origin, such as ``surfaces.saddle`` (:math:`x^2 - y^2`, downhill
    along :math:`y`, the last coordinate), this counts the steps a run needs to leave it:
    from :math:`(1, \varepsilon)` plain gradient descent with rate :math:`\alpha` multiplies
    :math:`y` by :math:`1 + 2\alpha` per step, so it needs
    :math:`\lceil \ln(1/\varepsilon) / \ln(1 + 2\alpha) \rceil`. ``None`` if the run never
    gets that far (for instance, started exactly on the ridge :math:`y = 0`).

    >>> from gdlab import descend, optim, surfaces
    >>> escape_step(descend(surfaces.saddle, (1.0, 1e-6), optim.sgd(lr=0.1), 100))
    76
    >>> print(escape_step(descend(surfaces.saddle, (1.0, 0.0), optim.sgd(lr=0.1), 100)))
    None
    """
    positions = _positions(run)
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius}")
    dim = positions.shape[1]
    if (
        isinstance(coordinate, bool)
        or not isinstance(coordinate, (int, np.integer))
        or not -dim <= coordinate < dim
    ):
        raise ValueError(
            f"coordinate must be an index into the run's {dim} coordinate(s), got {coordinate!r}"
        )
    beyond = np.abs(positions[:, coordinate]) >= radius
    return int(np.argmax(beyond)) if beyond.any() else None


def settled_at(run: "Trajectory", point: ArrayLike, tol: float) -> int | None:
    r"""The first step from which the run stays within ``tol`` of ``point`` to its last step.

    Unlike the run's ``converged_at`` (a small gradient), this asks where the run *is*:
    :math:`\lVert x_j - p\rVert <` ``tol`` for every step :math:`j \ge k`. A run that swings
    through the point and out again settles only after its last swing out; ``None`` if it
    ends outside.

    >>> from gdlab import descend, optim, surfaces
    >>> run = descend(surfaces.bowl, 0.0, optim.sgd(lr=0.1), 50, stop_at_convergence=False)
    >>> settled_at(run, surfaces.bowl.minima[0], tol=1e-3)
    36
    """
    positions = _positions(run)
    target = as_float_array(point, "point").reshape(-1)
    if target.shape != positions.shape[1:]:
        raise ValueError(
            f"point must have the run's {positions.shape[1]} coordinate(s), got shape {target.shape}"
        )
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    inside = np.sqrt(np.sum((positions - target) ** 2, axis=1)) < tol
    if not inside[-1]:
        return None
    outside = np.flatnonzero(~inside)
    return int(outside[-1]) + 1 if outside.size else 0
