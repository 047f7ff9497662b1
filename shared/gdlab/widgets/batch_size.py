"""The batch-size explorer of chapter 04: the path of mini-batch SGD on a regression's loss contours.

It computes in the browser (``explorers.js``, kind ``batch_size``), so it responds in the
static book too. Python makes the data set (``data.linear``, rounded to 4 decimals so that
the page can carry it compactly) and hands it to the browser; both sides shuffle with the
same small generator, :func:`mulberry32`, and run the same updates in the same order, so
:meth:`BatchSizeExplorer.compute` returns exactly the run the page draws (a node test
checks it).

>>> from gdlab.widgets.batch_size import BatchSizeExplorer
>>> explorer = BatchSizeExplorer(batch_size=256, epochs=3)
>>> explorer.run.updates_per_epoch, len(explorer.run.losses)
(1, 4)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import traitlets

from .. import data
from ..minibatch import LinearRun
from ._render import BrowserExplorer

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["BatchSizeExplorer", "mulberry32", "permutation"]

_MASK = 0xFFFFFFFF


def mulberry32(seed: int) -> Callable[[], float]:
    """A tiny 32-bit generator (Tommy Ettinger's mulberry32), the same in Python and in the browser.

    Returns a function giving the next number in [0, 1), a multiple of 2**-32.

    >>> draw = mulberry32(0)
    >>> [round(draw(), 6) for _ in range(3)]
    [0.266429, 0.00033, 0.223272]
    """
    state = int(seed) & _MASK

    def draw() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & _MASK
        t = ((state ^ (state >> 15)) * (1 | state)) & _MASK
        t = ((t + (((t ^ (t >> 7)) * (61 | t)) & _MASK)) & _MASK) ^ t
        return ((t ^ (t >> 14)) & _MASK) / 4294967296

    return draw


def permutation(n: int, draw: Callable[[], float]) -> list[int]:
    """A shuffled ``range(n)`` by Fisher-Yates, with the numbers of ``draw``."""
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = int(draw() * (i + 1))
        order[i], order[j] = order[j], order[i]
    return order


def _batch_sizes(n: int) -> list[int]:
    """Powers of two below ``n``, then ``n`` itself (the full batch)."""
    sizes = [2**k for k in range(int(np.log2(n)) + 1) if 2**k < n]
    return [*sizes, n]


class BatchSizeExplorer(BrowserExplorer):
    """Mini-batch gradient descent on a two-feature linear regression, :math:`\\hat y = w_1 x_1 + w_2 x_2`.

    Left: the path of :math:`(w_1, w_2)` over the contours of the full-data loss, from
    :math:`(0, 0)` towards the least-squares weights (star). Right: the full-data loss
    above its minimum after every update, against epochs. Batch size ``n`` is batch
    gradient descent (smooth), 1 is plain SGD (noisy). The shuffling is seeded, so the same
    settings always draw the same path. Set the traits from code as a reader would move the
    sliders: ``explorer.batch_size = 1``.
    """

    KIND = "batch_size"
    URL_TRAITS = ("batch_size", "lr", "epochs", "seed")
    MAX_EPOCHS, MAX_SEED = 40, 20

    batch_size = traitlets.Int(16).tag(sync=True)
    epochs = traitlets.Int(10).tag(sync=True)
    seed = traitlets.Int(0).tag(sync=True)
    problem = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        batch_size: int = 16,
        lr: float = 0.05,
        epochs: int = 10,
        seed: int = 0,
        n: int = 256,
        weights: Sequence[float] = (2.0, -1.5),
        noise: float = 0.5,
    ) -> None:
        if len(weights) != 2:
            raise ValueError(
                f"the explorer draws two weights, so weights must hold 2 numbers, got {weights!r}"
            )
        made = data.linear(n=n, weights=weights, noise=noise, seed=1)
        X, y = np.round(made.X, 4), np.round(made.y, 4)
        self.data = made._replace(X=X, y=y)
        self.sizes = _batch_sizes(n)
        self.minimum = np.linalg.lstsq(X, y, rcond=None)[0]
        # The excess loss is (w - w*)^T A (w - w*): exact for least squares, and never below 0.
        self.A = X.T @ X / n
        self.min_loss = float(np.mean((X @ self.minimum - y) ** 2))
        problem = {
            "x1": X[:, 0].tolist(),
            "x2": X[:, 1].tolist(),
            "y": y.tolist(),
            "sizes": self.sizes,
            "minimum": self.minimum.tolist(),
            "A": self.A.tolist(),
            "min_loss": self.min_loss,
            "max_epochs": self.MAX_EPOCHS,
            "max_seed": self.MAX_SEED,
        }
        super().__init__(batch_size=batch_size, lr=lr, epochs=epochs, seed=seed, problem=problem)

    @traitlets.validate("batch_size")
    def _check_batch_size(self, proposal: dict[str, Any]) -> int:
        size: int = proposal["value"]
        sizes = _batch_sizes(len(self.problem["y"])) if self.problem else self.sizes
        if size not in sizes:
            raise ValueError(f"batch_size must be one of {sizes} (powers of two, then n), got {size!r}")
        return size

    @traitlets.validate("epochs")
    def _check_epochs(self, proposal: dict[str, Any]) -> int:
        epochs: int = proposal["value"]
        if not 1 <= epochs <= self.MAX_EPOCHS:
            raise ValueError(f"epochs must be between 1 and {self.MAX_EPOCHS}, got {epochs}")
        return epochs

    @traitlets.validate("seed")
    def _check_seed(self, proposal: dict[str, Any]) -> int:
        seed: int = proposal["value"]
        if not 0 <= seed <= self.MAX_SEED:
            raise ValueError(f"seed must be between 0 and {self.MAX_SEED}, got {seed}")
        return seed

    def compute(self) -> LinearRun:
        """The run for the current settings, update by update, as the browser computes it."""
        p = self.problem
        x1: list[float] = p["x1"]
        x2: list[float] = p["x2"]
        y: list[float] = p["y"]
        A: list[list[float]] = p["A"]
        minimum: list[float] = p["minimum"]
        (a11, a12), (_, a22) = A
        m1, m2 = minimum
        n, size, lr = len(y), self.batch_size, self.lr
        draw = mulberry32(self.seed)

        def excess_at(w1: float, w2: float) -> float:
            d1, d2 = w1 - m1, w2 - m2
            return a11 * d1 * d1 + 2 * a12 * d1 * d2 + a22 * d2 * d2

        w1 = w2 = 0.0
        positions, excess, epoch_ends = [(w1, w2)], [excess_at(w1, w2)], [0]
        batch_losses: list[float] = []
        diverged_at: int | None = None
        for _ in range(self.epochs):
            order = permutation(n, draw)
            for start in range(0, n, size):
                batch = order[start : start + size]
                g1 = g2 = total = 0.0
                for i in batch:
                    r = x1[i] * w1 + x2[i] * w2 - y[i]
                    g1 += x1[i] * r
                    g2 += x2[i] * r
                    total += r * r
                scale = 2 * lr / len(batch)
                w1, w2 = w1 - scale * g1, w2 - scale * g2
                e = excess_at(w1, w2)
                if not math.isfinite(e):
                    diverged_at = len(positions)
                    break
                positions.append((w1, w2))
                excess.append(e)
                batch_losses.append(total / len(batch))
            if diverged_at is not None:
                break
            epoch_ends.append(len(positions) - 1)
        return LinearRun(
            np.array(positions),
            p["min_loss"] + np.array(excess),
            np.array(batch_losses),
            np.array(epoch_ends),
            size,
            -(-n // size),
            float(lr),
            diverged_at,
        )

    @property
    def run(self) -> LinearRun:
        """The run the explorer shows (:class:`gdlab.minibatch.LinearRun`)."""
        return self.compute()

    @property
    def excess(self) -> NDArray[np.float64]:
        """The loss above its minimum after each update, as the right panel draws it."""
        run = self.run
        min_loss: float = self.problem["min_loss"]
        return run.losses - min_loss

    def last_epoch_jitter(self, run: LinearRun | None = None) -> float:
        """Standard deviation of the loss's update-to-update change over the last epoch."""
        run = self.run if run is None else run
        tail = run.losses[-(run.updates_per_epoch + 1) :]
        return float(np.std(np.diff(tail))) if len(tail) > 2 else 0.0
