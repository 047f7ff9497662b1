"""Check a gdlab optimizer against its ``torch.optim`` twin, step for step.

:func:`optimizer_gaps` trains two copies of the same parameters: torch's with the torch
optimizer, gdlab's with the gdlab one fed the gradients torch computes at gdlab's own
parameters. It returns the largest coordinate gap after every step. The optimizer tests,
and chapter 07's race against torch, use it.

>>> import torch
>>> from gdlab import optim
>>> start = [torch.tensor([1.0, -2.0], dtype=torch.float64)]
>>> bowl = lambda params: (params[0] ** 2).sum()
>>> gaps, loss = optimizer_gaps(optim.sgd(lr=0.1), torch.optim.SGD, bowl, start, steps=5, lr=0.1)
>>> float(gaps.max()), round(loss, 6)
(0.0, 0.536871)
"""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from .optim import Optimizer

__all__ = ["optimizer_gaps"]

LossFn = Callable[[Sequence[torch.Tensor]], torch.Tensor]


def _gradients(loss_fn: LossFn, arrays: Sequence[NDArray[np.float64]]) -> list[NDArray[np.float64]]:
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    loss_fn(tensors).backward()
    grads = [t.grad for t in tensors]
    if any(g is None for g in grads):
        raise ValueError("loss_fn must use every array it is given: an input got no gradient")
    return [g.numpy().copy() for g in grads if g is not None]


def optimizer_gaps(
    ours: Optimizer,
    torch_class: type[torch.optim.Optimizer],
    loss_fn: LossFn,
    initial: Sequence[torch.Tensor],
    steps: int = 150,
    start: Sequence[ArrayLike] | None = None,
    **hyper: Any,
) -> tuple[NDArray[np.float64], float]:
    """The largest ``|gdlab - torch|`` over all coordinates after each of ``steps`` steps.

    ``loss_fn`` maps a list of tensors shaped like ``initial`` to a scalar loss. torch's copy
    starts at ``initial`` and steps with ``torch_class(params, **hyper)``; gdlab's starts
    at ``start`` (default: the same values) and steps with ``ours``. Returns the gaps, shape
    ``(steps,)``, and torch's final loss.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if start is None:
        params = [p.detach().numpy().copy() for p in initial]
    else:
        params = [np.array(p, dtype=np.float64) for p in start]
        if [p.shape for p in params] != [tuple(t.shape) for t in initial]:
            raise ValueError("start must hold arrays of the same shapes as initial")
    state = ours.init(params)
    tensors = [p.detach().clone().requires_grad_(True) for p in initial]
    reference = torch_class(tensors, **hyper)
    gaps = np.empty(steps)
    for index in range(steps):
        params, state = ours.step(params, _gradients(loss_fn, params), state)
        reference.zero_grad()
        loss_fn(tensors).backward()
        reference.step()
        gaps[index] = max(float(np.max(np.abs(p - t.detach().numpy()))) for p, t in zip(params, tensors))
    return gaps, loss_fn(tensors).item()
