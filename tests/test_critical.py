"""gdlab.critical finds every critical point Newton's method can reach and names it correctly:
Himmelblau's nine, the double well's three, eigenvalues equal to torch autograd's Hessian."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlab import surfaces
from gdlab.critical import CriticalPoint, classify, critical_points, newton

GRID = np.array([(x, y) for x in np.linspace(-5, 5, 21) for y in np.linspace(-5, 5, 21)])


def himmelblau_torch(p):
    x, y = p[0], p[1]
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


@pytest.fixture(scope="module")
def himmelblau_points():
    return critical_points(surfaces.himmelblau, GRID)


def test_himmelblau_has_four_minima_four_saddles_and_one_maximum(himmelblau_points):
    kinds = [p.kind for p in himmelblau_points]
    assert kinds == ["minimum"] * 4 + ["saddle"] * 4 + ["maximum"]
    assert all(isinstance(p, CriticalPoint) for p in himmelblau_points)
    assert all(abs(p.value) < 1e-20 for p in himmelblau_points[:4])
    (peak,) = himmelblau_points[8:]
    np.testing.assert_allclose(peak.point, [-0.270845, -0.923039], atol=1e-6)
    assert round(peak.value, 3) == 181.617


def test_himmelblau_points_match_the_listed_minima_and_saddles(himmelblau_points):
    for listed, kind in (
        (surfaces.himmelblau.minima, "minimum"),
        (surfaces.himmelblau.saddles, "saddle"),
    ):
        ours = [p.point for p in himmelblau_points if p.kind == kind]
        for q in listed:
            assert min(np.linalg.norm(q - p) for p in ours) < 1e-9


def test_eigenvalues_match_torch_autograd_hessian(himmelblau_points):
    for p in himmelblau_points:
        H = torch.autograd.functional.hessian(himmelblau_torch, torch.tensor(p.point, dtype=torch.float64))
        np.testing.assert_allclose(p.eigenvalues, torch.linalg.eigvalsh(H).numpy(), rtol=1e-12, atol=1e-9)


def test_every_point_has_zero_gradient(himmelblau_points):
    for p in himmelblau_points:
        assert np.linalg.norm(surfaces.himmelblau.grad(p.point)) < 1e-10


def test_double_well_points_are_the_roots_of_its_derivative():
    found = critical_points(surfaces.double_well, np.linspace(-3, 3, 25))
    roots = np.sort(np.roots([4.0, 0.0, -16.0, 1.0]).real)
    assert [p.kind for p in found] == ["minimum", "minimum", "maximum"]
    np.testing.assert_allclose(sorted(p.point[0] for p in found), roots, atol=1e-12)
    assert found[0].value < found[1].value  # the global minimum comes first


def test_rosenbrock_has_a_single_critical_point_its_minimum():
    (only,) = critical_points(surfaces.rosenbrock, GRID[::7] * 0.4)
    assert only.kind == "minimum"
    np.testing.assert_allclose(only.point, [1.0, 1.0], atol=1e-12)


def test_newton_solves_a_quadratic_in_one_step():
    q = surfaces.quadratic([[3.0, 1.0], [1.0, -2.0]], center=[0.5, -1.5])
    point = newton(q, [10.0, 7.0], max_iter=1)
    np.testing.assert_allclose(point, [0.5, -1.5], atol=1e-12)
    assert critical_points(q, [[10.0, 7.0]])[0].kind == "saddle"


def test_newton_reaches_a_maximum_that_gradient_descent_would_flee():
    point = newton(surfaces.himmelblau, [0.0, 0.0])
    assert classify(surfaces.himmelblau.hessian(point)) == "maximum"


def test_newton_gives_up_on_a_singular_hessian():
    flat = surfaces.quadratic([[1.0, 0.0], [0.0, 0.0]])
    assert newton(flat, [1.0, 1.0]) is None
    assert newton(flat, [0.0, 1.0]) is not None  # already level: the gradient is zero there


def test_repeated_starts_give_each_point_once():
    found = critical_points(surfaces.saddle, np.tile([[1.0, 2.0], [-1.0, 0.5]], (10, 1)))
    assert len(found) == 1 and found[0].kind == "saddle"


@settings(max_examples=60, deadline=None)
@given(
    eigenvalues=st.lists(
        st.floats(0.01, 100.0).flatmap(lambda v: st.sampled_from([v, -v])), min_size=1, max_size=5
    ),
    seed=st.integers(0, 2**16),
)
def test_classify_follows_the_signs_of_the_eigenvalues(eigenvalues, seed):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(len(eigenvalues), len(eigenvalues))))
    H = Q @ np.diag(eigenvalues) @ Q.T
    H = (H + H.T) / 2
    signs = np.sign(eigenvalues)
    expected = "minimum" if np.all(signs > 0) else "maximum" if np.all(signs < 0) else "saddle"
    assert classify(H) == expected


def test_classify_calls_a_zero_eigenvalue_degenerate_unless_signs_are_mixed():
    assert classify([[1.0, 0.0], [0.0, 0.0]]) == "degenerate"
    assert classify([[-1.0, 0.0], [0.0, 0.0]]) == "degenerate"
    assert classify(np.diag([1.0, 0.0, -1.0])) == "saddle"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: classify([[1.0, 2.0]]), "square"),
        (lambda: classify([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
        (lambda: classify([[1.0, np.nan], [np.nan, 1.0]]), "NaN"),
        (lambda: classify([[1.0]], atol=-1.0), "atol"),
        (lambda: newton("himmelblau", [0.0, 0.0]), "Landscape"),
        (lambda: newton(surfaces.himmelblau, [0.0, 0.0, 0.0]), "coordinate"),
        (lambda: newton(surfaces.himmelblau, [0.0, 0.0], tol=0.0), "tol"),
        (lambda: newton(surfaces.himmelblau, [0.0, 0.0], max_iter=-1), "max_iter"),
        (lambda: critical_points(surfaces.himmelblau, [0.0, 0.0]), "shape"),
        (lambda: critical_points(surfaces.himmelblau, np.zeros((0, 2))), "shape"),
        (lambda: critical_points(surfaces.himmelblau, GRID, merge_radius=0.0), "merge_radius"),
        (lambda: critical_points(surfaces.himmelblau, [[np.inf, 0.0]]), "NaN or infinite"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
