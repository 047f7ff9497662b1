r"""A trained network's loss landscape: 2-D slices along filter-normalised directions, and sharpness.

A network has too many weights to draw its loss, but a plane through the trained weights
:math:`\theta` can be drawn: :math:`L(\theta + \alpha d_1 + \beta d_2)` over a grid of
:math:`(\alpha, \beta)`, with random directions :math:`d_1, d_2` scaled filter by filter
to the weights (Li et al., 2018, "Visualizing the Loss Landscape of Neural Nets") so that
slices of different networks can be compared. :func:`loss_surface` evaluates the grid in
chunks: each ``Linear`` layer does one batched matmul over the chunk's stacked weights, except
the first, whose input all points share: it combines the three products
:math:`X\theta^\top, X d_1^\top, X d_2^\top`, taken once, point by point. The forward pass is
read as a ``torch.fx`` graph where it can be, and run through ``torch.func.functional_call``
where not (``torch.vmap`` takes over for models that do more than linear layers and
elementwise functions; ``gdlab._stacked`` holds these ways of running a model on many weight
settings at once); :func:`loss_surface_loop` is the one-forward-pass-per-point version it is
checked (and timed) against.
:func:`roughness` puts one number on a slice and :func:`top_hessian_eigenvalue` measures
the sharpness at :math:`\theta` itself. (``gdlab.surfaces`` holds the small
analytic test functions.)

>>> import torch
>>> from gdlab import loss_slices
>>> _ = torch.manual_seed(0)
>>> model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
>>> X, y = torch.randn(32, 2), torch.randn(32, 1)
>>> d1, d2 = loss_slices.random_directions(model, seed=0)
>>> s = loss_slices.loss_surface(model, torch.nn.functional.mse_loss, X, y, (d1, d2), span=1.0, resolution=5)
>>> s.losses.shape, float(s.alphas[2]), float(s.betas[0])
((5, 5), 0.0, -1.0)
"""

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple, cast

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch.func import functional_call

from ._stacked import Directions, GraphPlan, PerPointLoss, StackedLinear, traced

__all__ = [
    "Surface",
    "loss_surface",
    "loss_surface_loop",
    "random_directions",
    "roughness",
    "top_hessian_eigenvalue",
]

# A direction (or the weights) in weight space: one tensor per named parameter.
Direction = dict[str, torch.Tensor]
# loss_fn(model(X), y): a scalar tensor.
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Surface(NamedTuple):
    r"""A 2-D slice: ``losses[i, j]`` is the loss at :math:`\theta + \text{alphas}[j]\,d_1 +
    \text{betas}[i]\,d_2`, so ``plt.contour(alphas, betas, losses)`` draws it as it is."""

    alphas: NDArray[np.float64]
    betas: NDArray[np.float64]
    losses: NDArray[np.float64]


def _named_parameters(model: object) -> Direction:
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = {name: p.detach() for name, p in model.named_parameters()}
    if not params:
        raise ValueError("model has no parameters")
    return params


def random_directions(
    model: torch.nn.Module, seed: int = 0, count: int = 2, ignore_1d: bool = True
) -> tuple[Direction, ...]:
    r"""``count`` random directions in weight space, filter-normalised (Li et al., 2018).

    Each direction is a dict ``{name: tensor}`` shaped like ``model.named_parameters()``.
    Entries are drawn from :math:`\mathcal N(0, 1)`; then, for every parameter with two or
    more dimensions, each *filter* (a slice along dimension 0: a row of a ``Linear`` weight,
    an output channel of a ``Conv`` kernel) is rescaled to the norm of the same filter of the
    weights, :math:`d_i \leftarrow \frac{d_i}{\lVert d_i\rVert}\lVert\theta_i\rVert`. A
    step of :math:`\alpha = 1` then moves each filter by as much as its own size, whatever
    the layer's scale. One-dimensional parameters (biases, normalisation scales) get a zero
    direction, as in the paper's default (``ignore='biasbn'``); with ``ignore_1d=False`` each
    is instead treated as one filter.

    >>> import torch
    >>> layer = torch.nn.Linear(3, 2)
    >>> (d,) = random_directions(layer, seed=1, count=1)
    >>> torch.allclose(d["weight"].norm(dim=1), layer.weight.detach().norm(dim=1))
    True
    >>> float(d["bias"].abs().sum())
    0.0
    """
    params = _named_parameters(model)
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    generator = torch.Generator().manual_seed(seed)
    directions = []
    for _ in range(count):
        direction: Direction = {}
        for name, p in params.items():
            d = torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device)
            if p.ndim <= 1 and ignore_1d:
                d.zero_()
            else:
                filters = p.shape[0] if p.ndim > 1 else 1
                rows, weight_rows = d.reshape(filters, -1), p.reshape(filters, -1)
                scale = weight_rows.norm(dim=1, keepdim=True) / (rows.norm(dim=1, keepdim=True) + 1e-10)
                d = (rows * scale).reshape(p.shape)
            direction[name] = d
        directions.append(direction)
    return tuple(directions)


def _check_directions(params: Direction, directions: object) -> None:
    if not isinstance(directions, (tuple, list)) or len(directions) != 2:
        raise ValueError("directions must be a pair (d1, d2), e.g. random_directions(model, seed=0)")
    for direction in directions:
        if not isinstance(direction, dict) or set(direction) != set(params):
            raise ValueError(
                f"each direction must be a dict with one tensor per model parameter, named {sorted(params)}"
            )
        for name, p in params.items():
            if direction[name].shape != p.shape:
                raise ValueError(
                    f"direction for {name!r} has shape {tuple(direction[name].shape)}, "
                    f"the parameter {tuple(p.shape)}"
                )


def _grid(span: float, resolution: int) -> NDArray[np.float64]:
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an integer of at least 2, got {resolution!r}")
    if not (isinstance(span, (int, float)) and 0 < span < math.inf):
        raise ValueError(f"span must be a positive finite number, got {span!r}")
    return np.linspace(-span, span, resolution)


def _check_xy(X: object, y: object) -> None:
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ValueError(f"X and y must be torch.Tensor, got {type(X).__name__} and {type(y).__name__}")
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(f"X and y must have the same, non-zero number of rows, got {len(X)} and {len(y)}")


# One activation of a chunk, per thread: the budget measured fastest for chapter 05's network.
CHUNK_BYTES = 3 * 2**19


def _default_chunk_size(params: Direction, X: torch.Tensor, resolution: int) -> int:
    """As many grid points as keep one activation of the widest layer, ``len(X)`` rows for
    each point, near ``CHUNK_BYTES`` per thread: at least one point, at most the grid."""
    widths = [X[0].numel() if X.ndim else 1, *(p.shape[0] for p in params.values() if p.ndim >= 1)]
    per_point = max(1, len(X) if X.ndim else 1) * max(widths) * X.element_size()
    chunk = CHUNK_BYTES * torch.get_num_threads() // per_point
    return int(min(max(chunk, 1), resolution * resolution))


def loss_surface(
    model: torch.nn.Module,
    loss_fn: LossFn,
    X: torch.Tensor,
    y: torch.Tensor,
    directions: Sequence[Direction],
    span: float = 1.0,
    resolution: int = 41,
    chunk_size: int | None = None,
) -> Surface:
    r"""The loss on the grid :math:`\theta + \alpha d_1 + \beta d_2`, :math:`\alpha, \beta \in [-s, s]`.

    Here :math:`s` is ``span``. The ``resolution`` × ``resolution`` grid points are evaluated
    ``chunk_size`` at a time: the model runs once per chunk with the chunk's weight settings
    stacked, every ``Linear`` layer as one batched matmul (the first, whose input ``X`` all
    points share, as three products combined per point) and elementwise layers broadcasting
    over the chunk. A forward pass made of ``Linear`` layers, ReLU, tanh, sigmoid and
    arithmetic is read once as a ``torch.fx`` graph and run as a list of steps, which compute
    in place what nothing reads again; any other forward pass runs as written, with
    ``F.linear`` batched. A model that normalises, reshapes or reduces inside its forward pass
    runs through ``torch.vmap`` of ``torch.func.functional_call`` instead, which gives the
    same values. A chunk holds a few activations of ``chunk_size × len(X) × width`` numbers
    at a time. By default (``None``) a chunk is as many points as keep one activation of the
    widest layer near ``CHUNK_BYTES`` per thread torch uses (1.5 MiB, the budget measured
    fastest on chapter 05's network: smaller chunks pay more for their Python steps than
    staying in a core's cache saves, larger ones leave the cache; that network then takes 122
    points at a time on one thread). Up to 64 MiB of that memory is kept for the next slice, which then
    needs no fresh memory.
    The model is evaluated in eval mode (dropout off, batch norm with its running statistics),
    without gradients, and its weights are not changed.
    ``loss_fn(model(X), y)`` must return a scalar. Returns a :class:`Surface`.

    >>> import torch
    >>> model = torch.nn.Linear(1, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = model.weight.fill_(2.0)
    >>> X = torch.ones(4, 1, dtype=model.weight.dtype)
    >>> d = {"weight": torch.ones_like(model.weight)}, {"weight": torch.zeros_like(model.weight)}
    >>> s = loss_surface(model, torch.nn.functional.mse_loss, X, 2 * X, d, span=1.0, resolution=3)
    >>> s.losses[0].tolist()   # (w - 2)^2 at w = 1, 2, 3
    [1.0, 0.0, 1.0]
    """
    params = _named_parameters(model)
    _check_directions(params, directions)
    _check_xy(X, y)
    alphas = _grid(span, resolution)
    if chunk_size is None:
        chunk_size = _default_chunk_size(params, X, resolution)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    buffers = {name: b.detach() for name, b in model.named_buffers()}
    d1, d2 = directions
    reference = next(iter(params.values()))
    a_grid, b_grid = np.meshgrid(alphas, alphas)  # rows: beta, columns: alpha
    a_all = torch.as_tensor(a_grid.ravel(), dtype=reference.dtype, device=reference.device)
    b_all = torch.as_tensor(b_grid.ravel(), dtype=reference.dtype, device=reference.device)
    starts = range(0, len(a_all), chunk_size)

    # One flat vector of all the parameters (and of each direction), so that a chunk's
    # weights are two fused multiply-adds, seen parameter by parameter through views; they go
    # into the same memory chunk after chunk (a chunk is done with before the next).
    uniform = len({(p.dtype, p.device) for p in params.values()}) == 1
    flat: tuple[list[torch.Tensor], torch.Tensor] | None = None
    if uniform:
        vectors = [torch.cat([t[name].reshape(-1) for name in params]) for t in (params, d1, d2)]
        flat = vectors, vectors[0].new_empty((min(chunk_size, len(a_all)), len(vectors[0])))
    sizes = [p.numel() for p in params.values()]

    def chunk(start: int) -> Direction:
        """The chunk's points: each parameter stacked as theta + a d1 + b d2."""
        a, b = a_all[start : start + chunk_size], b_all[start : start + chunk_size]
        if flat is not None:
            (theta, along_d1, along_d2), memory = flat
            rows = torch.addcmul(theta, a[:, None], along_d1, out=memory[: len(a)])
            pieces = rows.addcmul_(b[:, None], along_d2).split(sizes, dim=1)
        else:
            pieces = [
                torch.addcmul(p, a.reshape(-1, *(1,) * p.ndim), d1[name]).addcmul_(
                    b.reshape(-1, *(1,) * p.ndim), d2[name]
                )
                for name, p in params.items()
            ]
        return {name: piece.view(len(a), *p.shape) for (name, p), piece in zip(params.items(), pieces)}

    def parts_of(points: Direction, start: int) -> dict[int, Directions]:
        """The parts each stacked matrix of a chunk was made of (for a first layer that takes
        the three products instead)."""
        a = a_all[start : start + chunk_size, None, None]
        b = b_all[start : start + chunk_size, None, None]
        return {
            id(points[name]): Directions(points[name], p, d1[name], d2[name], a, b)
            for name, p in params.items()
            if p.ndim == 2
        }

    def loss_at(point: Direction) -> torch.Tensor:
        return loss_fn(functional_call(model, (point, buffers), (X,)), y)

    vmapped = torch.vmap(loss_at)
    per_point_loss = torch.vmap(lambda output: loss_fn(output, y))

    def per_point(outputs: torch.Tensor) -> torch.Tensor:
        """The loss of each of a chunk's stacked outputs: torch's elementwise losses in one
        call, any other loss through vmap."""
        count = len(outputs)
        try:
            with PerPointLoss():
                values = loss_fn(outputs, y)
        except Exception:  # a loss of another kind: vmap takes it over
            return per_point_loss(outputs)
        if not isinstance(values, torch.Tensor) or values.shape != (count,):
            return per_point_loss(outputs)
        return values

    def traced_losses(plan: GraphPlan, start: int) -> torch.Tensor | None:
        # Fastest: the forward pass as a graph of steps (see GraphPlan), which stacks the
        # chunk's weights itself. None if it fails.
        a = a_all[start : start + chunk_size, None, None]
        b = b_all[start : start + chunk_size, None, None]
        try:
            outputs = plan.run(X, a, b)
        except Exception:  # NotStackable, or an operation that takes no stack of points
            return None
        values = per_point(outputs)
        if values.untyped_storage().data_ptr() != outputs.untyped_storage().data_ptr():
            plan.give_back(outputs)  # its memory serves the next chunk
        return values

    def stacked_losses(points: Direction, start: int) -> torch.Tensor | None:
        # Every Linear layer multiplies the whole chunk's stacked weights at once, elementwise
        # layers broadcast over the chunk, for a forward pass fx cannot read as a graph. None
        # if the model does anything else with its weights or its input (then torch.vmap,
        # which handles any model, takes over).
        try:
            with StackedLinear(parts_of(points, start)):
                outputs = functional_call(model, (points, buffers), (X,))
        except Exception:  # NotStackable, or an operation that takes no stack of points
            return None  # (were the model itself at fault, vmap raises the same error)
        count = len(next(iter(points.values())))
        if not isinstance(outputs, torch.Tensor) or outputs.ndim < 2 or len(outputs) != count:
            return None
        return per_point(outputs)

    was_training = model.training
    model.eval()
    plan: GraphPlan | None = None
    try:
        with torch.no_grad():
            fast = X.ndim == 2
            plan = traced(model, params, d1, d2) if fast else None
            planned = plan is not None
            losses: list[torch.Tensor] = []
            for start in starts:
                values = traced_losses(plan, start) if plan is not None and planned else None
                if values is None:
                    planned = False
                    points = chunk(start)
                    values = stacked_losses(points, start) if fast else None
                    fast = values is not None
                    if values is None:
                        values = vmapped(points)
                losses.append(values)
            values = torch.cat(losses)
            # A forward pass that indexes or transposes could still mix the points up quietly:
            # the grid's first and last points (in the first and the last, maybe shorter,
            # chunk) and one inside the first chunk, each run alone, must give the same
            # losses; if not, vmap does it all.
            for k in sorted({0, min(chunk_size, len(values)) // 2, len(values) - 1}):
                alone = loss_at(
                    {
                        name: torch.addcmul(p, a_all[k], d1[name]).addcmul_(b_all[k], d2[name])
                        for name, p in params.items()
                    }
                )
                if not torch.allclose(values[k], alone, rtol=1e-4, atol=1e-7, equal_nan=True):
                    values = torch.cat([vmapped(chunk(start)) for start in starts])
                    break
    finally:
        model.train(was_training)
        if plan is not None:
            plan.close()  # its memory serves the next slice
    grid = values.double().cpu().numpy().reshape(resolution, resolution)
    return Surface(alphas, alphas.copy(), grid)


def loss_surface_loop(
    model: torch.nn.Module,
    loss_fn: LossFn,
    X: torch.Tensor,
    y: torch.Tensor,
    directions: Sequence[Direction],
    span: float = 1.0,
    resolution: int = 41,
) -> Surface:
    """The same grid as :func:`loss_surface`, one forward pass per point (the naive baseline).

    >>> import torch
    >>> model = torch.nn.Linear(2, 1)
    >>> X, y = torch.randn(8, 2, dtype=model.weight.dtype), torch.randn(8, 1, dtype=model.weight.dtype)
    >>> d = random_directions(model, seed=0, ignore_1d=False)
    >>> a = loss_surface(model, torch.nn.functional.mse_loss, X, y, d, resolution=4).losses
    >>> b = loss_surface_loop(model, torch.nn.functional.mse_loss, X, y, d, resolution=4).losses
    >>> bool(abs(a - b).max() <= 1e-5 * abs(b).max())
    True
    """
    params = _named_parameters(model)
    _check_directions(params, directions)
    _check_xy(X, y)
    alphas = _grid(span, resolution)
    buffers = {name: b.detach() for name, b in model.named_buffers()}
    d1, d2 = directions
    losses = np.empty((resolution, resolution))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i, b in enumerate(alphas):
                for j, a in enumerate(alphas):
                    point = {
                        name: p + float(a) * d1[name] + float(b) * d2[name] for name, p in params.items()
                    }
                    losses[i, j] = float(loss_fn(functional_call(model, (point, buffers), (X,)), y))
    finally:
        model.train(was_training)
    return Surface(alphas, alphas.copy(), losses)


def roughness(surface: Surface | ArrayLike) -> float:
    r"""How curved a slice is for its height: 0 for a plane, 1 for a paraboloid bowl, more if bumpy.

    With :math:`\Delta^2` the second difference along each grid axis, :math:`h` the grid
    step and :math:`s` the span,

    .. math::
        R = \frac{s^2}{\max L - \min L} \cdot \frac12\,
        \mathrm{mean}\left(\frac{|\Delta^2_\alpha L| + |\Delta^2_\beta L|}{h^2}\right),

    the mean absolute curvature over the interior points, in units of the curvature of a
    bowl that rises by the surface's whole range from its centre to its edge. A smooth
    surface scores the same at any resolution; a jagged one scores higher the finer the
    grid, so compare slices at the same span and resolution. A constant surface scores 0.
    ``surface`` is a :class:`Surface` (or a square array on the grid :math:`[-1, 1]^2`).

    >>> import numpy as np
    >>> a = np.linspace(-2.0, 2.0, 21)
    >>> round(roughness(Surface(a, a, 3.0 * (a[None, :] ** 2 + a[:, None] ** 2))), 12)
    1.0
    """
    given = surface.alphas if isinstance(surface, Surface) else None
    losses = np.asarray(surface.losses if isinstance(surface, Surface) else surface, dtype=np.float64)
    if losses.ndim != 2 or losses.shape[0] != losses.shape[1] or losses.shape[0] < 3:
        raise ValueError(f"surface must be a square grid of at least 3 x 3 losses, got shape {losses.shape}")
    alphas = np.linspace(-1.0, 1.0, losses.shape[0]) if given is None else np.asarray(given, dtype=np.float64)
    if not np.isfinite(losses).all():
        raise ValueError(
            "surface contains NaN or infinite losses; lower the span to stay where the loss is finite"
        )
    height = losses.max() - losses.min()
    if height == 0:
        return 0.0
    h = alphas[1] - alphas[0]
    span = (alphas[-1] - alphas[0]) / 2
    along_alpha = np.abs(losses[1:-1, 2:] - 2 * losses[1:-1, 1:-1] + losses[1:-1, :-2])
    along_beta = np.abs(losses[2:, 1:-1] - 2 * losses[1:-1, 1:-1] + losses[:-2, 1:-1])
    curvature = (along_alpha + along_beta).mean() / 2 / h**2
    return float(curvature * span**2 / height)


def top_hessian_eigenvalue(
    model: torch.nn.Module,
    loss_fn: LossFn,
    X: torch.Tensor,
    y: torch.Tensor,
    iterations: int = 100,
    seed: int = 0,
    tol: float = 1e-10,
) -> float:
    r"""The Hessian's eigenvalue of largest magnitude at the model's weights, by power iteration.

    Iterates :math:`v \leftarrow Hv / \lVert Hv\rVert` from a seeded random :math:`v`, each
    Hessian-vector product :math:`Hv = \nabla_\theta(\nabla_\theta L \cdot v)` taken by a
    double backward pass (the Hessian is never formed), and returns the Rayleigh quotient
    :math:`v^\top H v` once it changes by less than ``tol`` (relative) or after
    ``iterations`` products. Near a minimum the Hessian is (nearly) positive semi-definite,
    so this is the top eigenvalue, the *sharpness*: gradient descent with a rate above
    :math:`2/\lambda_\text{max}` cannot settle there. The model is evaluated in eval mode.

    >>> import torch
    >>> model = torch.nn.Linear(2, 1, bias=False).double()
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    >>> y = torch.zeros(2, 1, dtype=torch.float64)
    >>> round(top_hessian_eigenvalue(model, torch.nn.functional.mse_loss, X, y), 10)  # 2XᵀX/n = diag(1, 4)
    4.0
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    _check_xy(X, y)
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations <= 0:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    generator = torch.Generator().manual_seed(seed)
    v = [torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device) for p in params]
    was_training = model.training
    model.eval()
    try:
        loss = loss_fn(model(X), y)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        norm = torch.sqrt(_sum_of_squares(v))
        v = [u / norm for u in v]
        eigenvalue: float | None = None
        for _ in range(iterations):
            hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
            new = float(sum((a * b).sum() for a, b in zip(v, hv)))
            norm = torch.sqrt(_sum_of_squares(hv))
            if norm == 0:
                return 0.0
            v = [u / norm for u in hv]
            if eigenvalue is not None and abs(new - eigenvalue) <= tol * abs(new):
                return new
            eigenvalue = new
    finally:
        model.train(was_training)
    return cast(float, eigenvalue)  # set by the first of the (at least one) iterations


def _sum_of_squares(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """The squared norm of a list of tensors seen as one vector (a Python sum, term by term)."""
    return cast(torch.Tensor, sum((u * u).sum() for u in tensors))
