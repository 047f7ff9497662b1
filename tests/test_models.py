from functools import partial

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


def test_mlp_takes_an_activation_factory_with_the_same_weights_as_by_hand():
    # chapter 03's incident network: LeakyReLU(0.1) between the layers
    torch.manual_seed(0)
    by_hand = nn.Sequential(
        nn.Linear(4, 32), nn.LeakyReLU(0.1), nn.Linear(32, 32), nn.LeakyReLU(0.1), nn.Linear(32, 1)
    )
    built = models.mlp(4, 32, 32, 1, activation=partial(nn.LeakyReLU, 0.1), seed=0)
    assert [type(layer) for layer in built] == [type(layer) for layer in by_hand]
    assert all(layer.negative_slope == 0.1 for layer in built if isinstance(layer, nn.LeakyReLU))
    assert built[1] is not built[3]  # a fresh module per layer
    for mine, theirs in zip(built.parameters(), by_hand.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    assert isinstance(models.mlp(2, 3, 1, activation=nn.SiLU)[1], nn.SiLU)


def test_mlp_with_batch_norm_matches_the_network_written_by_hand():
    torch.manual_seed(0)
    layers, n_in = [], 1
    for _ in range(3):
        layers += [nn.Linear(n_in, 16), nn.BatchNorm1d(16), nn.Tanh()]
        n_in = 16
    by_hand = nn.Sequential(*layers, nn.Linear(16, 1)).double()
    built = models.mlp(1, 16, 16, 16, 1, batch_norm=True, seed=0, dtype=torch.float64)
    assert [type(layer) for layer in built] == [type(layer) for layer in by_hand]
    assert built.state_dict().keys() == by_hand.state_dict().keys()
    for key, value in by_hand.state_dict().items():
        assert torch.equal(built.state_dict()[key], value), key


def test_mlp_he_init_draws_each_hidden_layer_as_it_is_made():
    torch.manual_seed(0)
    layers, fan_in = [], 4
    for _ in range(3):
        linear = nn.Linear(fan_in, 32)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
        fan_in = 32
    by_hand = nn.Sequential(*layers, nn.Linear(32, 1))
    built = models.mlp(4, 32, 32, 32, 1, activation="relu", he_init=True, seed=0)
    for mine, theirs in zip(built.parameters(), by_hand.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    assert torch.equal(built[2].bias, torch.zeros(32))
    # variance 2 / fan-in: over 32 x 32 = 1024 weights the sample variance is within 20 %
    assert abs(built[2].weight.var().item() * 32 / 2 - 1) < 0.2
    assert not torch.equal(built[-1].bias, torch.zeros(1))  # the output layer keeps torch's default


def test_count_nan_and_flat_parameters():
    net = models.mlp(3, 4, 1, seed=1)
    flat = models.flat_parameters(net)
    assert flat.shape == (3 * 4 + 4 + 4 + 1,) and not flat.requires_grad
    assert torch.equal(flat, torch.nn.utils.parameters_to_vector(net.parameters()).detach())
    assert models.count_nan(net) == 0
    with torch.no_grad():
        net[0].weight[:2, 0] = float("nan")
    assert models.count_nan(net) == 2


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: models.mlp(4, 1, activation=3), "a name or a callable"),
        (lambda: models.mlp(4, 8, 1, activation=lambda: "relu"), "must return an nn.Module"),
    ],
)
def test_mlp_rejects_a_bad_activation_factory(call, message):
    with pytest.raises(ValueError, match=message):
        call()
