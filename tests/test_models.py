import pytest
import torch
from torch import nn

from gdlab import models


def test_mlp_matches_the_same_network_written_by_hand():
    torch.manual_seed(3)
    by_hand = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.2), nn.Linear(8, 1))
    built = models.mlp(4, 8, 1, dropout=0.2, seed=3)
    assert [type(layer) for layer in built] == [type(layer) for layer in by_hand]
    for mine, theirs in zip(built.parameters(), by_hand.parameters(), strict=True):
        assert torch.equal(mine, theirs)


def test_mlp_layout_activation_and_dtype():
    net = models.mlp(2, 16, 16, 3, activation="relu", dtype=torch.float64)
    assert [type(layer) for layer in net] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert net(torch.zeros(5, 2, dtype=torch.float64)).shape == (5, 3)
    assert isinstance(models.mlp(3, 1), nn.Sequential) and len(models.mlp(3, 1)) == 1


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: models.mlp(4), "at least"),
        (lambda: models.mlp(4, 0, 1), "positive integer"),
        (lambda: models.mlp(4, 2.5, 1), "positive integer"),
        (lambda: models.mlp(4, 1, activation="gelu"), "activation"),
        (lambda: models.mlp(4, 8, 1, dropout=1.0), "dropout"),
    ],
)
def test_mlp_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
