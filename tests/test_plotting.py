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
