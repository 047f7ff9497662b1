r"""Run an optimizer on a landscape and keep the whole trajectory.

:func:`descend` only computes; drawing is :mod:`gdlab.plotting`'s job. A run that blows up
is a *result*: it stops at the step where the loss overflows or the point escapes, sets
``diverged`` and ``diverged_at``, and no NumPy overflow warning reaches the page.

>>> from gdlab import descend, surfaces, optim
>>> run = descend(surfaces.bowl, 0.0, optim.sgd(lr=1.1), steps=500)
>>> run.status, run.diverged_at
('diverged', 96)
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._checks import as_float_array
from .surfaces import Landscape

__all__ = ["Trajectory", "descend"]


@dataclass(frozen=True)
class Trajectory:
    """What one run of gradient descent did, step by step.

    ``positions[k]``, ``losses[k]`` and ``grad_norms[k]`` describe the point after ``k``
    steps (row 0 is the start), so each array has ``steps_taken + 1`` rows.
    """

    positions: NDArray[np.float64]
    losses: NDArray[np.float64]
    grad_norms: NDArray[np.float64]
    converged_at: int | None
    diverged_at: int | None
    steps_requested: int
    optimizer: str
    lr: float

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def converged(self) -> bool:
        return self.converged_at is not None

    @property
    def steps_taken(self) -> int:
        return len(self.losses) - 1

    @property
    def final(self) -> NDArray[np.float64]:
        """The last finite position."""
        last: NDArray[np.float64] = self.positions[-1]
        return last

    @property
    def status(self) -> str:
        """``"converged"``, ``"diverged"`` or ``"running"`` (budget spent, still moving)."""
        if self.diverged:
            return "diverged"
        if self.converged:
            return "converged"
        return "running"

    def summary(self) -> str:
        """One line for a readout: status, steps, position and loss."""
        point = ", ".join(f"{v:.6g}" for v in self.final)
        if self.diverged:
            return (
                f"diverged at step {self.diverged_at}: the loss overflowed or the point "
                f"escaped (last finite point ({point}), loss {self.losses[-1]:.4g})"
            )
        if self.converged:
            return f"converged at step {self.converged_at}: x = ({point}), loss {self.losses[-1]:.6g}"
        return (
            f"after {self.steps_taken} steps: x = ({point}), loss {self.losses[-1]:.6g}, "
            f"|gradient| {self.grad_norms[-1]:.3g}"
        )


def _norm(vector: ArrayLike) -> float:
    """Euclidean norm that does not overflow while the vector itself is finite."""
    largest = float(np.max(np.abs(vector)))
    if largest == 0.0 or not np.isfinite(largest):
        return largest
    return largest * float(np.sqrt(np.sum((np.asarray(vector) / largest) ** 2)))


def descend(
    landscape: Landscape,
    x0: ArrayLike,
    optimizer: Any,
    steps: int,
    tol: float = 1e-8,
    escape_radius: float = 1e8,
    stop_at_convergence: bool = True,
) -> Trajectory:
    r"""Run ``optimizer`` on ``landscape`` from ``x0`` for at most ``steps`` steps.

    Each step applies :math:`x \leftarrow \mathrm{step}(x, \nabla f(x))`. The run has
    *converged* at the first step where :math:`\|\nabla f(x)\| <` ``tol`` (and stops there
    unless ``stop_at_convergence=False``); it has *diverged* when the loss or the gradient
    stops being finite or :math:`\|x\|` exceeds ``escape_radius``, and it stops there.
    """
    if not isinstance(landscape, Landscape):
        raise ValueError(f"landscape must be a gdlab.surfaces.Landscape, got {type(landscape).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    x = as_float_array(x0, "x0").reshape(-1)
    if x.shape != (landscape.dim,):
        raise ValueError(
            f"x0 must hold {landscape.dim} coordinate(s) for {landscape.name}, got shape {np.shape(x0)}"
        )

    positions, losses, norms = [x], [], []
    converged_at = diverged_at = None
    state = optimizer.init(x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        loss, grad = float(landscape.f(x)), landscape.grad(x)
        losses.append(loss)
        norms.append(_norm(grad))
        if norms[0] < tol:
            converged_at = 0
        for k in range(1, steps + 1):
            if converged_at is not None and stop_at_convergence:
                break
            x, state = optimizer.step(x, grad, state)
            loss, grad = float(landscape.f(x)), landscape.grad(x)
            norm = _norm(grad)
            if not (np.isfinite(loss) and np.isfinite(norm) and _norm(x) <= escape_radius):
                diverged_at = k
                break
            positions.append(x)
            losses.append(loss)
            norms.append(norm)
            if converged_at is None and norm < tol:
                converged_at = k

    return Trajectory(
        positions=np.array(positions),
        losses=np.array(losses),
        grad_norms=np.array(norms),
        converged_at=converged_at,
        diverged_at=diverged_at,
        steps_requested=int(steps),
        optimizer=optimizer.name,
        lr=float(optimizer.hyperparams.get("lr", np.nan)),
    )
