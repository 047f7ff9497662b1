"""gdlab.losses equals torch.nn.functional, value and gradient, for every reduction."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gdlab import losses

REDUCTIONS = ["mean", "sum", "none"]


def torch_value_and_grad(fn, input, target, reduction, **kwargs):
    x = torch.tensor(input, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(target, dtype=torch.float64)
    value = fn(x, y, reduction=reduction, **kwargs)
    # For "none" the twin returns the element-wise derivative, i.e. the gradient of the sum.
    (value if reduction != "none" else value.sum()).backward()
    return value.detach().numpy(), x.grad.numpy()


def sample(shape=(4, 5), seed=0):
    rng = np.random.default_rng(seed)
    input = rng.normal(scale=2.0, size=shape)
    target = rng.normal(scale=2.0, size=shape)
    target.flat[0] = input.flat[0]  # an exact zero error, where |e| has a kink
    return input, target


CASES = [
    ("mse", losses.mse, losses.mse_grad, F.mse_loss, {}),
    ("mae", losses.mae, losses.mae_grad, F.l1_loss, {}),
    ("huber", losses.huber, losses.huber_grad, F.huber_loss, {}),
    ("huber_delta_0.5", losses.huber, losses.huber_grad, F.huber_loss, {"delta": 0.5}),
    ("huber_delta_3", losses.huber, losses.huber_grad, F.huber_loss, {"delta": 3.0}),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,loss,grad,torch_loss,kwargs", CASES, ids=[c[0] for c in CASES])
def test_loss_and_gradient_match_torch(name, loss, grad, torch_loss, kwargs, reduction):
    for shape in [(7,), (4, 5), (2, 3, 2)]:
        input, target = sample(shape)
        expected_value, expected_grad = torch_value_and_grad(torch_loss, input, target, reduction, **kwargs)
        np.testing.assert_allclose(
            loss(input, target, reduction=reduction, **kwargs),
            expected_value,
            rtol=1e-12,
            atol=1e-14,
        )
        np.testing.assert_allclose(
            grad(input, target, reduction=reduction, **kwargs),
            expected_grad,
            rtol=1e-12,
            atol=1e-14,
        )


def test_huber_at_exactly_delta_matches_torch():
    input, target = np.array([1.0, -1.0, 2.0]), np.zeros(3)
    expected_value, expected_grad = torch_value_and_grad(F.huber_loss, input, target, "sum")
    assert losses.huber(input, target, reduction="sum") == pytest.approx(float(expected_value))
    np.testing.assert_array_equal(losses.huber_grad(input, target, reduction="sum"), expected_grad)


def test_one_outlier_adds_ten_thousand_to_a_squared_sum():
    # The syllabus' example: an error of 100 contributes 100^2 to a squared sum, 100 to an absolute one.
    assert losses.mse(np.array([100.0]), np.array([0.0]), reduction="sum") == 10_000
    assert losses.mae(np.array([100.0]), np.array([0.0]), reduction="sum") == 100


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 20), elements=finite), st.data())
def test_losses_are_non_negative_and_zero_at_the_target(input, data):
    target = data.draw(arrays(np.float64, input.shape, elements=finite))
    delta = data.draw(st.floats(0.01, 10.0))
    for fn, kwargs in [(losses.mse, {}), (losses.mae, {}), (losses.huber, {"delta": delta})]:
        assert fn(input, target, **kwargs) >= 0
        assert fn(input, input, **kwargs) == 0
        np.testing.assert_array_equal(
            {
                losses.mse: losses.mse_grad,
                losses.mae: losses.mae_grad,
                losses.huber: losses.huber_grad,
            }[fn](input, input, **kwargs),
            np.zeros_like(input),
        )


@pytest.mark.parametrize("fn", [losses.mse, losses.mae, losses.huber, losses.mse_grad, losses.huber_grad])
def test_shape_mismatch_is_refused_not_broadcast(fn):
    with pytest.raises(ValueError, match="same shape"):
        fn(np.zeros((3, 1)), np.zeros(3))


@pytest.mark.parametrize("fn", [losses.mse, losses.mae, losses.huber, losses.mae_grad])
def test_nan_input_is_refused(fn):
    with pytest.raises(ValueError, match="NaN"):
        fn(np.array([1.0, np.nan]), np.zeros(2))
    with pytest.raises(ValueError, match="NaN"):
        fn(np.zeros(2), np.array([np.inf, 0.0]))


def test_bad_reduction_and_delta_are_refused():
    with pytest.raises(ValueError, match="reduction"):
        losses.mse(np.zeros(2), np.zeros(2), reduction="average")
    with pytest.raises(ValueError, match="delta"):
        losses.huber(np.zeros(2), np.zeros(2), delta=0.0)
    with pytest.raises(ValueError, match="numeric"):
        losses.mse(["a", "b"], np.zeros(2))
