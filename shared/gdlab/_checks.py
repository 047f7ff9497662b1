"""Input checks shared by the package: fail early, say what is wrong and what to do."""

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["as_float_array", "check_finite", "check_same_shape"]


def as_float_array(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return ``value`` as a float64 array, refusing NaN and infinities."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(value).__name__}: {exc}") from None
    check_finite(array, name)
    return array


def check_finite(array: ArrayLike, name: str) -> None:
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(
            f"{name} contains {bad} NaN or infinite value(s); clean or drop them before "
            "computing a loss or a step."
        )


def check_same_shape(input: NDArray[np.generic], target: NDArray[np.generic]) -> None:
    if input.shape != target.shape:
        raise ValueError(
            f"input and target must have the same shape, got {input.shape} and "
            f"{target.shape}; reshape one of them explicitly (no silent broadcasting)."
        )
