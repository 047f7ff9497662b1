"""The small networks the course trains, built in one place.

:func:`mlp` is the multilayer perceptron of chapters 03, 05, 06, 08, the appendix and the
training dashboard: fully connected layers of the given widths, an activation after every
hidden layer (with batch norm before it and dropout after it, if asked), a plain linear
output. The layers sit in an ``nn.Sequential`` in that order, so ``net[0]`` is the first
linear layer, and the initial weights after ``seed`` are exactly those of writing the same
``nn.Sequential`` by hand.

>>> net = mlp(1, 16, 16, 1, seed=0)
>>> net
Sequential(
  (0): Linear(in_features=1, out_features=16, bias=True)
  (1): Tanh()
  (2): Linear(in_features=16, out_features=16, bias=True)
  (3): Tanh()
  (4): Linear(in_features=16, out_features=1, bias=True)
)
>>> sum(p.numel() for p in net.parameters())
321

Two small readings of a network's weights go with it: :func:`count_nan` (how many weights
a NaN has reached, chapter 03 and the appendix) and :func:`flat_parameters` (all weights as
one vector, to compare two networks).
"""

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "count_nan", "flat_parameters", "mlp"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}


def mlp(
    *widths: int,
    activation: str | Callable[[], nn.Module] = "tanh",
    dropout: float = 0.0,
    batch_norm: bool = False,
    he_init: bool = False,
    seed: int | None = None,
    dtype: torch.dtype | None = None,
) -> nn.Sequential:
    """A fully connected network ``widths[0] -> ... -> widths[-1]``.

    ``activation`` follows every hidden layer: a name (``"tanh"``, ``"relu"`` or
    ``"sigmoid"``) or a callable that makes a fresh module, such as a module class
    (``nn.SiLU``) or ``functools.partial(nn.LeakyReLU, 0.1)``. ``batch_norm=True`` puts an
    ``nn.BatchNorm1d`` between each hidden linear layer and its activation, and
    ``dropout > 0`` an ``nn.Dropout(dropout)`` after the activation. ``he_init=True``
    re-initialises each hidden layer, right after it is made, with
    ``nn.init.kaiming_normal_(weight, nonlinearity="relu")`` and a zero bias (He et al.,
    2015: weights of variance 2/fan-in); the output layer keeps torch's default. ``seed``,
    if given, seeds torch's global generator just before the layers are made
    (``torch.manual_seed(seed)``), so the same call gives the same weights; ``dtype`` casts
    the parameters (e.g. ``torch.float64``).

    >>> from functools import partial
    >>> net = mlp(2, 8, 1, activation=partial(nn.LeakyReLU, 0.1), batch_norm=True)
    >>> [type(layer).__name__ for layer in net]
    ['Linear', 'BatchNorm1d', 'LeakyReLU', 'Linear']
    """
    if len(widths) < 2:
        raise ValueError(f"mlp needs at least an input and an output width, got {widths!r}")
    for width in widths:
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"every width must be a positive integer, got {width!r}")
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        make_activation: Callable[[], nn.Module] = ACTIVATIONS[activation]
    elif callable(activation):
        make_activation = activation
    else:
        raise ValueError(f"activation must be a name or a callable that returns a module, got {activation!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout}")
    if seed is not None:
        torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(widths[:-2], widths[1:-1]):
        linear = nn.Linear(fan_in, fan_out)
        if he_init:
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if batch_norm:
            layers.append(nn.BatchNorm1d(fan_out))
        module = make_activation()
        if not isinstance(module, nn.Module):
            raise ValueError(f"activation must return an nn.Module, got {module!r}")
        layers.append(module)
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(widths[-2], widths[-1]))
    net = nn.Sequential(*layers)
    return net if dtype is None else net.to(dtype)


def count_nan(model: nn.Module) -> int:
    """How many of the model's parameter entries are NaN.

    >>> net = mlp(2, 3, 1, seed=0)
    >>> count_nan(net)
    0
    >>> with torch.no_grad():
    ...     net[0].weight[0, 0] = float("nan")
    >>> count_nan(net)
    1
    """
    return sum(int(torch.isnan(p).sum()) for p in model.parameters())


def flat_parameters(model: nn.Module) -> torch.Tensor:
    """All of the model's parameters, detached, as one 1-D tensor in ``parameters()`` order.

    The same values as ``torch.nn.utils.parameters_to_vector``, without the autograd graph,
    so that ``(flat_parameters(a) - flat_parameters(b)).abs().max()`` compares two networks.

    >>> flat_parameters(mlp(2, 3, 1, seed=0)).shape
    torch.Size([13])
    """
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])
