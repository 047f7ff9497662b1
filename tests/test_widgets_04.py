"""The batch-size explorer of chapter 04, driven headless: set a control, read the result."""

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from gdlab import descend, optim, surfaces
from gdlab.minibatch import linear_mse
from gdlab.widgets.batch_size import BatchSizeExplorer


def alt_text(explorer):
    return re.search(r'alt="([^"]+)"', explorer.figure_view.value).group(1)


def test_full_batch_path_is_plain_gradient_descent_smooth_and_deterministic():
    explorer = BatchSizeExplorer(batch_size=16, lr=0.05, epochs=10)
    n = len(explorer.data.y)
    explorer.batch_size.value = n
    run = explorer.run
    assert run.updates_per_epoch == 1 and len(run.weights) == 11
    # gradient descent on the loss's quadratic form, Hessian 2 X^T X / n, from (0, 0)
    X = explorer.data.X
    bowl = surfaces.quadratic(2 * X.T @ X / n, center=explorer.minimum)
    walk = descend(bowl, [0.0, 0.0], optim.sgd(lr=0.05), steps=10)
    np.testing.assert_allclose(run.weights, walk.positions, rtol=0, atol=1e-12)
    assert np.all(np.diff(run.losses) < 0)  # smooth: the loss falls at every update
    for seed in (1, 7):  # a full batch holds every sample whatever the shuffle: same path, to rounding
        explorer.seed.value = seed
        np.testing.assert_allclose(explorer.run.weights, run.weights, rtol=0, atol=1e-14)
    assert "smooth" in explorer.readout.value


def test_smaller_batches_give_a_noisier_loss_near_the_end():
    explorer = BatchSizeExplorer(batch_size=256, lr=0.05, epochs=20)
    jitter = {}
    for size in (256, 64, 16, 1):
        explorer.batch_size.value = size
        jitter[size] = explorer.last_epoch_jitter()
    assert jitter[256] < 1e-8  # converged, no noise at all
    assert jitter[256] < jitter[64] < jitter[16] < jitter[1]
    assert "noisy" in explorer.readout.value


def test_the_same_settings_give_the_same_path_and_another_seed_another_path():
    explorer = BatchSizeExplorer(batch_size=4, lr=0.05, epochs=3, seed=0)
    first_path, first_image = explorer.run.weights.copy(), explorer.figure_view.value
    explorer.seed.value = 1
    assert not np.array_equal(explorer.run.weights, first_path)
    assert explorer.figure_view.value != first_image
    explorer.seed.value = 0
    assert np.array_equal(explorer.run.weights, first_path)
    assert BatchSizeExplorer(batch_size=4, lr=0.05, epochs=3, seed=0).readout.value == explorer.readout.value


def test_learning_rate_and_epochs_take_effect_and_the_readout_reports_the_end():
    explorer = BatchSizeExplorer(batch_size=32, lr=0.01, epochs=2)
    assert len(explorer.run.weights) == 1 + 2 * 8
    explorer.epochs.value = 5
    assert len(explorer.run.weights) == 1 + 5 * 8
    explorer.lr.value = 0.1
    assert explorer.run.lr == pytest.approx(0.1)
    w1, w2 = explorer.run.weights[-1]
    assert f"final w = ({w1:.3f}, {w2:.3f})" in explorer.readout.value
    loss = linear_mse(explorer.run.weights[-1], explorer.data.X, explorer.data.y)
    assert f"loss {loss:.4f}" in explorer.readout.value
    assert "batch size 32" in alt_text(explorer) and "learning rate 0.1" in alt_text(explorer)


def test_a_learning_rate_far_above_the_stable_range_reads_diverged():
    explorer = BatchSizeExplorer(batch_size=1, lr=0.05, epochs=40)
    explorer.lr.value = 1.0
    assert explorer.run.diverged
    assert "diverged" in explorer.readout.value and "Status: diverged" in alt_text(explorer)


def test_every_control_has_a_visible_label_and_the_figure_has_alt_text():
    explorer = BatchSizeExplorer()
    for control in (explorer.batch_size, explorer.lr, explorer.epochs, explorer.seed):
        assert control.description.strip()
    assert list(explorer.batch_size.options) == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert 'role="status"' in explorer.readout.value
    assert "loss contours" in alt_text(explorer)


def test_contours_are_drawn_once_and_path_artists_are_updated_in_place():
    explorer = BatchSizeExplorer(batch_size=8, epochs=2)
    contours, path, loss = list(explorer._ax_path.collections), explorer._path, explorer._loss
    explorer.batch_size.value = 64
    explorer.lr.value = 0.2
    assert list(explorer._ax_path.collections) == contours
    assert explorer._path is path and explorer._loss is loss
    assert np.array_equal(path.get_xdata(), explorer.run.weights[:, 0])


def image(explorer):
    data = re.search(r'src="data:image/png;base64,([^"]+)"', explorer.figure_view.value).group(1)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))


def test_the_image_is_the_whole_figure_and_only_the_changing_parts_change():
    explorer = BatchSizeExplorer(batch_size=256, lr=0.05, epochs=10)
    full = image(explorer)
    assert full.shape[:2] == (288, 720)  # 9 x 3.6 inches at 80 dpi
    explorer.batch_size.value = 1
    noisy = image(explorer)
    changed = np.any(full != noisy, axis=2)
    assert changed[:, :360].any() and changed[:, 360:].any()  # the path and the loss curve moved
    explorer.batch_size.value = 256
    assert np.array_equal(image(explorer), full)  # the cached background leaves no trace


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 3}, "batch_size must be one of"),
        ({"weights": (1.0, 2.0, 3.0)}, "weights must hold 2 numbers"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchSizeExplorer(**kwargs)
