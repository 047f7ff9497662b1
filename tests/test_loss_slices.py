"""gdlab.loss_slices: filter-normalised directions, batched slices equal to the loop, exact sharpness."""

import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gdlab import _stacked, data, loss_slices

# Small torch models in float32 on one thread (the fixture lives in conftest.py).
pytestmark = pytest.mark.usefixtures("small_torch")


def small_mlp(seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(2, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 1),
    ).to(dtype)


def moons(n=100, dtype=torch.float32):
    d = data.moons(n=n, noise=0.2, seed=0)
    return torch.as_tensor(d.X, dtype=dtype), torch.as_tensor(d.y, dtype=dtype).reshape(-1, 1)


bce = F.binary_cross_entropy_with_logits


def test_filter_normalised_directions_match_each_filters_norm_and_leave_biases_alone():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, kernel_size=3),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 6 * 6, 5),
        torch.nn.LayerNorm(5),
    )
    d1, d2 = loss_slices.random_directions(model, seed=0)
    for name, p in model.named_parameters():
        if p.ndim > 1:
            filters = p.detach().reshape(len(p), -1).norm(dim=1)
            for d in (d1, d2):
                assert torch.allclose(d[name].reshape(len(p), -1).norm(dim=1), filters, rtol=1e-5)
        else:
            assert torch.count_nonzero(d1[name]) == torch.count_nonzero(d2[name]) == 0, name
    assert not torch.allclose(d1["0.weight"], d2["0.weight"])  # two different directions


def test_one_dimensional_parameters_can_be_scaled_as_one_filter():
    model = small_mlp()
    (d,) = loss_slices.random_directions(model, seed=1, count=1, ignore_1d=False)
    bias = model[0].bias.detach()
    assert torch.allclose(d["0.bias"].norm(), bias.norm(), rtol=1e-5)


def test_directions_are_reproducible_from_the_seed():
    model = small_mlp()
    a, b, c = (loss_slices.random_directions(model, seed=s) for s in (5, 5, 6))
    assert all(torch.equal(a[0][k], b[0][k]) and torch.equal(a[1][k], b[1][k]) for k in a[0])
    assert not torch.equal(a[0]["0.weight"], c[0]["0.weight"])


def test_the_batched_surface_equals_the_one_point_at_a_time_loop():
    model, (X, y) = small_mlp(), moons()
    directions = loss_slices.random_directions(model, seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    batched = loss_slices.loss_surface(model, bce, X, y, directions, span=1.0, resolution=9, chunk_size=10)
    loop = loss_slices.loss_surface_loop(model, bce, X, y, directions, span=1.0, resolution=9)
    np.testing.assert_allclose(batched.losses, loop.losses, rtol=1e-5)
    np.testing.assert_array_equal(batched.alphas, np.linspace(-1, 1, 9))
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # weights untouched
    # The centre of the grid is the model itself.
    assert batched.losses[4, 4] == pytest.approx(bce(model(X), y).item(), rel=1e-6)
    # Rows are beta, columns alpha: one step along alpha is theta + h d1.
    h = batched.alphas[1] - batched.alphas[0]
    with torch.no_grad():
        for p, (name, _) in zip(model.parameters(), model.named_parameters()):
            p.add_(float(h) * directions[0][name])
        assert batched.losses[4, 5] == pytest.approx(bce(model(X), y).item(), rel=1e-5)


def test_a_41_by_41_surface_of_a_small_mlp_computes():
    model, (X, y) = small_mlp(), moons(200)
    directions = loss_slices.random_directions(model, seed=0)
    start = time.perf_counter()
    surface = loss_slices.loss_surface(model, bce, X, y, directions, resolution=41)
    seconds = time.perf_counter() - start
    assert surface.losses.shape == (41, 41) and np.isfinite(surface.losses).all()
    assert surface.losses[20, 20] == pytest.approx(bce(model(X), y).item(), rel=1e-6)
    print(f"41 x 41 surface, batched: {seconds:.2f} s")  # shown with pytest -s; never asserted


def test_the_top_hessian_eigenvalue_of_linear_regression_is_that_of_2_xtx_over_n():
    d = data.linear(n=50, weights=(2.0, -1.0, 0.5), noise=0.3, seed=3)
    X = torch.as_tensor(d.X * np.array([1.0, 2.0, 0.5]), dtype=torch.float64)  # distinct scales
    y = torch.as_tensor(d.y, dtype=torch.float64).reshape(-1, 1)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1).double()
    # MSE is quadratic in (w, b): the Hessian is 2 A^T A / n with A = [X, 1], whatever the weights.
    A = torch.cat([X, torch.ones(len(X), 1, dtype=torch.float64)], dim=1)
    exact = torch.linalg.eigvalsh(2 * A.T @ A / len(A))[-1].item()
    top = loss_slices.top_hessian_eigenvalue(model, F.mse_loss, X, y, iterations=500, seed=0)
    assert top == pytest.approx(exact, rel=1e-6)
    # Without a bias it is 2 X^T X / n.
    no_bias = torch.nn.Linear(3, 1, bias=False).double()
    exact = torch.linalg.eigvalsh(2 * X.T @ X / len(X))[-1].item()
    assert loss_slices.top_hessian_eigenvalue(no_bias, F.mse_loss, X, y, iterations=500) == pytest.approx(
        exact, rel=1e-6
    )


def test_the_top_eigenvalue_of_a_trained_mlp_equals_that_of_its_full_hessian():
    # For a network the Hessian changes with the weights. Near a minimum it is nearly positive
    # semi-definite, so power iteration converges to the top eigenvalue in a few steps.
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)).double()
    X, y = moons(40, dtype=torch.float64)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        bce(model(X), y).backward()
        opt.step()
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def loss_of(vector):
        parts, start = {}, 0
        for name, shape in zip(names, shapes):
            size = int(np.prod(shape))
            parts[name] = vector[start : start + size].reshape(shape)
            start += size
        return bce(torch.func.functional_call(model, parts, (X,)), y)

    # The full 13 x 13 Hessian, reverse over reverse (torch.func.hessian goes forward-mode,
    # which emits a DeprecationWarning in torch 2.13).
    eigenvalues = torch.linalg.eigvalsh(torch.func.jacrev(torch.func.jacrev(loss_of))(flat))
    assert eigenvalues[0] > -0.01 * eigenvalues[-1]  # nearly PSD
    top = loss_slices.top_hessian_eigenvalue(model, bce, X, y, iterations=100)
    assert top == pytest.approx(eigenvalues[-1].item(), rel=1e-6)


def test_roughness_is_zero_for_a_plane_one_for_a_bowl_and_higher_for_bumps():
    a = np.linspace(-1.0, 1.0, 41)
    A, B = np.meshgrid(a, a)
    assert loss_slices.roughness(loss_slices.Surface(a, a, 2 * A - B + 3)) == pytest.approx(0.0, abs=1e-9)
    assert loss_slices.roughness(loss_slices.Surface(a, a, A**2 + B**2)) == pytest.approx(1.0)
    assert loss_slices.roughness(loss_slices.Surface(a, a, 5.0 * A**2)) == pytest.approx(1.0)
    bumpy = A**2 + B**2 + 0.2 * np.sin(12 * A) * np.sin(12 * B)
    assert loss_slices.roughness(loss_slices.Surface(a, a, bumpy)) > 5
    assert loss_slices.roughness(np.ones((5, 5))) == 0.0
    # For a smooth surface the number does not depend on the grid.
    fine = np.linspace(-1.0, 1.0, 81)
    F_, G = np.meshgrid(fine, fine)
    coarse = loss_slices.roughness(loss_slices.Surface(a, a, np.exp(A) + B**2))
    assert loss_slices.roughness(loss_slices.Surface(fine, fine, np.exp(F_) + G**2)) == pytest.approx(
        coarse, rel=0.01
    )


def test_a_trained_network_has_a_smoother_slice_than_a_bumpy_function():
    model, (X, y) = small_mlp(), moons()
    surface = loss_slices.loss_surface(
        model, bce, X, y, loss_slices.random_directions(model, seed=0), resolution=21
    )
    assert 0 < loss_slices.roughness(surface) < 5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(resolution=1), "resolution must be an integer of at least 2"),
        (dict(resolution=4.0), "resolution"),
        (dict(span=0.0), "span must be a positive finite number"),
        (dict(span=float("nan")), "span"),
        (dict(directions=()), "directions must be a pair"),
        (dict(directions=({"0.weight": torch.zeros(16, 2)}, {})), "one tensor per model parameter"),
        (dict(X=np.zeros((4, 2))), "torch.Tensor"),
        (dict(X=torch.zeros(3, 2)), "same, non-zero number of rows"),
        (dict(chunk_size=0), "chunk_size"),
    ],
)
def test_bad_surface_arguments_raise_value_error(kwargs, match):
    model, (X, y) = small_mlp(), moons(4)
    arguments = dict(
        model=model,
        loss_fn=bce,
        X=X,
        y=y,
        directions=loss_slices.random_directions(model, seed=0),
        resolution=3,
    )
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        loss_slices.loss_surface(**arguments)


def test_wrongly_shaped_directions_and_other_bad_input_raise():
    model, (X, y) = small_mlp(), moons(4)
    d1, d2 = loss_slices.random_directions(model, seed=0)
    d1 = dict(d1, **{"0.weight": torch.zeros(2, 16)})
    with pytest.raises(ValueError, match="has shape \\(2, 16\\), the parameter \\(16, 2\\)"):
        loss_slices.loss_surface_loop(model, bce, X, y, (d1, d2), resolution=3)
    with pytest.raises(ValueError, match="count must be a positive integer"):
        loss_slices.random_directions(model, count=0)
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        loss_slices.random_directions("mlp")
    with pytest.raises(ValueError, match="iterations"):
        loss_slices.top_hessian_eigenvalue(model, bce, X, y, iterations=0)
    with pytest.raises(ValueError, match="square grid"):
        loss_slices.roughness(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        loss_slices.roughness(np.full((3, 3), np.inf))


class _Block(torch.nn.Module):  # chapter 05's plain block: a module of its own, torch.relu in its forward
    def __init__(self, width):
        super().__init__()
        self.linear = torch.nn.Linear(width, width)

    def forward(self, h):
        return torch.relu(self.linear(h))


def _chapter_05_network():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 16), torch.nn.ReLU(), *(_Block(16) for _ in range(6)), torch.nn.Linear(16, 1)
    )
    moons = data.moons(n=200, noise=0.2, seed=0)
    X = torch.tensor(moons.X, dtype=torch.float32)
    return model, X, torch.tensor(moons.y, dtype=torch.float32).unsqueeze(1)


def test_chapter_05_network_takes_the_traced_path_and_equals_the_loop_on_41_by_41(monkeypatch):
    model, X, y = _chapter_05_network()
    bce = F.binary_cross_entropy_with_logits
    directions = loss_slices.random_directions(model, seed=0)
    # Its forward pass reads as a graph of steps, and the other batched path would take it too.
    assert _plan(model) is not None
    stacked = {name: p.detach().expand(7, *p.shape) for name, p in model.named_parameters()}
    with _stacked.StackedLinear():
        outputs = torch.func.functional_call(model, stacked, (X,))
    assert outputs.shape == (7, 200, 1)  # one output per stacked point: no fallback to vmap
    # ... and loss_surface never calls a vmapped function on it (neither model nor loss).
    vmapped_calls, vmap = [], torch.vmap

    def counting_vmap(fn, *args, **kwargs):
        mapped = vmap(fn, *args, **kwargs)

        def call(*inputs):
            vmapped_calls.append(fn)
            return mapped(*inputs)

        return call

    monkeypatch.setattr(torch, "vmap", counting_vmap)
    # ... nor the slower batched path: every chunk goes through the traced plan.
    modes = []
    monkeypatch.setattr(_stacked.StackedLinear, "__enter__", lambda self: modes.append(self))
    fast = loss_slices.loss_surface(model, bce, X, y, directions, resolution=41)
    assert vmapped_calls == [] and modes == []
    loop = loss_slices.loss_surface_loop(model, bce, X, y, directions, resolution=41)
    # float32 sums of 200 terms over 8 layers: measured worst relative gap 2.5e-7
    np.testing.assert_allclose(fast.losses, loop.losses, rtol=2e-6)


def test_a_model_that_normalises_or_reshapes_falls_back_to_vmap_with_the_same_values():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 8),
        torch.nn.LayerNorm(8),
        torch.nn.Tanh(),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 1),
    )
    X, y = torch.randn(32, 2), torch.randn(32, 1)
    stacked = {name: p.detach().expand(3, *p.shape) for name, p in model.named_parameters()}
    with pytest.raises(_stacked.NotStackable), _stacked.StackedLinear():
        torch.func.functional_call(model, stacked, (X,))
    directions = loss_slices.random_directions(model, seed=0)
    fast = loss_slices.loss_surface(model, F.mse_loss, X, y, directions, resolution=7, chunk_size=5)
    loop = loss_slices.loss_surface_loop(model, F.mse_loss, X, y, directions, resolution=7)
    np.testing.assert_allclose(fast.losses, loop.losses, rtol=1e-5)


class _Residual(torch.nn.Module):  # h + relu(W h): the block's input is still read after its Linear
    def __init__(self, width, bias=True):
        super().__init__()
        self.linear = torch.nn.Linear(width, width, bias=bias)

    def forward(self, h):
        z = self.linear(h)
        return h + torch.relu(z) + 0.5 * torch.sigmoid(z)


def _takes_the_fast_path(model, X):
    stacked = {name: p.detach().expand(3, *p.shape) for name, p in model.named_parameters()}
    with _stacked.StackedLinear():
        outputs = torch.func.functional_call(model, stacked, (X,))
    return outputs.shape[0] == 3


@pytest.mark.parametrize(
    "name, dtype, rtol",
    # float32: the batched products sum in another order than the loop's; measured worst
    # relative gaps 1.3e-7 to 4.3e-7 over four seeds of these nets, 5e-6 leaves room for
    # other CPUs' kernels.
    [
        ("deep tanh, 12 layers", torch.float32, 5e-6),
        ("no biases", torch.float32, 5e-6),
        ("residual", torch.float32, 5e-6),
        ("deep tanh, 12 layers", torch.float64, 1e-12),
        ("residual", torch.float64, 1e-12),
    ],
)
@pytest.mark.parametrize("path", ["traced", "stacked"])
def test_linear_and_elementwise_models_take_a_batched_path_and_equal_the_loop(
    name, dtype, rtol, path, monkeypatch
):
    torch.manual_seed(1)
    nn = torch.nn
    if name.startswith("deep"):
        layers = [nn.Linear(3, 24), nn.Tanh()]
        for _ in range(10):
            layers += [nn.Linear(24, 24), nn.Tanh()]
        model = nn.Sequential(*layers, nn.Linear(24, 1))
    elif name == "no biases":
        model = nn.Sequential(
            nn.Linear(3, 16, bias=False),
            nn.ReLU(),
            nn.Linear(16, 16, bias=False),
            nn.Sigmoid(),
            nn.Linear(16, 1, bias=False),
        )
    else:
        model = nn.Sequential(
            nn.Linear(3, 16), nn.ReLU(), *(_Residual(16) for _ in range(4)), nn.Linear(16, 1)
        )
    model = model.to(dtype)
    X, y = torch.randn(64, 3, dtype=dtype), torch.randn(64, 1, dtype=dtype)
    assert _takes_the_fast_path(model, X) and _plan(model) is not None  # both batched paths
    if path == "stacked":  # as for a model fx cannot read
        monkeypatch.setattr(loss_slices, "traced", lambda *args: None)
    # Biases get directions too here, so every parameter moves over the grid.
    directions = loss_slices.random_directions(model, seed=2, ignore_1d=False)
    # chunk_size 7 on a 9 x 9 grid: 12 chunks, the last one shorter (the traced plan reuses
    # the memory of each chunk in the next).
    fast = loss_slices.loss_surface(model, F.mse_loss, X, y, directions, span=0.8, resolution=9, chunk_size=7)
    loop = loss_slices.loss_surface_loop(model, F.mse_loss, X, y, directions, span=0.8, resolution=9)
    np.testing.assert_allclose(fast.losses, loop.losses, rtol=rtol)
    assert fast.losses.dtype == np.float64 and np.ptp(fast.losses) > 0


def test_a_model_with_batch_norm_in_eval_mode_falls_back_to_vmap_with_the_same_values():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 1)
    )
    X, y = moons(60)
    model.train()
    with torch.no_grad():
        for _ in range(5):  # running statistics away from their initial (0, 1)
            model(X * 3 + 1)
    assert not _takes_the_fast_path_or_raises(model, X)
    directions = loss_slices.random_directions(model, seed=0)
    fast = loss_slices.loss_surface(model, bce, X, y, directions, resolution=7, chunk_size=10)
    loop = loss_slices.loss_surface_loop(model, bce, X, y, directions, resolution=7)
    np.testing.assert_allclose(fast.losses, loop.losses, rtol=1e-5)
    assert model.training  # the mode it came in with
    # Evaluated with the running statistics, not the batch's: the centre is model.eval()(X).
    assert fast.losses[3, 3] == pytest.approx(bce(model.eval()(X), y).item(), rel=1e-6)


def _takes_the_fast_path_or_raises(model, X):
    try:
        return _takes_the_fast_path(model, X)
    except _stacked.NotStackable:
        return False


class _TwoLayers(torch.nn.Module):  # the layers of the misbehaving models below
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 4)
        self.out = torch.nn.Linear(4, 1)


class _MixesPoints(_TwoLayers):  # flips the chunk's points: only the final check can see it
    def forward(self, x):
        h = torch.tanh(self.linear(x))
        return self.out(h.flip(0) if h.ndim == 3 else h)


def test_a_forward_pass_that_mixes_the_points_up_is_caught_and_recomputed_with_vmap():
    torch.manual_seed(0)
    model = _MixesPoints()
    X, y = torch.randn(16, 2), torch.randn(16, 1)
    directions = loss_slices.random_directions(model, seed=0)
    fast = loss_slices.loss_surface(model, F.mse_loss, X, y, directions, resolution=5, chunk_size=6)
    loop = loss_slices.loss_surface_loop(model, F.mse_loss, X, y, directions, resolution=5)
    np.testing.assert_allclose(fast.losses, loop.losses, rtol=1e-5)


@pytest.mark.parametrize(
    "loss_fn",
    [
        lambda out, t: F.mse_loss(out, t, reduction="sum"),
        F.l1_loss,
        lambda out, t: F.huber_loss(out, t, delta=0.3),
        lambda out, t: F.binary_cross_entropy(torch.sigmoid(out), t),
        lambda out, t: F.binary_cross_entropy_with_logits(out, t, pos_weight=torch.tensor([2.0])),
        lambda out, t: ((out - t) ** 2).mean() + 0.1 * out.abs().mean(),  # reduces itself: vmap
    ],
    ids=["mse sum", "l1", "huber", "bce of sigmoid", "weighted bce", "own reduction"],
)
def test_every_loss_gives_the_loops_values(loss_fn):
    model, (X, y) = small_mlp(), moons(50)
    directions = loss_slices.random_directions(model, seed=3)
    fast = loss_slices.loss_surface(model, loss_fn, X, y, directions, resolution=6, chunk_size=8)
    loop = loss_slices.loss_surface_loop(model, loss_fn, X, y, directions, resolution=6)
    np.testing.assert_allclose(fast.losses, loop.losses, rtol=5e-6)


def test_torchs_elementwise_losses_give_one_loss_per_stacked_output():
    outputs, y = torch.randn(5, 30, 1), torch.rand(30, 1)
    with _stacked.PerPointLoss():
        per_point = bce(outputs, y)
    assert per_point.shape == (5,)
    assert torch.allclose(per_point, torch.stack([bce(o, y) for o in outputs]), rtol=1e-6)
    with pytest.raises(_stacked.NotStackable), _stacked.PerPointLoss():
        ((outputs - y) ** 2).mean()  # a reduction of its own: it would mix the points up


class _TakesNoStack(_TwoLayers):  # torch.diag wants a matrix: a stack of them is an error
    def forward(self, x):
        h = torch.tanh(self.linear(x))
        return self.out(h) + 0.1 * torch.diag(h).sum()


def test_a_model_whose_operations_take_no_stack_of_points_falls_back_to_vmap():
    torch.manual_seed(0)
    model = _TakesNoStack()
    X, y = torch.randn(16, 2), torch.randn(16, 1)
    stacked = {name: p.detach().expand(3, *p.shape) for name, p in model.named_parameters()}
    with pytest.raises(RuntimeError), _stacked.StackedLinear():
        torch.func.functional_call(model, stacked, (X,))
    directions = loss_slices.random_directions(model, seed=0)
    fast = loss_slices.loss_surface(model, F.mse_loss, X, y, directions, resolution=5, chunk_size=6)
    loop = loss_slices.loss_surface_loop(model, F.mse_loss, X, y, directions, resolution=5)
    np.testing.assert_allclose(fast.losses, loop.losses, rtol=1e-5)


def _plan(model, seed=0, ignore_1d=True):
    params = {name: p.detach() for name, p in model.named_parameters()}
    d1, d2 = loss_slices.random_directions(model, seed=seed, ignore_1d=ignore_1d)
    return loss_slices.traced(model.eval(), params, d1, d2)


def _run_chunk(plan, model, X, count, seed=0):
    """One chunk of ``count`` random points through the plan, as loss_surface feeds it."""
    generator = torch.Generator().manual_seed(seed)
    a, b = (torch.rand(count, 1, 1, generator=generator, dtype=X.dtype) for _ in range(2))
    points = {
        name: torch.addcmul(p, a.reshape(-1, *(1,) * p.ndim), plan.d1[name]).addcmul_(
            b.reshape(-1, *(1,) * p.ndim), plan.d2[name]
        )
        for name, p in plan.params.items()
    }
    alone = [
        torch.func.functional_call(model, {name: p[k] for name, p in points.items()}, (X,))
        for k in range(count)
    ]
    return plan.run(X, a, b), torch.stack(alone)


class _EveryStep(torch.nn.Module):  # each kind of step the traced plan knows, once or more
    def __init__(self):
        super().__init__()
        self.inp = torch.nn.Linear(3, 8)
        self.weight = torch.nn.Parameter(torch.randn(8, 8))
        self.hidden = torch.nn.Sequential(torch.nn.Dropout(0.3), torch.nn.Identity(), torch.nn.Tanh())
        self.out = torch.nn.Linear(8, 2, bias=False)

    def forward(self, x):
        z = self.inp(torch.sigmoid(x))  # an elementwise step before any weight: shared by every point
        h = F.relu(z) + 0.5 * z.tanh()  # z is read twice: neither reading may overwrite it
        g = F.linear(h, self.weight)  # F.linear of the model's own parameter
        g = (1 - self.hidden(g)) / 2 - h * 0.25  # numbers first and last, sub and div
        return self.out(g.sigmoid_())  # an in-place method on a value nothing else reads


def test_the_traced_plan_runs_every_kind_of_step_as_the_forward_pass_does():
    torch.manual_seed(0)
    model = _EveryStep().double()
    plan = _plan(model, ignore_1d=False)
    assert plan is not None  # fx reads it, and every step is one the plan knows
    kinds = [step.kind for step in plan.steps]
    assert kinds.count("linear") == 3 and kinds.count("binary") == 6 and "attribute" in kinds
    by_name = {step.node.name: step for step in plan.steps}
    assert not by_name["relu"].in_place and not by_name["tanh"].in_place  # z is read twice
    assert by_name["hidden_2"].in_place and by_name["sigmoid_"].in_place  # their operands die there
    X = torch.randn(20, 3, dtype=torch.float64)
    for chunk, seed in ((6, 0), (6, 1), (4, 2)):  # chunks reuse memory; a shorter one last
        stacked, alone = _run_chunk(plan, model, X, chunk, seed)
        np.testing.assert_allclose(stacked.numpy(), alone.numpy(), rtol=1e-12, atol=1e-14)
        plan.give_back(stacked)
    assert model.training is False  # (_plan put it in eval mode, as loss_surface does)
    # In training mode dropout is not the identity: the plan refuses the model.
    assert loss_slices.traced(model.train(), plan.params, plan.d1, plan.d2) is None


def test_the_traced_plan_keeps_two_buffers_for_a_chain_of_layers_and_allocates_none_after_the_first_chunk(
    monkeypatch,
):
    monkeypatch.setattr(_stacked, "_kept", [])  # no memory left by an earlier slice
    model, X, _ = _chapter_05_network()
    plan = _plan(model)
    assert plan is not None
    for seed in range(3):
        stacked, alone = _run_chunk(plan, model, X, 5, seed)
        np.testing.assert_allclose(stacked.numpy(), alone.numpy(), rtol=2e-6, atol=1e-7)
        plan.give_back(stacked)
        # Each Linear writes where the layer before the last one wrote; each ReLU overwrites its
        # input. So two buffers of (5, 200, 16), one (5, 200, 1) for the output, whatever the chunk;
        # and one row per point for the weights of the 7 layers after the first, 6 * (16 * 16 + 16)
        # + 16 + 1 numbers, kept with its views for the next chunk.
        spare = sorted((shape, len(buffers)) for (shape, *_), buffers in plan.spare.items())
        assert spare == [((5, 200, 1), 1), ((5, 200, 16), 2)]
        assert [tuple(memory.shape) for memory, _ in plan.stacks.values()] == [(5, 1649)]
    assert all(step.in_place for step in plan.steps if step.kind == "unary")


def test_a_slice_computes_in_the_memory_the_last_one_left_and_keeps_at_most_keep_bytes(monkeypatch):
    monkeypatch.setattr(_stacked, "_kept", [])
    model, X, y = _chapter_05_network()
    directions = loss_slices.random_directions(model, seed=0)

    def kept_memory():
        return {t.data_ptr() for pool in _stacked._kept for buffers in pool.values() for t in buffers}

    first = loss_slices.loss_surface(model, bce, X, y, directions, resolution=9, chunk_size=20)
    memory = kept_memory()
    # two buffers of (20, 200, 16), an output (20, 200, 1) and the chunk's weights (20, 1649);
    # the same for the last point, alone
    assert len(memory) == 8
    second = loss_slices.loss_surface(model, bce, X, y, directions, resolution=9, chunk_size=20)
    assert kept_memory() == memory  # the second slice needed no fresh memory
    np.testing.assert_array_equal(second.losses, first.losses)
    monkeypatch.setattr(_stacked, "KEEP_BYTES", 200 * 16 * 4 * 20)  # less than the slice computes in
    loss_slices.loss_surface(model, bce, X, y, directions, resolution=9, chunk_size=20)
    assert _stacked._kept == []


class _ReadsAfterAnInPlaceReLU(torch.nn.Module):  # relu_ on z, then z again: eager sees relu(z)
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 6)
        self.relu = torch.nn.ReLU(inplace=True)
        self.out = torch.nn.Linear(6, 1)

    def forward(self, x):
        z = self.linear(x)
        return self.out(self.relu(z) + z)


@pytest.mark.parametrize(
    "build",
    [_ReadsAfterAnInPlaceReLU, _MixesPoints, _TakesNoStack],
    ids=["an in-place ReLU on a value read again", "control flow on a tensor", "torch.diag"],
)
def test_what_the_traced_plan_does_not_know_goes_to_the_other_paths_with_the_loops_values(build):
    torch.manual_seed(0)
    model = build()
    assert _plan(model) is None
    X, y = torch.randn(16, 2), torch.randn(16, 1)
    directions = loss_slices.random_directions(model, seed=0)
    fast = loss_slices.loss_surface(model, F.mse_loss, X, y, directions, resolution=5, chunk_size=6)
    loop = loss_slices.loss_surface_loop(model, F.mse_loss, X, y, directions, resolution=5)
    np.testing.assert_allclose(fast.losses, loop.losses, rtol=1e-5)


class _Scaled(torch.nn.Module):  # a plain setting its forward reads: fx writes it into the graph
    def __init__(self):
        super().__init__()
        self.inp, self.out = torch.nn.Linear(2, 8), torch.nn.Linear(8, 1)
        self.scale = 0.5

    def forward(self, x):
        return self.out(torch.tanh(self.inp(x)) * self.scale)


def test_a_models_graph_is_read_once_and_again_when_a_setting_its_forward_reads_changes(monkeypatch):
    torch.manual_seed(0)
    model = _Scaled()
    X, y = torch.randn(16, 2), torch.randn(16, 1)
    directions = loss_slices.random_directions(model, seed=0)
    reads = []
    trace = torch.fx.Tracer.trace
    monkeypatch.setattr(
        torch.fx.Tracer, "trace", lambda self, root, *a, **k: reads.append(1) or trace(self, root, *a, **k)
    )
    first = loss_slices.loss_surface(model, F.mse_loss, X, y, directions, resolution=5)
    again = loss_slices.loss_surface(model, F.mse_loss, X, y, directions, resolution=5)
    assert len(reads) == 1  # the second slice ran the steps kept from the first
    np.testing.assert_array_equal(again.losses, first.losses)
    model.scale = 2.0  # the kept graph has 0.5 in it: it must be read again
    changed = loss_slices.loss_surface(model, F.mse_loss, X, y, directions, resolution=5)
    assert len(reads) == 2
    loop = loss_slices.loss_surface_loop(model, F.mse_loss, X, y, directions, resolution=5)
    np.testing.assert_allclose(changed.losses, loop.losses, rtol=1e-5)
    assert not np.allclose(changed.losses, first.losses)


def test_the_default_chunk_holds_about_chunk_bytes_of_one_activation_per_thread(monkeypatch):
    model, X, _ = _chapter_05_network()
    params = {name: p.detach() for name, p in model.named_parameters()}
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    # the widest layer is 16 wide: 200 rows x 16 float32 numbers per point
    assert loss_slices._default_chunk_size(params, X, 41) == loss_slices.CHUNK_BYTES // (200 * 16 * 4) == 122
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert loss_slices._default_chunk_size(params, X, 41) == 245
    assert loss_slices._default_chunk_size(params, X, 3) == 9  # never more than the grid
    wide = {"w": torch.zeros(10**6, 2)}
    assert loss_slices._default_chunk_size(wide, X, 41) == 1  # never less than one point
