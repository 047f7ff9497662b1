r"""Batch, stochastic and mini-batch gradient descent on linear regression.

:func:`batch_indices` splits ``n`` samples into mini-batches the way
``torch.utils.data.DataLoader(range(n), batch_size, shuffle, drop_last)`` does, from a seeded
NumPy generator. :func:`train_linear` trains :math:`\hat y = Xw` (no intercept) on the mean
squared error with a given batch size and records the full-data loss after every update:
batch gradient descent is ``batch_size=n``, plain SGD is ``batch_size=1``, anything between
is mini-batch. Every update is a step of :func:`gdlab.optim.sgd`, the optimizer the rest of
the course uses, so the update rule is written once. Nothing here draws.

>>> import numpy as np
>>> from gdlab import data
>>> d = data.linear(n=100, weights=(2.0, -1.0), noise=0.1, seed=0)
>>> run = train_linear(d.X, d.y, batch_size=10, lr=0.05, epochs=20, seed=0)
>>> run.updates_per_epoch, run.positions.shape
(10, (201, 2))
>>> best = np.linalg.lstsq(d.X, d.y, rcond=None)[0]   # the exact least-squares weights
>>> bool(np.allclose(run.positions[-1], best, atol=0.01))
True
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import optim
from ._checks import as_float_array

__all__ = ["LinearRun", "batch_indices", "linear_mse", "linear_mse_grad", "race_rows", "train_linear"]


@dataclass(frozen=True)
class LinearRun:
    """What one training run did, update by update.

    Row ``k`` of ``positions`` and ``losses`` is the state after ``k`` updates (row 0 is the
    start); ``losses`` is the mean squared error on the *whole* training set there.
    ``batch_losses[k]`` is the loss on the mini-batch that update ``k + 1`` used, measured
    before that update (what a training loop usually logs). ``epoch_ends[e]`` is the row at
    the end of epoch ``e`` (``epoch_ends[0] == 0``, the start).

    The names are those of :class:`gdlab.descent.Trajectory`: a linear model's weights are
    its position in weight space, so the weights visited are ``positions``, as the points of
    any other descent are, and ``losses``, ``lr``, ``diverged_at`` and ``diverged`` mean what
    they mean there. The plotting helpers, which read ``positions`` and ``losses``, draw
    either record. Like ``Trajectory`` it is a frozen dataclass, not a tuple, so a function
    that takes one run or a list of runs cannot mistake a run for a list.
    """

    positions: NDArray[np.float64]
    losses: NDArray[np.float64]
    batch_losses: NDArray[np.float64]
    epoch_ends: NDArray[np.int_]
    batch_size: int
    updates_per_epoch: int
    lr: float
    diverged_at: int | None  # the update at which the loss stopped being finite, if it did

    @property
    def epoch_losses(self) -> NDArray[np.float64]:
        """The full-data loss at the start and after each completed epoch."""
        return self.losses[self.epoch_ends]

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def first_below(self, threshold: float) -> tuple[int, float] | tuple[None, None]:
        """The first update whose full-data loss is below ``threshold``, and the epochs it took.

        Epochs are a fraction where the epoch is unfinished: update ``k`` is ``k /
        updates_per_epoch`` epochs in. ``(None, None)`` when the run never gets there.

        >>> from gdlab import data
        >>> d = data.linear(n=40, weights=(1.0,), noise=0.0, seed=0)
        >>> train_linear(d.X, d.y, batch_size=10, lr=0.1, epochs=5).first_below(0.01)
        (15, 3.75)
        """
        if not np.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number, got {threshold}")
        below = np.flatnonzero(self.losses < threshold)
        if len(below) == 0:
            return None, None
        return int(below[0]), float(below[0] / self.updates_per_epoch)


def _check_positive_int(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value!r}")


def batch_indices(
    n: int,
    batch_size: int = 1,
    shuffle: bool = False,
    drop_last: bool = False,
    generator: np.random.Generator | int | None = None,
) -> list[NDArray[np.intp]]:
    r"""The index arrays of one epoch: ``n`` samples in mini-batches of ``batch_size``.

    As ``torch.utils.data.DataLoader``: with ``shuffle`` the samples are visited in a fresh
    random order (drawn from ``generator``, a ``numpy.random.Generator`` or a seed), each
    exactly once per epoch, i.e. sampled *without replacement*; the last, smaller batch
    is kept unless ``drop_last``. There are :math:`\lceil n/B \rceil` batches
    (:math:`\lfloor n/B \rfloor` with ``drop_last``).

    >>> [b.tolist() for b in batch_indices(5, batch_size=2)]
    [[0, 1], [2, 3], [4]]
    >>> [len(b) for b in batch_indices(5, batch_size=2, shuffle=True, drop_last=True, generator=0)]
    [2, 2]
    """
    _check_positive_int(n, "n")
    _check_positive_int(batch_size, "batch_size")
    if drop_last and batch_size > n:
        raise ValueError(f"drop_last=True with batch_size={batch_size} > n={n} would leave no batch at all")
    order = np.random.default_rng(generator).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    return [order[start : min(start + batch_size, stop)] for start in range(0, stop, batch_size)]


def _check_data(X: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    X = as_float_array(X, "X")
    y = as_float_array(y, "y")
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y) or len(y) == 0:
        raise ValueError(
            f"X must be a matrix (n, d) and y a vector (n,) with the same n > 0, got shapes {X.shape} "
            f"and {y.shape}"
        )
    return X, y


def _check_weights(w: ArrayLike, d: int, name: str = "w") -> NDArray[np.float64]:
    w = as_float_array(w, name).reshape(-1)
    if w.shape != (d,):
        raise ValueError(f"{name} must hold one weight per feature, {d}, got shape {w.shape}")
    return w


def linear_mse(w: ArrayLike, X: ArrayLike, y: ArrayLike) -> float:
    r"""Mean squared error of the linear model, :math:`L(w) = \frac1n \lVert Xw - y \rVert^2`.

    >>> linear_mse([1.0], [[1.0], [2.0]], [1.0, 1.0])
    0.5
    """
    X, y = _check_data(X, y)
    w = _check_weights(w, X.shape[1])
    return float(np.mean((X @ w - y) ** 2))


def linear_mse_grad(w: ArrayLike, X: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
    r"""Its gradient, :math:`\nabla L(w) = \frac2n X^\top (Xw - y)`.

    >>> linear_mse_grad([1.0], [[1.0], [2.0]], [1.0, 1.0]).tolist()
    [2.0]
    """
    X, y = _check_data(X, y)
    w = _check_weights(w, X.shape[1])
    return 2.0 / len(y) * (X.T @ (X @ w - y))


def _quadratic_losses(
    W: NDArray[np.float64], A: NDArray[np.float64], c: NDArray[np.float64], m: float | NDArray[np.float64]
) -> NDArray[np.float64]:
    """Mean squared errors w^T A w - 2 c^T w + m for each row w of W (or batch of A, c, m)."""
    quadratic = np.einsum("...i,...ij,...j->...", W, A, W) - 2 * np.einsum("...i,...i->...", W, c) + m
    clamped: NDArray[np.float64] = np.maximum(quadratic, 0.0)  # rounding can dip below 0 on noise-free data
    return clamped


def train_linear(
    X: ArrayLike,
    y: ArrayLike,
    batch_size: int,
    lr: float,
    epochs: int,
    w0: ArrayLike | None = None,
    shuffle: bool = True,
    drop_last: bool = False,
    seed: int | np.random.Generator | None = 0,
) -> LinearRun:
    r"""Train :math:`\hat y = Xw` on the MSE by gradient descent on mini-batches of ``batch_size``.

    Each update is one step of ``gdlab.optim.sgd(lr)`` with the gradient of the next batch
    :math:`B` of the current epoch:
    :math:`w \leftarrow w - \alpha\,\frac{2}{|B|} X_B^\top (X_B w - y_B)`.
    ``batch_size=len(y)`` is batch gradient descent (one exact step per epoch), ``1`` is
    plain SGD. Batches are drawn with :func:`batch_indices` from one generator seeded by
    ``seed``, reshuffled every epoch, so the same arguments give the same run. The loss is
    a quadratic in :math:`w`, so the batch gradients, :math:`2(A_B w - c_B)` with
    :math:`A_B = X_B^\top X_B/|B|` and :math:`c_B = X_B^\top y_B/|B|`, and the losses are
    computed from those moments instead of a pass over the data. A run whose weights, gradient
    or loss overflow stops there with ``diverged_at`` set (no NumPy warnings).

    >>> from gdlab import data
    >>> d = data.linear(n=64, weights=(1.0, 2.0), noise=0.0, seed=1)
    >>> full = train_linear(d.X, d.y, batch_size=64, lr=0.1, epochs=3)
    >>> full.updates_per_epoch, bool(full.losses[3] < full.losses[0])
    (1, True)
    """
    X, y = _check_data(X, y)
    n, d = X.shape
    _check_positive_int(batch_size, "batch_size")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if isinstance(lr, np.floating):
        lr = float(lr)
    opt = optim.sgd(lr=lr)  # refuses a bad rate in torch's words: "Invalid learning rate: ..."
    w = np.zeros(d) if w0 is None else _check_weights(w0, d, "w0")
    state = opt.init(w)
    rng = np.random.default_rng(seed)

    # Per-sample pieces of the quadratic: the loss on a set S is w^T A_S w - 2 c_S^T w + m_S.
    outer = X[:, :, None] * X[:, None, :]
    cross = X * y[:, None]
    square = y * y
    A, c, m = outer.mean(axis=0), cross.mean(axis=0), square.mean()

    positions, pieces, epoch_ends = [w], [], [0]
    stopped = False  # a step met an overflowed gradient or produced an overflowed point
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(epochs):
            batches = batch_indices(n, batch_size, shuffle, drop_last, generator=rng)
            order = np.concatenate(batches)
            sizes = np.array([len(b) for b in batches])
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            A_b = np.add.reduceat(outer[order], starts, axis=0) / sizes[:, None, None]
            c_b = np.add.reduceat(cross[order], starts, axis=0) / sizes[:, None]
            m_b = np.add.reduceat(square[order], starts) / sizes
            pieces.append((A_b, c_b, m_b))
            for k in range(len(batches)):
                grad = 2.0 * (A_b[k] @ w - c_b[k])  # = 2/|B| X_B^T (X_B w - y_B)
                if not np.all(np.isfinite(grad)):
                    stopped = True
                    break
                w, state = opt.step(w, grad, state)
                if not np.all(np.isfinite(w)):
                    stopped = True
                    break
                positions.append(w)
            if stopped:
                break
            epoch_ends.append(len(positions) - 1)

        W = np.array(positions)
        losses = _quadratic_losses(W, A, c, m)
        finite = np.isfinite(losses)
        # the first update whose point (or the loss there) overflowed, if one did
        diverged_at = int(np.argmin(finite)) if not np.all(finite) else (len(W) if stopped else None)
        if diverged_at is not None:
            W, losses = W[:diverged_at], losses[:diverged_at]
            epoch_ends = [e for e in epoch_ends if e < diverged_at]
        updates = len(W) - 1
        A_b, c_b, m_b = (np.concatenate(p)[:updates] for p in zip(*pieces)) if pieces else (A, c, m)
        batch_losses = _quadratic_losses(W[:-1], A_b, c_b, m_b) if updates else np.zeros(0)
    per_epoch = n // batch_size if drop_last else -(-n // batch_size)
    return LinearRun(
        W, losses, batch_losses, np.array(epoch_ends), int(batch_size), per_epoch, float(lr), diverged_at
    )


def race_rows(runs: Mapping[Any, LinearRun], threshold: float = 1.0) -> dict[Any, dict[str, Any]]:
    """One row per run for a table that races them to a full-data loss below ``threshold``.

    ``runs`` maps a name to a :class:`LinearRun`; each row gives the run's learning rate,
    updates per epoch, updates and epochs until its loss first drops below ``threshold``
    (``None`` if it never does; see :meth:`LinearRun.first_below`) and its last loss.
    ``pandas.DataFrame.from_dict(race_rows(runs), orient="index")`` makes the table.

    >>> from gdlab import data
    >>> d = data.linear(n=40, weights=(1.0,), noise=0.0, seed=0)
    >>> row = race_rows({"B = 10": train_linear(d.X, d.y, 10, lr=0.1, epochs=5)}, 0.01)["B = 10"]
    >>> row["updates to loss < 0.01"], row["epochs to loss < 0.01"]
    (15, 3.75)
    """
    rows = {}
    for name, run in runs.items():
        if not isinstance(run, LinearRun):
            kind = type(run).__name__
            raise ValueError(f"runs must map names to LinearRun records, got a {kind} for {name!r}")
        updates, epochs = run.first_below(threshold)
        rows[name] = {
            "learning rate": run.lr,
            "updates per epoch": run.updates_per_epoch,
            f"updates to loss < {threshold:g}": updates,
            f"epochs to loss < {threshold:g}": epochs,
            "loss after the last epoch": float(run.losses[-1]),
        }
    return rows
