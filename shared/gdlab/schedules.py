r"""Learning-rate schedules as plain functions from the step count to a rate.

Each factory takes ``torch.optim.lr_scheduler``'s argument names and defaults and returns
a function ``s(t) -> lr`` of the step (or epoch) count ``t = 0, 1, 2, ...``. ``s(t)`` is
the rate torch's scheduler puts into ``optimizer.param_groups[0]["lr"]`` after ``t``
calls to ``scheduler.step()``, i.e. the rate the ``t``-th update uses (counting from 0).
There is no hidden state: ``s(t)`` can be called in any order, plotted, or tabulated.

>>> s = cosine(lr=0.1, T_max=100)
>>> round(s(0), 6), round(s(50), 6), round(s(100), 6)
(0.1, 0.05, 0.0)
>>> [round(step(lr=1.0, step_size=2, gamma=0.5)(t), 3) for t in range(6)]
[1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
"""

import math
import numbers
from collections.abc import Callable
from typing import TypeGuard

__all__ = ["cosine", "cosine_warm_restarts", "exponential", "one_cycle", "step", "warmup_cosine"]

Schedule = Callable[[int], float]  # what every factory returns: the step count t to a rate


# --- argument checks -----------------------------------------------------------------


# The checks take any object (they exist to refuse the wrong ones); a passing value is then
# typed as Python's int or float, as PEP 484 reads the numeric tower.
def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: object) -> TypeGuard[float]:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_finite_real(value: object) -> TypeGuard[float]:
    return _is_real(value) and math.isfinite(value)


def _check_lr(lr: object, name: str = "lr") -> float:
    if not _is_finite_real(lr) or lr <= 0:
        if name == "lr":
            raise ValueError(f"Invalid learning rate: {lr}")
        raise ValueError(f"Invalid {name}: {lr} (a learning rate must be a positive, finite number)")
    return float(lr)


def _check_positive_int(value: object, name: str, torch_wording: str | None = None) -> int:
    if not _is_int(value) or value <= 0:
        raise ValueError(torch_wording or f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_eta_min(eta_min: object, lr: float) -> float:
    if not _is_real(eta_min):
        raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
    if not math.isfinite(eta_min) or not 0 <= eta_min <= lr:
        raise ValueError(
            f"eta_min must lie between 0 and the starting rate lr = {lr}, got {eta_min}: it is the "
            "rate the schedule anneals *down* to."
        )
    return float(eta_min)


def _check_factor(value: object, name: str, what: str) -> float:
    if not _is_finite_real(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number ({what}), got {value!r}")
    return float(value)


def _check_t(t: object) -> int:
    """The step count a schedule is asked about: a non-negative integer."""
    if not _is_int(t) or t < 0:
        raise ValueError(f"a schedule is a function of the step count t = 0, 1, 2, ...; got t = {t!r}")
    return int(t)


def _cosine_between(start: float, end: float, fraction: float) -> float:
    # Half a cosine wave from `start` (fraction 0) to `end` (fraction 1), torch's formula.
    return end + (start - end) * (1 + math.cos(math.pi * fraction)) / 2


# --- the schedules -------------------------------------------------------------------


def step(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    r"""Multiply the rate by ``gamma`` every ``step_size`` steps, as ``torch.optim.lr_scheduler.StepLR``.

    .. math:: \eta_t = \eta_0\,\gamma^{\lfloor t / \text{step\_size} \rfloor}

    >>> s = step(lr=0.1, step_size=30)
    >>> s(29), round(s(30), 6), round(s(60), 6)
    (0.1, 0.01, 0.001)
    """
    lr = _check_lr(lr)
    step_size = _check_positive_int(step_size, "step_size")
    gamma = _check_factor(gamma, "gamma", "the factor applied every step_size steps")

    def schedule(t: int) -> float:
        return lr * gamma ** (_check_t(t) // step_size)

    return schedule


def exponential(lr: float, gamma: float) -> Schedule:
    r"""Multiply the rate by ``gamma`` at every step, as ``torch.optim.lr_scheduler.ExponentialLR``.

    .. math:: \eta_t = \eta_0\,\gamma^{t}

    >>> s = exponential(lr=0.1, gamma=0.5)
    >>> [s(t) for t in range(4)]
    [0.1, 0.05, 0.025, 0.0125]
    """
    lr = _check_lr(lr)
    gamma = _check_factor(gamma, "gamma", "the factor applied at every step")

    def schedule(t: int) -> float:
        return lr * gamma ** _check_t(t)

    return schedule


def cosine(lr: float, T_max: int, eta_min: float = 0.0) -> Schedule:
    r"""Cosine annealing from ``lr`` down to ``eta_min`` over ``T_max`` steps, as
    ``torch.optim.lr_scheduler.CosineAnnealingLR``.

    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\bigl(1 + \cos(\pi t / T_{\max})\bigr)

    This is the closed form; torch computes the same numbers recursively, each rate from the
    previous one. Past ``T_max`` the formula keeps going, so the rate climbs back to ``lr``
    at ``2 T_max`` (period ``2 T_max``), and torch's recursion does exactly the same. Train
    for ``T_max`` steps, or use :func:`warmup_cosine`, which holds ``eta_min`` at the end.

    >>> s = cosine(lr=1.0, T_max=10)
    >>> round(s(5), 6), round(s(10), 6), round(s(15), 6), round(s(20), 6)
    (0.5, 0.0, 0.5, 1.0)
    """
    lr = _check_lr(lr)
    T_max = _check_positive_int(T_max, "T_max")
    eta_min = _check_eta_min(eta_min, lr)

    def schedule(t: int) -> float:
        return _cosine_between(lr, eta_min, _check_t(t) / T_max)

    return schedule


def cosine_warm_restarts(lr: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> Schedule:
    r"""Cosine annealing restarted every cycle (SGDR), as
    ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``.

    The first cycle lasts ``T_0`` steps, each later one ``T_mult`` times longer than the one
    before; within a cycle of length :math:`T_i`, after :math:`T_{cur}` of its steps,

    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\bigl(1 + \cos(\pi T_{cur} / T_i)\bigr)

    >>> s = cosine_warm_restarts(lr=1.0, T_0=4, T_mult=2)
    >>> [round(s(t), 3) for t in range(13)]
    [1.0, 0.854, 0.5, 0.146, 1.0, 0.962, 0.854, 0.691, 0.5, 0.309, 0.146, 0.038, 1.0]
    """
    lr = _check_lr(lr)
    T_0 = _check_positive_int(T_0, "T_0", f"Expected positive integer T_0, but got {T_0}")
    if not _is_int(T_mult) or T_mult < 1:
        raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
    T_mult = int(T_mult)
    eta_min = _check_eta_min(eta_min, lr)

    def schedule(t: int) -> float:
        t_cur, t_i = _check_t(t), T_0
        if T_mult == 1:
            t_cur %= T_0
        else:
            # Walk through the finished cycles (there are only logarithmically many).
            while t_cur >= t_i:
                t_cur -= t_i
                t_i *= T_mult
        return _cosine_between(lr, eta_min, t_cur / t_i)

    return schedule


def warmup_cosine(lr: float, warmup_steps: int, total_steps: int, eta_min: float = 0.0) -> Schedule:
    r"""Linear warm-up to ``lr`` over ``warmup_steps`` steps, then cosine annealing to
    ``eta_min`` at step ``total_steps``, where the rate stays.

    With :math:`W` = ``warmup_steps`` and :math:`T` = ``total_steps``:

    .. math:: \eta_t = \begin{cases} \eta_0\,\frac{t+1}{W+1} & t < W \\
              \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\bigl(1 + \cos\frac{\pi (t - W)}{T - W}\bigr)
              & W \le t \le T \\ \eta_{\min} & t > T \end{cases}

    The ramp is the straight line that would pass through 0 one step before training and
    reaches ``lr`` at step ``W``; it never uses a rate of exactly 0 (a wasted step, and a
    factor ``torch.optim.lr_scheduler.LinearLR`` refuses). Up to step ``T`` this equals
    ``SequentialLR([LinearLR(start_factor=1/(W+1), total_iters=W), CosineAnnealingLR(T_max=T-W,
    eta_min=eta_min)], milestones=[W])``; after ``T`` torch's cosine would climb again,
    while this schedule holds ``eta_min``.

    >>> s = warmup_cosine(lr=0.4, warmup_steps=3, total_steps=7)
    >>> [round(s(t), 3) for t in range(9)]
    [0.1, 0.2, 0.3, 0.4, 0.341, 0.2, 0.059, 0.0, 0.0]
    """
    lr = _check_lr(lr)
    if not _is_int(warmup_steps) or warmup_steps < 0:
        raise ValueError(f"warmup_steps must be a non-negative integer, got {warmup_steps!r}")
    total_steps = _check_positive_int(total_steps, "total_steps")
    if warmup_steps >= total_steps:
        raise ValueError(
            f"warmup_steps ({warmup_steps}) must be smaller than total_steps ({total_steps}), "
            "or nothing is left for the cosine decay."
        )
    warmup_steps = int(warmup_steps)
    eta_min = _check_eta_min(eta_min, lr)
    decay_steps = total_steps - warmup_steps

    def schedule(t: int) -> float:
        t = _check_t(t)
        if t < warmup_steps:
            return lr * (t + 1) / (warmup_steps + 1)
        if t > total_steps:
            return eta_min
        return _cosine_between(lr, eta_min, (t - warmup_steps) / decay_steps)

    return schedule


def one_cycle(
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    r"""The 1cycle policy, as ``torch.optim.lr_scheduler.OneCycleLR`` with its defaults
    (cosine annealing, two phases).

    The rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first
    :math:`p T - 1` steps (:math:`p` = ``pct_start``, :math:`T` = ``total_steps``), then
    falls to ``max_lr / (div_factor * final_div_factor)`` at step :math:`T - 1`; each phase
    is half a cosine wave,

    .. math:: \eta = \eta_{\text{end}} + \tfrac12(\eta_{\text{start}} - \eta_{\text{end}})
              \bigl(1 + \cos(\pi\, \text{fraction of the phase done})\bigr).

    Like torch, it answers for ``t`` up to ``total_steps`` (where the cosine has run one step
    past its end) and refuses anything later.

    >>> s = one_cycle(max_lr=1.0, total_steps=100)
    >>> round(s(0), 6), round(s(29), 6), round(s(99), 9)
    (0.04, 1.0, 4e-06)
    """
    max_lr = _check_lr(max_lr, "max_lr")
    total_steps = _check_positive_int(
        total_steps, "total_steps", f"Expected positive integer total_steps, but got {total_steps}"
    )
    if not _is_real(pct_start) or not 0 < pct_start < 1:
        raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
    if not pct_start * total_steps > 1:
        raise ValueError(
            f"pct_start * total_steps must exceed 1 so that the warm-up phase lasts at least one "
            f"step; got {pct_start} * {total_steps} = {pct_start * total_steps:g}"
        )
    div_factor = _check_factor(div_factor, "div_factor", "initial rate = max_lr / div_factor")
    final_div_factor = _check_factor(
        final_div_factor, "final_div_factor", "final rate = initial rate / final_div_factor"
    )
    initial_lr = max_lr / div_factor
    min_lr = initial_lr / final_div_factor
    peak_step = float(pct_start * total_steps) - 1  # torch's end of the first phase
    last_step = total_steps - 1

    def schedule(t: int) -> float:
        t = _check_t(t)
        if t > total_steps:
            raise ValueError(f"Tried to step {t} times. The specified number of total steps is {total_steps}")
        if t <= peak_step:
            return _cosine_between(initial_lr, max_lr, t / peak_step)
        return _cosine_between(max_lr, min_lr, (t - peak_step) / (last_step - peak_step))

    return schedule
