r"""Analytic test surfaces: small functions with known gradients, Hessians and minima.

A :class:`Landscape` evaluates on a point of shape ``(dim,)`` or, for plotting, on a
stack of grids of shape ``(dim, ...)``: ``f(np.stack([X, Y]))`` gives the surface over a
mesh. ``minima`` lists the local minima (lowest value first), each refined to machine
precision by Newton's method from a published approximation, so nothing is hand-typed
beyond the starting guess.

>>> from gdlab.surfaces import valley
>>> float(valley.f(2.0)), valley.minima[0].tolist()
(1.0, [2.0])
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .critical import newton_iterate

__all__ = [
    "Landscape",
    "bowl",
    "by_name",
    "double_well",
    "himmelblau",
    "quadratic",
    "revenue",
    "rosenbrock",
    "saddle",
    "valley",
]

FloatArray = NDArray[np.float64]
# A landscape's value: a scalar at a point of shape (dim,), an array over a grid (dim, ...).
Value = float | FloatArray


@dataclass(frozen=True)
class Landscape:
    """A differentiable function to descend, with what we know about it."""

    name: str
    dim: int
    formula: str
    fn: Callable[[FloatArray], Value] = field(repr=False)
    grad_fn: Callable[[FloatArray], FloatArray] = field(repr=False)
    hessian_fn: Callable[[FloatArray], ArrayLike] = field(repr=False)
    bounds: tuple[tuple[float, float], ...]  # (low, high) for each variable
    minima: tuple[FloatArray, ...] = ()
    saddles: tuple[FloatArray, ...] = ()
    text: str = ""  # the formula in plain Unicode, for readouts and alt text

    def __post_init__(self) -> None:
        if not self.text:  # a landscape made by hand still has words for its readouts
            object.__setattr__(self, "text", self.formula)

    def _point(self, x: ArrayLike) -> FloatArray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 0:
            x = x.reshape(1)
        if x.shape[0] != self.dim:
            raise ValueError(
                f"{self.name} is a function of {self.dim} variable(s); got a point of shape "
                f"{x.shape}. Pass an array whose first axis has length {self.dim}."
            )
        return x

    def f(self, x: ArrayLike) -> Value:
        """The value at ``x`` (shape ``(dim,)`` or ``(dim, ...)`` for a grid)."""
        return self.fn(self._point(x))

    def grad(self, x: ArrayLike) -> FloatArray:
        """The gradient at ``x``, same shape as ``x``."""
        return self.grad_fn(self._point(x))

    def hessian(self, x: ArrayLike) -> FloatArray:
        """The ``(dim, dim)`` Hessian at a single point ``x``."""
        return np.asarray(self.hessian_fn(self._point(x)), dtype=np.float64).reshape(self.dim, self.dim)


def _refine(
    grad_fn: Callable[[FloatArray], FloatArray],
    hessian_fn: Callable[[FloatArray], ArrayLike],
    guess: Sequence[float],
) -> FloatArray:
    """A published approximation of a critical point, refined to machine precision."""
    point = newton_iterate(grad_fn, hessian_fn, guess, max_iter=50, tol=0.0)
    if point is None:
        raise ValueError(f"Newton's method did not refine the critical point near {guess}")
    return point


def _make(
    name: str,
    dim: int,
    formula: str,
    fn: Callable[[FloatArray], Value],
    grad_fn: Callable[[FloatArray], FloatArray],
    hessian_fn: Callable[[FloatArray], ArrayLike],
    bounds: Sequence[tuple[float, float]],
    minima: Sequence[Sequence[float]] = (),
    saddles: Sequence[Sequence[float]] = (),
    text: str = "",
) -> Landscape:
    refine = lambda points: tuple(_refine(grad_fn, hessian_fn, p) for p in points)  # noqa: E731
    refined = sorted(refine(minima), key=lambda p: float(fn(p)))
    return Landscape(
        name,
        dim,
        formula,
        fn,
        grad_fn,
        hessian_fn,
        tuple(bounds),
        tuple(refined),
        refine(saddles),
        text or formula,
    )


# --- one variable --------------------------------------------------------------------

valley = _make(
    "valley",
    1,
    r"f(x) = x^2 - 4x + 5",
    lambda x: x[0] ** 2 - 4 * x[0] + 5,
    lambda x: 2 * x - 4,
    lambda x: np.array([[2.0]]),
    bounds=[(-1.0, 5.0)],
    minima=[[2.0]],
    text="f(x) = x² − 4x + 5",
)

bowl = _make(
    "bowl",
    1,
    r"L(w) = (w - 3)^2",
    lambda x: (x[0] - 3) ** 2,
    lambda x: 2 * (x - 3),
    lambda x: np.array([[2.0]]),
    bounds=[(-1.0, 7.0)],
    minima=[[3.0]],
    text="L(w) = (w − 3)²",
)


def _double_well_critical_points() -> tuple[list[list[float]], list[list[float]]]:
    # f'(x) = 4x^3 - 16x + 1 has three real roots: two minima and a maximum between.
    roots = np.sort(np.roots([4.0, 0.0, -16.0, 1.0]).real)
    return [[roots[0]], [roots[2]]], [[roots[1]]]


_dw_minima, _dw_maximum = _double_well_critical_points()

double_well = _make(
    "double_well",
    1,
    r"f(x) = x^4 - 8x^2 + x",
    lambda x: x[0] ** 4 - 8 * x[0] ** 2 + x[0],
    lambda x: 4 * x**3 - 16 * x + 1,
    lambda x: np.array([[12 * x[0] ** 2 - 16]]),
    bounds=[(-3.2, 3.2)],
    minima=_dw_minima,
    saddles=(),
    text="f(x) = x⁴ − 8x² + x",
)


# --- two variables -------------------------------------------------------------------


def _himmelblau(p: FloatArray) -> Value:
    x, y = p[0], p[1]
    value: Value = (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2  # typed here: NumPy types p[0] as Any
    return value


def _himmelblau_grad(p: FloatArray) -> FloatArray:
    x, y = p[0], p[1]
    a, b = x**2 + y - 11, x + y**2 - 7
    return np.stack([4 * x * a + 2 * b, 2 * a + 4 * y * b])


def _himmelblau_hessian(p: FloatArray) -> FloatArray:
    x, y = p[0], p[1]
    return np.array(
        [
            [12 * x**2 + 4 * y - 42, 4 * (x + y)],
            [4 * (x + y), 12 * y**2 + 4 * x - 26],
        ]
    )


himmelblau = _make(
    "himmelblau",
    2,
    r"f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
    _himmelblau,
    _himmelblau_grad,
    _himmelblau_hessian,
    bounds=[(-5.0, 5.0), (-5.0, 5.0)],
    # Himmelblau (1972): four minima, all with value 0 (three only approximately known).
    minima=[[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]],
    # Four saddle points; the remaining critical point, near (-0.27, -0.92), is a maximum.
    saddles=[
        [0.086678, 2.884255],
        [-3.073026, -0.081353],
        [3.385154, 0.073852],
        [-0.127961, -1.953715],
    ],
    text="f(x, y) = (x² + y − 11)² + (x + y² − 7)²",
)


def _rosenbrock(p: FloatArray, a: float = 1.0, b: float = 100.0) -> Value:
    value: Value = (a - p[0]) ** 2 + b * (p[1] - p[0] ** 2) ** 2  # typed here: NumPy types p[0] as Any
    return value


def _rosenbrock_grad(p: FloatArray, a: float = 1.0, b: float = 100.0) -> FloatArray:
    x, y = p[0], p[1]
    return np.stack([-2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2)])


def _rosenbrock_hessian(p: FloatArray, b: float = 100.0) -> FloatArray:
    x, y = p[0], p[1]
    return np.array([[2 - 4 * b * (y - 3 * x**2), -4 * b * x], [-4 * b * x, 2 * b]])


rosenbrock = _make(
    "rosenbrock",
    2,
    r"f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2",
    _rosenbrock,
    _rosenbrock_grad,
    _rosenbrock_hessian,
    bounds=[(-2.0, 2.0), (-1.0, 3.0)],
    minima=[[1.0, 1.0]],
    text="f(x, y) = (1 − x)² + 100 (y − x²)²",
)

saddle = _make(
    "saddle",
    2,
    r"f(x, y) = x^2 - y^2",
    lambda p: p[0] ** 2 - p[1] ** 2,
    lambda p: np.stack([2 * p[0], -2 * p[1]]),
    lambda p: np.array([[2.0, 0.0], [0.0, -2.0]]),
    bounds=[(-2.0, 2.0), (-2.0, 2.0)],
    saddles=[[0.0, 0.0]],
    text="f(x, y) = x² − y²",
)

# Revenue R(x1, x2) = 100 x1 + 50 x2 - x1^2 - x2^2; we *minimise* its negative.
revenue = _make(
    "revenue",
    2,
    r"-R(x_1, x_2) = -(100x_1 + 50x_2 - x_1^2 - x_2^2)",
    lambda p: -(100 * p[0] + 50 * p[1] - p[0] ** 2 - p[1] ** 2),
    lambda p: np.stack([2 * p[0] - 100, 2 * p[1] - 50]),
    lambda p: np.array([[2.0, 0.0], [0.0, 2.0]]),
    bounds=[(0.0, 80.0), (0.0, 50.0)],
    minima=[[40.0, 20.0]],  # a rough guess; Newton lands on the exact optimum
    text="−R(x₁, x₂) = −(100x₁ + 50x₂ − x₁² − x₂²)",
)


def quadratic(hessian: ArrayLike, center: ArrayLike | None = None, name: str = "quadratic") -> Landscape:
    r"""The quadratic :math:`f(x) = \tfrac12 (x - c)^\top H (x - c)` for a symmetric ``H``.

    Its curvature along each eigenvector of ``H`` is the eigenvalue, which is what decides
    the largest stable learning rate, :math:`2/\lambda_{\max}`.

    >>> q = quadratic([[10.0, 0.0], [0.0, 1.0]])
    >>> float(q.f([1.0, 1.0]))
    5.5
    """
    H = np.asarray(hessian, dtype=np.float64)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"hessian must be a square matrix, got shape {H.shape}")
    if not np.all(np.isfinite(H)) or not np.allclose(H, H.T):
        raise ValueError("hessian must be a finite, symmetric matrix")
    dim = H.shape[0]
    c = np.zeros(dim) if center is None else np.asarray(center, dtype=np.float64).reshape(dim)

    def fn(p: FloatArray) -> Value:
        d = p - c.reshape((dim,) + (1,) * (p.ndim - 1))
        value: Value = 0.5 * np.einsum("i...,ij,j...->...", d, H, d)  # einsum is typed as Any
        return value

    def grad_fn(p: FloatArray) -> FloatArray:
        d = p - c.reshape((dim,) + (1,) * (p.ndim - 1))
        grad: FloatArray = np.einsum("ij,j...->i...", H, d)
        return grad

    eigenvalues = np.linalg.eigvalsh(H)
    radius = 3.0 * np.ones(dim)
    bounds = [(ci - r, ci + r) for ci, r in zip(c, radius)]
    minima = [c] if np.all(eigenvalues > 0) else []
    saddles = [c] if eigenvalues.min() < 0 < eigenvalues.max() else []
    return Landscape(
        name,
        dim,
        r"f(x) = \tfrac12 (x - c)^\top H (x - c)",
        fn,
        grad_fn,
        lambda p: H,
        tuple(bounds),
        tuple(minima),
        tuple(saddles),
        "f(x) = ½ (x − c)ᵀ H (x − c)",
    )


_BY_NAME = {land.name: land for land in (valley, bowl, double_well, himmelblau, rosenbrock, saddle, revenue)}


def by_name(name: str) -> Landscape:
    """Look a landscape up by its name (``"valley"``, ``"himmelblau"``, ...)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown landscape {name!r}; choose one of {sorted(_BY_NAME)}") from None
