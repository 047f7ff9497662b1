"""The batch-size explorer of chapter 04: the path of mini-batch SGD on a regression's loss contours.

>>> from gdlab.widgets.batch_size import BatchSizeExplorer
>>> explorer = BatchSizeExplorer(batch_size=256)         # doctest: +SKIP
>>> explorer.run.updates_per_epoch                        # doctest: +SKIP
1
"""

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from .. import data
from ..minibatch import linear_mse, train_linear
from ..plotting import PALETTE
from ._render import canvas_html

__all__ = ["BatchSizeExplorer"]


def _batch_sizes(n):
    """Powers of two below ``n``, then ``n`` itself (the full batch)."""
    sizes = [2**k for k in range(int(np.log2(n)) + 1) if 2**k < n]
    return [*sizes, n]


class BatchSizeExplorer:
    """Mini-batch gradient descent on a two-feature linear regression, :math:`\\hat y = w_1 x_1 + w_2 x_2`.

    Left: the path of :math:`(w_1, w_2)` over the contours of the full-data loss, from
    :math:`(0, 0)` towards the least-squares weights (star). Right: the full-data loss
    above its minimum after every update, against epochs. Batch size ``n`` is batch
    gradient descent (smooth), 1 is plain SGD (noisy). The shuffling is seeded, so the same
    settings always draw the same path. Set the controls from code as a reader would by
    hand: ``explorer.batch_size.value = 1``.
    """

    def __init__(self, batch_size=16, lr=0.05, epochs=10, seed=0, n=256, weights=(2.0, -1.5), noise=0.5):
        self.data = data.linear(n=n, weights=weights, noise=noise, seed=1)
        if len(self.data.weights) != 2:
            raise ValueError(
                f"the explorer draws two weights, so weights must hold 2 numbers, got {weights!r}"
            )
        sizes = _batch_sizes(n)
        if batch_size not in sizes:
            raise ValueError(f"batch_size must be one of {sizes} (powers of two, then n), got {batch_size!r}")
        X, y = self.data.X, self.data.y
        self.minimum = np.linalg.lstsq(X, y, rcond=None)[0]
        self.min_loss = linear_mse(self.minimum, X, y)

        style = {"description_width": "initial"}
        layout = widgets.Layout(width="420px")
        self.batch_size = widgets.SelectionSlider(
            options=sizes, value=batch_size, description="Batch size B", style=style, layout=layout
        )
        self.lr = widgets.FloatLogSlider(
            value=lr,
            base=10,
            min=-3,
            max=0,
            step=0.05,
            description="Learning rate α",
            style=style,
            layout=layout,
            readout_format=".2g",
        )
        self.epochs = widgets.IntSlider(
            value=epochs, min=1, max=40, description="Epochs", style=style, layout=layout
        )
        self.seed = widgets.IntSlider(value=seed, min=0, max=20, description="Shuffle seed", style=style)
        self.readout = widgets.HTML(layout=widgets.Layout(min_height="3.5em"))
        self.figure_view = widgets.HTML()
        self.run = None

        self._figure = Figure(figsize=(9.0, 3.6), dpi=80)
        # Fixed margins: a layout engine would re-measure every label on each redraw.
        self._figure.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.9, wspace=0.25)
        self._ax_path, self._ax_loss = self._figure.subplots(1, 2)
        self._draw_contours()
        ax = self._ax_path
        (self._path,) = ax.plot([], [], "-", color=PALETTE["path"], lw=1, alpha=0.85, label="path")
        (self._start,) = ax.plot([0.0], [0.0], "o", color=PALETTE["start"], ms=8, label="start (0, 0)")
        (self._end,) = ax.plot([], [], "s", color=PALETTE["end"], ms=7, label="end")
        (self._star,) = ax.plot(*self.minimum, "*", color=PALETTE["minimum"], ms=13, label="least squares")
        ax.set_xlabel("w₁")
        ax.set_ylabel("w₂")
        ax.legend(loc="lower left", fontsize=7)
        ax.set_title("Path of (w₁, w₂) on the loss contours")
        (self._loss,) = self._ax_loss.plot([], [], "-", color=PALETTE["path"], lw=0.8)
        self._ax_loss.set_yscale("log")
        self._ax_loss.set_xlabel("epoch")
        self._ax_loss.set_ylabel("L(w) − L(w*) (log scale)")
        for axis in (ax.xaxis, ax.yaxis, self._ax_loss.xaxis):
            axis.set_major_locator(MaxNLocator(5))  # fewer labels to lay out on each redraw
        # Log axis without minor ticks or mathtext labels: both are slow to lay out on each redraw.
        self._ax_loss.yaxis.set_major_locator(LogLocator(numticks=6))
        self._ax_loss.yaxis.set_minor_locator(NullLocator())
        self._ax_loss.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))

        self._cache_background()

        for control in (self.batch_size, self.lr, self.epochs, self.seed):
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.batch_size, self.seed]),
                widgets.HBox([self.lr, self.epochs]),
                self.readout,
                self.figure_view,
            ]
        )
        self.update()

    def _draw_contours(self):
        """The loss surface is the same for every setting: contour it once."""
        w1, w2 = self.minimum
        self._bounds = ((min(0.0, w1) - 0.6, max(0.0, w1) + 0.6), (min(0.0, w2) - 0.6, max(0.0, w2) + 0.6))
        (x_lo, x_hi), (y_lo, y_hi) = self._bounds
        W1, W2 = np.meshgrid(np.linspace(x_lo, x_hi, 120), np.linspace(y_lo, y_hi, 120))
        A = self.data.X.T @ self.data.X / len(self.data.y)
        d1, d2 = W1 - w1, W2 - w2
        excess = A[0, 0] * d1**2 + 2 * A[0, 1] * d1 * d2 + A[1, 1] * d2**2
        levels = np.geomspace(1e-3, excess.max(), 12)
        self._ax_path.contour(W1, W2, excess, levels=levels, cmap="viridis", linewidths=0.8)
        self._ax_path.set_xlim(x_lo, x_hi)
        self._ax_path.set_ylim(y_lo, y_hi)

    def _cache_background(self):
        """Render everything that never changes (contours, their axes, the legend) once.

        Each update then restores this image, draws the path on top and redraws only the
        loss panel, whose limits and ticks change: most of the text is never laid out again.
        """
        self._canvas = FigureCanvasAgg(self._figure)
        dynamic = (self._path, self._end, self._ax_loss)
        for artist in dynamic:
            artist.set_visible(False)
        self._canvas.draw()
        self._background = self._canvas.copy_from_bbox(self._figure.bbox)
        self._legend_box = self._ax_path.get_legend().get_window_extent()
        for artist in dynamic:
            artist.set_visible(True)

    def _render_png(self, alt):
        """Redraw the changing artists over the cached background; return an ``<img>`` tag."""
        canvas = self._canvas
        canvas.restore_region(self._background)
        on_top = [self._path, self._end, self._start, self._star]  # the markers stay on top of the path
        points = self._ax_path.transData.transform(self.run.weights)
        box = self._legend_box
        inside = (points[:, 0] >= box.x0) & (points[:, 0] <= box.x1)
        if np.any(inside & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1)):
            on_top.append(self._ax_path.get_legend())  # redraw the legend only when the path crosses it
        for artist in on_top:
            self._ax_path.draw_artist(artist)
        self._ax_loss.draw(canvas.get_renderer())
        return canvas_html(canvas, alt)

    def _on_change(self, _change):
        self.update()

    def compute(self):
        """The run for the current controls (no drawing)."""
        return train_linear(
            self.data.X,
            self.data.y,
            batch_size=int(self.batch_size.value),
            lr=float(self.lr.value),
            epochs=int(self.epochs.value),
            seed=int(self.seed.value),
        )

    def last_epoch_jitter(self):
        """Standard deviation of the loss's update-to-update change over the last epoch."""
        run = self.run
        tail = run.losses[-(run.updates_per_epoch + 1) :]
        return float(np.std(np.diff(tail))) if len(tail) > 2 else 0.0

    def update(self):
        """Recompute the run and redraw the figure and the readout."""
        run = self.compute()
        self.run = run
        B, lr = run.batch_size, run.lr
        self._path.set_data(run.weights[:, 0], run.weights[:, 1])
        self._end.set_data(run.weights[-1:, 0], run.weights[-1:, 1])

        excess = np.maximum(run.losses - self.min_loss, 1e-12)
        epochs = np.arange(len(excess)) / run.updates_per_epoch
        self._loss.set_data(epochs, excess)
        self._ax_loss.set_xlim(0, max(epochs[-1], 1e-9))
        low, high = max(excess.min(), 1e-10), min(excess.max(), 1e12)  # a diverged run reaches 1e300
        self._ax_loss.set_ylim(low / 2, high * 2)
        self._ax_loss.set_title(f"Loss above the minimum, B = {B}, α = {lr:.3g}", y=1.0)

        w1, w2 = run.weights[-1]
        final = run.losses[-1]
        if run.diverged:
            status, colour = "diverged", "#B22222"
            summary = (
                f"the loss overflowed at update {run.diverged_at}; lower the learning rate "
                f"(last finite w = ({w1:.3g}, {w2:.3g}))"
            )
        else:
            status, colour = ("smooth" if B == len(self.data.y) else "noisy"), "#006400"
            summary = (
                f"final w = ({w1:.3f}, {w2:.3f}), loss {final:.4f} "
                f"(least squares: ({self.minimum[0]:.3f}, {self.minimum[1]:.3f}), loss {self.min_loss:.4f}); "
                f"last-epoch step-to-step loss change ± {self.last_epoch_jitter():.2g}"
            )
        self.readout.value = (
            f'<span role="status" aria-live="polite"><b style="color:{colour}">{status}</b> · '
            f"B = {B}: {run.updates_per_epoch} updates per epoch, {len(run.losses) - 1} updates · "
            f"{summary}</span>"
        )
        alt = (
            f"Left: the path of the two weights over elliptical loss contours, from (0, 0) towards the "
            f"least-squares weights ({self.minimum[0]:.2f}, {self.minimum[1]:.2f}), for batch size {B}, "
            f"learning rate {lr:.3g}, {self.epochs.value} epochs, ending at ({w1:.3g}, {w2:.3g}). "
            f"Right: the loss above its minimum after each update on a log scale, from "
            f"{excess[0]:.3g} to {excess[-1]:.3g}. Status: {status}."
        )
        self.figure_view.value = self._render_png(alt)
        return run

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
