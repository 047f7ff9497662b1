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
    from .surfaces import Landscape

__all__ = ["CriticalPoint", "classify", "critical_points", "newton", "newton_iterate"]

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
