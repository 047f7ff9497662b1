r"""The learning-rate range test (Smith 2017; fast.ai's ``lr_find``).

Train for a short while with a rate that grows exponentially at every step, from far too
small to far too large, and record the loss. The loss first does not move, then falls,
then blows up; a good rate sits where it falls fastest. The test needs only one thing
from the model: ``step_fn(lr)``, which performs one training step at rate ``lr`` and
returns the loss, so the same code sweeps a NumPy model or a torch one; for a torch model,
pass the model, its loss, its optimizer and the data, and the step is built (and the weights
put back afterwards) for you.

>>> import numpy as np
>>> w = np.array([0.0])
>>> def step_fn(lr):                       # gradient descent on L(w) = (w - 3)^2
...     global w
...     loss = float((w[0] - 3) ** 2)
...     w = w - lr * 2 * (w - 3)
...     return loss
>>> result = lr_range_test(step_fn, smoothing=0.0)
>>> result.stopped_early, bool(result.suggestion < 1.0)   # the critical rate is 2 / 2 = 1
(True, True)
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple, TypeGuard

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:  # torch and matplotlib are imported only when a torch model or a plot asks for them
    import torch
    from matplotlib.axes import Axes

    from .training import Batch, Data, LossFn

__all__ = ["LRRangeResult", "ema", "lr_range_test", "plot_lr_range"]


class LRRangeResult(NamedTuple):
    """What a range test saw: the rates it tried, the loss each step returned, the
    suggested rate (``None`` if fewer than two finite losses were seen) and whether the
    sweep stopped before ``end_lr`` because the loss blew up."""

    lrs: NDArray[np.float64]
    losses: NDArray[np.float64]
    suggestion: float | None
    stopped_early: bool


def ema(losses: ArrayLike, beta: float) -> NDArray[np.float64]:
    r"""Bias-corrected exponential moving average, as fast.ai smooths the range test.

    .. math:: m_i = \beta m_{i-1} + (1 - \beta)\,\ell_i,\quad m_0 = 0,\quad
              \hat m_i = m_i / (1 - \beta^{i})

    ``beta = 0`` returns the losses unchanged.

    >>> ema([1.0, 2.0, 3.0], beta=0.5).round(4).tolist()
    [1.0, 1.6667, 2.4286]
    """
    values = np.asarray(losses, dtype=np.float64)
    if not 0 <= beta < 1:
        raise ValueError(f"smoothing must be in [0, 1) (0 = no smoothing), got {beta}")
    smoothed, running = np.empty_like(values), 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for i, loss in enumerate(values, start=1):
            running = beta * running + (1 - beta) * loss
            smoothed[i - 1] = running / (1 - beta**i)
    return smoothed


def _is_finite_real(value: object) -> TypeGuard[numbers.Real]:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _check_positive(value: object, name: str) -> float:
    if not _is_finite_real(value) or value <= 0:
        raise ValueError(f"{name} must be a positive, finite number, got {value!r}")
    return float(value)


def lr_range_test(
    step_fn: Callable[[float], float] | torch.nn.Module,
    loss_fn: LossFn | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    train_data: Data | None = None,
    batch_size: int | None = None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    stop_factor: float = 4.0,
    smoothing: float = 0.98,
    seed: int | None = None,
    skip_start: int | None = None,
    skip_end: int = 5,
) -> LRRangeResult:
    r"""Sweep the rate exponentially from ``start_lr`` to ``end_lr`` in ``num_steps`` steps.

    ``step_fn(lr)`` performs one training step at rate ``lr`` and returns the loss. For a
    torch model, pass the ``torch.nn.Module`` in its place together with ``loss_fn``,
    ``optimizer`` and ``train_data`` (a pair ``(X, y)``, cut into shuffled batches of
    ``batch_size`` rows, or an iterable of batches such as a ``DataLoader``): each step then
    sets the rate of every parameter group, takes the next batch (cycling through the epochs)
    and does one ``zero_grad``/forward/``backward``/``step``; afterwards the weights and the
    optimizer's state are put back as they were, so real training can start from the same
    place. ``seed`` seeds torch's generator for the shuffling, without touching the global one.

    Step :math:`i` uses the rate

    .. math:: \eta_i = \eta_{\text{start}}\,(\eta_{\text{end}} / \eta_{\text{start}})^{i / (n - 1)},
              \quad i = 0, \dots, n - 1,

    and records the loss the step returns (the model keeps training from one step to the
    next). The sweep stops as soon as the loss is not finite or its smoothed value exceeds
    ``stop_factor`` times the lowest smoothed value so far (fast.ai's rule, factor 4); the
    step that triggered the stop is kept in the result. The suggestion is the rate at the
    steepest descent: the :math:`\eta_i` for which the smoothed loss falls most, per unit of
    :math:`\ln\eta`, from step :math:`i` to step :math:`i + 1`, searched only after the first
    ``skip_start`` steps (default ``num_steps // 10``) and before the last ``skip_end``
    recorded ones, as fast.ai and torch-lr-finder do: at the start the bias-corrected average
    is still one or two noisy batches, at the end it is the blow-up. If fewer than two
    losses are left to compare, the suggestion is ``None``.

    ``smoothing`` is the :func:`ema` coefficient (0 = none; 0.98 as in fast.ai). Noisy
    mini-batch losses need it; a deterministic full-batch loss does not, and the average's
    lag moves the steepest point to larger rates. NumPy overflow inside ``step_fn`` is a
    result here (it shows up as a non-finite loss), so its warnings are silenced.
    """
    if _is_torch_module(step_fn):
        return _torch_range_test(
            step_fn,
            loss_fn,
            optimizer,
            train_data,
            batch_size,
            seed,
            dict(
                start_lr=start_lr,
                end_lr=end_lr,
                num_steps=num_steps,
                stop_factor=stop_factor,
                smoothing=smoothing,
                skip_start=skip_start,
                skip_end=skip_end,
            ),
        )
    if not callable(step_fn):
        raise ValueError(
            f"step_fn must be a function lr -> loss or a torch.nn.Module, got {type(step_fn).__name__}"
        )
    for name, value in dict(loss_fn=loss_fn, optimizer=optimizer, train_data=train_data).items():
        if value is not None:
            raise ValueError(f"{name} is for a torch.nn.Module; a step function trains itself")
    if batch_size is not None or seed is not None:
        raise ValueError(
            "batch_size and seed are for a torch.nn.Module; a step function makes its own batches"
        )
    start_lr = _check_positive(start_lr, "start_lr")
    end_lr = _check_positive(end_lr, "end_lr")
    if not end_lr > start_lr:
        raise ValueError(f"end_lr ({end_lr}) must be larger than start_lr ({start_lr}): the sweep goes up")
    if isinstance(num_steps, bool) or not isinstance(num_steps, numbers.Integral) or num_steps < 3:
        raise ValueError(f"num_steps must be an integer of at least 3, got {num_steps!r}")
    stop_factor = _check_positive(stop_factor, "stop_factor")
    if stop_factor <= 1:
        raise ValueError(f"stop_factor must exceed 1 (a multiple of the smallest loss), got {stop_factor}")
    if not _is_finite_real(smoothing) or not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1) (0 = no smoothing), got {smoothing!r}")
    skip_start = num_steps // 10 if skip_start is None else skip_start
    for name, value in (("skip_start", skip_start), ("skip_end", skip_end)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")

    schedule = start_lr * (end_lr / start_lr) ** (np.arange(int(num_steps)) / (num_steps - 1))
    lrs: list[float] = []
    losses: list[float] = []
    running, best, stopped = 0.0, math.inf, False
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for i, lr in enumerate(schedule, start=1):
            loss = step_fn(float(lr))
            try:
                loss = float(loss)
            except (TypeError, ValueError):
                raise ValueError(
                    f"step_fn must return the loss as a number, got {type(loss).__name__}"
                ) from None
            lrs.append(float(lr))
            losses.append(loss)
            if not math.isfinite(loss):
                stopped = True
                break
            running = smoothing * running + (1 - smoothing) * loss
            smoothed = running / (1 - smoothing**i)
            # Compare the smoothed loss itself: `nan > 4 * best` is False, but a NaN never gets here.
            if smoothed > stop_factor * best:
                stopped = True
                break
            best = min(best, smoothed)

    tried, seen = np.array(lrs), np.array(losses)
    suggestion = _steepest_descent(tried, seen, smoothing, int(skip_start), int(skip_end))
    return LRRangeResult(tried, seen, suggestion, stopped)


def _steepest_descent(
    lrs: NDArray[np.float64], losses: NDArray[np.float64], smoothing: float, skip_start: int, skip_end: int
) -> float | None:
    finite = np.isfinite(losses)  # only the last loss can be non-finite: it stops the sweep
    kept = slice(skip_start, max(len(losses) - skip_end, 0))
    smoothed, rates = ema(losses[finite], smoothing)[kept], lrs[finite][kept]
    if len(smoothed) < 2:
        return None
    slopes = np.diff(smoothed) / np.diff(np.log(rates))
    return float(rates[int(np.argmin(slopes))])


def _is_torch_module(value: object) -> TypeGuard[torch.nn.Module]:
    torch = sys.modules.get("torch")  # a Module was built with torch, so it is imported already
    return torch is not None and isinstance(value, torch.nn.Module)


def _torch_range_test(
    model: torch.nn.Module,
    loss_fn: LossFn | None,
    optimizer: torch.optim.Optimizer | None,
    train_data: Data | None,
    batch_size: int | None,
    seed: int | None,
    sweep: dict[str, Any],
) -> LRRangeResult:
    import copy

    import torch

    from .training import _check_data, _check_positive_int, _snapshot, seeded

    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be a function (input, target) -> loss, got {type(loss_fn).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    _check_positive_int(batch_size, "batch_size", allow_none=True)
    batches = _check_data(train_data, "train_data", batch_size)
    saved_model, saved_optimizer = _snapshot(model), copy.deepcopy(optimizer.state_dict())
    was_training = model.training

    def stream() -> Iterator[Batch]:
        while True:
            empty = True
            for batch in batches(True):
                empty = False
                yield batch
            if empty:
                raise ValueError("train_data yielded no batches")

    feed = stream()

    def step_fn(lr: float) -> float:
        for group in optimizer.param_groups:
            group["lr"] = lr
        X, y = next(feed)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(X), y)
        if not math.isfinite(loss.item()):
            return loss.item()  # the sweep stops here: no step with a non-finite gradient
        loss.backward()
        optimizer.step()
        return loss.item()

    try:
        with seeded(seed):
            model.train()
            return lr_range_test(step_fn, **sweep)
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        model.train(was_training)


def plot_lr_range(
    result: LRRangeResult, ax: Axes | None = None, title: str = "Learning-rate range test"
) -> Axes:
    """Loss against learning rate (log axis), with the suggested rate marked."""
    import matplotlib.pyplot as plt

    from .plotting import PALETTE

    if not isinstance(result, LRRangeResult):
        raise ValueError(f"result must be the LRRangeResult of lr_range_test, got {type(result).__name__}")
    ax = ax if ax is not None else plt.subplots()[1]
    finite = np.isfinite(result.losses)
    ax.plot(result.lrs[finite], result.losses[finite], "-", color=PALETTE["curve"], lw=1.8, label="loss")
    if result.suggestion is not None:
        at = int(np.argmin(np.abs(result.lrs - result.suggestion)))
        ax.plot(
            result.suggestion,
            result.losses[at],
            "o",
            color=PALETTE["path"],
            ms=9,
            label=f"steepest descent: {result.suggestion:.2g}",
        )
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    return ax
