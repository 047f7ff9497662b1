"""Turning a Matplotlib figure into an accessible image for a widget."""

import base64
import html
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

__all__ = ["Blitted", "canvas_html", "png_html"]


def png_html(figure, alt):
    """The figure as an ``<img>`` tag with alt text, for an ``ipywidgets.HTML`` view."""
    buffer = io.BytesIO()
    # Light compression: the image is re-sent on every change, and encoding time matters.
    FigureCanvasAgg(figure).print_png(buffer, pil_kwargs={"compress_level": 1})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" style="max-width:100%">'


def canvas_html(canvas, alt):
    """What an Agg canvas shows now, as an ``<img>`` tag with alt text (no redraw)."""
    width, height = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)
    data_url = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data_url}" alt="{html.escape(alt)}" style="max-width:100%">'


class Blitted:
    """Render a figure whose axes, ticks and legends stay put while a few artists move.

    The static part is drawn once and kept as a bitmap; each update pastes it back and draws
    only the moving artists on top (matplotlib's blitting), then encodes the PNG as
    :func:`png_html` does. Call :meth:`invalidate` after changing anything static (limits).
    """

    def __init__(self, figure, artists):
        self.figure = figure
        self.artists = list(artists)
        for artist in self.artists:
            artist.set_animated(True)  # left out of the full draw, drawn on top each time
        self.canvas = FigureCanvasAgg(figure)
        self._background = None

    def invalidate(self):
        self._background = None

    def png_html(self, alt):
        if self._background is None:
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        else:
            self.canvas.restore_region(self._background)
        for artist in self.artists:
            self.figure.draw_artist(artist)
        return canvas_html(self.canvas, alt)
