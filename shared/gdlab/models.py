"""The small networks the course trains, built in one place.

:func:`mlp` is the multilayer perceptron of chapters 05, 06, 08, the appendix and the
training dashboard: fully connected layers of the given widths, an activation after every
hidden layer (and dropout after it, if asked), a plain linear output. The layers sit in an
``nn.Sequential`` in that order, so ``net[0]`` is the first linear layer, and the initial
weights after ``seed`` are exactly those of writing the same ``nn.Sequential`` by hand.

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
"""

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "mlp"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}


def mlp(
    *widths: int,
    activation: str = "tanh",
    dropout: float = 0.0,
    seed: int | None = None,
    dtype: torch.dtype | None = None,
) -> nn.Sequential:
    """A fully connected network ``widths[0] -> ... -> widths[-1]``.

    ``activation`` (``"tanh"``, ``"relu"`` or ``"sigmoid"``) follows every hidden layer,
    then ``nn.Dropout(dropout)`` when ``dropout > 0``. ``seed``, if given, seeds torch's
    global generator just before the layers are made (``torch.manual_seed(seed)``), so the
    same call gives the same weights; ``dtype`` casts the parameters (e.g.
    ``torch.float64``).
    """
    if len(widths) < 2:
        raise ValueError(f"mlp needs at least an input and an output width, got {widths!r}")
    for width in widths:
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"every width must be a positive integer, got {width!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout}")
    if seed is not None:
        torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(widths[:-2], widths[1:-1]):
        layers += [nn.Linear(fan_in, fan_out), ACTIVATIONS[activation]()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(widths[-2], widths[-1]))
    net = nn.Sequential(*layers)
    return net if dtype is None else net.to(dtype)
