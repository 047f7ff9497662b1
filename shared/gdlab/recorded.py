r"""Chapter 06's training runs: one run live, and a grid of runs recorded for the static book.

The task is the chapter's cubic, :math:`y = 0.5 - x + 2x^3 + \varepsilon` with
:math:`\varepsilon \sim \mathcal N(0, 0.1^2)` on :math:`[-1, 1]` (:func:`gdlab.data.polynomial`:
training points with seed 0, 200 validation points with seed 1), fitted full-batch with Adam
and the MSE loss by :func:`gdlab.training.fit`. :func:`train_cubic` runs one such fit;
:func:`record_grid` runs every combination of a few hidden sizes, training-set sizes and
learning rates for the longest number of epochs, so that a page without a kernel can replay
any of them. A run of ``E`` epochs is the first ``E`` epochs of a longer run with the same
settings (no schedule, no early stopping), so one run per combination serves every ``E``.

The payload (:meth:`Recording.payload`) stores each loss as a float32, base64-encoded: the
losses of a float32 model are float32 numbers, so nothing is lost (checked when recording).

>>> from gdlab.recorded import snap
>>> snap(0.03, (0.005, 0.02, 0.3))  # nearest on a log scale
0.02
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from . import data
from .curves import History, diagnose

if TYPE_CHECKING:  # torch loads when a run is trained, not when a recording is read
    import torch

    Pair = tuple[torch.Tensor, torch.Tensor]  # (X, y), y of shape (n, 1)
    Callback = Callable[[History], object]

__all__ = ["GRID", "Recording", "cubic_datasets", "record_grid", "snap", "train_cubic"]


# The grid the book records: the chapter's runs (1, 16 and 128 hidden units; 20, 200 and 400
# training points; Adam at 0.005, 0.02 and 0.3), every epoch up to 600, the longest run of the
# chapter. 27 runs of 600 epochs take about 18 s on one core; 1,000 epochs would take 30 s.
class _Grid(TypedDict):
    hidden: tuple[int, ...]
    n_train: tuple[int, ...]
    lr: tuple[float, ...]
    epochs: int


GRID: _Grid = {"hidden": (1, 16, 128), "n_train": (20, 200, 400), "lr": (0.005, 0.02, 0.3), "epochs": 600}
EPOCH_STEP = 10  # the epoch control moves in tens: a diagnosis is recorded for each multiple
_Number = TypeVar("_Number", int, float)
Settings = tuple[int, int, float]  # (hidden, n_train, lr)
_CODES = {"good": "g", "overfitting": "o", "underfitting": "u", "oscillating": "s", "diverged": "d"}


def snap(value: float, choices: Sequence[_Number]) -> _Number:
    """The choice nearest to ``value`` on a log scale (the first of two equally near ones).

    >>> snap(50, (20, 200, 400)), snap(1000, (20, 200, 400))
    (20, 400)
    """
    if not choices:
        raise ValueError("choices must not be empty")
    if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
        raise ValueError(f"value must be a positive number, got {value!r}")
    return min(choices, key=lambda c: abs(math.log(value) - math.log(c)))


def run_key(i: int, j: int, k: int) -> str:
    """The payload's name for the run at position ``(i, j, k)`` of the hidden, n_train and lr axes."""
    return f"{i}/{j}/{k}"


def cubic_datasets(n_train: int, noise: float = 0.1, seed: int = 0) -> tuple[Pair, Pair]:
    """The training and validation pairs ``(X, y)`` of the cubic, ``y`` of shape ``(n, 1)``.

    The tensors take torch's default dtype (float32 unless changed), as the model's weights do.
    """
    import torch

    def tensors(d: data.Regression) -> Pair:
        dtype = torch.get_default_dtype()
        return torch.as_tensor(d.X, dtype=dtype), torch.as_tensor(d.y, dtype=dtype).reshape(-1, 1)

    train = data.polynomial(n=int(n_train), noise=noise, seed=seed)
    val = data.polynomial(n=200, noise=noise, seed=seed + 1)
    return tensors(train), tensors(val)


def train_cubic(
    model: torch.nn.Module,
    n_train: int,
    lr: float,
    epochs: int,
    noise: float = 0.1,
    seed: int = 0,
    callbacks: Callback | Sequence[Callback] | None = None,
) -> tuple[History, float]:
    """Fit ``model`` to the cubic with Adam at ``lr`` for ``epochs``; return ``(history, baseline)``.

    ``baseline`` is the MSE of predicting the training targets' mean, the loss of a model that
    learnt nothing, which :func:`~gdlab.curves.diagnose` judges underfitting against.
    """
    import torch

    from .training import fit

    train, val = cubic_datasets(n_train, noise=noise, seed=seed)
    baseline = float(train[1].var(unbiased=False))
    optimizer = torch.optim.Adam(model.parameters(), lr=float(lr))
    history = fit(
        model,
        torch.nn.functional.mse_loss,
        optimizer,
        train,
        val,
        epochs=int(epochs),
        progress=False,
        seed=seed,
        callbacks=callbacks,
    )
    return history, baseline


def prefix(history: History, epochs: int) -> History:
    """The history of the same run stopped after ``epochs`` epochs (all of it if shorter)."""
    if epochs >= len(history):
        return history
    cut: dict[str, Any] = {
        name: getattr(history, name)[:epochs] for name in ("train_loss", "lr", "grad_norm", "epoch_time")
    }
    val = None if history.val_loss is None else history.val_loss[:epochs]
    return History(**cut, val_loss=val, stopped_reason="completed")


def _pattern(history: History, baseline: float) -> str | None:
    if len(history) or history.stopped_reason == "non_finite":
        return diagnose(history, baseline=baseline).pattern
    return None


def _code(history: History, baseline: float) -> str:
    """The payload's letter for :func:`~gdlab.curves.diagnose`'s verdict on ``history``."""
    pattern = _pattern(history, baseline)
    if pattern is None:
        raise ValueError("a recorded run must have at least one epoch to be diagnosed")
    return _CODES[pattern]


def _encode(values: ArrayLike) -> str:
    array = np.asarray(values, dtype=np.float64)
    single = array.astype("<f4")
    if not np.array_equal(single.astype(np.float64), array, equal_nan=True):
        raise ValueError("a loss is not a float32 number: the recording would round it")
    return base64.b64encode(single.tobytes()).decode("ascii")


def _decode(text: str) -> list[float]:
    values: list[float] = np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float64).tolist()
    return values


@dataclass
class Recording:
    """The runs of a grid: ``runs[(hidden, n_train, lr)] = (history, baseline, parameters)``."""

    hidden: tuple[int, ...]
    n_train: tuple[int, ...]
    lr: tuple[float, ...]
    epochs: int
    runs: dict[Settings, tuple[History, float, int]]

    def run(self, hidden: int, n_train: int, lr: float) -> tuple[Settings, History, float, int]:
        """The recorded run nearest to these settings: ``(settings, history, baseline, parameters)``."""
        key = (snap(hidden, self.hidden), snap(n_train, self.n_train), snap(lr, self.lr))
        return (key, *self.runs[key])

    def pattern(self, hidden: int, n_train: int, lr: float, epochs: int) -> str | None:
        """:func:`~gdlab.curves.diagnose`'s verdict on the nearest run stopped after ``epochs``."""
        _, history, baseline, _ = self.run(hidden, n_train, lr)
        return _pattern(prefix(history, epochs), baseline)

    def payload(self) -> dict[str, Any]:
        """The grid as plain data for the browser: axes, and per run its losses and verdicts.

        ``patterns`` holds one letter per multiple of :data:`EPOCH_STEP` epochs up to
        ``epochs`` (``g``ood, ``o``verfitting, ``u``nderfitting, o``s``cillating,
        ``d``iverged): the verdict on the run stopped there. Runs are named by their
        position on the axes (:func:`run_key`).
        """
        runs: dict[str, dict[str, Any]] = {}
        for (hidden, n_train, lr), (history, baseline, parameters) in self.runs.items():
            key = run_key(self.hidden.index(hidden), self.n_train.index(n_train), self.lr.index(lr))
            patterns = "".join(
                _code(prefix(history, e), baseline) for e in range(EPOCH_STEP, self.epochs + 1, EPOCH_STEP)
            )
            if history.val_loss is None:
                raise ValueError(
                    f"the run {(hidden, n_train, lr)} has no validation losses: the page draws both curves"
                )
            runs[key] = {
                "train": _encode(history.train_loss),
                "val": _encode(history.val_loss),
                "stopped": history.stopped_reason,
                "baseline": baseline,
                "parameters": parameters,
                "patterns": patterns,
            }
        return {
            "hidden": list(self.hidden),
            "n_train": list(self.n_train),
            "lr": list(self.lr),
            "epochs": self.epochs,
            "epoch_step": EPOCH_STEP,
            "codes": {code: name for name, code in _CODES.items()},
            "runs": runs,
        }


def record_grid(
    build: Callable[[int], torch.nn.Module],
    hidden: Sequence[int] = GRID["hidden"],
    n_train: Sequence[int] = GRID["n_train"],
    lr: Sequence[float] = GRID["lr"],
    epochs: int = GRID["epochs"],
    seed: int = 0,
) -> Recording:
    """Train every combination for ``epochs`` epochs; ``build(hidden)`` makes a fresh model.

    Each model is built after ``torch.manual_seed(seed)``, as :class:`~gdlab.widgets.dashboard.
    LiveTraining` builds its own, so a recorded run equals the live run with the same settings.
    """
    import torch

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < EPOCH_STEP:
        raise ValueError(f"epochs must be an integer of at least {EPOCH_STEP}, got {epochs!r}")
    runs: dict[Settings, tuple[History, float, int]] = {}
    for h in hidden:
        for n in n_train:
            for rate in lr:
                torch.manual_seed(seed)
                model = build(h)
                history, baseline = train_cubic(model, n, rate, epochs, seed=seed)
                parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
                runs[(h, n, rate)] = (history, baseline, parameters)
    return Recording(tuple(hidden), tuple(n_train), tuple(lr), epochs, runs)
