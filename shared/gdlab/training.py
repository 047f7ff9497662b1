r"""Train a torch model and keep its loss curves: :func:`fit` runs the loop, :func:`evaluate` scores.

The loop is the one every chapter writes out once by hand: for each batch, ``zero_grad``,
forward, loss, ``backward``, (clip), ``step``. :func:`train_epoch` is that loop for one pass
over the data. :func:`fit` repeats it and adds what a careful run needs around it: validation
after every epoch, a learning-rate scheduler, gradient clipping, early stopping that restores
the best weights, a guard that stops on a NaN before it spreads into every weight, and a
:class:`~gdlab.curves.History` of each epoch.
Each epoch takes the step :math:`\theta \leftarrow \theta - \text{optimizer}(\nabla_\theta L_B(\theta))`
once per batch :math:`B`.

>>> import torch
>>> from gdlab import training
>>> _ = torch.manual_seed(0)
>>> X = torch.linspace(-1, 1, 32).unsqueeze(1)
>>> y = 3 * X - 1
>>> model = torch.nn.Linear(1, 1)
>>> opt = torch.optim.SGD(model.parameters(), lr=0.5)
>>> history = training.fit(model, torch.nn.functional.mse_loss, opt, (X, y), epochs=50, progress=False)
>>> history.stopped_reason, history.train_loss[-1] < 1e-6
('completed', True)
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple, TypeAlias, TypeGuard

import torch
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from .curves import History

__all__ = ["EpochResult", "History", "evaluate", "fit", "seeded", "train_epoch"]

Batch: TypeAlias = tuple[torch.Tensor, torch.Tensor]
# An (X, y) pair of tensors, or a re-iterable of (X, y) batches such as a DataLoader.
Data: TypeAlias = Batch | Iterable[Batch]
LossFn: TypeAlias = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Callback: TypeAlias = Callable[[History], object]
Weights: TypeAlias = dict[str, torch.Tensor]


# --- checking the arguments ---


def _is_pair(data: object) -> TypeGuard[Sequence[object]]:
    # (X, y), not a list of two (X, y) batches
    return isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data[0], (tuple, list))


def _checked_tensor(part: object, label: str, name: str) -> torch.Tensor:
    if not isinstance(part, torch.Tensor):
        raise ValueError(
            f"{name} must be a pair (X, y) of torch.Tensor, but {label} is a {type(part).__name__}; "
            "convert it with torch.as_tensor(..., dtype=torch.float32)"
        )
    if part.ndim == 0:
        raise ValueError(f"{name}: {label} must have a batch dimension, got a 0-d tensor")
    return part


def _check_pair(data: Sequence[object], name: str) -> Batch:
    X, y = _checked_tensor(data[0], "X", name), _checked_tensor(data[1], "y", name)
    if len(X) != len(y):
        raise ValueError(f"{name}: X and y must have the same number of rows, got {len(X)} and {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty: X and y have no rows")
    return X, y


def _check_data(data: object, name: str, batch_size: int | None) -> Callable[[bool], Iterator[Batch]]:
    """Return a function that yields the batches of one epoch (shuffled or in order)."""
    if _is_pair(data):
        X, y = _check_pair(data, name)
        n = len(X)

        def batches(shuffle: bool) -> Iterator[Batch]:
            if batch_size is None or batch_size >= n:
                yield X, y
                return
            order = torch.randperm(n, device=X.device) if shuffle else torch.arange(n, device=X.device)
            for start in range(0, n, batch_size):
                index = order[start : start + batch_size]
                yield X[index], y[index]

        return batches
    if isinstance(data, torch.Tensor) or not isinstance(data, Iterable):
        raise ValueError(
            f"{name} must be a pair (X, y) of tensors or an iterable of (X, y) batches such as a "
            f"DataLoader, got {type(data).__name__}"
        )
    if batch_size is not None:
        raise ValueError(
            f"batch_size applies to (X, y) tensor pairs; {name} is a {type(data).__name__}, which "
            "makes its own batches: leave batch_size=None"
        )
    loader = data

    def loader_batches(shuffle: bool) -> Iterator[Batch]:
        for batch in loader:
            if not _is_pair(batch):
                raise ValueError(f"each batch of {name} must be a pair (X, y), got {type(batch).__name__}")
            yield _check_pair(batch, f"a batch of {name}")

    return loader_batches


def _check_positive_int(value: object, name: str, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_step_parts(model: object, loss_fn: object, optimizer: object, clip_grad_norm: object) -> None:
    """What one training step needs: a module, a loss function, an optimizer, a sensible clip."""
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be callable, e.g. torch.nn.functional.mse_loss, got {loss_fn!r}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if clip_grad_norm is not None and not (
        isinstance(clip_grad_norm, (int, float))
        and not isinstance(clip_grad_norm, bool)
        and 0 < clip_grad_norm < math.inf
    ):
        raise ValueError(f"clip_grad_norm must be a positive finite number, got {clip_grad_norm!r}")


def _check_fit_arguments(
    epochs: int,
    batch_size: int | None,
    early_stopping: int | None,
    scheduler: object,
    train_data: Data,
    val_data: Data | None,
) -> None:
    """The checks :func:`fit` adds to :func:`train_epoch`'s, before the first epoch starts."""
    _check_positive_int(epochs, "epochs")
    _check_positive_int(batch_size, "batch_size", allow_none=True)
    _check_positive_int(early_stopping, "early_stopping (the patience in epochs)", allow_none=True)
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        raise ValueError(f"scheduler must have a step() method, got {type(scheduler).__name__}")
    _check_data(train_data, "train_data", batch_size)
    if val_data is not None:
        _check_data(val_data, "val_data", batch_size if _is_pair(val_data) else None)
    elif early_stopping is not None:
        raise ValueError("early_stopping watches the validation loss: pass val_data")


def _callback_list(callbacks: Callback | Iterable[Callback] | None) -> list[Callback]:
    """``None``, one callable or a list of callables, as a list."""
    if callbacks is None:
        return []
    listed = [callbacks] if callable(callbacks) else list(callbacks)
    if not all(callable(c) for c in listed):
        raise ValueError("callbacks must be a callable or a list of callables")
    return listed


# --- the pieces of the loop ---


def _snapshot(model: torch.nn.Module) -> Weights:
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def _show_progress(progress: bool) -> bool:
    """A bar when asked and someone can see it; ``GDLAB_QUIET`` (set by the test suite) silences it."""
    if not progress:
        return False
    if os.environ.get("GDLAB_QUIET", "") not in ("", "0"):
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is not None and any(c.__name__ == "ZMQInteractiveShell" for c in type(shell).__mro__):
        return True  # a Jupyter kernel (Colab's shell is a subclass): tqdm.auto draws a widget
    return sys.stderr.isatty()


@contextmanager
def _progress_bar(progress: bool, epochs: int) -> Iterator[Callable[[float, float | None], None]]:
    """Yield ``advance(train_loss, val_loss)``, which moves a ``tqdm.auto`` bar on by one epoch
    when :func:`_show_progress` says someone can see it, and does nothing otherwise."""
    if not _show_progress(progress):
        yield lambda train_loss, val_loss: None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=epochs, desc="training", unit="epoch")

    def advance(train_loss: float, val_loss: float | None) -> None:
        postfix = {"train": f"{train_loss:.4g}"}
        if val_loss is not None:
            postfix["val"] = f"{val_loss:.4g}"
        bar.set_postfix(postfix, refresh=False)
        bar.update(1)

    try:
        yield advance
    finally:
        bar.close()


@contextmanager
def _mode_kept(model: torch.nn.Module) -> Iterator[None]:
    """Put the model back in the train/eval mode it had, however the block ends."""
    was_training = model.training
    try:
        yield
    finally:
        model.train(was_training)


@contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Run the block from ``torch.manual_seed(seed)`` and restore torch's global generator
    afterwards (``torch.random.fork_rng``); with ``seed=None``, leave the generator alone.

    >>> before = torch.random.get_rng_state()
    >>> with seeded(3):
    ...     first = torch.rand(1)
    >>> with seeded(3):
    ...     again = torch.rand(1)
    >>> bool(first == again), bool((torch.random.get_rng_state() == before).all())
    (True, True)
    """
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class _Step(NamedTuple):
    loss: float
    grad_norm: float
    problem: str | None  # the NaN guard's words when it stopped the step


def _step(
    model: torch.nn.Module,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    parameters: list[torch.nn.Parameter],
    batch: Batch,
    clip_grad_norm: float | None,
    nan_guard: bool,
) -> _Step:
    r"""One update on one batch: ``zero_grad``, forward, loss, ``backward``, norm, (clip), ``step``.

    The norm is the global :math:`\lVert g\rVert_2` before clipping. With ``nan_guard`` a
    non-finite loss stops before ``backward`` and a non-finite norm before ``step``: the
    weights do not move.
    """
    X, y = batch
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model(X), y)
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        raise ValueError(
            "loss_fn must return a scalar tensor (reduction='mean'), got "
            + (f"shape {tuple(loss.shape)}" if isinstance(loss, torch.Tensor) else repr(loss))
        )
    value = float(loss.item())
    if nan_guard and not math.isfinite(value):
        return _Step(value, math.nan, f"non-finite training loss ({value})")
    loss.backward()
    norm = torch.nn.utils.get_total_norm([p.grad for p in parameters if p.grad is not None])
    size = float(norm.item())
    if nan_guard and not math.isfinite(size):
        return _Step(value, size, f"non-finite gradient norm ({size})")
    if clip_grad_norm is not None:
        torch.nn.utils.clip_grads_with_norm_(parameters, clip_grad_norm, norm)
    optimizer.step()
    return _Step(value, size, None)


def _stop_on_non_finite(
    model: torch.nn.Module, last_good: Weights, history: History, problem: str, epoch: int
) -> None:
    """The NaN guard fired in ``epoch``: put back the weights from the end of the last good epoch
    (the starting weights when it fired in the first) and say so in ``history``."""
    model.load_state_dict(last_good)
    history.stopped_reason = "non_finite"
    good = f"from the end of epoch {epoch - 1}" if epoch > 1 else "it had before training"
    history.message = f"{problem}; restored the weights {good}"


class _EarlyStopping:
    """Watch the validation loss: the best so far, the epochs since, and the weights it came with."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best_loss = math.inf
        self.since_best = 0
        self.best_weights: Weights | None = None

    def update(self, loss: float, model: torch.nn.Module) -> None:
        """Record one epoch's validation loss; keep the weights when it is strictly the lowest."""
        if loss < self.best_loss:
            self.best_loss, self.since_best, self.best_weights = loss, 0, _snapshot(model)
        else:
            self.since_best += 1

    @property
    def out_of_patience(self) -> bool:
        return self.since_best >= self.patience

    def stop(self, history: History, epoch: int) -> None:
        history.stopped_reason = "early_stopping"
        history.message = (
            f"no lower validation loss for {self.patience} epochs after epoch "
            f"{history.best_epoch}; stopped after epoch {epoch}"
        )

    def restore_best(self, model: torch.nn.Module, history: History) -> None:
        """However the run ended, load the weights of the best epoch, if there was one."""
        if self.best_weights is not None:
            model.load_state_dict(self.best_weights)
            history.message += f"; restored the best weights (epoch {history.best_epoch})"


def _step_scheduler(scheduler: LRScheduler | ReduceLROnPlateau | None, monitored: float) -> None:
    """Once per epoch: ``ReduceLROnPlateau`` watches ``monitored``, any other scheduler just steps."""
    if isinstance(scheduler, ReduceLROnPlateau):
        scheduler.step(monitored)
    elif scheduler is not None:
        scheduler.step()


# --- the public functions ---


def evaluate(model: torch.nn.Module, loss_fn: LossFn, data: Data, batch_size: int | None = None) -> float:
    r"""Mean loss of ``model`` on ``data`` in eval mode without gradients.

    With a mean-reduced ``loss_fn`` this is :math:`\frac1n\sum_i \ell(f(x_i), y_i)` over all
    rows: batch losses are weighted by batch size. The model's train/eval mode is restored.

    >>> import torch
    >>> model = torch.nn.Linear(1, 1)
    >>> with torch.no_grad():
    ...     _ = model.weight.fill_(2.0), model.bias.fill_(0.0)
    >>> X = torch.tensor([[1.0], [2.0]], dtype=model.weight.dtype)
    >>> evaluate(model, torch.nn.functional.mse_loss, (X, 2 * X + 1))
    1.0
    """
    _check_positive_int(batch_size, "batch_size", allow_none=True)
    batches = _check_data(data, "data", batch_size)
    total, count = 0.0, 0
    with _mode_kept(model), torch.no_grad():
        model.eval()
        for X, y in batches(False):
            total += float(loss_fn(model(X), y)) * len(X)
            count += len(X)
    if count == 0:
        raise ValueError("data yielded no batches")
    return total / count


class EpochResult(NamedTuple):
    """What one :func:`train_epoch` saw: the size-weighted mean of its batch losses, the mean
    gradient norm before clipping, and, if the NaN guard ended the epoch, what it found and
    where (then the means are over the batches before it, NaN if there were none)."""

    train_loss: float
    grad_norm: float
    problem: str | None = None


def train_epoch(
    model: torch.nn.Module,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    train_data: Data,
    batch_size: int | None = None,
    shuffle: bool = True,
    clip_grad_norm: float | None = None,
    nan_guard: bool = True,
    epoch: int = 1,
) -> EpochResult:
    r"""One pass over ``train_data``: for each batch ``zero_grad``, forward, loss, ``backward``,
    (clip), ``step``; return the epoch's :class:`EpochResult`.

    ``train_data``, ``batch_size``, ``shuffle`` and ``clip_grad_norm`` mean what they mean in
    :func:`fit`. The model is put in train mode and left there. With ``nan_guard`` a
    non-finite batch loss or gradient norm ends the epoch at once, without that step, and
    ``problem`` says so, numbering the batch and ``epoch``.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> X, y = torch.randn(8, 2), torch.randn(8, 1)
    >>> model = torch.nn.Linear(2, 1)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> first = train_epoch(model, torch.nn.functional.mse_loss, opt, (X, y), batch_size=4)
    >>> second = train_epoch(model, torch.nn.functional.mse_loss, opt, (X, y), batch_size=4)
    >>> second.train_loss < first.train_loss, second.problem
    (True, None)
    """
    _check_step_parts(model, loss_fn, optimizer, clip_grad_norm)
    _check_positive_int(batch_size, "batch_size", allow_none=True)
    _check_positive_int(epoch, "epoch")
    batches = _check_data(train_data, "train_data", batch_size)
    parameters = [p for p in model.parameters() if p.requires_grad]
    model.train()
    total, count, norms = 0.0, 0, list[float]()
    for index, batch in enumerate(batches(shuffle), start=1):
        step = _step(model, loss_fn, optimizer, parameters, batch, clip_grad_norm, nan_guard)
        if step.problem is not None:
            loss, norm = (total / count, sum(norms) / len(norms)) if count else (math.nan, math.nan)
            return EpochResult(loss, norm, f"{step.problem} at epoch {epoch}, batch {index}")
        total += step.loss * len(batch[0])
        count += len(batch[0])
        norms.append(step.grad_norm)
    if count == 0:
        raise ValueError("train_data yielded no batches")
    return EpochResult(total / count, sum(norms) / len(norms))


def fit(
    model: torch.nn.Module,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    train_data: Data,
    val_data: Data | None = None,
    epochs: int = 10,
    batch_size: int | None = None,
    shuffle: bool = True,
    scheduler: LRScheduler | ReduceLROnPlateau | None = None,
    clip_grad_norm: float | None = None,
    early_stopping: int | None = None,
    nan_guard: bool = True,
    progress: bool = True,
    seed: int | None = None,
    callbacks: Callback | Iterable[Callback] | None = None,
) -> History:
    r"""Train ``model`` for ``epochs`` passes over ``train_data`` and return its :class:`History`.

    Data. ``train_data`` and ``val_data`` are ``(X, y)`` tensor pairs, cut into shuffled
    batches of ``batch_size`` rows (``None``: the whole set, one step per epoch), or any
    re-iterable of ``(X, y)`` batches such as a ``DataLoader`` (then ``batch_size`` must be
    ``None``). ``loss_fn(model(X), y)`` must return the batch's mean loss.

    Per epoch. The recorded training loss is the batch losses' size-weighted mean during
    the epoch (:func:`train_epoch`); the validation loss is :func:`evaluate` after it; the
    learning rate is the first parameter group's during the epoch; the gradient norm is the
    mean over the batches of the global :math:`\lVert g\rVert_2` *before* clipping.
    ``clip_grad_norm`` rescales the gradient to at most that norm before each step
    (``torch.nn.utils.clip_grad_norm_``).

    Scheduler. Stepped once per epoch, after validation: a ``ReduceLROnPlateau`` with the
    validation loss (the training loss without validation data), any other with
    ``scheduler.step()``. Per-batch schedules (``OneCycleLR``) are not supported.

    Stopping. ``early_stopping=p`` stops after ``p`` epochs without a strictly lower
    validation loss and, however the run ends, restores the weights of the best epoch.
    With ``nan_guard`` a non-finite training loss, gradient norm or validation loss stops the
    run at once and restores the weights from the end of the last good epoch (the model's
    starting weights if there is none); that epoch is not recorded and ``message`` says where
    it happened. The optimizer's state is not restored.

    Reproducibility. With ``seed``, the epoch shuffles and anything random inside the model
    (dropout) draw from torch's CPU generator seeded with ``seed`` inside
    ``torch.random.fork_rng``, so the global generator is left as it was. The weights were
    initialised when the model was built: call ``torch.manual_seed`` before building it.

    ``progress`` shows a ``tqdm.auto`` bar, except when output is not interactive or the
    environment variable ``GDLAB_QUIET`` is set (``tests/conftest.py`` sets it). Each of
    ``callbacks`` (one callable or a list) is called after every epoch with the history so far
    (``stopped_reason == "running"``). The model is left in the train/eval mode it came in.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> X, y = torch.randn(64, 3), torch.randn(64, 1)
    >>> model = torch.nn.Linear(3, 1)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> h = fit(model, torch.nn.functional.mse_loss, opt, (X[:48], y[:48]), (X[48:], y[48:]),
    ...         epochs=30, batch_size=16, early_stopping=3, progress=False, seed=0)
    >>> len(h.train_loss) == len(h.val_loss) == len(h.lr), h.stopped_reason in ("completed", "early_stopping")
    (True, True)
    """
    _check_step_parts(model, loss_fn, optimizer, clip_grad_norm)
    _check_fit_arguments(epochs, batch_size, early_stopping, scheduler, train_data, val_data)
    callbacks = _callback_list(callbacks)
    val_batch_size = batch_size if _is_pair(val_data) else None  # a DataLoader batches itself
    history = History(val_loss=None if val_data is None else [], stopped_reason="running")
    stopper = None if early_stopping is None else _EarlyStopping(early_stopping)
    last_good = _snapshot(model) if nan_guard else {}  # only read when the guard is on
    with _progress_bar(progress, epochs) as advance, _mode_kept(model), seeded(seed):
        for epoch in range(1, epochs + 1):
            start, lr = time.perf_counter(), optimizer.param_groups[0]["lr"]
            result = train_epoch(
                model, loss_fn, optimizer, train_data, batch_size, shuffle, clip_grad_norm, nan_guard, epoch
            )
            problem, val_loss = result.problem, None
            if problem is None and val_data is not None:
                val_loss = evaluate(model, loss_fn, val_data, val_batch_size)
                if nan_guard and not math.isfinite(val_loss):
                    problem = f"non-finite validation loss ({val_loss}) after epoch {epoch}"
            if problem is not None:
                _stop_on_non_finite(model, last_good, history, problem, epoch)
                break
            history.append(result.train_loss, val_loss, lr, result.grad_norm, time.perf_counter() - start)
            if nan_guard:
                last_good = _snapshot(model)
            monitored = val_loss if val_loss is not None else result.train_loss
            if stopper is not None:
                stopper.update(monitored, model)
            _step_scheduler(scheduler, monitored)
            advance(result.train_loss, val_loss)
            for callback in callbacks:
                callback(history)
            if stopper is not None and stopper.out_of_patience:
                stopper.stop(history, epoch)
                break
        else:
            history.stopped_reason = "completed"
            history.message = f"ran all {epochs} epochs"
    if stopper is not None:
        stopper.restore_best(model, history)
    return history
