"""Check gdlab against torch: an optimizer against its ``torch.optim`` twin, a loss against autograd.

:func:`optimizer_gaps` trains two copies of the same parameters: torch's with the torch
optimizer, gdlab's with the gdlab one fed the gradients torch computes at gdlab's own
parameters. It returns the largest coordinate gap after every step. The optimizer tests,
and chapter 07's race against torch, use it.

:func:`loss_gaps` evaluates a gdlab loss and its gradient twin beside a torch reference on
the same float64 input, the gradient coming from autograd; chapter 01's table and the loss
tests use it. :func:`sigmoid_focal_loss` is the reference for the focal loss, which torch
itself lacks: ``torchvision.ops.sigmoid_focal_loss`` line by line (torchvision is not a
dependency of the course).

>>> import torch
>>> from gdlab import optim
>>> start = [torch.tensor([1.0, -2.0], dtype=torch.float64)]
>>> bowl = lambda params: (params[0] ** 2).sum()
>>> gaps, loss = optimizer_gaps(optim.sgd(lr=0.1), torch.optim.SGD, bowl, start, steps=5, lr=0.1)
>>> float(gaps.max()), round(loss, 6)
(0.0, 0.536871)
"""

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from .optim import Optimizer

__all__ = ["LossGaps", "loss_gaps", "optimizer_gaps", "sigmoid_focal_loss"]

LossFn = Callable[[Sequence[torch.Tensor]], torch.Tensor]


def _gradients(loss_fn: LossFn, arrays: Sequence[NDArray[np.float64]]) -> list[NDArray[np.float64]]:
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    loss_fn(tensors).backward()
    grads = [t.grad for t in tensors]
    if any(g is None for g in grads):
        raise ValueError("loss_fn must use every array it is given: an input got no gradient")
    return [g.numpy().copy() for g in grads if g is not None]


def optimizer_gaps(
    ours: Optimizer[Any],
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


class LossGaps(NamedTuple):
    """gdlab's loss beside torch's on one input: the two values and how far apart they are."""

    value: float  # gdlab's loss
    torch_value: float  # the torch reference's
    value_gap: float  # |gdlab - torch|
    grad_gap: float  # the largest |gdlab's gradient - torch autograd's| over the input's entries


def _tensor(array: ArrayLike, name: str) -> torch.Tensor:
    array = np.asarray(array)
    if array.dtype.kind == "f":
        return torch.tensor(array, dtype=torch.float64)
    if array.dtype.kind in "iub":
        return torch.tensor(array)  # class labels stay integers, as torch's losses want them
    raise ValueError(f"{name} must hold numbers, got dtype {array.dtype}")


def loss_gaps(
    loss: Callable[..., Any],
    loss_grad: Callable[..., Any],
    torch_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    input: ArrayLike,
    target: ArrayLike,
    **kwargs: Any,
) -> LossGaps:
    r"""Compare a gdlab loss and its gradient with a torch reference on the same input.

    gdlab's side is ``loss(input, target, **kwargs)`` and ``loss_grad(input, target,
    **kwargs)``; torch's is ``torch_loss(x, t)`` on float64 tensors of the same numbers
    (integer targets, such as class labels, stay integer), differentiated by autograd with
    respect to ``x``. Both must return one number (a reduced loss). The reference is any
    callable, so a formula written in torch serves where ``torch.nn.functional`` has none.

    >>> import torch.nn.functional as F
    >>> from gdlab import losses
    >>> gaps = loss_gaps(losses.mse, losses.mse_grad, F.mse_loss, [1.0, 2.0], [0.0, 0.0])
    >>> gaps.value, gaps.value_gap, gaps.grad_gap
    (2.5, 0.0, 0.0)
    """
    x = _tensor(input, "input")
    if not x.is_floating_point():
        raise ValueError(f"input must be a floating-point array to be differentiated, got {x.dtype}")
    x.requires_grad_(True)
    reference = torch_loss(x, _tensor(target, "target"))
    if not isinstance(reference, torch.Tensor) or reference.numel() != 1:
        raise ValueError("torch_loss must return a one-number tensor: reduce it as the gdlab loss does")
    if not reference.requires_grad:
        raise ValueError("torch_loss must depend on its input: autograd has nothing to differentiate")
    reference.backward()
    ours = float(loss(input, target, **kwargs))
    grad = np.asarray(loss_grad(input, target, **kwargs), dtype=np.float64)
    if x.grad is None:
        raise ValueError("torch_loss must depend on its input: autograd gave it no gradient")
    if grad.shape != tuple(x.shape):
        raise ValueError(f"loss_grad must return the input's shape {tuple(x.shape)}, got {grad.shape}")
    grad_gap = float(np.max(np.abs(grad - x.grad.numpy()))) if grad.size else 0.0
    return LossGaps(ours, reference.item(), abs(ours - reference.item()), grad_gap)


def sigmoid_focal_loss(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    alpha: float = 0.25,
    gamma: float = 2.0,
    reduction: str = "none",
) -> torch.Tensor:
    r"""The focal loss of ``torchvision.ops.sigmoid_focal_loss``, written in torch.

    :math:`-\alpha_t (1 - p_t)^\gamma \log p_t` on logits, with :math:`p_t` the probability
    of the true class; a negative ``alpha`` switches the class weight off. Same arguments,
    defaults and reductions as torchvision's.

    >>> x, t = torch.zeros(2, dtype=torch.float64), torch.tensor([1.0, 0.0], dtype=torch.float64)
    >>> [round(v, 6) for v in sigmoid_focal_loss(x, t).tolist()]   # 0.25 and 0.75 of 0.25 ln 2
    [0.043322, 0.129965]
    """
    if reduction not in ("none", "mean", "sum"):
        supported = "'none', 'mean', 'sum'"
        raise ValueError(f"Invalid Value for arg 'reduction': '{reduction}'; supported: {supported}")
    p = torch.sigmoid(inputs)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
