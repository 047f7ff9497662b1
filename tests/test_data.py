"""gdlab.data: seeded, shaped as documented, and strict about bad arguments."""

import numpy as np
import pytest

from gdlab import data


def test_linear_data_is_reproducible_and_follows_its_weights():
    a, b = data.linear(n=500, seed=3), data.linear(n=500, seed=3)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    fitted, *_ = np.linalg.lstsq(np.column_stack([a.X, np.ones(500)]), a.y, rcond=None)
    np.testing.assert_allclose(fitted[:3], [2.0, -1.0, 0.5], atol=0.02)
    residual = a.y - a.X @ a.weights - a.bias
    assert residual.std() == pytest.approx(0.1, rel=0.1)


def test_outliers_are_marked_and_shifted():
    d = data.linear(n=100, weights=(1.5,), noise=0.1, outliers=5, outlier_shift=20.0, seed=1)
    assert d.is_outlier.sum() == 5
    residual = d.y - d.X[:, 0] * 1.5
    assert residual[d.is_outlier].min() > 15 and abs(residual[~d.is_outlier]).max() < 1


def test_classification_sets_are_balanced():
    for dataset in (data.blobs(n=101, seed=0), data.moons(n=101, seed=0)):
        assert dataset.X.shape == (101, 2)
        assert set(np.unique(dataset.y)) == {0, 1}
        assert abs(int(dataset.y.sum()) - 50) <= 1


def test_polynomial_and_house_prices():
    d = data.polynomial(n=30, seed=0)
    assert d.X.shape == (30, 1) and np.all(np.diff(d.X[:, 0]) >= 0)
    sizes, prices = data.house_prices()
    assert sizes.tolist() == [1000, 1500, 2000, 2500, 3000] and prices.tolist() == [200, 280, 350, 400, 480]


def test_split_keeps_every_row_once():
    d = data.linear(n=50, seed=0)
    X_train, y_train, X_val, y_val = data.split(d.X, d.y, validation=0.2, seed=0)
    assert len(X_val) == 10 and len(X_train) == 40
    rows = np.concatenate([X_train, X_val])
    assert sorted(map(tuple, rows)) == sorted(map(tuple, d.X))


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: data.linear(n=0), "positive integer"),
        (lambda: data.linear(n=-5), "positive integer"),
        (lambda: data.linear(noise=-0.1), "non-negative"),
        (lambda: data.linear(n=10, outliers=11), "outliers"),
        (lambda: data.blobs(n=0), "positive integer"),
        (lambda: data.moons(noise=-1.0), "non-negative"),
        (lambda: data.polynomial(noise=float("nan")), "non-negative"),
        (lambda: data.polynomial(x_range=(1.0, -1.0)), "x_range"),
        (lambda: data.split(np.zeros((3, 1)), np.zeros(4)), "same number of rows"),
        (lambda: data.split(np.zeros((3, 1)), np.zeros(3), validation=1.5), "fraction"),
    ],
)
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()
