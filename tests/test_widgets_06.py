"""Chapter 06's dashboard and training explorer, headless: feed a history, train, replay, read the cards."""

import math
import re

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlab import data
from gdlab.curves import History, diagnose
from gdlab.plotting import PALETTE
from gdlab.recorded import Recording
from gdlab.training import evaluate, fit
from gdlab.widgets.dashboard import (
    ARTIFACTS,
    LiveTraining,
    TrainingDashboard,
    card_values,
    count_parameters,
    relative_change,
)

# Small torch models in float32 on one thread (the fixture lives in conftest.py).
pytestmark = pytest.mark.usefixtures("small_torch")


def alt_text(view):
    return re.search(r'alt="([^"]+)"', view.value).group(1)


def text(card):
    """A card's visible text, tags stripped."""
    return re.sub(r"<[^>]+>", " ", card.value)


def prefix(history, k, stopped_reason="running"):
    """The history as a callback sees it after epoch ``k``."""
    val = None if history.val_loss is None else history.val_loss[:k]
    return History(
        train_loss=history.train_loss[:k],
        val_loss=val,
        lr=history.lr[:k],
        grad_norm=history.grad_norm[:k],
        epoch_time=history.epoch_time[:k],
        stopped_reason=stopped_reason,
    )


def linear_run(epochs=12, lr=0.05, **kwargs):
    def tensors(d):
        return torch.as_tensor(d.X, dtype=torch.float32), torch.as_tensor(d.y, dtype=torch.float32).reshape(
            -1, 1
        )

    train, val = tensors(data.linear(n=60, noise=0.3, seed=0)), tensors(data.linear(n=40, noise=0.3, seed=1))
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    return model, optimizer, train, val


# --- the pure helpers ---------------------------------------------------------------------


def test_count_parameters_is_the_sum_of_numel_of_trainable_tensors():
    model = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    assert count_parameters(model) == sum(p.numel() for p in model.parameters()) == 16 + 16 + 16 + 1
    model[0].weight.requires_grad_(False)  # frozen weights are not trained
    assert count_parameters(model) == 49 - 16
    with pytest.raises(ValueError, match="torch.nn.Module"):
        count_parameters([1, 2, 3])


def test_relative_change_is_the_fraction_of_the_previous_value():
    assert relative_change([2.0, 1.5]) == -0.25
    assert relative_change([1.0, 2.0, 3.0]) == 0.5
    assert relative_change([]) is None and relative_change([0.3]) is None
    assert relative_change([0.0, 1.0]) is None  # no per cent of zero
    assert relative_change([1.0, math.nan]) is None and relative_change([math.inf, 1.0]) is None


# --- the dashboard fed by hand --------------------------------------------------------------


def test_fed_epoch_by_epoch_the_cards_show_each_epochs_numbers():
    history = History(
        train_loss=[1.0, 0.5, 0.4, 0.45],
        val_loss=[1.2, 0.6, 0.65, 0.55],
        lr=[0.1, 0.1, 0.05, 0.05],
    )
    dashboard = TrainingDashboard(parameters=1234, epochs=10, redraw_every=1)
    assert "Waiting" in dashboard.status.value and dashboard.values["epoch"] == 0
    for k in range(1, 5):
        dashboard(prefix(history, k))  # what fit does after epoch k
        v = dashboard.values
        assert v["epoch"] == k and v["train_loss"] == history.train_loss[k - 1]
        assert v["val_loss"] == history.val_loss[k - 1] and v["lr"] == history.lr[k - 1]
        assert v["train_change"] == relative_change(history.train_loss[:k])
        assert f"{history.train_loss[k - 1]:.4g}" in text(dashboard.cards["train"])
        assert f"epoch {k} of 10" in text(dashboard.cards["train"])
        assert f"{history.val_loss[k - 1]:.4g}" in text(dashboard.cards["val"])
        assert "1,234" in text(dashboard.cards["parameters"])
        assert f"Epoch {k} of 10" in dashboard.status.value
    change = text(dashboard.cards["change"])
    assert "training ↑ 12.5% (rising)" in change  # 0.4 -> 0.45
    assert "validation ↓ 15.4% (falling)" in change  # 0.65 -> 0.55
    assert "best 0.55 (epoch 4)" in text(dashboard.cards["val"])
    assert "started at 0.1" in text(dashboard.cards["lr"])  # the rate changed since epoch 1
    assert dashboard.redraws == 5  # the empty start and each of the four epochs


def test_the_first_epoch_has_no_change_and_every_card_is_labelled():
    dashboard = TrainingDashboard(parameters=7, interval=0)
    dashboard.update(prefix(History(train_loss=[0.9], val_loss=[1.0], lr=[0.01]), 1))
    assert "no previous epoch" in text(dashboard.cards["change"])
    assert "constant so far" in text(dashboard.cards["lr"])
    labels = ["Training loss", "Validation loss", "Change vs previous epoch", "Learning rate", "Parameters"]
    for card, label in zip(dashboard.cards.values(), labels):
        assert f'aria-label="{label}"' in card.value and label in text(card)
    assert 'role="status"' in dashboard.status.value
    assert "alt=" in dashboard.figure_view.value


def test_a_run_without_validation_data_shows_only_training_numbers():
    dashboard = TrainingDashboard(parameters=4, interval=0)
    dashboard.update(History(train_loss=[1.0, 0.8], lr=[0.1, 0.1], stopped_reason="running"))
    assert dashboard.values["val_loss"] is None and dashboard.values["val_change"] is None
    assert "no validation data" in text(dashboard.cards["val"])
    assert "-20%" not in text(dashboard.cards["change"]) and "↓ 20% (falling)" in text(
        dashboard.cards["change"]
    )


def test_the_figure_is_redrawn_on_schedule_and_always_when_the_run_ends():
    history = History(train_loss=[1.0 / k for k in range(1, 8)], val_loss=[1.1 / k for k in range(1, 8)])
    dashboard = TrainingDashboard(parameters=1, epochs=7, redraw_every=3)
    images = []
    for k in range(1, 8):
        dashboard(prefix(history, k))
        images.append(dashboard.figure_view.value)
    assert dashboard.redraws == 1 + 2  # the empty start, then epochs 3 and 6
    assert images[2] != images[1] and images[3] == images[2]
    dashboard.update(prefix(history, 7, stopped_reason="completed"))
    assert dashboard.redraws == 4 and dashboard.figure_view.value != images[-1]
    alt = alt_text(dashboard.figure_view)
    assert "epochs 1 to 7 of 7" in alt and "from 1 to 0.1429" in alt and "lowest 0.1571 at epoch 7" in alt
    assert "Finished: ran all 7 epochs" in dashboard.status.value


def test_a_time_based_dashboard_redraws_at_most_once_per_interval():
    history = History(train_loss=[1.0 / k for k in range(1, 51)], val_loss=[1.0 / k for k in range(1, 51)])
    dashboard = TrainingDashboard(parameters=1, interval=3600.0)  # far longer than this test
    empty = dashboard.cards["train"].value
    for k in range(1, 51):
        dashboard(prefix(history, k))
        assert dashboard.values["epoch"] == k  # the numbers follow every epoch ...
    assert dashboard.redraws == 1 and dashboard.cards["train"].value == empty  # ... the view waits
    dashboard.update(prefix(history, 50, stopped_reason="completed"))
    assert dashboard.redraws == 2 and dashboard.rendered_epoch == 50
    assert "0.02" in text(dashboard.cards["train"]) and "Finished" in dashboard.status.value
    fast = TrainingDashboard(parameters=1, interval=0.0)  # no waiting: every epoch is shown
    for k in range(1, 6):
        fast(prefix(history, k))
    assert fast.redraws == 6


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"redraw_every": 0}, "redraw_every must be a positive integer"),
        ({"interval": -1}, "interval must be a number of seconds"),
        ({"model": torch.nn.Linear(1, 1), "parameters": 2}, "not both"),
    ],
)
def test_bad_dashboard_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainingDashboard(**kwargs)


# --- the dashboard as fit's callback ----------------------------------------------------------


def test_as_a_fit_callback_the_dashboard_sees_every_epoch_and_ends_with_the_historys_numbers():
    model, optimizer, train, val = linear_run()
    dashboard = TrainingDashboard(model, epochs=12, redraw_every=1)
    seen = []
    dashboard.cards["train"].observe(lambda change: seen.append(change["new"]), names="value")
    history = fit(
        model,
        F.mse_loss,
        optimizer,
        train,
        val,
        epochs=12,
        batch_size=10,
        progress=False,
        seed=0,
        callbacks=dashboard,
    )
    assert len(seen) == 12  # the card changed during the run, once per epoch
    assert dashboard.values["stopped_reason"] == "running"  # fit's callbacks see a running history
    dashboard.update(history)
    v = dashboard.values
    assert (
        v["epoch"] == 12
        and v["train_loss"] == history.train_loss[-1]
        and v["val_loss"] == history.val_loss[-1]
    )
    assert v["val_change"] == (history.val_loss[-1] - history.val_loss[-2]) / history.val_loss[-2]
    assert v["lr"] == 0.05 and v["parameters"] == 4
    assert v["diagnosis"] == diagnose(history).pattern
    assert f"Diagnosis: <b>{v['diagnosis']}</b>" in dashboard.status.value


def test_the_status_says_when_early_stopping_restored_an_epoch():
    def tensors(d):
        return torch.as_tensor(d.X, dtype=torch.float32), torch.as_tensor(d.y, dtype=torch.float32).reshape(
            -1, 1
        )

    train, val = (
        tensors(data.polynomial(n=15, noise=0.3, seed=0)),
        tensors(data.polynomial(n=100, noise=0.3, seed=1)),
    )
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(1, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 1),
    )
    dashboard = TrainingDashboard(model, epochs=2000)
    history = fit(
        model,
        F.mse_loss,
        torch.optim.Adam(model.parameters(), lr=0.01),
        train,
        val,
        epochs=2000,
        early_stopping=10,
        progress=False,
        callbacks=dashboard,
    )
    dashboard.update(history)
    assert history.stopped_reason == "early_stopping"
    assert f"stopped early after {len(history)} epochs and restored epoch {history.best_epoch}" in (
        dashboard.status.value
    )
    assert dashboard.values["best_val_loss"] == evaluate(model, F.mse_loss, val)  # the restored weights


def test_a_diverging_run_ends_with_a_non_finite_status_and_the_diverged_verdict():
    model, optimizer, train, val = linear_run(lr=5.0)
    dashboard = TrainingDashboard(model, epochs=200)
    history = fit(model, F.mse_loss, optimizer, train, val, epochs=200, progress=False, callbacks=dashboard)
    dashboard.update(history)
    assert history.stopped_reason == "non_finite"
    assert "non-finite loss" in dashboard.status.value and dashboard.values["diagnosis"] == "diverged"


def test_save_writes_the_three_artifacts_and_they_read_back_equal(tmp_path):
    model, optimizer, train, val = linear_run()
    dashboard = TrainingDashboard(model, epochs=12)
    history = fit(model, F.mse_loss, optimizer, train, val, epochs=12, progress=False, callbacks=dashboard)
    dashboard.update(history)
    paths = dashboard.save(tmp_path / "run-1")
    assert [p.name for p in paths] == list(ARTIFACTS) == ["history.csv", "history.json", "loss_curves.png"]
    for back in (History.from_csv(paths[0]), History.from_json(paths[1])):
        assert back.train_loss == history.train_loss and back.val_loss == history.val_loss
        assert back.lr == history.lr and back.best_epoch == history.best_epoch
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_before_any_epoch_raises(tmp_path):
    with pytest.raises(ValueError, match="not seen an epoch"):
        TrainingDashboard(parameters=1).save(tmp_path)


# --- the live-training explorer ---------------------------------------------------------------


def tiny_live(**kwargs):
    settings = {"hidden": 4, "n_train": 16, "lr": 0.05, "epochs": 10}
    settings.update(kwargs)
    return LiveTraining(**settings)


def test_train_runs_fit_and_the_run_trait_follows_every_epoch():
    live = tiny_live(interval=0)  # send every epoch (by default: at most every 0.4 s)
    seen = []
    live.observe(lambda change: seen.append(len(change["new"]["train"])), names="run")
    history = live.train()
    assert len(history) == 10 and history.stopped_reason == "completed"
    assert seen == list(range(0, 11)) + [10]  # the empty start, each epoch, then the finished run
    run = live.run
    assert run["train"] == history.train_loss and run["val"] == history.val_loss
    assert run["stopped"] == "completed" and run["epochs"] == 10 and run["settings"] == [4, 16, 0.05]
    v = live.values
    assert v["train_loss"] == history.train_loss[-1] and v["val_loss"] == history.val_loss[-1]
    assert v["parameters"] == run["parameters"] == count_parameters(live.model) == 2 * 4 + 4 * 4 + 4 + 4 + 1
    verdict = diagnose(history, baseline=live.baseline)
    assert run["diagnosis"] == v["diagnosis"] == verdict.pattern and run["message"] == verdict.message
    assert live.baseline == pytest.approx(float(live.datasets()[0][1].var(unbiased=False)))


def test_the_live_run_is_exactly_a_plain_fit_with_the_same_settings():
    live = tiny_live(hidden=8, n_train=40, lr=0.02, epochs=15)
    history = live.train()
    train, val = live.datasets()
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
    )
    plain = fit(
        model,
        F.mse_loss,
        torch.optim.Adam(model.parameters(), lr=0.02),
        train,
        val,
        epochs=15,
        progress=False,
        seed=0,
    )
    assert history.train_loss == plain.train_loss and history.val_loss == plain.val_loss
    assert len(train[0]) == 40 and len(val[0]) == 200


def test_the_traits_change_the_next_run():
    live = tiny_live()
    live.train()
    first = live.history
    live.hidden = 16
    live.epochs = 20
    live.train()
    assert len(live.history) == 20 and live.run["epochs"] == 20
    assert count_parameters(live.model) == 321 == live.run["parameters"]
    assert live.history.train_loss[:10] != first.train_loss
    live.lr = 1e-4  # a rate far too small: the loss barely moves
    live.train()
    assert live.history.train_loss[-1] > 0.9 * live.history.train_loss[0]


def test_the_view_asks_for_a_kernel_and_its_train_button_trains():
    live = tiny_live()
    sent = []
    live.send = sent.append
    live._on_message(live, {"event": "hello"}, [])
    assert sent == [{"event": "kernel"}]  # the view now knows Train can run Python
    live._on_message(live, {"event": "train"}, [])
    assert len(live.history) == 10 and live.run["stopped"] == "completed"


@pytest.mark.parametrize(
    ("trait", "value", "match"),
    [
        ("hidden", 3, "hidden must be one of"),
        ("n_train", 4, "n_train must be between 8 and 400"),
        ("epochs", 5000, "epochs must be between 10 and 1000"),
        ("lr", 0.0, "Invalid learning rate"),
        ("lr", 3.0, "Invalid learning rate"),
    ],
)
def test_a_setting_outside_the_controls_raises(trait, value, match):
    live = tiny_live()
    with pytest.raises(ValueError, match=match):
        setattr(live, trait, value)
    with pytest.raises(ValueError, match=match):
        tiny_live(**{trait: value})


def test_the_state_sent_to_the_browser_holds_every_setting_and_table():
    live = tiny_live()
    state = live.get_state()
    assert state["kind"] == "training" and state["url_traits"] == ["hidden", "n_train", "lr", "epochs"]
    assert [state[name] for name in state["url_traits"]] == [4, 16, 0.05, 10]
    assert state["choices"]["hidden"] == list(LiveTraining.HIDDEN)
    assert state["choices"]["palette"] == {"train": PALETTE["train"], "validation": PALETTE["validation"]}
    assert (
        state["recorded"] == {} and state["run"] == {}
    )  # nothing to replay: the page says Train needs a kernel
    with pytest.raises(ValueError, match="nothing recorded"):
        live.frame()


@pytest.fixture(scope="module")
def recorded_live():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    live = tiny_live(epochs=20)
    recording = live.record(hidden=(2, 4), n_train=(16, 64), lr=(0.05,), epochs=30)
    torch.set_num_threads(threads)
    return live, recording


def test_a_recorded_run_is_the_live_run_with_the_same_settings(recorded_live):
    live, recording = recorded_live
    history = live.train()  # 20 of the 30 recorded epochs
    frame = live.frame()
    assert frame["settings"] == [4, 16, 0.05] and not frame["moved"] and frame["epochs"] == 20
    assert frame["train"] == history.train_loss and frame["val"] == history.val_loss
    assert frame["values"] == {**card_values(history, live.run["parameters"])}
    assert frame["diagnosis"] == live.values["diagnosis"] == recording.pattern(4, 16, 0.05, 20)
    assert live.get_state()["recorded"]["runs"].keys() == {"0/0/0", "0/1/0", "1/0/0", "1/1/0"}


def test_the_replay_snaps_to_the_nearest_recorded_run_and_says_it_moved(recorded_live):
    live, recording = recorded_live
    live.hidden, live.n_train, live.epochs = 32, 50, 70  # nearest: 4 units, 64 points, 30 epochs
    frame = live.frame()
    assert frame["settings"] == [4, 64, 0.05] and frame["epochs"] == 30 and frame["moved"]
    _, history, baseline, _ = recording.run(4, 64, 0.05)
    assert frame["train"] == history.train_loss and frame["diagnosis"] == diagnose(history, baseline).pattern
    part = live.frame(epoch=7)  # part-way through the replay: the cards of epoch 7, no verdict yet
    assert part["epoch"] == 7 and part["train"] == history.train_loss[:7] and part["diagnosis"] is None
    assert part["values"]["train_change"] == relative_change(history.train_loss[:7])
    assert part["values"]["stopped_reason"] == "running"
    live.hidden, live.n_train, live.epochs = 4, 16, 20


def test_a_recording_keeps_every_loss_exactly():
    history = History(train_loss=[0.1], val_loss=[0.2])  # 0.1 is not a float32 number
    with pytest.raises(ValueError, match="not a float32"):
        Recording((1,), (8,), (0.1,), 10, {(1, 8, 0.1): (history, 1.0, 4)}).payload()


@settings(max_examples=200, deadline=None)
@given(
    before=st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False),
    after=st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False),
)
def test_relative_change_undoes_to_the_new_value_and_has_its_sign(before, after):
    change = relative_change([before, after])
    assert abs(before * (1 + change) - after) <= 1e-12 * max(before, after)
    assert (change < 0) == (after < before) and (change > 0) == (after > before)


def test_a_long_live_run_sends_few_widget_updates():
    # Each change of a trait is a message to the browser: by default a fast run is sent a
    # few times per second, not once per epoch, and always its end.
    live = tiny_live(epochs=400)
    changes = []
    live.observe(lambda change: changes.append(len(change["new"]["train"])), names="run")
    history = live.train()
    assert len(history) == 400 and changes[-1] == 400 and live.run["stopped"] == "completed"
    assert len(changes) < 100
