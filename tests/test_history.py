"""gdlab.curves.History, the run record: appending an epoch keeps every column the same length."""

import math

import pytest

from gdlab.curves import History


def test_append_refuses_a_missing_validation_loss_and_leaves_the_history_as_it_was():
    history = History(train_loss=[1.0, 0.5], val_loss=[1.1, 0.7])
    with pytest.raises(ValueError, match="val_loss=None"):
        history.append(0.4, None, 0.1, 1.0, 0.01)
    assert len(history) == 2 and history.val_loss == [1.1, 0.7]


def test_append_without_validation_data_records_the_training_loss_only():
    history = History(train_loss=[1.0])
    history.append(0.5, None, 0.1, 2.0, 0.01)
    assert history.train_loss == [1.0, 0.5] and history.val_loss is None
    assert history.lr[1] == 0.1 and math.isnan(history.lr[0]) and history.best_epoch == 2
