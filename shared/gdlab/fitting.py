"""Fitting a line by gradient descent under different losses (chapter 01's outlier experiment).

>>> import numpy as np
>>> x = np.array([-1.0, 0.0, 1.0, 2.0])
>>> dict(zip(LOSS_NAMES, np.round(fit_lines(x, 2 * x + 1), 6).tolist()))["Huber"]
[2.0, 1.0]
"""

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import losses, optim

__all__ = ["LOSS_NAMES", "fit_lines"]

LOSS_NAMES = ("MSE", "MAE", "Huber")


def fit_lines(
    x: ArrayLike, y: ArrayLike, delta: float = 1.0, lr: float = 0.1, steps: int = 300
) -> NDArray[np.float64]:
    r"""Fit :math:`\hat y = w x + b` under MSE, MAE and Huber(δ) by plain gradient descent.

    The three fits run side by side (one ``(3, 2)`` parameter array, one optimizer) from
    :math:`w = b = 0`, with the gradients of ``gdlab.losses`` and ``gdlab.optim.sgd``.
    Returns the ``(3, 2)`` array of ``(w, b)``, rows in the order of :data:`LOSS_NAMES`.

    >>> x = np.array([-1.0, 0.0, 1.0, 2.0])
    >>> np.round(fit_lines(x, 2 * x + 1), 6)     # clean data: all three find y = 2x + 1
    array([[2., 1.],
           [2., 1.],
           [2., 1.]])
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    grads_of = (
        losses.mse_grad,
        losses.mae_grad,
        lambda pred, target: losses.huber_grad(pred, target, delta=delta),
    )
    opt = optim.sgd(lr=lr)
    params = np.zeros((3, 2))
    state = opt.init(params)
    for _ in range(steps):
        pred = params[:, :1] * x + params[:, 1:]
        dpred = np.stack([grad(row, y) for grad, row in zip(grads_of, pred)])  # dL/dŷ, mean loss
        params, state = opt.step(params, np.column_stack([dpred @ x, dpred.sum(axis=1)]), state)
    return params
