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

import base64
import math
from dataclasses import dataclass

import numpy as np

from . import data
from .curves import History, diagnose

__all__ = ["GRID", "Recording", "cubic_datasets", "record_grid", "snap", "train_cubic"]

# The grid the book records: the chapter's runs (1, 16 and 128 hidden units; 20, 200 and 400
# training points; Adam at 0.005, 0.02 and 0.3), every epoch up to 600, the longest run of the
# chapter. 27 runs of 600 epochs take about 18 s on one core; 1,000 epochs would take 30 s.
GRID = {"hidden": (1, 16, 128), "n_train": (20, 200, 400), "lr": (0.005, 0.02, 0.3), "epochs": 600}
EPOCH_STEP = 10  # the epoch control moves in tens: a diagnosis is recorded for each multiple
_CODES = {"good": "g", "overfitting": "o", "underfitting": "u", "oscillating": "s", "diverged": "d"}


def snap(value, choices):
    """The choice nearest to ``value`` on a log scale (the first of two equally near ones).

    >>> snap(50, (20, 200, 400)), snap(1000, (20, 200, 400))
    (20, 400)
    """
    if not choices:
        raise ValueError("choices must not be empty")
    if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
        raise ValueError(f"value must be a positive number, got {value!r}")
    return min(choices, key=lambda c: abs(math.log(value) - math.log(c)))


def run_key(i, j, k):
    """The payload's name for the run at position ``(i, j, k)`` of the hidden, n_train and lr axes."""
    return f"{i}/{j}/{k}"


def cubic_datasets(n_train, noise=0.1, seed=0):
    """The training and validation pairs ``(X, y)`` of the cubic, ``y`` of shape ``(n, 1)``.

    The tensors take torch's default dtype (float32 unless changed), as the model's weights do.
    """
    import torch

    def tensors(d):
        dtype = torch.get_default_dtype()
        return torch.as_tensor(d.X, dtype=dtype), torch.as_tensor(d.y, dtype=dtype).reshape(-1, 1)

    train = data.polynomial(n=int(n_train), noise=noise, seed=seed)
    val = data.polynomial(n=200, noise=noise, seed=seed + 1)
    return tensors(train), tensors(val)


def train_cubic(model, n_train, lr, epochs, noise=0.1, seed=0, callbacks=None):
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


def prefix(history, epochs):
    """The history of the same run stopped after ``epochs`` epochs (all of it if shorter)."""
    if epochs >= len(history):
        return history
    cut = {name: getattr(history, name)[:epochs] for name in ("train_loss", "lr", "grad_norm", "epoch_time")}
    val = None if history.val_loss is None else history.val_loss[:epochs]
    return History(**cut, val_loss=val, stopped_reason="completed")


def _pattern(history, baseline):
    if len(history) or history.stopped_reason == "non_finite":
        return diagnose(history, baseline=baseline).pattern
    return None


def _encode(values):
    array = np.asarray(values, dtype=np.float64)
    single = array.astype("<f4")
    if not np.array_equal(single.astype(np.float64), array, equal_nan=True):
        raise ValueError("a loss is not a float32 number: the recording would round it")
    return base64.b64encode(single.tobytes()).decode("ascii")


def _decode(text):
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float64).tolist()


@dataclass
class Recording:
    """The runs of a grid: ``runs[(hidden, n_train, lr)] = (history, baseline, parameters)``."""

    hidden: tuple
    n_train: tuple
    lr: tuple
    epochs: int
    runs: dict

    def run(self, hidden, n_train, lr):
        """The recorded run nearest to these settings: ``(settings, history, baseline, parameters)``."""
        key = (snap(hidden, self.hidden), snap(n_train, self.n_train), snap(lr, self.lr))
        return (key, *self.runs[key])

    def pattern(self, hidden, n_train, lr, epochs):
        """:func:`~gdlab.curves.diagnose`'s verdict on the nearest run stopped after ``epochs``."""
        _, history, baseline, _ = self.run(hidden, n_train, lr)
        return _pattern(prefix(history, epochs), baseline)

    def payload(self):
        """The grid as plain data for the browser: axes, and per run its losses and verdicts.

        ``patterns`` holds one letter per multiple of :data:`EPOCH_STEP` epochs up to
        ``epochs`` (``g``ood, ``o``verfitting, ``u``nderfitting, o``s``cillating,
        ``d``iverged): the verdict on the run stopped there. Runs are named by their
        position on the axes (:func:`run_key`).
        """
        runs = {}
        for (hidden, n_train, lr), (history, baseline, parameters) in self.runs.items():
            key = run_key(self.hidden.index(hidden), self.n_train.index(n_train), self.lr.index(lr))
            patterns = "".join(
                _CODES[_pattern(prefix(history, e), baseline)]
                for e in range(EPOCH_STEP, self.epochs + 1, EPOCH_STEP)
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
    build, hidden=GRID["hidden"], n_train=GRID["n_train"], lr=GRID["lr"], epochs=GRID["epochs"], seed=0
):
    """Train every combination for ``epochs`` epochs; ``build(hidden)`` makes a fresh model.

    Each model is built after ``torch.manual_seed(seed)``, as :class:`~gdlab.widgets.dashboard.
    LiveTraining` builds its own, so a recorded run equals the live run with the same settings.
    """
    import torch

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < EPOCH_STEP:
        raise ValueError(f"epochs must be an integer of at least {EPOCH_STEP}, got {epochs!r}")
    runs = {}
    for h in hidden:
        for n in n_train:
            for rate in lr:
                torch.manual_seed(seed)
                model = build(h)
                history, baseline = train_cubic(model, n, rate, epochs, seed=seed)
                parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
                runs[(h, n, rate)] = (history, baseline, parameters)
    return Recording(tuple(hidden), tuple(n_train), tuple(lr), epochs, runs)
