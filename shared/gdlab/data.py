"""Seeded synthetic datasets that the chapters share.

Every generator takes a ``seed`` and returns the same arrays for the same arguments, so a
figure or an asserted number never changes between runs. Bad arguments raise at once.

>>> from gdlab import data
>>> d = data.linear(n=4, weights=(2.0, -1.0), noise=0.0, seed=0)
>>> d.X.shape, d.y.shape
((4, 2), (4,))
>>> bool(abs(d.y - d.X @ d.weights - d.bias).max() < 1e-12)
True
"""

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Classification",
    "Regression",
    "as_tensors",
    "blobs",
    "house_prices",
    "linear",
    "moons",
    "polynomial",
    "split",
]


class Regression(NamedTuple):
    X: NDArray[np.float64]  # (n, d) features
    y: NDArray[np.float64]  # (n,) targets
    weights: NDArray[np.float64]  # the true weights the targets were made from
    bias: float
    is_outlier: NDArray[np.bool_]  # (n,) bool: which targets were corrupted


class Classification(NamedTuple):
    X: NDArray[np.float64]  # (n, 2) points
    y: NDArray[np.int64]  # (n,) integer labels 0 or 1


def _check_n(n: int, name: str = "n") -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")


def _check_noise(noise: float, name: str = "noise") -> None:
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{name} must be a non-negative number (a standard deviation), got {noise!r}")


def linear(
    n: int = 500,
    weights: ArrayLike = (2.0, -1.0, 0.5),
    bias: float = 0.0,
    noise: float = 0.1,
    outliers: int = 0,
    outlier_shift: float = 10.0,
    seed: int | None = 0,
) -> Regression:
    r"""Linear regression data :math:`y = Xw + b + \varepsilon`, :math:`X \sim \mathcal N(0, 1)`,
    :math:`\varepsilon \sim \mathcal N(0, \text{noise}^2)`; ``outliers`` targets are then
    shifted up by ``outlier_shift`` (plus noise), the kind of corruption a squared loss chases."""
    _check_n(n)
    _check_noise(noise)
    if isinstance(outliers, bool) or not isinstance(outliers, (int, np.integer)) or not 0 <= outliers <= n:
        raise ValueError(f"outliers must be an integer between 0 and n={n}, got {outliers!r}")
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    if weights.size == 0 or not np.all(np.isfinite(weights)):
        raise ValueError("weights must be a non-empty sequence of finite numbers")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, weights.size))
    y = X @ weights + bias + noise * rng.normal(size=n)
    is_outlier = np.zeros(n, dtype=bool)
    if outliers:
        chosen = rng.choice(n, size=outliers, replace=False)
        is_outlier[chosen] = True
        y[chosen] += outlier_shift + rng.normal(size=outliers)
    return Regression(X, y, weights, float(bias), is_outlier)


def house_prices() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Five houses: size in square feet and price in thousands of dollars (chapter 02)."""
    sizes = np.array([1000.0, 1500.0, 2000.0, 2500.0, 3000.0])
    prices = np.array([200.0, 280.0, 350.0, 400.0, 480.0])
    return sizes, prices


def blobs(
    n: int = 200, centers: ArrayLike = ((-1.0, -1.0), (1.0, 1.0)), spread: float = 0.6, seed: int | None = 0
) -> Classification:
    """Two Gaussian blobs in the plane, ``n // 2`` points each (labels 0 and 1)."""
    _check_n(n)
    _check_noise(spread, "spread")
    if n < 2:
        raise ValueError(f"n must be at least 2 for two classes, got {n}")
    centers = np.asarray(centers, dtype=np.float64)
    if centers.shape != (2, 2):
        raise ValueError(f"centers must be two points in the plane, shape (2, 2), got {centers.shape}")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = centers[y] + spread * rng.normal(size=(n, 2))
    return Classification(X, y)


def moons(n: int = 200, noise: float = 0.1, seed: int | None = 0) -> Classification:
    """Two interleaving half circles (a classic non-linear two-class problem)."""
    _check_n(n)
    _check_noise(noise)
    if n < 2:
        raise ValueError(f"n must be at least 2 for two classes, got {n}")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    angle = np.pi * rng.random(n)
    upper = np.column_stack([np.cos(angle), np.sin(angle)])
    lower = np.column_stack([1 - np.cos(angle), 0.5 - np.sin(angle)])
    X = np.where(y[:, None] == 0, upper, lower) + noise * rng.normal(size=(n, 2))
    return Classification(X, y)


def polynomial(
    n: int = 30,
    coefficients: ArrayLike = (0.5, -1.0, 0.0, 2.0),
    noise: float = 0.3,
    x_range: tuple[float, float] = (-1.0, 1.0),
    seed: int | None = 0,
) -> Regression:
    r"""Few noisy samples of a cubic, :math:`y = \sum_k c_k x^k + \varepsilon`: the set on
    which a high-degree polynomial overfits. Returns ``Regression`` with ``X`` of shape ``(n, 1)``."""
    _check_n(n)
    _check_noise(noise)
    lo, hi = x_range
    if not lo < hi:
        raise ValueError(f"x_range must be (low, high) with low < high, got {x_range!r}")
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(lo, hi, size=n))
    coefficients = np.asarray(coefficients, dtype=np.float64)
    y = np.polynomial.polynomial.polyval(x, coefficients) + noise * rng.normal(size=n)
    return Regression(x[:, None], y, coefficients, 0.0, np.zeros(n, dtype=bool))


def split(
    X: ArrayLike, y: ArrayLike, validation: float = 0.2, seed: int | None = 0
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Shuffle and split into ``(X_train, y_train, X_val, y_val)``."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    if not 0 < validation < 1:
        raise ValueError(f"validation must be a fraction strictly between 0 and 1, got {validation}")
    n_val = int(round(validation * len(X)))
    if n_val == 0 or n_val == len(X):
        raise ValueError(f"{len(X)} rows cannot be split with validation={validation}")
    order = np.random.default_rng(seed).permutation(len(X))
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]


def as_tensors(X: Any, y: ArrayLike | None = None, dtype: Any = None) -> tuple[Any, Any]:
    """A regression set as torch tensors: features ``(n, d)`` and targets as a column ``(n, 1)``.

    Pass the arrays, ``as_tensors(X, y)``, or a data set with ``.X`` and ``.y`` (a
    :class:`Regression`), ``as_tensors(dataset)``. ``dtype`` defaults to torch's default
    (float32), the dtype of a fresh model's weights. torch is imported only when called, so
    ``import gdlab`` stays light.

    >>> X, y = as_tensors(polynomial(n=5, seed=0))
    >>> tuple(X.shape), tuple(y.shape), X.dtype
    ((5, 1), (5, 1), torch.float32)
    """
    import torch

    if y is None:
        if not (hasattr(X, "X") and hasattr(X, "y")):
            raise ValueError(
                f"as_tensors needs X and y, or a data set with .X and .y, got {type(X).__name__}"
            )
        X, y = X.X, X.y
    dtype = torch.get_default_dtype() if dtype is None else dtype
    features = torch.as_tensor(np.asarray(X), dtype=dtype)
    targets = torch.as_tensor(np.asarray(y), dtype=dtype)
    if features.ndim != 2:
        raise ValueError(f"X must have shape (n, d), got {tuple(features.shape)}")
    if targets.ndim == 2 and targets.shape[1] == 1:
        targets = targets.reshape(-1)
    if targets.ndim != 1 or len(targets) != len(features):
        raise ValueError(
            f"y must hold one target per row of X: X has shape {tuple(features.shape)}, "
            f"y {tuple(targets.shape)}"
        )
    return features, targets.reshape(-1, 1)
