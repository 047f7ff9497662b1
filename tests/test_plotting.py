"""gdlab.plotting: the figure helpers draw what they are given and refuse what they cannot draw."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from gdlab import descend, optim, surfaces
from gdlab.plotting import contours_with_paths, loss_per_step


def test_log_levels_need_a_number_of_levels_not_the_levels_themselves():
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="levels must be their number"):
        contours_with_paths(surfaces.himmelblau, levels=[1.0, 10.0, 100.0], log_levels=True, ax=ax)
    plt.close("all")


def test_log_levels_accept_a_numpy_integer_and_draw_that_many_levels():
    _, ax = plt.subplots()
    contours_with_paths(surfaces.himmelblau, levels=np.int64(12), log_levels=True, ax=ax)
    assert len(ax.collections[0].levels) == 12
    plt.close("all")


def test_loss_per_step_draws_one_line_per_trajectory_in_a_list():
    runs = [descend(surfaces.bowl, 0.0, optim.sgd(lr=lr), steps=10) for lr in (0.1, 0.3)]
    ax = loss_per_step(runs, labels=["0.1", "0.3"])
    assert [len(line.get_ydata()) for line in ax.get_lines()] == [11, 11]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), runs[1].losses)
    plt.close("all")


def test_readable_log_axis_labels_in_between_ticks_only_on_a_narrow_axis():
    from matplotlib.ticker import NullFormatter

    from gdlab.plotting import readable_log_axis

    _, (narrow, wide) = plt.subplots(1, 2)
    narrow.semilogy([0, 1], [0.05, 0.5])
    wide.semilogy([0, 1], [1e-4, 1.0])
    readable_log_axis(narrow, "loss")
    readable_log_axis(wide, "loss")
    assert narrow.yaxis.get_minor_formatter()(0.2, 0) == "0.2"
    assert isinstance(wide.yaxis.get_minor_formatter(), NullFormatter)
    assert wide.yaxis.get_major_formatter()(1e-3, 0) == "0.001"
    plt.close("all")


def test_readable_log_axis_refuses_a_linear_axis():
    from gdlab.plotting import readable_log_axis

    _, ax = plt.subplots()
    ax.plot([0, 1], [1, 2])
    with pytest.raises(ValueError, match="log-scaled y axis"):
        readable_log_axis(ax, "loss")
    plt.close("all")
