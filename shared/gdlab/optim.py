r"""Optimizers in NumPy with ``torch.optim``'s names, defaults, error messages and update rules.

Each factory returns an :class:`Optimizer` whose state is an explicit ``NamedTuple``, as
in optax: ``state = opt.init(params)`` then ``params, state = opt.step(params, grads, state)``.
Nothing is hidden in the optimizer object, so re-running a notebook cell can never apply
momentum twice, and the state can be printed or plotted.

``params`` may be one array or a list/tuple of arrays (the layers of a network); the
state mirrors that structure.

>>> import numpy as np
>>> opt = sgd(lr=0.1, momentum=0.9)
>>> w = np.array([0.0])
>>> state = opt.init(w)
>>> w, state = opt.step(w, 2 * (w - 3), state)   # gradient of (w - 3)^2
>>> w
array([0.6])
"""

import math
from collections.abc import Callable, Sequence
from typing import Any, Generic, NamedTuple, Protocol, TypeAlias, TypeGuard, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "AdagradState",
    "AdamState",
    "Optimizer",
    "RMSpropState",
    "SGDState",
    "adagrad",
    "adam",
    "adamw",
    "by_name",
    "iterate",
    "rmsprop",
    "sgd",
]

FloatArray = NDArray[np.float64]
# Parameters, gradients and state buffers: one array, or a list/tuple of them (nested freely).
Tree: TypeAlias = FloatArray | Sequence["Tree"]
TreeT = TypeVar("TreeT", bound=Tree)
StateT = TypeVar("StateT")


class Step(Protocol[StateT]):
    """``step(params, grads, state) -> (params, state)``: the new params have the old ones' structure."""

    def __call__(self, params: TreeT, grads: ArrayLike, state: StateT, /) -> tuple[TreeT, StateT]: ...


class Optimizer(NamedTuple, Generic[StateT]):
    """A pure optimizer: ``init(params) -> state`` and ``step(params, grads, state)``."""

    name: str
    hyperparams: dict[str, float | tuple[float, ...]]
    init: Callable[[ArrayLike], StateT]
    step: Step[StateT]


class SGDState(NamedTuple):
    step: int
    momentum_buffer: Tree | None  # None until the first step (torch starts it at the first gradient)


class AdagradState(NamedTuple):
    step: int
    sum: Tree


class RMSpropState(NamedTuple):
    step: int
    square_avg: Tree
    momentum_buffer: Tree | None  # None unless momentum > 0
    grad_avg: Tree | None  # None unless centered


class AdamState(NamedTuple):
    step: int
    exp_avg: Tree
    exp_avg_sq: Tree


# --- parameter trees: one array, or a list/tuple of arrays ---------------------------


def _is_seq(tree: object) -> TypeGuard[list[Any] | tuple[Any, ...]]:
    return isinstance(tree, (list, tuple))


def _as_arrays(tree: ArrayLike, name: str) -> Tree:
    if _is_seq(tree):
        return type(tree)(_as_arrays(leaf, name) for leaf in tree)
    array = np.asarray(tree, dtype=np.float64)
    if np.isnan(array).any():
        raise ValueError(f"{name} contains NaN; a NaN would poison every later step.")
    return array


def _map(fn: Callable[..., FloatArray], *trees: Tree) -> Tree:
    first = trees[0]
    if _is_seq(first):
        if any(len(t) != len(first) for t in trees):
            raise ValueError("params and grads must hold the same number of arrays")
        return type(first)(_map(fn, *leaves) for leaves in zip(*trees))
    return fn(*trees)


def _zeros_like(tree: Tree) -> Tree:
    return _map(np.zeros_like, tree)


def _check_pair(params: ArrayLike, grads: ArrayLike) -> tuple[Tree, Tree]:
    params = _as_arrays(params, "params")
    grads = _as_arrays(grads, "grads")

    def check(p: FloatArray, g: FloatArray) -> FloatArray:
        if p.shape != g.shape:
            raise ValueError(f"each gradient must have its parameter's shape: {g.shape} vs {p.shape}")
        return p

    _map(check, params, grads)
    return params, grads


def _l2(grads: Tree, params: Tree, weight_decay: float) -> Tree:
    r"""L2 weight decay coupled as torch does it: :math:`g + \lambda\theta` (none for :math:`\lambda = 0`)."""
    if not weight_decay:
        return grads
    return _map(lambda g, p: g + weight_decay * p, grads, params)


# --- validation with torch.optim's wording --------------------------------------------


def _check_lr(lr: object) -> None:
    # torch accepts lr = 0 (a no-op); the course refuses it, since nothing would move.
    if not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_nonneg(value: float, what: str) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"Invalid {what}: {value}")


def _check_betas(betas: Sequence[float]) -> None:
    if len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for index, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}")


# --- SGD ---------------------------------------------------------------------------


def sgd(
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
) -> Optimizer[SGDState]:
    r"""Stochastic gradient descent with optional momentum, as ``torch.optim.SGD``.

    .. math:: g \leftarrow g + \lambda\theta,\quad b \leftarrow \mu b + (1-\tau) g,\quad
              \theta \leftarrow \theta - \alpha\,(g + \mu b \text{ if Nesterov else } b)

    The buffer starts at the first gradient itself (no dampening on step 1).
    """
    _check_lr(lr)
    _check_nonneg(momentum, "momentum value")
    _check_nonneg(weight_decay, "weight_decay value")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def init(params: ArrayLike) -> SGDState:
        return SGDState(step=0, momentum_buffer=None)

    # Typed Any: the Step protocol promises the caller's structure back, which mypy cannot follow.
    def step(params: ArrayLike, grads: ArrayLike, state: SGDState) -> tuple[Any, SGDState]:
        params, grads = _check_pair(params, grads)
        grads = _l2(grads, params, weight_decay)
        buffer = state.momentum_buffer
        if momentum:
            if buffer is None:
                buffer = _map(np.copy, grads)
            else:
                buffer = _map(lambda b, g: momentum * b + (1 - dampening) * g, buffer, grads)
            if nesterov:
                grads = _map(lambda g, b: g + momentum * b, grads, buffer)
            else:
                grads = buffer
        params = _map(lambda p, g: p - lr * g, params, grads)
        return params, SGDState(state.step + 1, buffer)

    hyper: dict[str, float | tuple[float, ...]] = dict(
        lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov
    )
    return Optimizer("sgd", hyper, init, step)


# --- Adagrad -------------------------------------------------------------------------


def adagrad(
    lr: float = 0.01,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
) -> Optimizer[AdagradState]:
    r"""Adagrad, as ``torch.optim.Adagrad``: each coordinate's rate shrinks with its
    accumulated squared gradients,
    :math:`\theta \leftarrow \theta - \frac{\alpha_t g}{\sqrt{\sum g^2} + \epsilon}`.
    """
    _check_lr(lr)
    _check_nonneg(lr_decay, "lr_decay value")
    _check_nonneg(weight_decay, "weight_decay value")
    _check_nonneg(initial_accumulator_value, "initial_accumulator_value value")
    _check_nonneg(eps, "epsilon value")

    def init(params: ArrayLike) -> AdagradState:
        params = _as_arrays(params, "params")
        return AdagradState(0, _map(lambda p: np.full_like(p, initial_accumulator_value), params))

    def step(params: ArrayLike, grads: ArrayLike, state: AdagradState) -> tuple[Any, AdagradState]:
        params, grads = _check_pair(params, grads)
        t = state.step + 1
        grads = _l2(grads, params, weight_decay)
        clr = lr / (1 + (t - 1) * lr_decay)
        total = _map(lambda s, g: s + g * g, state.sum, grads)
        params = _map(lambda p, g, s: p - clr * g / (np.sqrt(s) + eps), params, grads, total)
        return params, AdagradState(t, total)

    hyper: dict[str, float | tuple[float, ...]] = dict(
        lr=lr,
        lr_decay=lr_decay,
        weight_decay=weight_decay,
        initial_accumulator_value=initial_accumulator_value,
        eps=eps,
    )
    return Optimizer("adagrad", hyper, init, step)


# --- RMSprop -------------------------------------------------------------------------


def _missing_buffer(name: str, setting: str) -> ValueError:
    return ValueError(
        f"state.{name} is None: this state was made by an rmsprop with {setting}; "
        "start from this optimizer's own init(params)"
    )


def rmsprop(
    lr: float = 0.01,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
) -> Optimizer[RMSpropState]:
    r"""RMSprop, as ``torch.optim.RMSprop`` (note: :math:`\epsilon` is added *outside* the root).

    .. math:: v \leftarrow \alpha v + (1-\alpha) g^2,\quad
              \theta \leftarrow \theta - \frac{\eta\, g}{\sqrt{v} + \epsilon}
    """
    _check_lr(lr)
    _check_nonneg(eps, "epsilon value")
    _check_nonneg(momentum, "momentum value")
    _check_nonneg(weight_decay, "weight_decay value")
    _check_nonneg(alpha, "alpha value")

    def init(params: ArrayLike) -> RMSpropState:
        params = _as_arrays(params, "params")
        zeros = _zeros_like(params)
        return RMSpropState(
            0,
            zeros,
            _zeros_like(params) if momentum > 0 else None,
            _zeros_like(params) if centered else None,
        )

    def step(params: ArrayLike, grads: ArrayLike, state: RMSpropState) -> tuple[Any, RMSpropState]:
        params, grads = _check_pair(params, grads)
        grads = _l2(grads, params, weight_decay)
        square_avg = _map(lambda v, g: alpha * v + (1 - alpha) * g * g, state.square_avg, grads)
        grad_avg = state.grad_avg
        if centered:
            if grad_avg is None:
                raise _missing_buffer("grad_avg", "centered=False")
            grad_avg = _map(lambda m, g: m + (1 - alpha) * (g - m), grad_avg, grads)
            denom = _map(lambda v, m: np.sqrt(v - m * m) + eps, square_avg, grad_avg)
        else:
            denom = _map(lambda v: np.sqrt(v) + eps, square_avg)
        buffer = state.momentum_buffer
        if momentum > 0:
            if buffer is None:
                raise _missing_buffer("momentum_buffer", "momentum=0")
            buffer = _map(lambda b, g, d: momentum * b + g / d, buffer, grads, denom)
            params = _map(lambda p, b: p - lr * b, params, buffer)
        else:
            params = _map(lambda p, g, d: p - lr * g / d, params, grads, denom)
        return params, RMSpropState(state.step + 1, square_avg, buffer, grad_avg)

    hyper: dict[str, float | tuple[float, ...]] = dict(
        lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered
    )
    return Optimizer("rmsprop", hyper, init, step)


# --- Adam and AdamW ------------------------------------------------------------------


def _adam_like(
    name: str, lr: float, betas: tuple[float, float], eps: float, weight_decay: float, decoupled: bool
) -> Optimizer[AdamState]:
    _check_lr(lr)
    _check_nonneg(eps, "epsilon value")
    _check_betas(betas)
    _check_nonneg(weight_decay, "weight_decay value")
    beta1, beta2 = betas

    def init(params: ArrayLike) -> AdamState:
        params = _as_arrays(params, "params")
        return AdamState(0, _zeros_like(params), _zeros_like(params))

    def step(params: ArrayLike, grads: ArrayLike, state: AdamState) -> tuple[Any, AdamState]:
        params, grads = _check_pair(params, grads)
        t = state.step + 1
        if weight_decay and decoupled:
            params = _map(lambda p: p * (1 - lr * weight_decay), params)
        else:
            grads = _l2(grads, params, weight_decay)
        m = _map(lambda m, g: m + (1 - beta1) * (g - m), state.exp_avg, grads)
        v = _map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state.exp_avg_sq, grads)
        step_size = lr / (1 - beta1**t)
        root_correction = math.sqrt(1 - beta2**t)
        params = _map(lambda p, m, v: p - step_size * m / (np.sqrt(v) / root_correction + eps), params, m, v)
        return params, AdamState(t, m, v)

    hyper: dict[str, float | tuple[float, ...]] = dict(
        lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay
    )
    return Optimizer(name, hyper, init, step)


def adam(
    lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0
) -> Optimizer[AdamState]:
    r"""Adam, as ``torch.optim.Adam``; ``weight_decay`` adds :math:`\lambda\theta` to the gradient (L2).

    .. math:: m \leftarrow \beta_1 m + (1-\beta_1) g,\quad
              v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
              \theta \leftarrow \theta - \frac{\alpha}{1-\beta_1^t}\frac{m}{\sqrt{v/(1-\beta_2^t)}+\epsilon}
    """
    return _adam_like("adam", lr, betas, eps, weight_decay, decoupled=False)


def adamw(
    lr: float = 0.001,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.01,
) -> Optimizer[AdamState]:
    r"""AdamW, as ``torch.optim.AdamW``: weight decay is decoupled,
    :math:`\theta \leftarrow \theta(1 - \alpha\lambda)` before the Adam step."""
    return _adam_like("adamw", lr, betas, eps, weight_decay, decoupled=True)


# Each factory returns an optimizer with its own state type, so the table holds Optimizer[Any].
_FACTORIES: dict[str, Callable[..., Optimizer[Any]]] = {
    "sgd": sgd,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adam": adam,
    "adamw": adamw,
}


def by_name(name: str, **hyperparams: Any) -> Optimizer[Any]:
    """Build an optimizer from its name: ``by_name("adam", lr=0.01)``."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(_FACTORIES)}") from None
    return factory(**hyperparams)


def iterate(optimizer: Optimizer[Any], grad_fn: Callable[[Any], Any], params: Any, steps: int) -> Any:
    r"""``steps`` updates of an :class:`Optimizer` with the gradients of ``grad_fn``; the final params.

    The bare loop: ``state = optimizer.init(params)``, then ``steps`` times
    ``params, state = optimizer.step(params, grad_fn(params), state)``. It records nothing,
    so ``params`` can be any array: every entry is updated independently, and a stack of
    starting points runs as many runs at once. A :class:`~gdlab.surfaces.Landscape`'s
    ``grad`` takes points of shape ``(dim, ...)``, so put the starts on the later axes, as in
    ``iterate(opt, surfaces.double_well.grad, starts[None], 1000)``. (For one run with its
    whole trajectory, its convergence and divergence, use :func:`gdlab.descend`.) A step that
    leaves a non-finite value raises ``ValueError``: with many runs in one array, one that
    blows up would otherwise poison the rest unseen.

    >>> import numpy as np
    >>> from gdlab import surfaces
    >>> ends = iterate(sgd(lr=0.01), surfaces.double_well.grad, np.array([[-1.0, 1.0]]), 1000)
    >>> ends.round(4).tolist()
    [[-2.0305, 1.968]]
    """
    if not isinstance(optimizer, Optimizer):
        raise ValueError(
            f"optimizer must be a gdlab.optim.Optimizer, e.g. sgd(lr=0.1), got {type(optimizer).__name__}"
        )
    if not callable(grad_fn):
        raise ValueError(f"grad_fn must be callable (params -> gradient), got {grad_fn!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    params = _as_arrays(params, "params")
    state = optimizer.init(params)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            params, state = optimizer.step(params, grad_fn(params), state)
            if not all(np.all(np.isfinite(leaf)) for leaf in _leaves(params)):
                raise ValueError(
                    f"step {k} left a non-finite parameter: the run diverged (lower the learning "
                    "rate, or use gdlab.descend, which records where a run diverges)"
                )
    return params


def _leaves(tree: Any) -> list[Any]:
    return [leaf for branch in tree for leaf in _leaves(branch)] if _is_seq(tree) else [tree]
