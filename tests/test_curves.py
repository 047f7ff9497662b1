"""gdlab.curves.diagnose names the pattern of REAL training runs, one small torch run per pattern."""

from functools import cache

import matplotlib.colors
import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F

from gdlab import data
from gdlab.curves import PATTERNS, History, diagnose
from gdlab.models import mlp
from gdlab.plotting import PALETTE, plot_history
from gdlab.training import fit

# Small torch models in float32 on one thread (the fixture lives in conftest.py).
pytestmark = pytest.mark.usefixtures("small_torch")


def tensors(X, y):
    return torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32).reshape(-1, 1)


def moons(n=400, noise=0.1):
    train, val = data.moons(n=n, noise=noise, seed=0), data.moons(n=n, noise=noise, seed=1)
    return tensors(train.X, train.y), tensors(val.X, val.y)


def linear(noise=0.5):
    train, val = data.linear(n=200, noise=noise, seed=0), data.linear(n=200, noise=noise, seed=1)
    return tensors(train.X, train.y), tensors(val.X, val.y)


def polynomial():
    train, val = data.polynomial(n=15, noise=0.3, seed=0), data.polynomial(n=200, noise=0.3, seed=1)
    return tensors(train.X, train.y), tensors(val.X, val.y)


def run(build, loss, make_optimizer, sets, **kwargs):
    torch.manual_seed(0)
    model = build()
    train, val = sets
    return fit(model, loss, make_optimizer(model.parameters()), train, val, progress=False, seed=0, **kwargs)


bce = F.binary_cross_entropy_with_logits

# Each run is a recipe for one pattern; together they take about two seconds on one core.
RUNS = {
    # A 16-unit MLP learns the moons: low loss, validation right behind training.
    "good": lambda: run(
        lambda: mlp(2, 16, 1), bce, lambda p: torch.optim.Adam(p, lr=0.02), moons(), epochs=150
    ),
    # A straight line cannot separate two interleaving half circles: stuck at ~0.3 of ln 2.
    "underfitting": lambda: run(
        lambda: torch.nn.Linear(2, 1),
        bce,
        lambda p: torch.optim.Adam(p, lr=0.05),
        moons(noise=0.2),
        epochs=200,
    ),
    # 16,000 weights on 15 noisy points: training loss keeps falling, validation turns up.
    "overfitting": lambda: run(
        lambda: mlp(1, 128, 128, 1),
        F.mse_loss,
        lambda p: torch.optim.Adam(p, lr=0.005),
        polynomial(),
        epochs=600,
    ),
    # Momentum 0.9 and a rate 10x too high on mini-batches: the loss jumps around, finite.
    "oscillating": lambda: run(
        lambda: torch.nn.Linear(3, 1),
        F.mse_loss,
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
        linear(),
        epochs=60,
        batch_size=10,
    ),
    # Ten times more again: the weights overflow within a few epochs; the NaN guard stops it.
    "diverged": lambda: run(
        lambda: torch.nn.Linear(3, 1),
        F.mse_loss,
        lambda p: torch.optim.SGD(p, lr=1.0, momentum=0.9),
        linear(),
        epochs=60,
        batch_size=10,
    ),
}


@cache
def history(pattern):
    """Each run once per session (the tests only read the histories)."""
    return RUNS[pattern]()  # under small_model_defaults: float32, one thread


@pytest.mark.parametrize("pattern", list(RUNS))
def test_diagnose_names_the_pattern_of_a_real_run(pattern):
    history_ = history(pattern)
    diagnosis = diagnose(history_)
    assert diagnosis.pattern == pattern, (diagnosis, history_.message)
    assert diagnosis.pattern in PATTERNS and diagnosis.message
    assert diagnosis.evidence["best_epoch"] == history_.best_epoch
    if pattern == "diverged":
        assert history_.stopped_reason == "non_finite" and len(history_) < 60
    else:
        assert history_.stopped_reason == "completed"
        assert set(diagnosis.evidence) >= {"gap", "trend", "spread", "val_rise", "train_ratio"}


def test_the_evidence_is_what_the_thresholds_say():
    good = diagnose(history("good"))
    over = diagnose(history("overfitting"))
    assert over.evidence["gap"] > 1.0 > 0.1 > good.evidence["gap"]
    assert over.evidence["val_rise"] > 0.1 and good.evidence["val_rise"] < 0.1
    assert good.evidence["spread"] < 0.05 < diagnose(history("oscillating")).evidence["spread"]
    assert good.evidence["train_ratio"] < 0.2 < diagnose(history("underfitting")).evidence["train_ratio"]


def test_a_known_baseline_replaces_the_first_epochs_loss():
    h = History(train_loss=[0.5, 0.4, 0.35, 0.35, 0.35], val_loss=[0.5, 0.4, 0.36, 0.36, 0.36])
    assert diagnose(h).pattern == "underfitting"  # 0.35 is 70 % of the first epoch's 0.5
    assert diagnose(h, baseline=10.0).pattern == "good"  # but only 3.5 % of a trivial model's 10


def test_a_validation_bump_while_training_also_got_worse_is_not_overfitting():
    # Both losses rose together after epoch 4 (a noisy step, not memorisation), and the
    # validation loss stays below the training loss (dropout is on while training).
    h = History(train_loss=[1.0, 0.5, 0.3, 0.2, 0.19, 0.23], val_loss=[0.9, 0.4, 0.2, 0.15, 0.14, 0.17])
    d = diagnose(h, oscillation=1.0)
    assert d.evidence["val_rise"] > 0.1 and not d.evidence["train_fell_since_best"]
    assert d.pattern != "overfitting"


def test_a_relative_gap_between_two_tiny_losses_is_not_overfitting():
    h = History(train_loss=[1.0, 1e-2, 1e-4, 1e-6, 1e-6, 1e-6], val_loss=[1.0, 1e-2, 1e-4, 3e-6, 3e-6, 3e-6])
    d = diagnose(h)
    assert d.evidence["gap"] > 1.0 and d.pattern == "good"


def test_a_loss_that_climbs_tenfold_is_diverged_even_without_nan():
    h = History(train_loss=[1.0, 3.0, 9.0, 27.0], val_loss=[1.0, 3.0, 9.0, 27.0])
    assert diagnose(h).pattern == "diverged"


def test_diagnosing_an_empty_history_raises_unless_it_stopped_on_nan():
    with pytest.raises(ValueError, match="no epochs"):
        diagnose(History())
    assert diagnose(History(stopped_reason="non_finite")).pattern == "diverged"


def test_a_history_checks_its_own_consistency():
    with pytest.raises(ValueError, match="val_loss has 1 entries, train_loss has 2"):
        History(train_loss=[1.0, 0.5], val_loss=[1.0])
    with pytest.raises(ValueError, match="stopped_reason"):
        History(stopped_reason="tired")
    with pytest.raises(ValueError, match="best_epoch"):
        History(train_loss=[1.0], best_epoch=3)


def test_the_plot_draws_both_curves_in_the_course_colours_with_title_and_labels():
    run = history("overfitting")
    ax = run.plot()
    train, val, best = ax.get_lines()
    assert matplotlib.colors.to_hex(train.get_color()) == PALETTE["train"].lower()
    assert matplotlib.colors.to_hex(val.get_color()) == PALETTE["validation"].lower()
    assert list(train.get_xdata()) == run.epochs and list(val.get_ydata()) == run.val_loss
    assert best.get_xdata()[0] == run.best_epoch
    assert ax.get_title() and ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    plt.close(ax.figure)
    # A run saved to disk and read back plots without a model, with NaN left as a gap.
    ax = plot_history(History(train_loss=[1.0, float("nan")], stopped_reason="non_finite"), log=True)
    assert "non finite" in ax.get_title() and ax.get_yscale() == "log"
    plt.close(ax.figure)
