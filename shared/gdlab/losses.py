r"""Regression losses in NumPy, with PyTorch's conventions.

Every loss takes ``(input, target)`` in that order (``input`` is the prediction), checks
that both have the same shape instead of broadcasting, and reduces with
``reduction="mean" | "sum" | "none"`` exactly as ``torch.nn.functional`` does. Each has a
gradient twin that returns :math:`\partial L / \partial \text{input}` for the same
reduction (for ``"none"``, the element-wise derivative of each term).

>>> import numpy as np
>>> from gdlab.losses import mse, mse_grad
>>> float(mse(np.array([1.0, 3.0]), np.array([0.0, 0.0])))
5.0
>>> mse_grad(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
array([1., 3.])
"""

import numpy as np

from ._checks import as_float_array, check_same_shape

__all__ = ["huber", "huber_grad", "mae", "mae_grad", "mse", "mse_grad"]

_REDUCTIONS = ("mean", "sum", "none")


def _prepare(input, target, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction; use one of {_REDUCTIONS}")
    input = as_float_array(input, "input")
    target = as_float_array(target, "target")
    check_same_shape(input, target)
    return input, target


def _reduce(terms, reduction):
    if reduction == "mean":
        return terms.mean()
    if reduction == "sum":
        return terms.sum()
    return terms


def _reduce_grad(elementwise, reduction):
    # d(mean)/d(input_i) = d(term_i)/d(input_i) / n; "sum" and "none" keep it as is.
    if reduction == "mean":
        return elementwise / max(elementwise.size, 1)
    return elementwise


def _check_delta(delta):
    if not np.isfinite(delta) or delta <= 0:
        raise ValueError(f"huber delta must be a positive number, got {delta}")


def mse(input, target, reduction="mean"):
    r"""Mean squared error :math:`\frac{1}{n}\sum_i (\hat y_i - y_i)^2`, no ½ (as ``F.mse_loss``)."""
    input, target = _prepare(input, target, reduction)
    return _reduce((input - target) ** 2, reduction)


def mse_grad(input, target, reduction="mean"):
    r"""Gradient of :func:`mse`: :math:`\frac{2}{n}(\hat y - y)` for ``"mean"``."""
    input, target = _prepare(input, target, reduction)
    return _reduce_grad(2.0 * (input - target), reduction)


def mae(input, target, reduction="mean"):
    r"""Mean absolute error :math:`\frac{1}{n}\sum_i |\hat y_i - y_i|` (``F.l1_loss``)."""
    input, target = _prepare(input, target, reduction)
    return _reduce(np.abs(input - target), reduction)


def mae_grad(input, target, reduction="mean"):
    r"""Gradient of :func:`mae`: :math:`\operatorname{sign}(\hat y - y)/n`.

    At an error of exactly 0 it is 0, as torch's autograd gives."""
    input, target = _prepare(input, target, reduction)
    return _reduce_grad(np.sign(input - target), reduction)


def huber(input, target, delta=1.0, reduction="mean"):
    r"""Huber loss (``F.huber_loss``): quadratic near zero, linear beyond ``delta``.

    .. math:: \ell(e) = \tfrac12 e^2 \text{ if } |e| \le \delta, \quad
              \delta\,(|e| - \tfrac12\delta) \text{ otherwise}, \qquad e = \hat y - y.

    Note: ``F.smooth_l1_loss`` with ``beta`` is this divided by ``beta``.
    """
    _check_delta(delta)
    input, target = _prepare(input, target, reduction)
    error = input - target
    absolute = np.abs(error)
    terms = np.where(absolute <= delta, 0.5 * error**2, delta * (absolute - 0.5 * delta))
    return _reduce(terms, reduction)


def huber_grad(input, target, delta=1.0, reduction="mean"):
    r"""Gradient of :func:`huber`: :math:`e` inside ``delta``,
    :math:`\delta\,\operatorname{sign}(e)` outside."""
    _check_delta(delta)
    input, target = _prepare(input, target, reduction)
    error = input - target
    return _reduce_grad(np.clip(error, -delta, delta), reduction)
