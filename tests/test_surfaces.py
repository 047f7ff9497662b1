"""Every landscape's gradient and Hessian agree with central differences; every listed
minimum is a true minimum (zero gradient, positive-definite Hessian)."""

import numpy as np
import pytest

from gdlab import surfaces

ALL = [
    surfaces.valley,
    surfaces.bowl,
    surfaces.double_well,
    surfaces.himmelblau,
    surfaces.rosenbrock,
    surfaces.saddle,
    surfaces.revenue,
    surfaces.quadratic([[4.0, 1.0], [1.0, 0.5]], center=[1.0, -1.0]),
    surfaces.quadratic([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.1]]),
]
IDS = [f"{land.name}{land.dim}" for land in ALL]


def central_gradient(fn, x, h=1e-6):
    grad = np.zeros_like(x)
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (fn(x + e) - fn(x - e)) / (2 * h)
    return grad


def points_in(land, count=20, seed=0):
    rng = np.random.default_rng(seed)
    lo = np.array([b[0] for b in land.bounds])
    hi = np.array([b[1] for b in land.bounds])
    return lo + (hi - lo) * rng.random((count, land.dim))


@pytest.mark.parametrize("land", ALL, ids=IDS)
def test_gradient_agrees_with_central_differences(land):
    for x in points_in(land):
        numeric = central_gradient(lambda p: float(land.f(p)), x)
        np.testing.assert_allclose(land.grad(x), numeric, rtol=1e-6, atol=1e-5 * (1 + abs(land.f(x))) ** 0.5)


@pytest.mark.parametrize("land", ALL, ids=IDS)
def test_hessian_agrees_with_differences_of_the_gradient(land):
    for x in points_in(land, count=5, seed=1):
        numeric = np.column_stack(
            [central_gradient(lambda p, i=i: float(land.grad(p)[i]), x) for i in range(land.dim)]
        )
        np.testing.assert_allclose(land.hessian(x), numeric, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("land", ALL, ids=IDS)
def test_listed_minima_have_zero_gradient_and_positive_definite_hessian(land):
    values = [float(land.f(m)) for m in land.minima]
    assert values == sorted(values), "minima must be listed lowest value first"
    for m in land.minima:
        np.testing.assert_allclose(land.grad(m), 0.0, atol=1e-10)
        assert np.linalg.eigvalsh(land.hessian(m)).min() > 0


@pytest.mark.parametrize("land", ALL, ids=IDS)
def test_listed_saddles_have_zero_gradient_and_mixed_curvature(land):
    for s in land.saddles:
        np.testing.assert_allclose(land.grad(s), 0.0, atol=1e-10)
        eigenvalues = np.linalg.eigvalsh(land.hessian(s))
        assert eigenvalues.min() < 0 < eigenvalues.max()


def test_known_minima():
    # Values checked by hand: the vertex of x^2 - 4x + 5, the optimum of the revenue
    # surface (dR/dx1 = 100 - 2 x1 = 0, dR/dx2 = 50 - 2 x2 = 0), Rosenbrock's (a, a^2).
    assert surfaces.valley.minima[0].tolist() == [2.0]
    assert surfaces.bowl.minima[0].tolist() == [3.0]
    assert surfaces.revenue.minima[0].tolist() == [50.0, 25.0]
    assert float(surfaces.revenue.f([50.0, 25.0])) == -3125.0
    assert surfaces.rosenbrock.minima[0].tolist() == [1.0, 1.0]
    assert len(surfaces.himmelblau.minima) == 4
    assert max(abs(float(surfaces.himmelblau.f(m))) for m in surfaces.himmelblau.minima) < 1e-25
    # The double well's left minimum is the global one: the +x term tilts the well.
    left, right = surfaces.double_well.minima
    assert left[0] < 0 < right[0]
    assert surfaces.saddle.minima == ()


def test_surfaces_evaluate_on_grids_for_plotting():
    X, Y = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-2, 2, 4))
    for land in [surfaces.himmelblau, surfaces.rosenbrock, ALL[-2]]:
        Z = land.f(np.stack([X, Y]))
        assert Z.shape == X.shape
        assert Z[2, 3] == pytest.approx(float(land.f([X[2, 3], Y[2, 3]])))
        assert land.grad(np.stack([X, Y])).shape == (2,) + X.shape


def test_wrong_dimension_and_bad_hessians_are_refused():
    with pytest.raises(ValueError, match="2 variable"):
        surfaces.himmelblau.f([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="square"):
        surfaces.quadratic([[1.0, 2.0]])
    with pytest.raises(ValueError, match="symmetric"):
        surfaces.quadratic([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="unknown landscape"):
        surfaces.by_name("everest")
    indefinite = surfaces.quadratic([[1.0, 0.0], [0.0, -1.0]])
    assert indefinite.minima == () and len(indefinite.saddles) == 1
