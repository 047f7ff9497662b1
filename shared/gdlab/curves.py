r"""Loss curves: the record of a training run, saved and read back, and diagnosed.

:class:`History` is what :func:`gdlab.training.fit` returns: one entry per epoch for the
training loss, the validation loss, the learning rate, the gradient norm and the time. It
needs no torch, so a saved run can be read and diagnosed anywhere;
:func:`gdlab.plotting.plot_history` (or :meth:`History.plot`) draws it.
:func:`diagnose` names the pattern a history shows (good, overfitting, underfitting,
oscillating, diverged) and gives the numbers behind the verdict.

>>> h = History(train_loss=[1.0, 0.5, 0.3, 0.25, 0.24, 0.24], val_loss=[1.1, 0.6, 0.4, 0.5, 0.6, 0.7])
>>> d = diagnose(h)
>>> d.pattern, d.evidence["best_epoch"]
('overfitting', 3)
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Self

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # Matplotlib loads only when a figure is drawn
    from matplotlib.axes import Axes

__all__ = ["STOPPED_REASONS", "Diagnosis", "History", "PATTERNS", "diagnose"]

STOPPED_REASONS = ("running", "completed", "early_stopping", "non_finite")
PATTERNS = ("good", "overfitting", "underfitting", "oscillating", "diverged")
_FORMAT = "gdlab.History"
_COLUMNS = ("train_loss", "val_loss", "lr", "grad_norm", "epoch_time")

StrPath = str | PathLike[str]


@dataclass
class History:
    r"""Per-epoch record of a training run (epochs count from 1).

    ``train_loss[k]`` is the mean of the batch losses during epoch ``k + 1`` (the weights move
    during the epoch), ``val_loss[k]`` the validation loss after it (``val_loss`` is ``None``
    when the run had no validation data), ``lr[k]`` the learning rate the epoch used (first
    parameter group), ``grad_norm[k]`` the mean over the epoch's batches of the global
    :math:`\lVert g \rVert_2` before clipping, ``epoch_time[k]`` the seconds the epoch took
    (training plus validation, callbacks excluded). ``stopped_reason`` is one of
    :data:`STOPPED_REASONS` (``"running"`` while :func:`~gdlab.training.fit` is still
    going); ``best_epoch`` is the epoch of the lowest validation loss (training loss without
    validation data); ``message`` says in words why the run stopped.

    >>> h = History(train_loss=[0.5, 0.25], lr=[0.1, 0.1], grad_norm=[2.0, 1.0], epoch_time=[0.01, 0.01])
    >>> h.epochs, h.best_epoch
    ([1, 2], 2)
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] | None = None
    lr: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    stopped_reason: str = "completed"
    best_epoch: int | None = None
    message: str = ""

    def __post_init__(self) -> None:
        n = len(self.train_loss)
        for name in ("lr", "grad_norm", "epoch_time"):
            if not getattr(self, name):
                setattr(self, name, [math.nan] * n)
        for name in _COLUMNS:
            values = getattr(self, name)
            if values is None and name == "val_loss":
                continue
            values = [float(v) for v in values]
            if len(values) != n:
                raise ValueError(f"History.{name} has {len(values)} entries, train_loss has {n}")
            setattr(self, name, values)
        if self.stopped_reason not in STOPPED_REASONS:
            raise ValueError(f"stopped_reason must be one of {STOPPED_REASONS}, got {self.stopped_reason!r}")
        if self.best_epoch is None:
            self.best_epoch = _best_epoch(self.val_loss if self.val_loss is not None else self.train_loss)
        elif not 1 <= self.best_epoch <= n:
            raise ValueError(f"best_epoch must be between 1 and {n}, got {self.best_epoch}")

    def __len__(self) -> int:
        return len(self.train_loss)

    @property
    def epochs(self) -> list[int]:
        """The epoch numbers ``[1, 2, ..., len(self)]``."""
        return list(range(1, len(self) + 1))

    def append(
        self, train_loss: float, val_loss: float | None, lr: float, grad_norm: float, epoch_time: float
    ) -> None:
        """Record one more epoch and update ``best_epoch``."""
        if self.val_loss is not None and val_loss is None:
            raise ValueError(
                "this history records a validation loss every epoch, got val_loss=None; "
                "pass the epoch's validation loss (or start a History with val_loss=None)"
            )
        self.train_loss.append(float(train_loss))
        if self.val_loss is not None and val_loss is not None:
            self.val_loss.append(float(val_loss))
        self.lr.append(float(lr))
        self.grad_norm.append(float(grad_norm))
        self.epoch_time.append(float(epoch_time))
        self.best_epoch = _best_epoch(self.val_loss if self.val_loss is not None else self.train_loss)

    # --- saving and reading back: every float is written with repr, so it comes back exact ---

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of lists (the JSON layout)."""
        record: dict[str, Any] = {"format": _FORMAT, "version": 1, "epoch": self.epochs}
        for name in _COLUMNS:
            values = getattr(self, name)
            record[name] = None if values is None else list(values)
        record.update(stopped_reason=self.stopped_reason, best_epoch=self.best_epoch, message=self.message)
        return record

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Self:
        if record.get("format") != _FORMAT:
            raise ValueError(f"not a saved History: the 'format' field is {record.get('format')!r}")
        return cls(**{k: record[k] for k in (*_COLUMNS, "stopped_reason", "best_epoch", "message")})

    def to_json(self, path: StrPath) -> None:
        """Write the history as JSON (non-finite losses as ``NaN``/``Infinity``, as Python's json does)."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def from_json(cls, path: StrPath) -> Self:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def to_csv(self, path: StrPath) -> None:
        """Write one row per epoch; the first line, ``# gdlab.History {...}``, keeps how the run stopped.

        ``pandas.read_csv(path, comment="#")`` reads the table; the ``val_loss`` column is left
        out when the run had no validation data.
        """
        columns = [c for c in _COLUMNS if getattr(self, c) is not None]
        meta = {"stopped_reason": self.stopped_reason, "best_epoch": self.best_epoch, "message": self.message}
        with open(path, "w", newline="") as file:
            file.write(f"# {_FORMAT} {json.dumps(meta)}\n")
            writer = csv.writer(file)
            writer.writerow(["epoch", *columns])
            for k in range(len(self)):
                writer.writerow([k + 1, *(repr(getattr(self, c)[k]) for c in columns)])

    @classmethod
    def from_csv(cls, path: StrPath) -> Self:
        with open(path, newline="") as file:
            first = file.readline()
            if not first.startswith(f"# {_FORMAT} "):
                raise ValueError(f"{path} is not a History written by History.to_csv (no '# {_FORMAT}' line)")
            meta = json.loads(first[len(f"# {_FORMAT} ") :])
            reader = csv.DictReader(file)
            rows = list(reader)
            header = reader.fieldnames or []
        columns: dict[str, Any] = {
            c: [float(row[c]) for row in rows] if c in header else None for c in _COLUMNS
        }
        return cls(**columns, **meta)

    def plot(self, ax: Axes | None = None, title: str | None = None, log: bool = False) -> Axes:
        """Draw training and validation loss per epoch (see :func:`gdlab.plotting.plot_history`)."""
        from .plotting import plot_history  # Matplotlib loads only when a figure is drawn

        return plot_history(self, ax=ax, title=title, log=log)


def _best_epoch(losses: Sequence[float] | None) -> int | None:
    if losses is None or not len(losses):
        return None
    values = np.asarray(losses, dtype=np.float64)
    if not np.isfinite(values).any():
        return None
    return int(np.nanargmin(np.where(np.isfinite(values), values, np.nan))) + 1


class Diagnosis(NamedTuple):
    """What :func:`diagnose` concluded: a pattern from :data:`PATTERNS`, the numbers, a sentence."""

    pattern: str
    evidence: dict[str, Any]  # numbers, flags and the stopped reason, by name
    message: str


def _slope(values: NDArray[np.float64]) -> float:
    """Least-squares slope per epoch."""
    x = np.arange(len(values), dtype=np.float64)
    if len(values) < 2:
        return 0.0
    return float(np.polyfit(x, values, 1)[0])


def diagnose(
    history: History,
    baseline: float | None = None,
    last: float = 1 / 3,
    oscillation: float = 0.05,
    rise: float = 0.1,
    gap: float = 1.0,
    high: float = 0.2,
    blowup: float = 10.0,
) -> Diagnosis:
    r"""Name the pattern a loss history shows, with the evidence.

    The *last part* is the last ``last`` fraction of the epochs (at least 3 epochs, or all of
    them if there are fewer). The checks run in this order, the first that fires wins:

    1. **diverged**: the run stopped on a non-finite loss (``stopped_reason == "non_finite"``),
       a recorded loss is NaN or infinite, or the final training loss is more than ``blowup``
       (10) times the first epoch's.
    2. **oscillating**: ``spread`` > ``oscillation`` (0.05), where ``spread`` is the standard
       deviation of the training loss about its least-squares line over the last part,
       relative to its mean there: a smooth decrease has a spread near 0, a loss bouncing by
       ±10 % has about 0.07.
    3. **overfitting** (needs validation losses): the final validation loss is more than
       ``rise`` (10 %) above its minimum (``val_rise``) *while the training loss kept falling*
       (it ended below its value at the best validation epoch), or ``gap`` =
       :math:`(L_\text{val} - L_\text{train}) / L_\text{train}` at the last epoch exceeds
       ``gap`` (1.0: validation loss more than twice the training loss) and the two differ by
       more than 1 % of ``baseline`` (so two tiny losses, 1e-6 and 3e-6, are not a gap).
    4. **underfitting**: the final training loss is above ``high`` (0.2) times ``baseline``,
       the loss of a model that has learnt nothing (the variance of the targets for MSE,
       :math:`\ln 2` for balanced binary cross-entropy); by default the first epoch's
       training loss stands in for it.
    5. otherwise **good**.

    ``evidence`` holds ``gap``, ``val_rise``, ``train_fell_since_best``, ``trend`` (least-squares slope of the
    validation loss over the last part per epoch, relative to its mean there; of the training
    loss without validation), ``spread``, ``train_ratio`` (final training loss / baseline),
    ``best_epoch`` and ``epochs``. The thresholds are rules of thumb for curves recorded once
    per epoch: pass your own where your problem needs them.

    >>> train = [0.7, 0.5, 0.45, 0.44, 0.44, 0.44]
    >>> val = [0.7, 0.5, 0.46, 0.45, 0.45, 0.45]
    >>> diagnose(History(train_loss=train, val_loss=val)).pattern
    'underfitting'
    """
    n = len(history)
    train = np.asarray(history.train_loss, dtype=np.float64)
    val = None if history.val_loss is None else np.asarray(history.val_loss, dtype=np.float64)
    evidence: dict[str, Any] = {
        "epochs": n,
        "best_epoch": history.best_epoch,
        "stopped_reason": history.stopped_reason,
    }

    non_finite = not np.isfinite(train).all() or (val is not None and not np.isfinite(val).all())
    if history.stopped_reason == "non_finite" or non_finite:
        where = history.message or "a loss became NaN or infinite"
        return Diagnosis(
            "diverged",
            evidence,
            f"Training diverged: {where}. The steps grew instead of shrinking; lower the learning "
            "rate (by 10x), clip the gradient norm, and check the inputs for extreme values.",
        )
    if n == 0:
        raise ValueError("the history has no epochs to diagnose")
    start = train[0]
    if baseline is None:
        baseline = start
    if not baseline > 0:
        raise ValueError(f"baseline must be a positive loss, got {baseline}")
    if train[-1] > blowup * start:
        evidence["blowup"] = float(train[-1] / start)
        return Diagnosis(
            "diverged",
            evidence,
            f"Training diverged: the training loss ended {train[-1] / start:.3g} times higher than "
            "in the first epoch. Lower the learning rate and clip the gradient norm.",
        )

    k = n if n < 3 else max(3, int(math.ceil(last * n)))
    tail = train[-k:]
    x = np.arange(k, dtype=np.float64)
    if k >= 2:
        line = np.polyval(np.polyfit(x, tail, 1), x)
        spread = float(np.std(tail - line) / np.mean(tail))
    else:
        spread = 0.0
    monitored = val if val is not None else train
    trend = _slope(monitored[-k:]) / float(np.mean(monitored[-k:]))
    train_ratio = float(train[-1] / baseline)
    evidence.update(spread=spread, trend=trend, train_ratio=train_ratio)
    if val is not None:
        evidence["gap"] = float((val[-1] - train[-1]) / train[-1])
        evidence["val_rise"] = float((val[-1] - val.min()) / val.min())
        best = int(np.argmin(val))
        evidence["train_fell_since_best"] = bool(train[-1] < train[best])

    if spread > oscillation:
        return Diagnosis(
            "oscillating",
            evidence,
            f"The training loss bounces: over the last {k} epochs it scatters by {spread:.0%} of its "
            "level around its trend. The steps overshoot; lower the learning rate (by 2-10x) or the "
            "momentum, or use a larger batch.",
        )
    if val is not None and (
        (evidence["val_rise"] > rise and evidence["train_fell_since_best"])
        or (evidence["gap"] > gap and val[-1] - train[-1] > 0.01 * baseline)
    ):
        return Diagnosis(
            "overfitting",
            evidence,
            f"Overfitting: the validation loss ended {evidence['val_rise']:.0%} above its best (epoch "
            f"{history.best_epoch}) and {evidence['gap']:.0%} above the training loss. The model "
            "learns the training points, not the rule; stop early, add weight decay or dropout, use "
            "a smaller model or more data.",
        )
    if train_ratio > high:
        return Diagnosis(
            "underfitting",
            evidence,
            f"Underfitting: the training loss is still {train_ratio:.0%} of the baseline. The model "
            "cannot (yet) represent the data; train longer if it is still falling, otherwise use a "
            "bigger model or better features.",
        )
    return Diagnosis(
        "good",
        evidence,
        f"A good fit: the training loss fell to {train_ratio:.1%} of the baseline, smoothly, and the "
        "validation loss follows it without rising.",
    )
