r"""The training dashboard of chapter 06: live cards and a loss curve while :func:`~gdlab.training.fit` runs.

:class:`TrainingDashboard` is a callback for ``fit(..., callbacks=dashboard)``: after every
epoch it shows the training and validation loss, their change against the previous epoch,
the learning rate and the number of trainable parameters, and redraws the loss curves.
:class:`LiveTraining` is an explorer (an anywidget drawn by ``explorers.js``) with controls
for hidden units, training points, learning rate and epochs, a *Train* button, a progress bar
and the same cards, on a small regression task: in a kernel it trains live, and in the static
book it replays runs recorded when the book was built (:mod:`gdlab.recorded`). The change shown
on the cards is the relative change

.. math:: \Delta_k = \frac{L_k - L_{k-1}}{L_{k-1}}.

>>> from gdlab.curves import History
>>> relative_change([0.5, 0.25])
-0.5
>>> dashboard = TrainingDashboard(parameters=3)
>>> dashboard.update(History(train_loss=[0.5, 0.25], val_loss=[0.5, 0.375], lr=[0.1, 0.1]))
>>> dashboard.values["train_change"], dashboard.values["val_change"], dashboard.values["epoch"]
(-0.5, -0.25, 2)
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import numpy as np
import traitlets
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from ..curves import History, diagnose
from ..models import mlp
from ..plotting import PALETTE
from ..recorded import _decode, cubic_datasets, record_grid, run_key, snap, train_cubic
from ._render import png_html
from .live import _Explorer

if TYPE_CHECKING:
    import torch
    from numpy.typing import ArrayLike, NDArray

    from ..recorded import Pair, Recording

__all__ = [
    "ARTIFACTS",
    "LiveTraining",
    "TrainingDashboard",
    "card_values",
    "count_parameters",
    "relative_change",
    "replay_frame",
]

# The files :meth:`TrainingDashboard.save` writes: the history twice (table and record) and the figure.
ARTIFACTS = ("history.csv", "history.json", "loss_curves.png")
_CARDS = ("train", "val", "change", "lr", "parameters")


def count_parameters(model: torch.nn.Module) -> int:
    """The number of trainable parameters of a torch model (those with ``requires_grad``).

    >>> import torch
    >>> count_parameters(torch.nn.Linear(3, 1))  # 3 weights and a bias
    4
    """
    if not hasattr(model, "parameters"):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def relative_change(values: Sequence[float]) -> float | None:
    r"""The last value's change against the one before, :math:`(L_k - L_{k-1}) / L_{k-1}`.

    ``None`` when there is no previous value, or when either value is not a finite positive
    number (a change in per cent means nothing there).

    >>> relative_change([2.0, 1.5]), relative_change([1.0]), relative_change([0.0, 1.0])
    (-0.25, None, None)
    """
    if len(values) < 2:
        return None
    before, now = float(values[-2]), float(values[-1])
    if not (math.isfinite(before) and math.isfinite(now) and before > 0):
        return None
    return (now - before) / before


def card_values(history: History, parameters: int | None) -> dict[str, Any]:
    """The numbers the dashboard's cards show for ``history``'s last epoch, unrounded."""
    n = len(history)
    val = history.val_loss
    return {
        "epoch": n,
        "train_loss": history.train_loss[-1] if n else None,
        "val_loss": val[-1] if val and n else None,
        "train_change": relative_change(history.train_loss),
        "val_change": relative_change(val) if val else None,
        "lr": history.lr[-1] if n else None,
        "parameters": parameters,
        "best_epoch": history.best_epoch,
        "best_val_loss": val[history.best_epoch - 1] if val and history.best_epoch else None,
        "stopped_reason": history.stopped_reason,
    }


def _number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "–"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def _change_words(change: float | None) -> tuple[str, str]:
    """An arrow, the change in per cent, and what it means: colour is never the only cue."""
    if change is None:
        return "no previous epoch", "#555555"
    # Three significant digits, so a change of a millionth still shows as one (0.0001%).
    if change < 0:
        return f"↓ {100 * abs(change):.3g}% (falling)", "#006400"
    if change > 0:
        return f"↑ {100 * change:.3g}% (rising)", "#B22222"
    return "→ 0% (flat)", "#555555"


def _card(label: str, value: str, detail: str, colour: str = "#555555") -> str:
    return (
        f'<div role="group" aria-label="{html.escape(label)}" style="border:1px solid #bbb;'
        'border-radius:6px;padding:6px 10px;min-width:140px;line-height:1.35">'
        f'<div style="font-size:0.85em;color:#444">{html.escape(label)}</div>'
        f'<div style="font-size:1.35em;font-weight:bold">{value}</div>'
        f'<div style="font-size:0.85em;color:{colour}">{detail}</div></div>'
    )


class TrainingDashboard:
    """Cards and a live loss curve for a training run; call it with the history after each epoch.

    Use it as ``fit(model, ..., callbacks=dashboard)``, then call ``dashboard.update(history)``
    once more with the history ``fit`` returned, so the status line says how the run ended
    and the figure shows its last epoch. The cards show training loss, validation loss, their
    change against the previous epoch, the learning rate and the parameter count; ``values``
    holds the same numbers unrounded, after every epoch. What is shown (cards, status line and
    figure) is refreshed at most every ``interval`` seconds, or with ``redraw_every=k`` every
    ``k`` epochs, and always when the run ends: a redraw costs far more than an epoch of a
    small model, and each change of a widget is a message to the browser.
    """

    def __init__(
        self,
        model: torch.nn.Module | None = None,
        parameters: int | None = None,
        epochs: int | None = None,
        redraw_every: int | None = None,
        interval: float = 0.4,
        baseline: float | None = None,
        log: bool = True,
        title: str = "Training run",
    ) -> None:
        if model is not None and parameters is not None:
            raise ValueError("pass the model or its parameter count, not both")
        if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0):
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        if redraw_every is not None and (
            isinstance(redraw_every, bool) or not isinstance(redraw_every, int) or redraw_every <= 0
        ):
            raise ValueError(f"redraw_every must be a positive integer, got {redraw_every!r}")
        if not (isinstance(interval, (int, float)) and interval >= 0):
            raise ValueError(f"interval must be a number of seconds >= 0, got {interval!r}")
        self.interval = float(interval)
        self._last_redraw = -math.inf
        self.title = title
        self.log = bool(log)
        self.cards = {name: widgets.HTML() for name in _CARDS}
        self.status = widgets.HTML(layout=widgets.Layout(min_height="2.5em"))
        self.figure_view = widgets.HTML()
        self.values: dict[str, Any] = {}
        self.history: History | None = None
        self.redraws = 0
        self.rendered_epoch: int | None = None  # the epoch the cards and the figure show

        self._figure = Figure(figsize=(7.0, 2.8), dpi=80)
        # Fixed margins: a layout engine would re-measure every label on each redraw.
        self._figure.subplots_adjust(left=0.11, right=0.98, bottom=0.17, top=0.89)
        self._ax = self._figure.subplots()
        (self._train_line,) = self._ax.plot([], [], "-", color=PALETTE["train"], lw=1.8, label="training")
        (self._val_line,) = self._ax.plot(
            [], [], "-", color=PALETTE["validation"], lw=1.8, label="validation"
        )
        (self._best,) = self._ax.plot(
            [], [], "o", color=PALETTE["validation"], mec="black", ms=6, label="best validation"
        )
        self._ax.set_xlabel("epoch")
        self._ax.set_ylabel("loss (log scale)" if self.log else "loss")
        if self.log:
            self._ax.set_yscale("log")
            # Few major ticks, no minor ones, plain-text labels: mathtext labels are slow to lay out.
            self._ax.yaxis.set_major_locator(LogLocator(numticks=5))
            self._ax.yaxis.set_minor_locator(NullLocator())
            self._ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
        else:
            self._ax.yaxis.set_major_locator(MaxNLocator(5))
        self._ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        self._ax.legend(loc="upper right", fontsize=8)

        self.widget = widgets.VBox(
            [
                widgets.HTML(f"<b>{html.escape(title)}</b>"),
                widgets.HBox(
                    [self.cards[name] for name in _CARDS], layout=widgets.Layout(flex_flow="row wrap")
                ),
                self.status,
                self.figure_view,
            ]
        )
        self.redraw_every = redraw_every
        self.reset(model=model, parameters=parameters, epochs=epochs, baseline=baseline)

    def reset(
        self,
        model: torch.nn.Module | None = None,
        parameters: int | None = None,
        epochs: int | None = None,
        baseline: float | None = None,
    ) -> None:
        """Empty the cards and the curve for a new run (of ``model``, for ``epochs`` epochs).

        ``baseline`` is passed to :func:`~gdlab.curves.diagnose` for the verdict at the end: the
        loss of a model that has learnt nothing (for MSE, the variance of the targets).
        """
        if model is not None:
            parameters = count_parameters(model)
        self.parameters = parameters
        self.baseline = baseline
        self.epochs = epochs
        self._last_redraw = -math.inf
        self.values = {}
        self.history = None
        self.update(History(val_loss=[], stopped_reason="running"))

    def __call__(self, history: History) -> None:
        self.update(history)

    def update(self, history: History) -> None:
        """Record ``history``'s last epoch in ``values``; show it when a redraw is due or the run ended.

        The cards, the status line and the figure change together, at most every ``interval``
        seconds: a widget change is a message to the browser, and hundreds per second would
        flood it (Jupyter drops messages above its rate limit).
        """
        self.history = history
        n = len(history)
        finished = history.stopped_reason != "running"
        values = card_values(history, self.parameters)
        self.values = values
        if finished:
            self.values["diagnosis"] = self._diagnosis(history)
        if self.redraw_every is not None:
            due = n % self.redraw_every == 0
        else:
            due = time.perf_counter() - self._last_redraw >= self.interval
        if finished or n == 0 or due:
            self._fill_cards(history, values)
            self._fill_status(history, values, finished)
            self._redraw(history, values)

    def _diagnosis(self, history: History) -> str | None:
        if len(history) or history.stopped_reason == "non_finite":
            return diagnose(history, baseline=self.baseline).pattern
        return None

    def _fill_cards(self, history: History, v: dict[str, Any]) -> None:
        n = v["epoch"]
        of = f" of {self.epochs}" if self.epochs else ""
        self.cards["train"].value = _card("Training loss", _number(v["train_loss"]), f"epoch {n}{of}")
        if v["best_val_loss"] is not None:
            best = f"best {_number(v['best_val_loss'])} (epoch {v['best_epoch']})"
        else:
            best = "no validation data" if history.val_loss is None else "no epoch yet"
        self.cards["val"].value = _card("Validation loss", _number(v["val_loss"]), html.escape(best))
        train_words, train_colour = _change_words(v["train_change"])
        val_words, val_colour = _change_words(v["val_change"])
        self.cards["change"].value = _card(
            "Change vs previous epoch",
            f'<span style="font-size:0.75em;color:{train_colour}">training {train_words}</span>',
            f'<span style="color:{val_colour}">validation {val_words}</span>',
        )
        if n and len(history.lr) > 1 and history.lr[-1] != history.lr[0]:
            lr_detail = f"started at {_number(history.lr[0], 3)}"
        else:
            lr_detail = "constant so far" if n else "set by the optimizer"
        self.cards["lr"].value = _card("Learning rate", _number(v["lr"], 3), lr_detail)
        count = "–" if self.parameters is None else f"{self.parameters:,}"
        self.cards["parameters"].value = _card("Parameters", count, "trainable")

    def _fill_status(self, history: History, v: dict[str, Any], finished: bool) -> None:
        n = v["epoch"]
        if not finished:
            text = (
                f"Epoch {n}{f' of {self.epochs}' if self.epochs else ''}: training…"
                if n
                else "Waiting to start."
            )
        else:
            ends = {
                "completed": f"ran all {n} epochs",
                "early_stopping": f"stopped early after {n} epochs and restored epoch {v['best_epoch']}",
                "non_finite": f"stopped on a non-finite loss after {n} good epochs",
            }
            text = f"Finished: {ends[history.stopped_reason]}."
            if v.get("diagnosis"):
                text += f" Diagnosis: <b>{v['diagnosis']}</b>."
        self.status.value = f'<span role="status" aria-live="polite">{text}</span>'

    def _redraw(self, history: History, v: dict[str, Any]) -> None:
        n = len(history)
        epochs = np.arange(1, n + 1)

        def finite(values: ArrayLike) -> NDArray[np.float64]:
            values = np.asarray(values, dtype=np.float64)
            return np.where(np.isfinite(values), values, np.nan)

        train = finite(history.train_loss)
        val = finite(history.val_loss) if history.val_loss is not None else np.full(n, np.nan)
        self._train_line.set_data(epochs, train)
        self._val_line.set_data(epochs, val)
        best, best_value = v["best_epoch"], v["best_val_loss"]
        if best_value is not None:
            self._best.set_data([best], [best_value])
        else:
            self._best.set_data([], [])
        self._ax.set_xlim(0.5, max(self.epochs or 0, n, 2) + 0.5)
        shown = np.concatenate([train, val])
        shown = shown[np.isfinite(shown) & ((shown > 0) if self.log else True)]
        if shown.size:
            low, high = shown.min(), shown.max()
            if self.log:
                low, high = (low / 1.4, high * 1.4) if high > low else (low / 2, high * 2)
            else:
                pad = 0.08 * (high - low) if high > low else max(abs(high), 1.0) * 0.1
                low, high = low - pad, high + pad
            self._ax.set_ylim(low, high)
        self._ax.set_title(f"{self.title}: loss per epoch", fontsize=10)
        self.figure_view.value = png_html(self._figure, self.alt_text())
        self.redraws += 1
        self.rendered_epoch = n
        self._last_redraw = time.perf_counter()

    def alt_text(self) -> str:
        """What the figure shows, in words."""
        history, v = self.history, self.values
        if history is None or len(history) == 0:
            return "Empty axes for training and validation loss per epoch: no epoch has run yet."
        n = len(history)
        scale = "on a log scale" if self.log else ""
        text = (
            f"Training loss (blue) per epoch {scale} for epochs 1 to {n}"
            f"{f' of {self.epochs}' if self.epochs else ''}, from {_number(history.train_loss[0])} "
            f"to {_number(history.train_loss[-1])}"
        )
        if history.val_loss:
            text += (
                f"; validation loss (orange) from {_number(history.val_loss[0])} to "
                f"{_number(history.val_loss[-1])}, lowest {_number(v['best_val_loss'])} at epoch "
                f"{v['best_epoch']} (dot)"
            )
        return text + "."

    def save(self, folder: str | PathLike[str]) -> list[Path]:
        """Write the run's artifacts into ``folder`` (created if needed); return their paths.

        ``history.csv`` (one row per epoch, :meth:`History.to_csv`), ``history.json``
        (:meth:`History.to_json`) and ``loss_curves.png``, the figure as the dashboard shows it.
        """
        if self.history is None or len(self.history) == 0:
            raise ValueError("nothing to save: the dashboard has not seen an epoch yet")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        csv_path, json_path, png_path = (folder / name for name in ARTIFACTS)
        self.history.to_csv(csv_path)
        self.history.to_json(json_path)
        self._redraw(self.history, self.values)  # the picture of the last epoch, even between redraws
        self._figure.savefig(png_path, dpi=100)
        return [csv_path, json_path, png_path]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


# --- train live ----------------------------------------------------------------------------


def _mlp(hidden: int, depth: int = 2, seed: int | None = None) -> torch.nn.Sequential:
    """The explorer's network: ``depth`` tanh layers of ``hidden`` units between 1 and 1."""
    return mlp(1, *[hidden] * depth, 1, seed=seed)


class LiveTraining(_Explorer):
    r"""Train a small network on noisy samples of a cubic and watch the dashboard, epoch by epoch.

    The task and the loop are :mod:`gdlab.recorded`'s: :math:`y = 0.5 - x + 2x^3 + \varepsilon`,
    a 1 → hidden → hidden → 1 tanh network built after ``torch.manual_seed(seed)``, trained
    full-batch with Adam and the MSE loss by :func:`gdlab.training.fit`. Every setting is a
    synced trait (``hidden``, ``n_train``, ``lr``, ``epochs``): set it from Python and the view
    follows. In a kernel, *Train* (or :meth:`train`) trains a new model and the view follows
    each epoch through the ``run`` trait, refreshed at most every ``interval`` seconds.

    Without a kernel (the static book) the browser cannot train: :meth:`record` stores a grid
    of runs (:func:`gdlab.recorded.record_grid`) in the ``recorded`` trait, and there *Train*
    replays the recorded run nearest to the settings, epoch by epoch, with the diagnosis
    recorded for that many epochs; :meth:`frame` computes what that replay shows. With no
    recording and no kernel the page says that Train needs a kernel and disables it.
    """

    HIDDEN = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    LIMITS = {"n_train": (8, 400), "lr": (1e-4, 1.0), "epochs": (10, 1000)}

    hidden = traitlets.Int(16).tag(sync=True)
    n_train = traitlets.Int(200).tag(sync=True)
    epochs = traitlets.Int(150).tag(sync=True)
    url_traits = traitlets.List(traitlets.Unicode(), ["hidden", "n_train", "lr", "epochs"]).tag(sync=True)
    choices = traitlets.Dict().tag(sync=True)  # the controls' ranges, for the browser
    run = traitlets.Dict().tag(sync=True)  # the last run trained in this kernel, as far as it got
    recorded = traitlets.Dict().tag(sync=True)  # the grid the book replays (empty: none recorded)

    def __init__(
        self,
        hidden: int = 16,
        n_train: int = 200,
        lr: float = 0.02,
        epochs: int = 150,
        noise: float = 0.1,
        seed: int = 0,
        interval: float = 0.4,
        **kwargs: Any,
    ) -> None:
        super().__init__(hidden=hidden, n_train=n_train, lr=lr, epochs=epochs, **kwargs)
        self.set_trait("kind", "training")
        self.choices = {
            "hidden": list(self.HIDDEN),
            **{k: list(v) for k, v in self.LIMITS.items()},
            "palette": {"train": PALETTE["train"], "validation": PALETTE["validation"]},
        }
        self.noise, self.seed, self.interval = float(noise), int(seed), float(interval)
        self.model: torch.nn.Module | None = None
        self.history: History | None = None
        self.baseline: float | None = None
        self.seconds: float | None = None
        self.recording: Recording | None = None
        self.values: dict[str, Any] = {}
        self.on_msg(self._on_message)

    @traitlets.validate("hidden")
    def _check_hidden(self, proposal: dict[str, Any]) -> int:
        hidden: int = proposal["value"]
        if hidden not in self.HIDDEN:
            raise ValueError(f"hidden must be one of {self.HIDDEN}, got {hidden!r}")
        return hidden

    @traitlets.validate("n_train", "epochs")
    def _check_counts(self, proposal: dict[str, Any]) -> int:
        name: str = proposal["trait"].name
        value: int = proposal["value"]
        low, high = self.LIMITS[name]
        if not low <= value <= high:
            raise ValueError(f"{name} must be between {low} and {high}, got {value}")
        return value

    @traitlets.validate("lr")
    def _check_lr(self, proposal: dict[str, Any]) -> float:
        lr: float = super()._check_lr(proposal)
        low, high = self.LIMITS["lr"]
        if not low <= lr <= high:
            raise ValueError(f"Invalid learning rate: {lr} (this explorer takes {low} to {high})")
        return lr

    def _on_message(self, _widget: object, content: dict[str, Any], _buffers: object) -> None:
        if content.get("event") == "hello":  # the view asks whether a kernel is listening
            self.send({"event": "kernel"})
        elif content.get("event") == "train":
            self.train()

    def datasets(self) -> tuple[Pair, Pair]:
        """The training and validation pairs ``(X, y)`` for the current settings."""
        return cubic_datasets(self.n_train, noise=self.noise, seed=self.seed)

    def build(self) -> torch.nn.Sequential:
        """A fresh model for the current size, its weights seeded."""
        return _mlp(int(self.hidden), seed=self.seed)

    def train(self) -> History:
        """Train a new model with the current settings; ``run`` follows it epoch by epoch."""
        epochs, model = int(self.epochs), self.build()
        parameters = count_parameters(model)
        settings = [int(self.hidden), int(self.n_train), float(self.lr)]
        last = [-math.inf]

        def show(history: History, **extra: object) -> None:
            self.run = {
                "settings": settings,
                "epochs": epochs,
                "parameters": parameters,
                "train": list(history.train_loss),
                "val": list(history.val_loss or []),
                "stopped": history.stopped_reason,
                **extra,
            }
            last[0] = time.perf_counter()

        def follow(history: History) -> None:
            if time.perf_counter() - last[0] >= self.interval:
                show(history)

        show(History(val_loss=[], stopped_reason="running"))
        start = time.perf_counter()
        history, baseline = train_cubic(
            model, self.n_train, self.lr, epochs, noise=self.noise, seed=self.seed, callbacks=follow
        )
        self.seconds = time.perf_counter() - start
        self.model, self.history, self.baseline = model, history, baseline
        self.values = card_values(history, parameters)
        verdict = (
            diagnose(history, baseline=baseline)
            if len(history) or history.stopped_reason == "non_finite"
            else None
        )
        self.values["diagnosis"] = verdict.pattern if verdict else None
        show(
            history,
            seconds=self.seconds,
            diagnosis=self.values["diagnosis"],
            message=verdict.message if verdict else "",
        )
        return history

    def record(self, **grid: Any) -> Recording:
        """Record the grid of runs the static book replays; ``grid`` overrides the axes of
        :func:`~gdlab.recorded.record_grid`. Returns the :class:`~gdlab.recorded.Recording`."""
        self.recording = record_grid(_mlp, seed=self.seed, **grid)
        self.recorded = self.recording.payload()
        return self.recording

    def frame(self, epoch: int | None = None) -> dict[str, Any]:
        """What the page without a kernel shows for the current settings after ``epoch`` epochs of replay.

        The settings snap to the nearest recorded ones (on a log scale) and the epochs to the
        nearest multiple of the recorded step; ``epoch`` (default: the last) counts from 1.
        Returns the snapped settings, whether any moved, the losses so far, the card values
        and the recorded verdict once the replay has reached the end.
        """
        if not self.recorded:
            raise ValueError("nothing recorded: call record() first")
        return replay_frame(self.recorded, self.hidden, self.n_train, self.lr, self.epochs, epoch)


def replay_frame(
    recorded: dict[str, Any], hidden: int, n_train: int, lr: float, epochs: int, epoch: int | None = None
) -> dict[str, Any]:
    """:meth:`LiveTraining.frame` on a recorded payload: the computation the browser repeats."""
    snapped = [snap(hidden, recorded["hidden"]), snap(n_train, recorded["n_train"]), snap(lr, recorded["lr"])]
    step, longest = recorded["epoch_step"], recorded["epochs"]
    # Halves round up, as the browser's Math.round does.
    shown = min(max(step, math.floor(epochs / step + 0.5) * step), longest)
    position = [recorded[axis].index(value) for axis, value in zip(("hidden", "n_train", "lr"), snapped)]
    run = recorded["runs"][run_key(*position)]
    train, val = _decode(run["train"]), _decode(run["val"])
    ran = min(shown, len(train))  # a run stopped on a non-finite loss has fewer epochs
    epoch = ran if epoch is None else min(max(int(epoch), 0), ran)
    finished = epoch == ran
    stopped = "running" if not finished else ("non_finite" if ran < shown else "completed")
    history = History(
        train_loss=train[:epoch], val_loss=val[:epoch], lr=[snapped[2]] * epoch, stopped_reason=stopped
    )
    pattern = recorded["codes"][run["patterns"][shown // step - 1]] if finished else None
    return {
        "settings": snapped,
        "epochs": shown,
        "moved": snapped != [hidden, n_train, lr] or shown != epochs,
        "epoch": epoch,
        "train": history.train_loss,
        "val": history.val_loss,
        "values": card_values(history, run["parameters"]),
        "diagnosis": pattern,
    }
