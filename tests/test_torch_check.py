"""gdlab.torch_check's loss comparison: it measures real gaps and refuses what it cannot compare."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gdlab import losses
from gdlab.torch_check import loss_gaps, sigmoid_focal_loss

RNG = np.random.default_rng(0)
PRED, TARGET = RNG.normal(size=6), RNG.normal(size=6)


def test_loss_gaps_are_rounding_for_a_true_twin_and_large_for_a_wrong_gradient():
    gaps = loss_gaps(losses.mse, losses.mse_grad, F.mse_loss, PRED, TARGET)
    assert gaps.value == pytest.approx(np.mean((PRED - TARGET) ** 2), rel=1e-14)
    assert gaps.value_gap < 1e-14 and gaps.grad_gap < 1e-14 and gaps.torch_value == pytest.approx(gaps.value)
    missing_the_two = lambda p, t: (p - t) / len(p)  # d/dp of mean (p - t)^2 without its factor 2
    wrong = loss_gaps(losses.mse, missing_the_two, F.mse_loss, PRED, TARGET)
    assert wrong.grad_gap == pytest.approx(np.max(np.abs(PRED - TARGET)) / 6, rel=1e-12)


def test_integer_class_labels_reach_torch_as_integers_and_kwargs_reach_gdlab():
    logits, labels = RNG.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0])
    gaps = loss_gaps(losses.cross_entropy, losses.cross_entropy_grad, F.cross_entropy, logits, labels)
    assert gaps.value_gap < 1e-14 and gaps.grad_gap < 1e-14
    huber = loss_gaps(
        losses.huber, losses.huber_grad, lambda x, t: F.huber_loss(x, t, delta=0.3), PRED, TARGET, delta=0.3
    )
    assert huber.value_gap < 1e-14 and huber.grad_gap < 1e-14


def test_loss_gaps_refuse_an_unreduced_reference_a_wrong_shape_and_integer_inputs():
    with pytest.raises(ValueError, match="one-number tensor"):
        loss_gaps(losses.mse, losses.mse_grad, lambda x, t: (x - t) ** 2, PRED, TARGET)
    with pytest.raises(ValueError, match="the input's shape"):
        loss_gaps(losses.mse, lambda p, t: np.zeros(3), F.mse_loss, PRED, TARGET)
    with pytest.raises(ValueError, match="floating-point"):
        loss_gaps(losses.mse, losses.mse_grad, F.mse_loss, np.arange(6), TARGET)
    with pytest.raises(ValueError, match="depend on its input"):
        loss_gaps(losses.mse, losses.mse_grad, lambda x, t: t.sum(), PRED, TARGET)


def test_sigmoid_focal_loss_is_bce_with_logits_at_gamma_0_without_alpha_and_checks_reduction():
    x = torch.tensor(RNG.normal(size=8))
    t = torch.tensor(RNG.integers(0, 2, size=8).astype(float))
    plain = sigmoid_focal_loss(x, t, alpha=-1, gamma=0.0, reduction="mean")
    assert torch.allclose(plain, F.binary_cross_entropy_with_logits(x, t), rtol=1e-14, atol=0)
    terms = sigmoid_focal_loss(x, t)
    assert torch.allclose(sigmoid_focal_loss(x, t, reduction="sum"), terms.sum())
    assert np.allclose(terms.numpy(), losses.focal(x.numpy(), t.numpy(), reduction="none"), rtol=1e-12)
    with pytest.raises(ValueError, match="Invalid Value for arg 'reduction'"):
        sigmoid_focal_loss(x, t, reduction="average")
