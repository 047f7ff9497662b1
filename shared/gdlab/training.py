r"""Train a torch model and keep its loss curves: :func:`fit` runs the loop, :func:`evaluate` scores.

The loop is the one every chapter writes out once by hand: for each batch, ``zero_grad``,
forward, loss, ``backward``, (clip), ``step``. :func:`fit` adds what a careful run needs
around it: validation after every epoch, a learning-rate scheduler, gradient clipping,
early stopping that restores the best weights, a guard that stops on a NaN before it
spreads into every weight, and a :class:`~gdlab.curves.History` of each epoch.
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

import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from .curves import History

__all__ = ["History", "evaluate", "fit", "seeded"]


def _is_pair(data):
    # (X, y), not a list of two (X, y) batches
    return isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data[0], (tuple, list))


def _check_pair(data, name):
    X, y = data
    for part, label in ((X, "X"), (y, "y")):
        if not isinstance(part, torch.Tensor):
            raise ValueError(
                f"{name} must be a pair (X, y) of torch.Tensor, but {label} is a {type(part).__name__}; "
                "convert it with torch.as_tensor(..., dtype=torch.float32)"
            )
        if part.ndim == 0:
            raise ValueError(f"{name}: {label} must have a batch dimension, got a 0-d tensor")
    if len(X) != len(y):
        raise ValueError(f"{name}: X and y must have the same number of rows, got {len(X)} and {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty: X and y have no rows")


def _check_data(data, name, batch_size):
    """Return a function that yields the batches of one epoch."""
    if _is_pair(data):
        _check_pair(data, name)
        X, y = data
        n = len(X)

        def batches(shuffle):
            if batch_size is None or batch_size >= n:
                yield X, y
                return
            order = torch.randperm(n, device=X.device) if shuffle else torch.arange(n, device=X.device)
            for start in range(0, n, batch_size):
                index = order[start : start + batch_size]
                yield X[index], y[index]

        return batches
    if isinstance(data, torch.Tensor) or not hasattr(data, "__iter__"):
        raise ValueError(
            f"{name} must be a pair (X, y) of tensors or an iterable of (X, y) batches such as a "
            f"DataLoader, got {type(data).__name__}"
        )
    if batch_size is not None:
        raise ValueError(
            f"batch_size applies to (X, y) tensor pairs; {name} is a {type(data).__name__}, which "
            "makes its own batches: leave batch_size=None"
        )

    def loader_batches(shuffle):
        for batch in data:
            if not _is_pair(batch):
                raise ValueError(f"each batch of {name} must be a pair (X, y), got {type(batch).__name__}")
            _check_pair(batch, f"a batch of {name}")
            yield batch

    return loader_batches


def _check_positive_int(value, name, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _snapshot(model):
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def _show_progress(progress):
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


def evaluate(model, loss_fn, data, batch_size=None):
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
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with torch.no_grad():
            for X, y in batches(False):
                total += float(loss_fn(model(X), y)) * len(X)
                count += len(X)
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("data yielded no batches")
    return total / count


def fit(
    model,
    loss_fn,
    optimizer,
    train_data,
    val_data=None,
    epochs=10,
    batch_size=None,
    shuffle=True,
    scheduler=None,
    clip_grad_norm=None,
    early_stopping=None,
    nan_guard=True,
    progress=True,
    seed=None,
    callbacks=None,
):
    r"""Train ``model`` for ``epochs`` passes over ``train_data`` and return its :class:`History`.

    Data. ``train_data`` and ``val_data`` are ``(X, y)`` tensor pairs, cut into shuffled
    batches of ``batch_size`` rows (``None``: the whole set, one step per epoch), or any
    re-iterable of ``(X, y)`` batches such as a ``DataLoader`` (then ``batch_size`` must be
    ``None``). ``loss_fn(model(X), y)`` must return the batch's mean loss.

    Per epoch. The recorded training loss is the batch losses' size-weighted mean during
    the epoch; the validation loss is :func:`evaluate` after it; the learning rate is the
    first parameter group's during the epoch; the gradient norm is the mean over the batches
    of the global :math:`\lVert g\rVert_2` *before* clipping. ``clip_grad_norm`` rescales
    the gradient to at most that norm before each step (``torch.nn.utils.clip_grad_norm_``).

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
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be callable, e.g. torch.nn.functional.mse_loss, got {loss_fn!r}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    _check_positive_int(epochs, "epochs")
    _check_positive_int(batch_size, "batch_size", allow_none=True)
    _check_positive_int(early_stopping, "early_stopping (the patience in epochs)", allow_none=True)
    if clip_grad_norm is not None and not (
        isinstance(clip_grad_norm, (int, float))
        and not isinstance(clip_grad_norm, bool)
        and 0 < clip_grad_norm < math.inf
    ):
        raise ValueError(f"clip_grad_norm must be a positive finite number, got {clip_grad_norm!r}")
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        raise ValueError(f"scheduler must have a step() method, got {type(scheduler).__name__}")
    if callbacks is None:
        callbacks = []
    elif callable(callbacks):
        callbacks = [callbacks]
    callbacks = list(callbacks)
    if not all(callable(c) for c in callbacks):
        raise ValueError("callbacks must be a callable or a list of callables")
    train_batches = _check_data(train_data, "train_data", batch_size)
    val_batch_size = batch_size if _is_pair(val_data) else None  # a DataLoader batches itself
    if val_data is not None:
        _check_data(val_data, "val_data", val_batch_size)
    elif early_stopping is not None:
        raise ValueError("early_stopping watches the validation loss: pass val_data")
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    parameters = [p for p in model.parameters() if p.requires_grad]

    history = History(val_loss=None if val_data is None else [], stopped_reason="running")
    was_training = model.training
    last_good = _snapshot(model) if nan_guard else None
    best_state, best_loss, since_best = None, math.inf, 0
    bar = None
    if _show_progress(progress):
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc="training", unit="epoch")

    try:
        with seeded(seed):
            for epoch in range(1, epochs + 1):
                start = time.perf_counter()
                lr = optimizer.param_groups[0]["lr"]
                model.train()
                total, count, norms, problem = 0.0, 0, [], None
                for index, (X, y) in enumerate(train_batches(shuffle), start=1):
                    optimizer.zero_grad(set_to_none=True)
                    loss = loss_fn(model(X), y)
                    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
                        raise ValueError(
                            "loss_fn must return a scalar tensor (reduction='mean'), got "
                            + (f"shape {tuple(loss.shape)}" if isinstance(loss, torch.Tensor) else repr(loss))
                        )
                    value = loss.item()
                    if nan_guard and not math.isfinite(value):
                        problem = f"non-finite training loss ({value}) at epoch {epoch}, batch {index}"
                        break
                    loss.backward()
                    grads = [p.grad for p in parameters if p.grad is not None]
                    norm = torch.nn.utils.get_total_norm(grads)
                    if nan_guard and not math.isfinite(norm.item()):
                        problem = f"non-finite gradient norm ({norm.item()}) at epoch {epoch}, batch {index}"
                        break
                    if clip_grad_norm is not None:
                        torch.nn.utils.clip_grads_with_norm_(parameters, clip_grad_norm, norm)
                    optimizer.step()
                    total += value * len(X)
                    count += len(X)
                    norms.append(norm.item())
                if problem is None and count == 0:
                    raise ValueError("train_data yielded no batches")
                val_loss = None
                if problem is None and val_data is not None:
                    val_loss = evaluate(model, loss_fn, val_data, val_batch_size)
                    if nan_guard and not math.isfinite(val_loss):
                        problem = f"non-finite validation loss ({val_loss}) after epoch {epoch}"
                if problem is not None:
                    model.load_state_dict(last_good)
                    history.stopped_reason = "non_finite"
                    good = f"from the end of epoch {epoch - 1}" if epoch > 1 else "it had before training"
                    history.message = f"{problem}; restored the weights {good}"
                    break
                history.append(
                    total / count, val_loss, lr, sum(norms) / len(norms), time.perf_counter() - start
                )
                if nan_guard:
                    last_good = _snapshot(model)
                monitored = val_loss if val_data is not None else total / count
                if monitored < best_loss:
                    best_loss, since_best = monitored, 0
                    if early_stopping is not None:
                        best_state = _snapshot(model)
                else:
                    since_best += 1
                if plateau:
                    scheduler.step(monitored)
                elif scheduler is not None:
                    scheduler.step()
                if bar is not None:
                    postfix = {"train": f"{history.train_loss[-1]:.4g}"}
                    if val_loss is not None:
                        postfix["val"] = f"{val_loss:.4g}"
                    bar.set_postfix(postfix, refresh=False)
                    bar.update(1)
                for callback in callbacks:
                    callback(history)
                if early_stopping is not None and since_best >= early_stopping:
                    history.stopped_reason = "early_stopping"
                    history.message = (
                        f"no lower validation loss for {early_stopping} epochs after epoch "
                        f"{history.best_epoch}; stopped after epoch {epoch}"
                    )
                    break
            else:
                history.stopped_reason = "completed"
                history.message = f"ran all {epochs} epochs"
    finally:
        if bar is not None:
            bar.close()
        model.train(was_training)
    if early_stopping is not None and best_state is not None:
        model.load_state_dict(best_state)
        history.message += f"; restored the best weights (epoch {history.best_epoch})"
    return history
