"""gdlab.recorded.Recording.payload: the page gets both loss curves of every run, or an error."""

import pytest

from gdlab.curves import History
from gdlab.recorded import EPOCH_STEP, Recording, _decode


def _recording(history):
    return Recording((1,), (20,), (0.1,), EPOCH_STEP, {(1, 20, 0.1): (history, 1.0, 4)})


def test_payload_keeps_both_curves_of_a_run():
    train = [2.0**-k for k in range(EPOCH_STEP)]
    run = _recording(History(train_loss=train, val_loss=[v + 0.5 for v in train])).payload()["runs"]["0/0/0"]
    assert _decode(run["train"]) == pytest.approx(train, rel=1e-7)
    assert len(_decode(run["val"])) == EPOCH_STEP and len(run["patterns"]) == 1


def test_payload_refuses_a_run_without_validation_losses():
    history = History(train_loss=[2.0**-k for k in range(EPOCH_STEP)])
    with pytest.raises(ValueError, match="no validation losses"):
        _recording(history).payload()


def test_payload_refuses_a_run_with_no_epochs():
    with pytest.raises(ValueError, match="at least one epoch"):
        _recording(History(train_loss=[], val_loss=[])).payload()
