"""gdlab's classification losses equal torch, value and gradient, for every reduction.

Torch has binary cross-entropy and softmax cross-entropy in ``torch.nn.functional``; for
the hinge, the focal loss (``gdlab.torch_check.sigmoid_focal_loss``, torchvision's formula;
torchvision is not installed) and InfoNCE the reference is the formula written directly in
torch and differentiated by autograd.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gdlab import losses
from gdlab.torch_check import sigmoid_focal_loss

REDUCTIONS = ["mean", "sum", "none"]
TIGHT = dict(rtol=1e-12, atol=1e-14)


def reduce(terms, reduction):
    return {"mean": terms.mean(), "sum": terms.sum(), "none": terms}[reduction]


def backward(value, reduction):
    # For "none" the twin returns the element-wise derivative, i.e. the gradient of the sum.
    (value if reduction != "none" else value.sum()).backward()


def as_tensor(array, grad=False):
    return torch.tensor(array, dtype=torch.float64, requires_grad=grad)


# --- torch references for the losses torch.nn.functional does not have --------------------


def torch_hinge(scores, target, reduction):
    return reduce(torch.clamp(1 - target * scores, min=0), reduction)


def torch_info_nce(z_a, z_b, temperature, reduction):
    logits = F.normalize(z_a, dim=1) @ F.normalize(z_b, dim=1).T / temperature
    return F.cross_entropy(logits, torch.arange(len(z_a)), reduction=reduction)


# --- samples ----------------------------------------------------------------------------


def probabilities(shape, seed=0):
    rng = np.random.default_rng(seed)
    input = rng.uniform(0.01, 0.99, size=shape)
    soft = rng.uniform(0.0, 1.0, size=shape)
    hard = rng.integers(0, 2, size=shape).astype(float)
    return input, soft, hard


def logits_and_labels(n=6, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=3.0, size=(n, classes)), rng.integers(0, classes, size=n)


def signed(shape=(4, 5), seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=2.0, size=shape), rng.choice([-1.0, 1.0], size=shape)


def binary(shape=(4, 5), seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=2.5, size=shape), rng.integers(0, 2, size=shape).astype(float)


def embeddings(n=8, dim=5, seed=0):
    rng = np.random.default_rng(seed)
    z_a = rng.normal(size=(n, dim))
    return z_a, z_a + 0.5 * rng.normal(size=(n, dim))  # positives are noisy copies


# --- values and gradients equal torch -----------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 2)])
def test_binary_cross_entropy_matches_torch_inside_the_clip(shape, reduction):
    input, soft, hard = probabilities(shape)
    for target in (soft, hard):
        x = as_tensor(input, grad=True)
        value = F.binary_cross_entropy(x, as_tensor(target), reduction=reduction)
        backward(value, reduction)
        np.testing.assert_allclose(
            losses.binary_cross_entropy(input, target, reduction=reduction), value.detach().numpy(), **TIGHT
        )
        np.testing.assert_allclose(
            losses.binary_cross_entropy_grad(input, target, reduction=reduction), x.grad.numpy(), **TIGHT
        )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("n,classes", [(1, 2), (6, 4), (50, 10)])
def test_cross_entropy_matches_torch(n, classes, reduction):
    logits, labels = logits_and_labels(n, classes)
    x = as_tensor(logits, grad=True)
    value = F.cross_entropy(x, torch.tensor(labels), reduction=reduction)
    backward(value, reduction)
    np.testing.assert_allclose(
        losses.cross_entropy(logits, labels, reduction=reduction), value.detach().numpy(), **TIGHT
    )
    np.testing.assert_allclose(
        losses.cross_entropy_grad(logits, labels, reduction=reduction), x.grad.numpy(), **TIGHT
    )


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    logits, labels = logits_and_labels(6, 4)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = (softmax - np.eye(4)[labels]) / 6
    np.testing.assert_allclose(losses.cross_entropy_grad(logits, labels), expected, **TIGHT)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7,), (4, 5)])
def test_hinge_matches_the_torch_formula(shape, reduction):
    scores, target = signed(shape)
    s = as_tensor(scores, grad=True)
    value = torch_hinge(s, as_tensor(target), reduction)
    backward(value, reduction)
    np.testing.assert_allclose(
        losses.hinge(scores, target, reduction=reduction), value.detach().numpy(), **TIGHT
    )
    np.testing.assert_allclose(
        losses.hinge_grad(scores, target, reduction=reduction), s.grad.numpy(), **TIGHT
    )


def test_hinge_gradient_at_a_margin_of_exactly_one_is_zero_as_relu_gives():
    scores, target = np.array([1.0, -1.0, 0.5]), np.array([1.0, -1.0, 1.0])
    s = as_tensor(scores, grad=True)
    torch.relu(1 - as_tensor(target) * s).sum().backward()
    np.testing.assert_array_equal(losses.hinge_grad(scores, target, reduction="sum"), s.grad.numpy())
    np.testing.assert_array_equal(losses.hinge_grad(scores, target, reduction="sum"), [0.0, 0.0, -1.0])


FOCAL_SETTINGS = [(2.0, 0.25), (0.0, 0.25), (0.5, 0.75), (1.0, -1.0), (3.0, 0.0), (0.0, -1.0)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("gamma,alpha", FOCAL_SETTINGS)
def test_focal_matches_torchvisions_sigmoid_focal_formula(gamma, alpha, reduction):
    for shape in [(9,), (4, 5)]:
        logits, target = binary(shape)
        x = as_tensor(logits, grad=True)
        value = sigmoid_focal_loss(x, as_tensor(target), alpha=alpha, gamma=gamma, reduction=reduction)
        backward(value, reduction)
        ours = losses.focal(logits, target, gamma=gamma, alpha=alpha, reduction=reduction)
        ours_grad = losses.focal_grad(logits, target, gamma=gamma, alpha=alpha, reduction=reduction)
        np.testing.assert_allclose(ours, value.detach().numpy(), rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(ours_grad, x.grad.numpy(), rtol=1e-11, atol=1e-14)


def test_focal_with_gamma_0_and_no_alpha_is_bce_with_logits():
    logits, target = binary((20,))
    expected = F.binary_cross_entropy_with_logits(as_tensor(logits), as_tensor(target)).item()
    assert losses.focal(logits, target, gamma=0.0, alpha=-1) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("temperature", [0.07, 0.1, 1.0])
@pytest.mark.parametrize("n,dim", [(2, 3), (8, 5), (32, 16)])
def test_info_nce_matches_the_torch_formula_value_and_gradient_wrt_z_a(n, dim, temperature, reduction):
    z_a, z_b = embeddings(n, dim)
    a = as_tensor(z_a, grad=True)
    value = torch_info_nce(a, as_tensor(z_b), temperature, reduction)
    backward(value, reduction)
    ours = losses.info_nce(z_a, z_b, temperature=temperature, reduction=reduction)
    ours_grad = losses.info_nce_grad(z_a, z_b, temperature=temperature, reduction=reduction)
    np.testing.assert_allclose(ours, value.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(ours_grad, a.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_info_nce_gradient_matches_central_differences():
    z_a, z_b = embeddings(5, 3, seed=3)
    grad = losses.info_nce_grad(z_a, z_b, temperature=0.2)
    h, numeric = 1e-6, np.zeros_like(z_a)
    for index in np.ndindex(z_a.shape):
        bump = np.zeros_like(z_a)
        bump[index] = h
        up = losses.info_nce(z_a + bump, z_b, temperature=0.2)
        down = losses.info_nce(z_a - bump, z_b, temperature=0.2)
        numeric[index] = (up - down) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_info_nce_is_one_direction_a_to_b():
    z_a, z_b = embeddings(6, 4, seed=1)
    other_way = F.cross_entropy(
        F.normalize(as_tensor(z_b), dim=1) @ F.normalize(as_tensor(z_a), dim=1).T / 0.1, torch.arange(6)
    ).item()
    assert losses.info_nce(z_b, z_a) == pytest.approx(other_way, rel=1e-12)
    assert losses.info_nce(z_a, z_b) != pytest.approx(other_way, rel=1e-6)


# --- the numbers the chapter quotes ----------------------------------------------------------


def test_a_confident_wrong_answer_costs_minus_log_0_01():
    # 99 % "cat" (class 0) when the picture is a dog (class 1): -ln 0.01 = 4.60517...
    logits = np.log(np.array([[0.99, 0.01]]))
    assert losses.cross_entropy(logits, np.array([1])) == pytest.approx(-math.log(0.01), rel=1e-14)
    assert round(float(losses.cross_entropy(logits, np.array([1]))), 4) == 4.6052
    assert losses.binary_cross_entropy(np.array([0.01]), np.array([1.0])) == pytest.approx(4.605170185988091)
    # and the confident right answer costs -ln 0.99
    assert losses.cross_entropy(logits, np.array([0])) == pytest.approx(-math.log(0.99), rel=1e-12)


@pytest.mark.parametrize("p,y", [(0.0, 1.0), (1.0, 0.0), (0.0, 0.0), (1.0, 1.0)])
def test_binary_cross_entropy_at_exactly_0_or_1_is_finite_not_nan(p, y):
    value = losses.binary_cross_entropy(np.array([p]), np.array([y]))
    grad = losses.binary_cross_entropy_grad(np.array([p]), np.array([y]))
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    if p != y:  # log(0), clipped: -log(1e-12) (1 - 1e-12 is not exact in float64, hence rel=1e-5)
        assert value == pytest.approx(-math.log(1e-12), rel=1e-5)
        assert np.sign(grad[0]) == np.sign(p - y)  # pointing back towards the target
    else:
        assert value < 1e-11


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [-800.0, 800.0, 0.0]])
    labels = np.array([1, 1])
    x = as_tensor(logits, grad=True)
    expected = F.cross_entropy(x, torch.tensor(labels), reduction="none")
    expected.sum().backward()
    np.testing.assert_allclose(losses.cross_entropy(logits, labels, reduction="none"), [1000.0, 0.0])
    np.testing.assert_allclose(
        losses.cross_entropy(logits, labels, reduction="none"), expected.detach().numpy()
    )
    np.testing.assert_allclose(losses.cross_entropy_grad(logits, labels, reduction="sum"), x.grad.numpy())


def test_focal_is_finite_for_huge_logits():
    logits, target = np.array([60.0, -60.0, 60.0, -60.0]), np.array([1.0, 0.0, 0.0, 1.0])
    value = losses.focal(logits, target, reduction="none")
    grad = losses.focal_grad(logits, target, reduction="none")
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, [0.0, 0.0, 0.75 * 60.0, 0.25 * 60.0], atol=1e-20, rtol=1e-12)


# --- properties -------------------------------------------------------------------------------

unit = st.floats(0.0, 1.0, allow_nan=False)
finite = st.floats(-50.0, 50.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 20), elements=unit), st.data())
def test_binary_cross_entropy_is_smallest_at_the_target_probability(input, data):
    target = data.draw(arrays(np.float64, input.shape, elements=unit))
    value = losses.binary_cross_entropy(input, target, reduction="none")
    at_target = losses.binary_cross_entropy(target, target, reduction="none")
    assert np.all(value >= 0)
    assert np.all(value >= at_target - 1e-9)  # Gibbs' inequality: no p beats p = y
    hard = np.round(target)
    assert np.all(losses.binary_cross_entropy(hard, hard, reduction="none") < 1e-11)  # ~0, by the clip


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(2, 6), st.data())
def test_cross_entropy_is_non_negative_and_its_gradient_rows_sum_to_zero(n, classes, data):
    logits = data.draw(arrays(np.float64, (n, classes), elements=finite))
    labels = np.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)))
    assert np.all(losses.cross_entropy(logits, labels, reduction="none") >= 0)
    grad = losses.cross_entropy_grad(logits, labels, reduction="sum")
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 20), elements=finite), st.data())
def test_hinge_is_zero_with_zero_gradient_once_the_margin_reaches_one(scores, data):
    target = data.draw(arrays(np.float64, scores.shape, elements=st.sampled_from([-1.0, 1.0])))
    value = losses.hinge(scores, target, reduction="none")
    grad = losses.hinge_grad(scores, target, reduction="none")
    margin = target * scores
    assert np.all(value >= 0) and np.all(value >= 1 - margin)
    assert np.all(value[margin >= 1] == 0) and np.all(grad[margin >= 1] == 0)
    assert np.all(value[margin < 1] > 0)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 20), elements=finite),
    st.floats(0.0, 5.0),
    st.floats(0.0, 1.0),
    st.data(),
)
def test_focal_never_exceeds_weighted_cross_entropy(logits, gamma, alpha, data):
    target = data.draw(arrays(np.float64, logits.shape, elements=st.sampled_from([0.0, 1.0])))
    focal = losses.focal(logits, target, gamma=gamma, alpha=alpha, reduction="none")
    weighted_ce = losses.focal(logits, target, gamma=0.0, alpha=alpha, reduction="none")
    assert np.all(focal >= 0)
    assert np.all(focal <= weighted_ce * (1 + 1e-12))  # (1 - p_t)^gamma <= 1


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 8), st.integers(1, 6), st.floats(0.05, 2.0), st.floats(0.1, 10.0), st.data())
def test_info_nce_is_non_negative_and_ignores_the_length_of_each_row(n, dim, temperature, scale, data):
    z_a = data.draw(arrays(np.float64, (n, dim), elements=st.floats(-5, 5).filter(lambda v: abs(v) > 0.1)))
    z_b = data.draw(arrays(np.float64, (n, dim), elements=st.floats(-5, 5).filter(lambda v: abs(v) > 0.1)))
    value = losses.info_nce(z_a, z_b, temperature=temperature)
    rescaled = losses.info_nce(scale * z_a, z_b, temperature=temperature)
    assert value >= 0
    assert rescaled == pytest.approx(value, rel=1e-9, abs=1e-12)


# --- bad inputs -----------------------------------------------------------------------------


def test_binary_cross_entropy_refuses_inputs_that_are_not_probabilities():
    with pytest.raises(ValueError, match="between 0 and 1"):
        losses.binary_cross_entropy(np.array([1.2]), np.array([1.0]))
    with pytest.raises(ValueError, match="between 0 and 1"):
        losses.binary_cross_entropy_grad(np.array([-0.1]), np.array([1.0]))
    with pytest.raises(ValueError, match="target should be between 0 and 1"):
        losses.binary_cross_entropy(np.array([0.5]), np.array([2.0]))
    with pytest.raises(ValueError, match="eps"):
        losses.binary_cross_entropy(np.array([0.5]), np.array([1.0]), eps=0.0)


def test_cross_entropy_refuses_bad_labels_and_shapes():
    logits = np.zeros((3, 4))
    with pytest.raises(ValueError, match="out of bounds"):
        losses.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="out of bounds"):
        losses.cross_entropy_grad(logits, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match="integer class indices"):
        losses.cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="integer class indices"):
        losses.cross_entropy(logits, np.array([True, False, True]))
    with pytest.raises(ValueError, match="shape"):
        losses.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        losses.cross_entropy(np.zeros(4), np.array([1]))


def test_hinge_and_focal_refuse_labels_from_the_other_convention():
    with pytest.raises(ValueError, match="-1 and \\+1"):
        losses.hinge(np.zeros(3), np.array([0.0, 1.0, 1.0]))  # {0, 1} labels are focal's
    with pytest.raises(ValueError, match="0 and 1"):
        losses.focal(np.zeros(3), np.array([-1.0, 1.0, 1.0]))  # {-1, +1} labels are hinge's
    with pytest.raises(ValueError, match="0 and 1"):
        losses.focal_grad(np.zeros(2), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="gamma"):
        losses.focal(np.zeros(2), np.ones(2), gamma=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        losses.focal(np.zeros(2), np.ones(2), alpha=1.5)


def test_info_nce_refuses_mismatched_batches_a_single_pair_and_a_bad_temperature():
    with pytest.raises(ValueError, match="same shape"):
        losses.info_nce(np.ones((4, 3)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="at least 2"):
        losses.info_nce(np.ones((1, 3)), np.ones((1, 3)))
    with pytest.raises(ValueError, match="temperature"):
        losses.info_nce_grad(np.ones((2, 3)), np.ones((2, 3)), temperature=0.0)


CALLS = [
    lambda bad: losses.binary_cross_entropy(bad, np.full(2, 0.5)),
    lambda bad: losses.binary_cross_entropy_grad(np.full(2, 0.5), bad),
    lambda bad: losses.cross_entropy(bad.reshape(1, 2), np.array([0])),
    lambda bad: losses.hinge(bad, np.ones(2)),
    lambda bad: losses.focal(bad, np.ones(2)),
    lambda bad: losses.info_nce(bad.reshape(2, 1), np.ones((2, 1))),
    lambda bad: losses.info_nce_grad(np.ones((2, 1)), bad.reshape(2, 1)),
]


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_nan_and_infinity_are_refused(call, bad_value):
    with pytest.raises(ValueError, match="NaN"):
        call(np.array([0.5, bad_value]))


@pytest.mark.parametrize(
    "call",
    [
        lambda: losses.binary_cross_entropy(np.full(2, 0.5), np.ones(2), reduction="avg"),
        lambda: losses.cross_entropy(np.zeros((2, 2)), np.array([0, 1]), reduction="avg"),
        lambda: losses.hinge(np.zeros(2), np.ones(2), reduction="avg"),
        lambda: losses.focal(np.zeros(2), np.ones(2), reduction="avg"),
        lambda: losses.info_nce(np.eye(2), np.eye(2), reduction="avg"),
    ],
)
def test_unknown_reduction_is_refused(call):
    with pytest.raises(ValueError, match="reduction"):
        call()


def test_shape_mismatch_is_refused_not_broadcast():
    for fn, target in [
        (losses.binary_cross_entropy, np.full(3, 0.5)),
        (losses.hinge, np.ones(3)),
        (losses.focal, np.ones(3)),
    ]:
        with pytest.raises(ValueError, match="same shape"):
            fn(np.full((3, 1), 0.5), target)
